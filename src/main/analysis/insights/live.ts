// The dashboard's one pass over the images, kept current between writes instead of redone.
//
// A full pass groups 100,000 images in about 110 ms (composition.ts); after a label, the whole
// dashboard used to redo it (bench/dashboard.ts: 270 ms). Here the first pass is kept as counts
// per group key, and TEMP triggers on this connection note each image whose key may change,
// with the key it had, the first time it changes. The next look subtracts those old keys, adds
// the images' keys now, and forgets them. The connection holds the project's exclusive lock, so
// every write goes through it and through the triggers; a rolled-back write rolls its notes back.
//
// Agreement is kept the same way: each multi-rated image's current labels and Krippendorff's
// sums (agreement.ts) at the last look; images whose annotations changed are taken out with their
// old labels and put back with their new ones. Annotations are only ever appended (a change or an
// undo is a new row), so the rows past the highest id seen are what is new: no trigger on insert,
// which cost labeling more than everything else here (a trigger per row made a 5,000-image label
// 50% slower). A deleted or edited annotation row (an image deleted) means one full pass.
// Two smaller caches ride on the same triggers: version counters for what the subjects of the
// split and the latest run's accuracy depend on, so a label does not redo either query.
import type { Db } from '../../db/connection'
import { addAlphaItem, emptyAlphaSums, type AlphaSums } from '../agreement'
import { ACTIVE, groupKeySql, parseGroupKey, scanKeys, type ScanRow } from './composition'

/** Past this many changed images since the last look, one full pass is cheaper than the notes. */
const FULL_PASS_SHARE = 0.2
const FULL_PASS_MIN = 2_000

interface State {
  splitId: number | null
  /** Images per group key at the last look. */
  counts: Map<string, number>
  images: number
}

const states = new WeakMap<Db, State | null>()

/** A pass read slice by slice in the background (warmScan): images with ids below `nextId` are counted. */
interface Pending extends State {
  nextId: number
}

const pendings = new WeakMap<Db, Pending>()

interface Agreement {
  /** Current labels (one per annotator) of each active image with two or more. */
  byImage: Map<number, number[]>
  sums: AlphaSums
  /** Labels each annotator gave, changes included (a cleared label is not one). */
  given: Map<string, number>
  /** The highest annotation id counted, and the version of deletions and edits then. */
  seenId: number
  edits: number
}

const agreements = new WeakMap<Db, Agreement>()

/** The key of image `id` now, for the split noted in temp.insight_state (one SQL scalar). */
const keyOf = (id: string) => `(SELECT ${groupKeySql('(SELECT split_id FROM temp.insight_state)')} FROM main.images i LEFT JOIN main.image_labels l ON l.image_id = i.id WHERE i.id = ${id})`

// Not INSERT OR IGNORE: in a trigger the outer statement's conflict clause wins, so under the
// consensus' INSERT OR REPLACE it replaced the first note's old key with a later one.
const first = (id: string, key: string) => `INSERT INTO temp.insight_dirty (image_id, old_key) SELECT ${id}, ${key} WHERE NOT EXISTS (SELECT 1 FROM temp.insight_dirty WHERE image_id = ${id});`
const note = (id: string) => first(id, keyOf(id))
const bump = (name: string) => `UPDATE temp.insight_versions SET v = v + 1 WHERE name = '${name}';`
const TRACKED = '(SELECT split_id FROM temp.insight_state)'
const rated = (id: string) => `INSERT INTO temp.insight_rated (image_id) SELECT ${id} WHERE NOT EXISTS (SELECT 1 FROM temp.insight_rated WHERE image_id = ${id});`

