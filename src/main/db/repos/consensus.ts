import type { Database } from 'better-sqlite3'

/**
 * Recomputes image_labels (majority of each annotator's latest label) for the given images, or
 * for every image when none are given. Every write to annotations calls this in its transaction.
 */
export function recomputeConsensus(db: Database, imageIds?: Iterable<number>): void {
  const current = db.prepare(
    `SELECT a.class_id AS classId FROM annotations a
     JOIN (SELECT max(id) AS id FROM annotations WHERE image_id = ? GROUP BY annotator) l ON l.id = a.id
     WHERE a.class_id IS NOT NULL`
  )
  const upsert = db.prepare(
    'INSERT OR REPLACE INTO image_labels (image_id, class_id, votes, distinct_classes, tie) VALUES (?, ?, ?, ?, ?)'
  )
  const drop = db.prepare('DELETE FROM image_labels WHERE image_id = ?')
  // A label given in the review queue (source 'review') adjudicates: it is the image's label
  // until someone labels the image again.
  const latest = db.prepare('SELECT class_id AS classId, source FROM annotations WHERE image_id = ? ORDER BY id DESC LIMIT 1')
  const ids = imageIds ?? (db.prepare('SELECT DISTINCT image_id AS id FROM annotations').pluck().all() as number[])
  for (const id of ids) {
    const labels = current.pluck().all(id) as number[]
    if (labels.length === 0) {
      drop.run(id)
      continue
    }
    const counts = new Map<number, number>()
    for (const c of labels) counts.set(c, (counts.get(c) ?? 0) + 1)
    const top = Math.max(...counts.values())
    const leaders = [...counts].filter(([, n]) => n === top).map(([c]) => c)
    const last = latest.get(id) as { classId: number | null; source: string }
    if (last.source === 'review' && last.classId !== null) {
      upsert.run(id, last.classId, labels.length, counts.size, 0)
      continue
    }
    // A tie keeps the smallest class id as the label training would use, and is marked.
    upsert.run(id, Math.min(...leaders), labels.length, counts.size, leaders.length > 1 ? 1 : 0)
  }
}
