import { randomUUID } from 'node:crypto'
import type { Db } from '../connection'
import { recomputeConsensus } from './consensus'

/**
 * Each annotator's current label per image is their latest row. The consensus is the class
 * most current labels agree on; a tie goes to the tied class labeled most recently (the highest
 * annotation id) and is marked by the labeling features that need to show them. CONSENSUS_SQL
 * is that rule in plain SQL, for checking the stored consensus; it leaves out what consensus.ts
 * adds: review decisions adjudicate, and a label restated by undo or redo keeps its first time.
 */
export const CURRENT_SQL = `
  SELECT a.id, a.image_id, a.annotator, a.class_id FROM annotations a
  JOIN (SELECT image_id, annotator, max(id) AS id FROM annotations GROUP BY image_id, annotator) latest
    ON latest.id = a.id`

export const CONSENSUS_SQL = `
  SELECT image_id, class_id FROM (
    SELECT image_id, class_id, row_number() OVER (PARTITION BY image_id ORDER BY n DESC, newest DESC) AS rk
    FROM (SELECT image_id, class_id, count(*) AS n, max(id) AS newest FROM (${CURRENT_SQL}) WHERE class_id IS NOT NULL
          GROUP BY image_id, class_id)
  ) WHERE rk = 1`

export interface NewAnnotation {
  imageId: number
  classId: number | null
  annotator: string
  source?: string
}

/** Appends labels as one action (one undo step); returns the action id. */
export function addAnnotations(db: Db, rows: NewAnnotation[], actionId: string = randomUUID()): string {
  const insert = db.prepare(
    'INSERT INTO annotations (image_id, class_id, annotator, source, action_id, created_at) VALUES (?, ?, ?, ?, ?, ?)'
  )
  const at = new Date().toISOString()
  db.transaction(() => {
    for (const r of rows) insert.run(r.imageId, r.classId, r.annotator, r.source ?? 'manual', actionId, at)
    recomputeConsensus(db, new Set(rows.map((r) => r.imageId)))
  })()
  return actionId
}

export function labeledImageCount(db: Db): number {
  return (
    db.prepare('SELECT count(*) AS n FROM image_labels l JOIN images i ON i.id = l.image_id WHERE i.excluded = 0').get() as { n: number }
  ).n
}

export function annotatorCounts(db: Db): { name: string; count: number }[] {
  return db
    .prepare(`SELECT annotator AS name, count(*) AS count FROM (${CURRENT_SQL}) WHERE class_id IS NOT NULL
              GROUP BY annotator ORDER BY count DESC, annotator`)
    .all() as { name: string; count: number }[]
}

export function consensusLabel(db: Db, imageId: number): number | null {
  const row = db.prepare('SELECT class_id FROM image_labels WHERE image_id = ?').get(imageId) as { class_id: number } | undefined
  return row?.class_id ?? null
}

/** Each annotator's current label on an image (cleared labels left out). */
export function currentLabels(db: Db, imageId: number): { annotator: string; classId: number }[] {
  return db
    .prepare(`SELECT annotator, class_id AS classId FROM (${CURRENT_SQL}) WHERE image_id = ? AND class_id IS NOT NULL ORDER BY annotator`)
    .all(imageId) as { annotator: string; classId: number }[]
}

export function history(db: Db, imageId: number): { classId: number | null; annotator: string; at: string }[] {
  return db
    .prepare('SELECT class_id AS classId, annotator, created_at AS at FROM annotations WHERE image_id = ? ORDER BY id')
    .all(imageId) as { classId: number | null; annotator: string; at: string }[]
}