const TRIGGERS: [name: string, when: string, body: string][] = [
  // the images' group keys
  ['labels_ins', 'BEFORE INSERT ON main.image_labels', note('NEW.image_id')],
  ['labels_upd', 'BEFORE UPDATE ON main.image_labels', note('OLD.image_id')],
  ['labels_del', 'BEFORE DELETE ON main.image_labels', note('OLD.image_id')],
  // a new image had no key: noted with none (its id exists only after the insert)
  ['images_ins', 'AFTER INSERT ON main.images', first('NEW.id', 'NULL') + bump('subjects')],
  ['images_upd', 'BEFORE UPDATE OF environment, attributes, excluded, missing ON main.images', note('OLD.id') + rated('OLD.id') + bump('runs')],
  ['images_del', 'BEFORE DELETE ON main.images', note('OLD.id') + rated('OLD.id') + bump('subjects') + bump('runs')],
  // annotations are appended; a row deleted (with its image) or edited means a full pass
  ['annotations_del', 'AFTER DELETE ON main.annotations', bump('annotations')],
  ['annotations_upd', 'AFTER UPDATE ON main.annotations', bump('annotations')],
  ['split_ins', `BEFORE INSERT ON main.split_assignments WHEN NEW.split_id IS ${TRACKED}`, note('NEW.image_id') + bump('subjects')],
  ['split_upd', `BEFORE UPDATE ON main.split_assignments WHEN OLD.split_id IS ${TRACKED} OR NEW.split_id IS ${TRACKED}`, note('OLD.image_id') + note('NEW.image_id') + bump('subjects')],
  ['split_del', `BEFORE DELETE ON main.split_assignments WHEN OLD.split_id IS ${TRACKED}`, note('OLD.image_id') + bump('subjects')],
  // what the subjects of the split read
  ['subject_upd', 'AFTER UPDATE OF subject_id ON main.images', bump('subjects')],
  // what the latest run's accuracy reads
  ['pred_ins', 'AFTER INSERT ON main.run_predictions', bump('runs')],
  ['pred_upd', 'AFTER UPDATE ON main.run_predictions', bump('runs')],
  ['pred_del', 'AFTER DELETE ON main.run_predictions', bump('runs')],
  ['runs_ins', 'AFTER INSERT ON main.runs', bump('runs')],
  ['runs_upd', 'AFTER UPDATE ON main.runs', bump('runs')],
  ['runs_del', 'AFTER DELETE ON main.runs', bump('runs')]
]

function install(db: Db): void {
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS insight_state (split_id INTEGER);
    CREATE TEMP TABLE IF NOT EXISTS insight_dirty (image_id INTEGER PRIMARY KEY, old_key TEXT);
    CREATE TEMP TABLE IF NOT EXISTS insight_versions (name TEXT PRIMARY KEY, v INTEGER NOT NULL);
    CREATE TEMP TABLE IF NOT EXISTS insight_rated (image_id INTEGER PRIMARY KEY);
    INSERT INTO insight_state (split_id) SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM insight_state);
    INSERT OR IGNORE INTO insight_versions (name, v) VALUES ('subjects', 0), ('runs', 0), ('annotations', 0);
  `)
  for (const [name, when, body] of TRIGGERS) db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS insight_${name} ${when} BEGIN ${body} END`)
}


function fullPass(db: Db, splitId: number | null): State {
  db.prepare('UPDATE temp.insight_state SET split_id = ?').run(splitId)
  db.prepare('DELETE FROM temp.insight_dirty').run()
  const counts = new Map<string, number>()
  let images = 0
  for (const { k, n } of scanKeys(db, splitId)) {
    counts.set(k, n)
    images += n
  }
  return { splitId, counts, images }
}

/**
 * One slice of a pass: images with ids in [nextId, nextId + slice). Notes taken so far for those
 * images are dropped, since the slice reads them as they are now; later writes are noted as
 * usual. Returns whether the pass is complete.
 */
function passSlice(db: Db, p: Pending, slice: number): boolean {
  const lo = p.nextId
  const hi = lo + slice
  const split = p.splitId === null ? 'NULL' : String(p.splitId)
  const rows = db
    .prepare(`SELECT k, count(*) AS n FROM (SELECT ${groupKeySql(split)} AS k FROM images i LEFT JOIN image_labels l ON l.image_id = i.id WHERE i.id >= @lo AND i.id < @hi) GROUP BY k`)
    .all({ lo, hi }) as { k: string; n: number }[]
  for (const { k, n } of rows) {
    p.counts.set(k, (p.counts.get(k) ?? 0) + n)
    p.images += n
  }
  db.prepare('DELETE FROM temp.insight_dirty WHERE image_id >= ? AND image_id < ?').run(lo, hi)
  p.nextId = hi
  return db.prepare('SELECT 1 FROM images WHERE id >= ? LIMIT 1').get(hi) === undefined
}

/**
 * Reads what the dashboard's first look would, a slice at a time with `pause()` between slices,
 * so the look itself finds everything kept (liveScan). Writes in between are noted by the
 * triggers like any others. A look that comes first finishes the pass itself.
 */
export async function warmScan(db: Db, splitId: number | null, pause: () => Promise<boolean>, slice = 10_000): Promise<void> {
  if (installed(db) || pendings.has(db)) return
  db.prepare('UPDATE temp.insight_state SET split_id = ?').run(splitId)
  db.prepare('DELETE FROM temp.insight_dirty').run()
  const p: Pending = { splitId, counts: new Map(), images: 0, nextId: 0 }
  pendings.set(db, p)
  for (;;) {
    if (!(await pause())) return
    // taken over by a look, or by another pass
    if (pendings.get(db) !== p) return
    if (passSlice(db, p, slice)) break
  }
  pendings.delete(db)
  states.set(db, { splitId: p.splitId, counts: p.counts, images: p.images })
}

