// Who is in the data: labeled images grouped by class, environment and subgroup attributes in one
// SQL pass. Rows come back per distinct (class, environment, attributes) combination, never per
// image, so 100,000 images cost one indexed scan and a few hundred JS iterations.
import type { Db } from '../../db/connection'
import { GAP_MIN_IMAGES, GAP_MIN_SHARE, NONE, type Gap, type Heatmap } from '../../../shared/insights'

export interface ActiveClass {
  id: number
  name: string
  colour: string
}

/** Images that count: not excluded, not missing. */
export const ACTIVE = 'i.excluded = 0 AND i.missing = 0'

/** One combination and how many images have it. */
export interface Combo {
  classId: number
  environment: string
  attributes: Record<string, string>
  n: number
}

export function activeClasses(db: Db): ActiveClass[] {
  return db.prepare('SELECT id, name, colour FROM classes WHERE deleted_at IS NULL ORDER BY position, id').all() as ActiveClass[]
}

const attributeCache = new Map<string, Record<string, string>>()

/** Attributes JSON to flat text values; the same string is parsed once per process. */
export function parseAttributes(json: string | null): Record<string, string> {
  if (!json) return {}
  const hit = attributeCache.get(json)
  if (hit) return hit
  const out: Record<string, string> = {}
  try {
    const parsed = JSON.parse(json) as unknown
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) if (v !== null && v !== undefined && v !== '') out[k] = String(v)
    }
  } catch {
    // The column has a json_valid CHECK; a value that still fails to parse just has no attributes.
  }
  if (attributeCache.size > 10_000) attributeCache.clear()
  attributeCache.set(json, out)
  return out
}

/** One group of images of the scan: same part of a split, label, environment, attributes and state. */
export interface ScanRow {
  part: 'train' | 'validation' | 'test' | null
  classId: number | null
  environment: string | null
  attributes: string
  excluded: number
  missing: number
  n: number
}

/**
 * Every image once, grouped: the one full pass the dashboard makes over the images table. With a
 * split id, each group also carries the image's part in that split, so the split's composition
 * needs no second pass. NOT INDEXED: walking images_environment would fetch every row out of order,
 * three times slower than reading the table straight through.
 */
export function scanImages(db: Db, splitId: number | null): ScanRow[] {
  return scanKeys(db, splitId).map(({ k, n }) => ({ ...parseGroupKey(k), n }))
}

/**
 * The group key of image `i` (joined to its image_labels row `l`): one JSON array of its part in
 * split `split` (an SQL expression), label, environment, attributes and state. One JSON key per
 * image sorts faster than six columns (about 15% of the pass on 100,000 images). live.ts computes
 * the same key in triggers, so the text must stay byte-identical between the two.
 */
export function groupKeySql(split: string): string {
  const part = split === 'NULL' ? 'NULL' : `(SELECT a.part FROM split_assignments a WHERE a.split_id = ${split} AND a.image_id = i.id)`
  return `json_array(${part}, l.class_id, i.environment, i.attributes, i.excluded, i.missing)`
}

/** The scan as group keys and counts. */
export function scanKeys(db: Db, splitId: number | null): { k: string; n: number }[] {
  return db
    .prepare(`SELECT k, count(*) AS n FROM (SELECT ${groupKeySql(splitId === null ? 'NULL' : '@split')} AS k FROM images i NOT INDEXED LEFT JOIN image_labels l ON l.image_id = i.id) GROUP BY k`)
    .all(splitId === null ? {} : { split: splitId }) as { k: string; n: number }[]
}

export function parseGroupKey(k: string): Omit<ScanRow, 'n'> {
  const [part, classId, environment, attributes, excluded, missing] = JSON.parse(k) as [ScanRow['part'], number | null, string | null, string, number, number]
  return { part, classId, environment, attributes, excluded, missing }
}

