// Flags and flag runs in the project database: writing a run's flags, marking flags stale when
// the data under them changed, and reading the queue and the status the review view shows.
import type { Db } from '../../db/connection'
import { FLAG_TYPES, type FlagEvidence, type FlagItem, type FlagRunInfo, type FlagStatus, type FlagType, type NoiseEstimate, type ReviewStatus } from '../../../shared/review'

export interface NewFlag {
  imageId: number
  score: number
  suggestedClassId: number | null
  evidence: FlagEvidence
}

/** Consensus label per image now (null when unlabeled), for images that are neither excluded nor missing. */
export function labelSnapshot(db: Db): Map<number, number | null> {
  const rows = db
    .prepare('SELECT i.id, l.class_id AS classId FROM images i LEFT JOIN image_labels l ON l.image_id = i.id WHERE i.excluded = 0 AND i.missing = 0 ORDER BY i.id')
    .all() as { id: number; classId: number | null }[]
  return new Map(rows.map((r) => [r.id, r.classId]))
}

// Fingerprints of the data, computed inside SQLite so a keypress in the queue stays cheap on
// 100,000 images (hashing the rows in JS took a quarter of a second each). x = id*K + label, and
// the sum of x^2 mod a prime changes when two images swap labels, which a plain sum would miss.
// Not cryptographic: a staleness check, where a collision means one missed "out of date" note.
const PRIME = 2147483647

/** A fingerprint of which images are in play and their labels: flags computed on another are out of date. */
export function dataVersion(db: Db): string {
  const row = db
    .prepare(
      `SELECT count(*) AS n, total(x) AS s, total((x * x) % ${PRIME}) AS q FROM (
         SELECT (i.id * 100003 + coalesce(l.class_id, -1) + 2) % ${PRIME} AS x
         FROM images i LEFT JOIN image_labels l ON l.image_id = i.id WHERE i.excluded = 0 AND i.missing = 0)`
    )
    .get() as { n: number; s: number; q: number }
  return `${row.n}:${row.s}:${row.q}`
}