/** The state of this connection, installing the triggers the first time. */
function installed(db: Db): State | null {
  const state = states.get(db)
  if (state !== undefined) return state
  install(db)
  states.set(db, null)
  return null
}

/**
 * Every image once, grouped, for the given split (the same rows as scanImages), from the counts
 * of the last look and the images changed since. Installs the triggers on first use.
 */
export function liveScan(db: Db, splitId: number | null): ScanRow[] {
  let state = installed(db)
  const pending = pendings.get(db)
  if (!state && pending) {
    // a background pass under way: finish it here
    pendings.delete(db)
    if (pending.splitId === splitId) {
      while (!passSlice(db, pending, 50_000));
      state = { splitId, counts: pending.counts, images: pending.images }
    }
  }
  if (!state || state.splitId !== splitId) {
    state = fullPass(db, splitId)
  } else {
    const changed = db.prepare('SELECT count(*) FROM temp.insight_dirty').pluck().get() as number
    if (changed > Math.max(FULL_PASS_MIN, state.images * FULL_PASS_SHARE)) state = fullPass(db, splitId)
    else if (changed > 0) {
      const rows = db.prepare(`SELECT d.old_key AS old, ${keyOf('d.image_id')} AS now FROM temp.insight_dirty d`).all() as { old: string | null; now: string | null }[]
      const { counts } = state
      for (const { old, now } of rows) {
        if (old !== null) {
          const n = (counts.get(old) ?? 0) - 1
          if (n > 0) counts.set(old, n)
          else counts.delete(old)
          state.images--
        }
        if (now !== null) {
          counts.set(now, (counts.get(now) ?? 0) + 1)
          state.images++
        }
      }
      db.prepare('DELETE FROM temp.insight_dirty').run()
    }
  }
  states.set(db, state)
  return [...state.counts].map(([k, n]) => ({ ...parseGroupKey(k), n }))
}

/**
 * Drops what this connection remembers, so the next look is a full pass and every per-version
 * value is read again: for tests that compare the kept figures with fresh ones.
 */
export function forgetLive(db: Db): void {
  installed(db)
  states.set(db, null)
  pendings.delete(db)
  agreements.delete(db)
  // the per-version values are read again; the agreement pass follows from the state dropped
  db.exec("UPDATE temp.insight_versions SET v = v + 1 WHERE name IN ('subjects', 'runs')")
}

/**
 * Current labels, one per annotator (their latest, if not cleared), of active images: those of
 * `from` (SQL giving image ids; CROSS JOIN keeps it the outer loop, so a few changed images never
 * make SQLite walk every annotation). Rows come per image, in id order.
 */
function currentLabels(db: Db, from: string, param?: unknown): Map<number, number[]> {
  const rows = db
    .prepare(
      `SELECT a.image_id AS item, a.class_id AS label FROM main.annotations a
       JOIN (SELECT max(an.id) AS id FROM (${from}) f CROSS JOIN main.annotations an ON an.image_id = f.image_id GROUP BY an.image_id, an.annotator) latest ON latest.id = a.id
       JOIN main.images i ON i.id = a.image_id
       WHERE a.class_id IS NOT NULL AND ${ACTIVE}`
    )
    .raw()
    .all(...(param === undefined ? [] : [param])) as [number, number][]
  const out = new Map<number, number[]>()
  for (const [item, label] of rows) {
    const list = out.get(item)
    if (list) list.push(label)
    else out.set(item, [label])
  }
  return out
}

function agreementPass(db: Db): Agreement {
  db.prepare('DELETE FROM temp.insight_rated').run()
  const seenId = (db.prepare('SELECT coalesce(max(id), 0) FROM main.annotations').pluck().get() as number)
  const given = new Map<string, number>()
  addGiven(given, db.prepare('SELECT annotator, count(*) FROM main.annotations WHERE class_id IS NOT NULL GROUP BY annotator').raw().all() as [string, number][])
  // image_labels counts the current labels of each image (votes) and their distinct classes, kept
  // in every labeling transaction (consensus.ts). Where all agree, the labels are the class
  // `votes` times; only images with disagreement need their annotations read.
  const agreed = db
    .prepare(`SELECT l.image_id, l.class_id, l.votes FROM main.image_labels l JOIN main.images i ON i.id = l.image_id WHERE l.votes > 1 AND l.distinct_classes = 1 AND ${ACTIVE}`)
    .raw()
    .all() as [number, number, number][]
  const byImage = currentLabels(db, 'SELECT image_id FROM main.image_labels WHERE votes > 1 AND distinct_classes > 1')
  for (const [id, classId, votes] of agreed) byImage.set(id, new Array<number>(votes).fill(classId))
  const sums = emptyAlphaSums()
  for (const [id, labels] of byImage) {
    if (labels.length < 2) byImage.delete(id)
    else addAlphaItem(sums, labels)
  }
  return { byImage, sums, given, seenId, edits: version(db, 'annotations') }
}

