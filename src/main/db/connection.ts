import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import Database from 'better-sqlite3'
import { StudioError } from '../../shared/errors'
import { LATEST_SCHEMA, MIGRATIONS, type Migration } from './migrations'

export type Db = Database.Database

const SQLITE_MAGIC = 'SQLite format 3\0'

function loadOptions(): Database.Options {
  // Electron needs the addon built for its own ABI; the Node build stays where the tests use it.
  const electronBinding = process.env.FREEZEFRAME_SQLITE_BINDING
  return electronBinding && process.versions.electron ? { nativeBinding: electronBinding } : {}
}

function checkHeader(file: string): void {
  const size = statSync(file).size
  if (size === 0) return // an empty file is a valid, empty SQLite database
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(16)
    readSync(fd, buf, 0, 16, 0)
    if (size < 100 || buf.toString('latin1') !== SQLITE_MAGIC) {
      throw new StudioError('corrupt_project', `${file} is not an SQLite database (bad header); it was left untouched`, file)
    }
  } finally {
    closeSync(fd)
  }
}

function appliedSchema(db: Db): number {
  const table = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get()
  if (!table) return 0
  const row = db.prepare('SELECT max(id) AS id FROM schema_migrations').get() as { id: number | null }
  return row.id ?? 0
}

/**
 * Reads the schema version without writing anything, so a corrupt file or one from a newer
 * app is refused before WAL mode or a migration can touch it.
 */
export function inspectDatabase(file: string, busyTimeoutMs = 2000): { schema: number } {
  checkHeader(file)
  let db: Db | undefined
  try {
    db = new Database(file, { ...loadOptions(), readonly: true, fileMustExist: true, timeout: busyTimeoutMs })
    const schema = appliedSchema(db)
    if (schema > LATEST_SCHEMA) {
      throw new StudioError(
        'schema_too_new',
        `${file} uses schema ${schema} but this version of the studio knows up to ${LATEST_SCHEMA}; update the studio. The file was left untouched`,
        file
      )
    }
    return { schema }
  } catch (err) {
    if (err instanceof StudioError) throw err
    const code = (err as { code?: string }).code ?? ''
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw lockedError(file)
    throw new StudioError('corrupt_project', `${file} cannot be read as a project database (${(err as Error).message}); it was left untouched`, file)
  } finally {
    db?.close()
  }
}

export function lockedError(file: string): StudioError {
  return new StudioError(
    'project_locked',
    `${file} is open in another Freezeframe Studio process; close it there first`,
    file
  )
}

export interface OpenOptions {
  /** Create the file when missing (a new project). */
  create?: boolean
  /** How long to wait for another process to release the project, in ms. */
  busyTimeoutMs?: number
}

/**
 * Opens the project database for writing: WAL, foreign keys, a busy timeout, pending migrations,
 * and an exclusive lock held for the life of the connection so two processes never both write.
 * The OS drops the lock when the process dies, so a crash never leaves a project stuck.
 */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (!opts.create || existsSync(file)) inspectDatabase(file, opts.busyTimeoutMs)
  const db = new Database(file, { ...loadOptions(), fileMustExist: !opts.create, timeout: opts.busyTimeoutMs ?? 2000 })
  try {
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 2000}`)
    db.pragma('locking_mode = EXCLUSIVE')
    db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    db.pragma('synchronous = NORMAL')
    // In exclusive mode the write lock is taken at the first write and kept: take it now.
    db.exec('BEGIN IMMEDIATE; COMMIT')
    migrate(db)
    return db
  } catch (err) {
    db.close()
    const code = (err as { code?: string }).code ?? ''
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw lockedError(file)
    throw err
  }
}

export function migrate(db: Db, migrations: Migration[] = MIGRATIONS): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
  const applied = new Set(
    (db.prepare('SELECT id FROM schema_migrations').all() as { id: number }[]).map((r) => r.id)
  )
  const ran: number[] = []
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)')
  for (const m of migrations) {
    if (applied.has(m.id)) continue
    db.transaction(() => {
      db.exec(m.sql)
      m.run?.(db)
      record.run(m.id, m.name, new Date().toISOString())
    })()
    ran.push(m.id)
  }
  return ran
}

export function schemaVersion(db: Db): number {
  return appliedSchema(db)
}
