import type { Database } from 'better-sqlite3'

/** Each annotator's latest label (non-null) of the given images: one row per (image, annotator). */
const CURRENT_OF_IDS = `
  SELECT a.image_id AS imageId, a.class_id AS classId, a.id AS annotationId, a.source FROM annotations a
  JOIN (SELECT max(an.id) AS id FROM json_each(?) j JOIN annotations an ON an.image_id = j.value
        GROUP BY an.image_id, an.annotator) l ON l.id = a.id
  WHERE a.class_id IS NOT NULL`

/** The latest annotation row of each of the given images, whoever gave it. */
const LATEST_OF_IDS = `
  SELECT a.image_id AS imageId, a.class_id AS classId, a.source FROM annotations a
  JOIN (SELECT max(an.id) AS id FROM json_each(?) j JOIN annotations an ON an.image_id = j.value
        GROUP BY an.image_id) l ON l.id = a.id`

/** The whole label history of the given images, oldest first. */
const HISTORY_OF_IDS = `
  SELECT a.id, a.image_id AS imageId, a.annotator, a.class_id AS classId, a.source, a.action_id AS actionId
  FROM json_each(?) j JOIN annotations a ON a.image_id = j.value ORDER BY a.id`

type Votes = Map<number, { n: number; newest: number }>
type HistoryRow = { id: number; annotator: string; classId: number | null; source: string; actionId: string | null }

/** Undo and redo append rows that restate an earlier label: `<action id>:undo:<uuid>` (labeling/actions.ts). */
const REPLAY = /^(.*):(undo|redo):[^:]*$/

/**
 * When each annotator's current label of one image was given, for settling ties by recency. A
 * label restated by undo or redo keeps the time of the label it restates, so undoing a relabel
 * gives back exactly the consensus before it. Returns the votes with those times as `newest`.
 */
function votesByGivenTime(history: HistoryRow[]): Votes {
  const given = new Map<number, number>() // row id -> when its label was given
  const before = new Map<number, number | undefined>() // original row id -> the time of the label it replaced
  const original = new Map<string, number>() // annotator + action id -> that action's row here
  const current = new Map<string, { classId: number | null; at: number }>()
  for (const r of history) {
    const replay = r.source === 'undo' || r.source === 'redo' ? REPLAY.exec(r.actionId ?? '') : null
    const of = replay ? original.get(`${r.annotator}\n${replay[1]}`) : undefined
    let at = r.id
    if (of !== undefined) at = (replay![2] === 'redo' ? given.get(of) : before.get(of)) ?? r.id
    else if (!replay) {
      original.set(`${r.annotator}\n${r.actionId}`, r.id)
      before.set(r.id, current.get(r.annotator)?.at)
    }
    given.set(r.id, at)
    current.set(r.annotator, { classId: r.classId, at })
  }
  const votes: Votes = new Map()
  for (const { classId, at } of current.values()) {
    if (classId === null) continue
    const c = votes.get(classId) ?? { n: 0, newest: 0 }
    votes.set(classId, { n: c.n + 1, newest: Math.max(c.newest, at) })
  }
  return votes
}

/**
 * The most-voted class; a tie goes to the tied class whose label was given most recently.
 * `newest`: that class's newest time (a row id, or a given time from votesByGivenTime).
 */
function leader(votes: Votes): { classId: number; total: number; tie: boolean; newest: number } {
  let total = 0
  let top = 0
  for (const { n } of votes.values()) {
    total += n
    top = Math.max(top, n)
  }
  let classId = -1
  let newest = -1
  let leaders = 0
  for (const [id, c] of votes) {
    if (c.n !== top) continue
    leaders++
    if (c.newest > newest) [classId, newest] = [id, c.newest]
  }
  return { classId, total, tie: leaders > 1, newest }
}

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
  // Per image and class: how many annotators' current labels say it, and the newest such row.
  const votes = new Map<number, Votes>()
  const sources = new Map<number, string>() // row id -> source, for the rows in `votes`
  for (const r of db.prepare(CURRENT_OF_IDS).all(json) as { imageId: number; classId: number; annotationId: number; source: string }[]) {
    const counts = votes.get(r.imageId) ?? new Map<number, { n: number; newest: number }>()
    const c = counts.get(r.classId) ?? { n: 0, newest: 0 }
    counts.set(r.classId, { n: c.n + 1, newest: Math.max(c.newest, r.annotationId) })
    votes.set(r.imageId, counts)
    sources.set(r.annotationId, r.source)
  }
  // A tie whose newest row is an undo or redo needs the history to know when its label was given
  // (rare: a tie, and the last word on it replayed); every other tie is settled by row order.
  const replayed: number[] = []
  for (const [imageId, counts] of votes) {
    const lead = leader(counts)
    const source = sources.get(lead.newest) // here times are row ids
    if (lead.tie && (source === 'undo' || source === 'redo')) replayed.push(imageId)
  }
  if (replayed.length) {
    const histories = new Map<number, HistoryRow[]>()
    for (const r of db.prepare(HISTORY_OF_IDS).all(JSON.stringify(replayed)) as (HistoryRow & { imageId: number })[]) {
      const h = histories.get(r.imageId) ?? []
      h.push(r)
      histories.set(r.imageId, h)
    }
    for (const [imageId, h] of histories) votes.set(imageId, votesByGivenTime(h))
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
    const lead = leader(counts)
    // A label given in the review queue (source 'review') adjudicates: it is the image's label
    // until someone labels the image again.
    const last = latest.get(id)
    if (last?.source === 'review' && last.classId !== null) {
      upsert.run(id, last.classId, lead.total, counts.size, 0)
      continue
    }
    // A tie goes to the tied class labeled most recently, and is marked: someone relabeling an
    // imported image (one label against one) sees their label take effect, and the image still
    // shows up as a disagreement to settle.
    upsert.run(id, lead.classId, lead.total, counts.size, lead.tie ? 1 : 0)
  }
}