function addGiven(given: Map<string, number>, rows: [string, number][]): void {
  for (const [name, n] of rows) given.set(name, (given.get(name) ?? 0) + n)
}

/**
 * Krippendorff's sums over the active images two or more annotators labeled, those images' count,
 * and the labels each annotator gave, from the last look and what changed since.
 */
export function liveAgreement(db: Db): { multiRated: number; sums: AlphaSums; annotators: { name: string; labels: number }[] } {
  const scan = installed(db)
  let state = agreements.get(db)
  const limit = Math.max(FULL_PASS_MIN, (scan?.images ?? 0) * FULL_PASS_SHARE)
  const pending = () => db.prepare('SELECT count(*) FROM temp.insight_rated').pluck().get() as number
  if (!state || state.edits !== version(db, 'annotations') || pending() > limit) state = agreementPass(db)
  else {
    const since = state.seenId
    const added = db.prepare('SELECT count(*), coalesce(max(id), 0) FROM main.annotations WHERE id > ?').raw().get(since) as [number, number]
    if (added[0] > limit) state = agreementPass(db)
    else if (added[0] > 0 || pending() > 0) {
      // NOT INDEXED: the new rows are a rowid range; through an index SQLite walked them all.
      addGiven(state.given, db.prepare('SELECT annotator, count(*) FROM main.annotations NOT INDEXED WHERE id > ? AND class_id IS NOT NULL GROUP BY annotator').raw().all(since) as [string, number][])
      // images with new annotations, and those excluded, included, marked missing or deleted
      const from = 'SELECT image_id FROM main.annotations NOT INDEXED WHERE id > @since UNION SELECT image_id FROM temp.insight_rated'
      const now = currentLabels(db, from, { since })
      for (const id of db.prepare(from).pluck().all({ since }) as number[]) {
        const old = state.byImage.get(id)
        if (old) addAlphaItem(state.sums, old, -1)
        const labels = now.get(id)
        if (labels && labels.length > 1) {
          addAlphaItem(state.sums, labels)
          state.byImage.set(id, labels)
        } else state.byImage.delete(id)
      }
      if (added[0] > 0) state.seenId = added[1]
      db.prepare('DELETE FROM temp.insight_rated').run()
    }
  }
  agreements.set(db, state)
  const annotators = [...state.given].filter(([, n]) => n > 0).map(([name, labels]) => ({ name, labels }))
  annotators.sort((a, b) => b.labels - a.labels || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { multiRated: state.byImage.size, sums: state.sums, annotators }
}

/**
 * Runs `look` as the first look of a session would (full passes, every query read), then puts back
 * what this connection kept, so tests can compare kept figures with fresh ones step after step.
 * Call it right after a look: the changes noted since are consumed by the full passes.
 */
export function freshLook<T>(db: Db, look: () => T): T {
  const scan = installed(db)
  const agreement = agreements.get(db)
  forgetLive(db)
  try {
    return look()
  } finally {
    states.set(db, scan)
    if (agreement) agreements.set(db, agreement)
  }
}

/** Whether this connection keeps the grouped pass and agreement (a look adds only what changed). */
export function isKept(db: Db): boolean {
  return Boolean(states.get(db)) && agreements.has(db)
}

/** The agreement pass, if this connection has none kept yet (warming up after a project opens). */
export function warmAgreement(db: Db): void {
  installed(db)
  if (!agreements.has(db)) agreements.set(db, agreementPass(db))
}

/** How many writes have touched what part `name` of the dashboard reads ('subjects' or 'runs'). */
export function version(db: Db, name: 'subjects' | 'runs' | 'annotations'): number {
  installed(db)
  return db.prepare('SELECT v FROM temp.insight_versions WHERE name = ?').pluck().get(name) as number
}

/** Remembers one value per connection until version `name` moves or `key` differs. */
export function perVersion<T>(name: 'subjects' | 'runs'): (db: Db, key: string, compute: () => T) => T {
  const cache = new WeakMap<Db, { v: number; key: string; value: T }>()
  return (db, key, compute) => {
    const v = version(db, name)
    const hit = cache.get(db)
    if (hit && hit.v === v && hit.key === key) return hit.value
    const value = compute()
    cache.set(db, { v: version(db, name), key, value })
    return value
  }
}
