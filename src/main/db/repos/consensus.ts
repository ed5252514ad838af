import type { Database } from 'better-sqlite3'

/** Each annotator's latest label (non-null) of the given images: one row per (image, annotator). */
const CURRENT_OF_IDS = `
  SELECT a.image_id AS imageId, a.class_id AS classId FROM annotations a
  JOIN (SELECT max(an.id) AS id FROM json_each(?) j JOIN annotations an ON an.image_id = j.value
        GROUP BY an.image_id, an.annotator) l ON l.id = a.id
  WHERE a.class_id IS NOT NULL`

/** The latest annotation row of each of the given images, whoever gave it. */
const LATEST_OF_IDS = `
  SELECT a.image_id AS imageId, a.class_id AS classId, a.source FROM annotations a
  JOIN (SELECT max(an.id) AS id FROM json_each(?) j JOIN annotations an ON an.image_id = j.value
        GROUP BY an.image_id) l ON l.id = a.id`

/**
 * Recomputes image_labels (majority of each annotator's latest label) for the given images, or
 * for every image when none are given. Every write to annotations calls this in its transaction.
 * Set-based: two reads for all the images, then one upsert each, so labeling 100,000 images at
 * once is a few statements rather than half a million (bench/scale.ts).
 */
export function recomputeConsensus(db: Database, imageIds?: Iterable<number>): void {
  const ids = [...new Set(imageIds ?? (db.prepare('SELECT DISTINCT image_id AS id FROM annotations').pluck().all() as number[]))]
  if (ids.length === 0) return
  const json = JSON.stringify(ids)
  const votes = new Map<number, Map<number, number>>()
  for (const r of db.prepare(CURRENT_OF_IDS).all(json) as { imageId: number; classId: number }[]) {
    const counts = votes.get(r.imageId) ?? new Map<number, number>()
    counts.set(r.classId, (counts.get(r.classId) ?? 0) + 1)
    votes.set(r.imageId, counts)
  }
  const latest = new Map<number, { classId: number | null; source: string }>()
  for (const r of db.prepare(LATEST_OF_IDS).all(json) as { imageId: number; classId: number | null; source: string }[]) latest.set(r.imageId, r)

  const upsert = db.prepare('INSERT OR REPLACE INTO image_labels (image_id, class_id, votes, distinct_classes, tie) VALUES (?, ?, ?, ?, ?)')
  const drop = db.prepare('DELETE FROM image_labels WHERE image_id = ?')
  for (const id of ids) {
    const counts = votes.get(id)
    if (!counts) {
      drop.run(id)
      continue
    }
    let total = 0
    let top = 0
    for (const n of counts.values()) {
      total += n
      top = Math.max(top, n)
    }
    // A label given in the review queue (source 'review') adjudicates: it is the image's label
    // until someone labels the image again.
    const last = latest.get(id)
    if (last?.source === 'review' && last.classId !== null) {
      upsert.run(id, last.classId, total, counts.size, 0)
      continue
    }
    const leaders = [...counts].filter(([, n]) => n === top).map(([c]) => c)
    // A tie keeps the smallest class id as the label training would use, and is marked.
    upsert.run(id, Math.min(...leaders), total, counts.size, leaders.length > 1 ? 1 : 0)
  }
}
