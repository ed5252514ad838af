import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { importPath } from '../../../src/main/dataset/importer'
import { label } from '../../../src/main/labeling/actions'
import { createProject, type Project } from '../../../src/main/project/project'
import { picture, put } from '../../helpers/images'
import { dispatch } from '../../../src/main/app/dispatch'
import type { Handlers } from '../../../src/main/app/handlers'
import type { Db } from '../../../src/main/db/connection'
import type { ChannelName, Req, Res } from '../../../src/shared/contract'

/** Starts a TypeScript file or the studio CLI in a child process with the project's loader. */
export function spawnTs(args: string[], opts: { shell?: string; env?: Record<string, string> } = {}): ChildProcess {
  const node = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  const options = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } }
  if (opts.shell) return spawn('bash', ['-c', `${opts.shell} && exec ${node}`], options)
  return spawn(process.execPath, args, options)
}

/** Collects a child's output as it arrives, line by line. */
export function lines(child: ChildProcess): { out: string[]; err: () => string } {
  const out: string[] = []
  let partial = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n')
    partial = parts.pop()!
    out.push(...parts)
  })
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  return { out, err: () => err }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })))
}

/** Resolves when the child has exited and its output streams are drained; a hang fails, killing it. */
export function closed(child: ChildProcess, timeoutMs = 240_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`child ${child.spawnargs.slice(1, 4).join(' ')} still running after ${timeoutMs} ms`))
    }, timeoutMs)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      ok({ code, signal })
    })
  })
}

/** Waits until `cond` holds, polling; fails naming what it waited for. */
export async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now()
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export function integrity(db: Db): string {
  return (db.prepare('PRAGMA integrity_check').pluck().all() as string[]).join('; ')
}

/**
 * Every file under dir, relative. The entry types come with the listing (no stat afterwards), so
 * a temporary renamed by a running import between listing and looking is not an error.
 */
export function filesUnder(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`)
      else out.push(`${rel}${e.name}`)
    }
  }
  if (existsSync(dir)) walk(dir, '')
  return out
}

/**
 * Every image row has its thumbnail and every thumbnail decodes completely (a truncated WebP fails
 * a full decode, not only its header). Thumbnails live in the database since schema 4: no file
 * under thumbs/ is written at all.
 */
export async function checkThumbnails(projectDir: string, db: Db): Promise<{ thumbs: number; files: number }> {
  const missing = db.prepare('SELECT i.sha256 FROM images i LEFT JOIN thumbnails t ON t.sha256 = i.sha256 WHERE t.sha256 IS NULL').pluck().all()
  if (missing.length) throw new Error(`images without a thumbnail: ${missing.join(', ')}`)
  const rows = db.prepare('SELECT webp FROM thumbnails').pluck().all() as Buffer[]
  for (const webp of rows) await sharp(webp, { failOn: 'truncated' }).raw().toBuffer()
  return { thumbs: rows.length, files: filesUnder(join(projectDir, 'thumbs')).length }
}

/** A digest of every row of every table: equal before and after means nothing was written. */
export function dbDigest(db: Db): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[]
  const h = createHash('sha256')
  for (const t of tables) h.update(`${t}:${JSON.stringify(db.prepare(`SELECT * FROM "${t}"`).raw().all())}\n`)
  return h.digest('hex')
}

/** Calls a channel through dispatch() like a window does, typed, throwing the envelope's error. */
export async function call<C extends ChannelName>(handlers: Handlers, channel: C, payload: Req<C>): Promise<Res<C>> {
  const env = await dispatch(handlers, channel, payload)
  if (!env.ok) throw new Error(`${channel}: ${env.error.code}: ${env.error.message}`)
  return env.value as Res<C>
}

/** The rows that hold the user's work on images 1 and 2 (and every class): must come back identical. */
export function workSnapshot(p: Project): unknown[] {
  return [
    p.db.prepare('SELECT * FROM images WHERE id <= 2 ORDER BY id').all(),
    p.db.prepare('SELECT * FROM annotations WHERE image_id <= 2 ORDER BY id').all(),
    p.db.prepare('SELECT * FROM image_labels WHERE image_id <= 2 ORDER BY image_id').all(),
    p.db.prepare('SELECT * FROM classes ORDER BY id').all()
  ]
}

/**
 * A project (at <root>/p, classes happy and sad) with work in it before the test's trouble: two
 * imported, labeled images and a hand label by kim. Returns it open, with its snapshot.
 */
export async function projectWithWork(root: string): Promise<{ p: Project; dir: string; before: unknown[] }> {
  put(join(root, 'earlier', 'happy', 'e1.png'), await picture(1, 'png', 72, 56)) // a size no other test image has
  put(join(root, 'earlier', 'sad', 'e2.png'), await picture(2, 'png', 72, 56))
  const dir = join(root, 'p')
  const p = createProject(dir, { classes: ['happy', 'sad'] })
  await importPath(p, join(root, 'earlier'))
  label(p.db, 'kim', [1], 2)
  return { p, dir, before: workSnapshot(p) }
}
