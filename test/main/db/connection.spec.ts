import { spawn } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { migrate, openDatabase } from '../../../src/main/db/connection'
import { LATEST_SCHEMA, MIGRATIONS } from '../../../src/main/db/migrations'
import { StudioError } from '../../../src/shared/errors'
import { tempDir, treeHash } from '../../helpers/tmp'

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return err instanceof StudioError ? err.code : `untyped: ${(err as Error).message}`
  }
  return 'no error'
}

describe('openDatabase', () => {
  it('creates a WAL database with foreign keys and records every migration once', () => {
    const file = join(tempDir(), 'studio.sqlite')
    const db = openDatabase(file, { create: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
    const applied = db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all()
    expect(applied).toEqual(MIGRATIONS.map((m) => ({ id: m.id, name: m.name })))
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name)
    for (const t of ['classes', 'images', 'annotations', 'splits', 'split_assignments', 'flags', 'runs', 'run_epochs', 'models', 'audit_log']) {
      expect(tables).toContain(t)
    }
    expect(migrate(db)).toEqual([]) // nothing left to run
    db.close()
    const again = openDatabase(file)
    expect((again.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length)
    again.close()
  })

  it('enforces foreign keys', () => {
    const db = openDatabase(join(tempDir(), 'studio.sqlite'), { create: true })
    expect(() =>
      db.prepare("INSERT INTO annotations (image_id, class_id, annotator, created_at) VALUES (42, NULL, 'a', 'now')").run()
    ).toThrow(/FOREIGN KEY/)
    db.close()
  })

  it('rolls a failing migration back whole and does not record it', () => {
    const db = openDatabase(join(tempDir(), 'studio.sqlite'), { create: true })
    const bad = { id: LATEST_SCHEMA + 1, name: 'broken', sql: 'CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);' }
    expect(() => migrate(db, [...MIGRATIONS, bad])).toThrow(/no_such_table/)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined()
    expect(db.prepare('SELECT id FROM schema_migrations WHERE id = ?').get(bad.id)).toBeUndefined()
    db.close()
  })

  it('refuses a file that is not SQLite and leaves it untouched', () => {
    const dir = tempDir()
    const file = join(dir, 'studio.sqlite')
    writeFileSync(file, 'this is a text file, not a database\n'.repeat(10))
    const before = treeHash(dir)
    expect(codeOf(() => openDatabase(file))).toBe('corrupt_project')
    expect(treeHash(dir)).toBe(before)
  })

  it('refuses a database whose pages are garbage and leaves it untouched', () => {
    const dir = tempDir()
    const file = join(dir, 'studio.sqlite')
    const good = openDatabase(join(dir, 'good.sqlite'), { create: true })
    good.close()
    const bytes = readFileSync(join(dir, 'good.sqlite'))
    bytes.fill(0xab, 100) // keep the 100-byte header, destroy every page
    writeFileSync(file, bytes)
    const before = readFileSync(file)
    expect(codeOf(() => openDatabase(file))).toBe('corrupt_project')
    expect(readFileSync(file).equals(before)).toBe(true)
  })

  it('refuses a schema newer than this app without writing to it', () => {
    const dir = tempDir()
    const file = join(dir, 'studio.sqlite')
    openDatabase(file, { create: true }).close()
    const raw = new Database(file)
    raw.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, 'from the future', 'x')").run(LATEST_SCHEMA + 5)
    raw.pragma('journal_mode = DELETE')
    raw.close()
    const before = treeHash(dir)
    let message = ''
    try {
      openDatabase(file)
    } catch (err) {
      expect((err as StudioError).code).toBe('schema_too_new')
      message = (err as Error).message
    }
    expect(message).toContain(`schema ${LATEST_SCHEMA + 5}`)
    expect(treeHash(dir)).toBe(before)
  })

  it('refuses a second writer in the same process', () => {
    const file = join(tempDir(), 'studio.sqlite')
    const first = openDatabase(file, { create: true })
    expect(codeOf(() => openDatabase(file, { busyTimeoutMs: 50 }))).toBe('project_locked')
    first.close()
    openDatabase(file, { busyTimeoutMs: 50 }).close() // released with the first connection
  })

  it('refuses a second studio process on one project, and frees it when that process ends', async () => {
    const dir = tempDir()
    openDatabase(join(dir, 'studio.sqlite'), { create: true }).close()
    copyFileSync(join(dir, 'studio.sqlite'), join(dir, 'studio.sqlite.bak'))
    const child = spawn(process.execPath, ['bin/run-ts.mjs', 'test/helpers/hold-project.ts', dir], { stdio: ['pipe', 'pipe', 'inherit'] })
    await new Promise<void>((ok, fail) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && ok())
      child.on('exit', (code) => fail(new Error(`holder exited early with ${code}`)))
    })
    expect(codeOf(() => openDatabase(join(dir, 'studio.sqlite'), { busyTimeoutMs: 100 }))).toBe('project_locked')
    child.stdin.end()
    await new Promise((ok) => child.on('exit', ok))
    const db = openDatabase(join(dir, 'studio.sqlite'), { busyTimeoutMs: 100 })
    expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length })
    db.close()
  })
})