/** Labeled, active images (not excluded or missing, labeled with a class not deleted) as combos. */
export function labeledCombos(rows: ScanRow[], classes: ActiveClass[]): Combo[] {
  const active = new Set(classes.map((c) => c.id))
  const byKey = new Map<string, Combo>()
  for (const r of rows) {
    if (r.excluded || r.missing || r.classId === null || !active.has(r.classId)) continue
    // Parts of a split are summed away here.
    const key = `${r.classId}\u0000${r.environment ?? ''}\u0000${r.attributes}`
    const hit = byKey.get(key)
    if (hit) hit.n += r.n
    else byKey.set(key, { classId: r.classId, environment: r.environment || NONE, attributes: parseAttributes(r.attributes), n: r.n })
  }
  return [...byKey.values()]
}

/** Attribute names present on any combo, sorted. */
export function attributeNames(combos: { attributes: Record<string, string> }[]): string[] {
  const names = new Set<string>()
  for (const c of combos) for (const k of Object.keys(c.attributes)) names.add(k)
  return [...names].sort()
}

/** Class x value counts of one dimension; `valueOf` picks the column of a combo. */
export function heatmap(dimension: string, classes: ActiveClass[], combos: Combo[], valueOf: (c: Combo) => string): Heatmap {
  const totals = new Map<string, number>()
  const cells = new Map<string, number>()
  for (const c of combos) {
    const v = valueOf(c)
    totals.set(v, (totals.get(v) ?? 0) + c.n)
    const key = `${c.classId}\u0000${v}`
    cells.set(key, (cells.get(key) ?? 0) + c.n)
  }
  // Environments biggest first (the eye reads the main groups first); attribute values in their
  // natural order, so age bands read 18-29, 30-44, 45-59, 60+; the "no value" column last.
  const bySize = dimension === 'environment'
  const columns = [...totals.keys()].sort((a, b) =>
    a === NONE ? 1 : b === NONE ? -1 : bySize ? totals.get(b)! - totals.get(a)! || a.localeCompare(b) : a.localeCompare(b, 'en', { numeric: true })
  )
  return {
    dimension,
    classIds: classes.map((c) => c.id),
    columns,
    counts: classes.map((k) => columns.map((v) => cells.get(`${k.id}\u0000${v}`) ?? 0)),
    columnTotals: columns.map((v) => totals.get(v)!)
  }
}

function quote(value: string, dimension: string): string {
  if (dimension === 'environment') return `from ${value === NONE ? 'no recorded environment' : `"${value}"`}`
  return `with ${dimension} "${value}"`
}

/**
 * Under-represented cells of a heatmap: fewer than GAP_MIN_IMAGES images or under GAP_MIN_SHARE of
 * their class. A dimension with one value has nothing to compare, and the "no value" column is
 * not a group of people, so neither is called out.
 */
export function findGaps(map: Heatmap, classes: ActiveClass[]): Gap[] {
  if (map.columns.filter((c) => c !== NONE).length < 2) return []
  const gaps: Gap[] = []
  map.counts.forEach((row, r) => {
    const classTotal = row.reduce((a, b) => a + b, 0)
    if (classTotal === 0) return
    const name = classes[r].name
    row.forEach((count, c) => {
      const value = map.columns[c]
      if (value === NONE) return
      const share = count / classTotal
      if (count >= GAP_MIN_IMAGES && share >= GAP_MIN_SHARE) return
      const what = count === 0 ? `no "${name}" images` : `only ${count} "${name}" image${count === 1 ? '' : 's'}`
      gaps.push({
        classId: classes[r].id,
        className: name,
        dimension: map.dimension,
        value,
        count,
        shareOfClass: share,
        text: `${what} ${quote(value, map.dimension)} (${(share * 100).toFixed(share < 0.01 && share > 0 ? 1 : 0)}% of the class)`
      })
    })
  })
  return gaps.sort((a, b) => a.count - b.count || a.shareOfClass - b.shareOfClass)
}
