import type { Facets, ImageCard, ImageDetail, LibraryFilter, LibrarySort } from '../../shared/library'
import { StudioError } from '../../shared/errors'
import type { Db } from '../db/connection'
import { currentLabels } from '../db/repos/annotations'

interface Where {
  sql: string
  params: unknown[]
}

/** Every filter becomes one clause over images (i) and their consensus (l); filters combine with AND. */
function where(f: LibraryFilter): Where {
  const clauses: string[] = []
  const params: unknown[] = []
  const excluded = f.excluded ?? 'hide'
  if (excluded === 'hide') clauses.push('i.excluded = 0')
  if (excluded === 'only') clauses.push('i.excluded = 1')
  const classes = f.classIds ?? []
  if (classes.length && f.unlabeled) {
    clauses.push(`(l.class_id IN (${classes.map(() => '?').join(',')}) OR l.class_id IS NULL)`)
    params.push(...classes)
  } else if (classes.length) {
    clauses.push(`l.class_id IN (${classes.map(() => '?').join(',')})`)
    params.push(...classes)
  } else if (f.unlabeled) clauses.push('l.class_id IS NULL')
  if (f.environments?.length) {
    const named = f.environments.filter((e) => e !== '(none)')
    const parts = named.length ? [`i.environment IN (${named.map(() => '?').join(',')})`] : []
    if (named.length !== f.environments.length) parts.push('i.environment IS NULL')
    clauses.push(`(${parts.join(' OR ')})`)
    params.push(...named)
  }
  if (f.subjects?.length) {
    clauses.push(`i.subject_id IN (${f.subjects.map(() => '?').join(',')})`)
    params.push(...f.subjects)
  }
  for (const [name, value] of Object.entries(f.attributes ?? {})) {
    clauses.push('json_extract(i.attributes, ?) = ?')
    params.push(`$.${JSON.stringify(name)}`, value)
  }
  if (f.annotator) {
    clauses.push('EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id AND a.annotator = ? AND a.class_id IS NOT NULL)')
    params.push(f.annotator)
  }
  if (f.disagreement) clauses.push('l.distinct_classes > 1')
  if (f.missing) clauses.push('i.missing = 1')
  if (f.flagged) clauses.push("EXISTS (SELECT 1 FROM flags g WHERE g.image_id = i.id AND g.status = 'open' AND g.stale = 0)")
  if (f.splitHint) {
    clauses.push('i.split_hint = ?')
    params.push(f.splitHint)
  }
  if (f.ids) {
    // One JSON parameter, however many ids: SQLite caps the number of bound variables.
    clauses.push('i.id IN (SELECT value FROM json_each(?))')
    params.push(JSON.stringify(f.ids))
  }
  if (f.search?.trim()) {
    clauses.push("i.file_name LIKE ? ESCAPE '\\'")
    params.push(`%${f.search.trim().replace(/[\\%_]/g, (c) => '\\' + c)}%`)
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

const ORDER: Record<NonNullable<LibrarySort>, string> = {
  added: 'i.id',
  name: 'i.file_name, i.id',
  class: 'coalesce(c.position, 1e9), i.id'
}

const FROM = `FROM images i LEFT JOIN image_labels l ON l.image_id = i.id LEFT JOIN classes c ON c.id = l.class_id`

const CARD = `SELECT i.id, i.file_name AS fileName, i.sha256, l.class_id AS classId, coalesce(l.votes, 0) AS votes,
  coalesce(l.tie, 0) AS tie, coalesce(l.distinct_classes, 0) > 1 AS disagreement, i.excluded, i.missing,
  i.environment, i.subject_id AS subjectId`

function toCard(r: Record<string, unknown>): ImageCard {
  return { ...(r as unknown as ImageCard), tie: r.tie === 1, disagreement: r.disagreement === 1, excluded: r.excluded === 1, missing: r.missing === 1 }
}

export function countImages(db: Db, filter: LibraryFilter): number {
  const w = where(filter)
  return db.prepare(`SELECT count(*) ${FROM} ${w.sql}`).pluck().get(...w.params) as number
}

/** One page of the grid, in the filter's order. */
export function queryImages(db: Db, filter: LibraryFilter, sort: LibrarySort, offset: number, limit: number): { total: number; items: ImageCard[] } {
  const w = where(filter)
  const total = countImages(db, filter)
  const rows = db
    .prepare(`${CARD} ${FROM} ${w.sql} ORDER BY ${ORDER[sort ?? 'added']} LIMIT ? OFFSET ?`)
    .all(...w.params, limit, offset) as Record<string, unknown>[]
  return { total, items: rows.map(toCard) }
}

/** All ids in the filter's order: select-all and stable next/previous in the labeling view. */
export function queryIds(db: Db, filter: LibraryFilter, sort: LibrarySort): number[] {
  const w = where(filter)
  return db.prepare(`SELECT i.id ${FROM} ${w.sql} ORDER BY ${ORDER[sort ?? 'added']}`).pluck().all(...w.params) as number[]
}

export function imageDetail(db: Db, id: number, annotator: string, blind: boolean): ImageDetail {
  const row = db
    .prepare(
      `${CARD}, i.width, i.height, i.format, i.bytes, i.source_path AS sourcePath, i.attributes, i.split_hint AS splitHint ${FROM} WHERE i.id = ?`
    )
    .get(id) as Record<string, unknown> | undefined
  if (!row) throw new StudioError('not_found', `image ${id} no longer exists in this project`, 'id')
  const labels = currentLabels(db, id)
  const mine = labels.find((l) => l.annotator === annotator)?.classId ?? null
  const distribution = new Map<number, number>()
  for (const l of labels) distribution.set(l.classId, (distribution.get(l.classId) ?? 0) + 1)
  const card = toCard(row)
  return {
    ...card,
    // Blind mode hides what others decided, the consensus included.
    classId: blind ? mine : card.classId,
    votes: blind ? (mine === null ? 0 : 1) : card.votes,
    tie: blind ? false : card.tie,
    disagreement: blind ? false : card.disagreement,
    width: row.width as number,
    height: row.height as number,
    format: row.format as string,
    bytes: row.bytes as number,
    sourcePath: row.sourcePath as string | null,
    attributes: JSON.parse(row.attributes as string) as Record<string, string>,
    splitHint: row.splitHint as string | null,
    mine,
    labels: blind ? [] : labels,
    distribution: blind ? [] : [...distribution].map(([classId, count]) => ({ classId, count })).sort((a, b) => b.count - a.count)
  }
}

export function facets(db: Db): Facets {
  const attrs = db
    .prepare(
      `SELECT j.key AS name, j.value AS value, count(*) AS count FROM images i, json_each(i.attributes) j
       GROUP BY j.key, j.value ORDER BY j.key, count DESC LIMIT 2000`
    )
    .all() as { name: string; value: string; count: number }[]
  const byName = new Map<string, { value: string; count: number }[]>()
  for (const a of attrs) {
    const list = byName.get(a.name) ?? []
    list.push({ value: String(a.value), count: a.count })
    byName.set(a.name, list)
  }
  return {
    environments: db
      .prepare("SELECT coalesce(environment, '(none)') AS name, count(*) AS count FROM images GROUP BY environment ORDER BY count DESC")
      .all() as { name: string; count: number }[],
    subjects: db.prepare('SELECT count(DISTINCT subject_id) FROM images').pluck().get() as number,
    attributes: [...byName].map(([name, values]) => ({ name, values })),
    annotators: db.prepare('SELECT DISTINCT annotator FROM annotations ORDER BY annotator').pluck().all() as string[],
    splitHints: db.prepare('SELECT DISTINCT split_hint FROM images WHERE split_hint IS NOT NULL ORDER BY split_hint').pluck().all() as string[]
  }
}

/** Cards for the given ids, in that order (ids that no longer exist are left out). */
export function cardsByIds(db: Db, ids: number[]): ImageCard[] {
  if (!ids.length) return []
  const rows = db.prepare(`${CARD} ${FROM} WHERE i.id IN (${ids.map(() => '?').join(',')})`).all(...ids) as Record<string, unknown>[]
  const byId = new Map(rows.map((r) => [r.id as number, toCard(r)]))
  return ids.flatMap((id) => byId.get(id) ?? [])
}