export function createFlagRun(db: Db, type: FlagType, sourceVersion: string, params: unknown, stats: Record<string, unknown>): number {
  return Number(
    db
      .prepare('INSERT INTO flag_runs (type, source_version, params, stats, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(type, sourceVersion, JSON.stringify(params), JSON.stringify(stats), new Date().toISOString()).lastInsertRowid
  )
}

/**
 * Stores a run's flags in place of the type's open ones. Images someone chose to keep as they are
 * for this type are never flagged for it again. Decided flags stay, as history.
 */
export function replaceFlags(db: Db, type: FlagType, runId: number, flags: NewFlag[], sourceVersion: string): { inserted: number; skippedKept: number } {
  return db.transaction(() => {
    db.prepare("DELETE FROM flags WHERE type = ? AND status = 'open'").run(type)
    const kept = new Set(db.prepare("SELECT image_id FROM flags WHERE type = ? AND status = 'kept'").pluck().all(type) as number[])
    const insert = db.prepare(
      'INSERT INTO flags (image_id, type, score, suggested_class_id, evidence, source_version, status, stale, created_at, flag_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)'
    )
    const at = new Date().toISOString()
    let inserted = 0
    for (const f of flags) {
      if (kept.has(f.imageId)) continue
      insert.run(f.imageId, type, f.score, f.suggestedClassId, JSON.stringify(f.evidence), sourceVersion, 'open', at, runId)
      inserted++
    }
    return { inserted, skippedKept: flags.length - inserted }
  })()
}

interface RunRow {
  id: number
  type: FlagType
  source_version: string
  params: string
  stats: string
  created_at: string
}

function latestRuns(db: Db): RunRow[] {
  return db
    .prepare('SELECT r.* FROM flag_runs r JOIN (SELECT type, max(id) AS id FROM flag_runs GROUP BY type) l ON l.id = r.id ORDER BY r.type')
    .all() as RunRow[]
}

/**
 * Marks open flags stale whose ground moved: the image's label is no longer the one flagged, the
 * image was excluded or went missing, or the images in play changed since the flag's run.
 */
export function refreshStale(db: Db): void {
  db.prepare(
    `UPDATE flags SET stale = 1 WHERE status = 'open' AND stale = 0 AND (
       NOT EXISTS (SELECT 1 FROM images i WHERE i.id = flags.image_id AND i.excluded = 0 AND i.missing = 0)
       OR coalesce(json_extract(evidence, '$.givenClassId'), -1) IS NOT coalesce((SELECT class_id FROM image_labels WHERE image_id = flags.image_id), -1))`
  ).run()
  const images = imageSetVersion(db)
  for (const run of latestRuns(db)) {
    const stats = JSON.parse(run.stats) as { imageSet?: string }
    if (stats.imageSet && stats.imageSet !== images) db.prepare("UPDATE flags SET stale = 1 WHERE flag_run_id = ? AND status = 'open'").run(run.id)
  }
}

/** A fingerprint of the ids of the images in play (not excluded, not missing). */
export function imageSetVersion(db: Db): string {
  const row = db
    .prepare(`SELECT count(*) AS n, total(id) AS s, total((id * id) % ${PRIME}) AS q FROM images WHERE excluded = 0 AND missing = 0`)
    .get() as { n: number; s: number; q: number }
  return `${row.n}:${row.s}:${row.q}`
}

export interface Versions {
  dataVersion: string
  imageSet: string
}

export function versions(db: Db): Versions {
  return { dataVersion: dataVersion(db), imageSet: imageSetVersion(db) }
}

/**
 * After the review queue itself changed labels or excluded an image, runs that were current stay
 * current: a fix made from the flags is what the flags were for, not a reason to recompute them.
 */
export function carryVersions(db: Db, before: Versions): void {
  const after = versions(db)
  for (const run of latestRuns(db)) {
    const stats = JSON.parse(run.stats) as Record<string, unknown>
    const next = { ...stats }
    if (stats.dataVersion === before.dataVersion) next.dataVersion = after.dataVersion
    if (stats.imageSet === before.imageSet) next.imageSet = after.imageSet
    db.prepare('UPDATE flag_runs SET stats = ? WHERE id = ?').run(JSON.stringify(next), run.id)
  }
}

interface FlagRow {
  id: number
  image_id: number
  type: FlagType
  score: number
  suggested_class_id: number | null
  evidence: string
  status: FlagStatus
  stale: number
  flag_run_id: number | null
  created_at: string
}

function toItem(r: FlagRow): FlagItem {
  return {
    id: r.id,
    imageId: r.image_id,
    type: r.type,
    score: r.score,
    suggestedClassId: r.suggested_class_id,
    evidence: JSON.parse(r.evidence) as FlagEvidence,
    status: r.status,
    stale: r.stale === 1,
    runId: r.flag_run_id,
    createdAt: r.created_at
  }
}

export function getFlag(db: Db, id: number): FlagItem | undefined {
  const row = db.prepare('SELECT * FROM flags WHERE id = ?').get(id) as FlagRow | undefined
  return row && toItem(row)
}

export function setFlagStatus(db: Db, id: number, status: FlagStatus): void {
  db.prepare('UPDATE flags SET status = ?, resolved_at = ? WHERE id = ?').run(status, status === 'open' ? null : new Date().toISOString(), id)
}

/** Open, current flags, most worth a look first: by type in FLAG_TYPES order, then by score. */
export function listFlags(db: Db, opts: { types?: FlagType[]; status?: 'open' | 'all'; limit?: number } = {}): FlagItem[] {
  const clauses = ['stale = 0']
  const params: unknown[] = []
  if ((opts.status ?? 'open') === 'open') clauses.push("status = 'open'")
  if (opts.types?.length) {
    clauses.push(`type IN (${opts.types.map(() => '?').join(',')})`)
    params.push(...opts.types)
  }
  const limit = opts.limit ? `LIMIT ${Math.floor(opts.limit)}` : ''
  // Type by type (likely mislabeled first: the method with the most evidence), each by score.
  const order = `CASE type ${FLAG_TYPES.map((t, i) => `WHEN '${t}' THEN ${i}`).join(' ')} END`
  const rows = db.prepare(`SELECT * FROM flags WHERE ${clauses.join(' AND ')} ORDER BY ${order}, score DESC, id ${limit}`).all(...params) as FlagRow[]
  return rows.map(toItem)
}

/** Other open, current flags on the same image. */
export function flagsOfImage(db: Db, imageId: number, except: number): { id: number; type: FlagType; score: number }[] {
  return db.prepare("SELECT id, type, score FROM flags WHERE image_id = ? AND id != ? AND status = 'open' AND stale = 0 ORDER BY score DESC").all(imageId, except) as {
    id: number
    type: FlagType
    score: number
  }[]
}

function runInfo(db: Db, run: RunRow, current: string): FlagRunInfo {
  const stats = JSON.parse(run.stats) as { dataVersion?: string; flagged?: number; warnings?: string[] }
  return {
    id: run.id,
    type: run.type,
    createdAt: run.created_at,
    sourceVersion: run.source_version,
    params: JSON.parse(run.params) as Record<string, unknown>,
    flagged: stats.flagged ?? 0,
    stale: stats.dataVersion !== current,
    warnings: stats.warnings ?? []
  }
}

export function flagRuns(db: Db): FlagRunInfo[] {
  const current = dataVersion(db)
  return latestRuns(db).map((r) => runInfo(db, r, current))
}

/** The estimated noise matrix of the latest likely-mislabeled run. */
export function latestNoise(db: Db): NoiseEstimate | null {
  const run = latestRuns(db).find((r) => r.type === 'mislabeled')
  if (!run) return null
  return (JSON.parse(run.stats) as { noise?: NoiseEstimate }).noise ?? null
}

export function reviewStatus(db: Db): ReviewStatus {
  refreshStale(db)
  const runs = flagRuns(db)
  const rows = db
    .prepare(
      `SELECT type, sum(status = 'open' AND stale = 0) AS open, sum(status != 'open') AS decided, sum(status = 'open' AND stale = 1) AS stale
       FROM flags WHERE flag_run_id IN (SELECT max(id) FROM flag_runs GROUP BY type) GROUP BY type`
    )
    .all() as { type: FlagType; open: number; decided: number; stale: number }[]
  const counts = FLAG_TYPES.map((type) => {
    const r = rows.find((x) => x.type === type)
    return { type, open: r?.open ?? 0, decided: r?.decided ?? 0, stale: r?.stale ?? 0 }
  })
  const open = counts.reduce((a, c) => a + c.open, 0)
  const decided = counts.reduce((a, c) => a + c.decided, 0)
  return { runs, counts, total: open + decided, decided, noise: latestNoise(db), needsRun: runs.length === 0 || runs.some((r) => r.stale) }
}
