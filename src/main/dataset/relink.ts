import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { audit } from '../db/repos/meta'
import type { Project } from '../project/project'
import { folderSource } from './sources/folder'

export interface MissingReport {
  checked: number
  missing: number
  found: number
}

/** Marks images whose source file is gone (and clears the mark on those that came back). */
export function checkMissing(project: Project, signal?: AbortSignal): MissingReport {
  const rows = project.db.prepare('SELECT id, source_path AS path, missing FROM images WHERE source_path IS NOT NULL').all() as {
    id: number
    path: string
    missing: number
  }[]
  const set = project.db.prepare('UPDATE images SET missing = ? WHERE id = ?')
  const report: MissingReport = { checked: 0, missing: 0, found: 0 }
  project.db.transaction(() => {
    for (const r of rows) {
      if (signal?.aborted) break
      report.checked++
      const gone = !existsSync(r.path)
      if (gone) report.missing++
      if (gone !== (r.missing === 1)) {
        set.run(gone ? 1 : 0, r.id)
        if (!gone) report.found++
      }
    }
  })()
  return report
}

export interface RelinkReport {
  relinked: number
  stillMissing: number
  scanned: number
}

/**
 * Finds moved images under `folder` by content: only files whose size matches a missing image
 * are hashed, so pointing at a large tree stays cheap.
 */
export async function relink(project: Project, folder: string, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number | null) => void } = {}): Promise<RelinkReport> {
  checkMissing(project)
  const missing = project.db.prepare('SELECT id, sha256, bytes FROM images WHERE missing = 1').all() as { id: number; sha256: string; bytes: number }[]
  const bySha = new Map(missing.map((m) => [m.sha256, m.id]))
  const sizes = new Set(missing.map((m) => m.bytes))
  const update = project.db.prepare('UPDATE images SET source_path = ?, missing = 0 WHERE id = ?')
  const source = await folderSource(folder, { layout: 'none' })
  let relinked = 0
  let scanned = 0
  for await (const entry of source.entries) {
    if (opts.signal?.aborted || bySha.size === 0) break
    scanned++
    opts.onProgress?.(scanned, source.total)
    if (!('item' in entry) || !entry.item.path) continue
    const st = await stat(entry.item.path).catch(() => null)
    if (!st || !sizes.has(st.size)) continue
    const sha = createHash('sha256').update(await readFile(entry.item.path)).digest('hex')
    const id = bySha.get(sha)
    if (id === undefined) continue
    update.run(entry.item.path, id)
    bySha.delete(sha)
    relinked++
  }
  audit(project.db, 'dataset.relink', { folder, relinked, stillMissing: bySha.size })
  return { relinked, stillMissing: bySha.size, scanned }
}
