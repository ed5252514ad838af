import type { ClassInfo } from '../../../shared/domain'
import { defaultClassColour, defaultClassKey } from '../../../shared/presets'
import { StudioError } from '../../../shared/errors'
import type { Db } from '../connection'

export interface ClassRow {
  id: number
  name: string
  key: string | null
  colour: string
  position: number
}

export function listClasses(db: Db): ClassRow[] {
  return db.prepare('SELECT id, name, key, colour, position FROM classes WHERE deleted_at IS NULL ORDER BY position, id').all() as ClassRow[]
}

export function addClass(db: Db, name: string, opts: { key?: string | null; colour?: string } = {}): ClassRow {
  const existing = db.prepare('SELECT id FROM classes WHERE name = ? AND deleted_at IS NULL').get(name)
  if (existing) throw new StudioError('conflict', `a class named "${name}" already exists`, 'name')
  const position = (db.prepare('SELECT coalesce(max(position) + 1, 0) AS p FROM classes WHERE deleted_at IS NULL').get() as { p: number }).p
  let key = opts.key === undefined ? defaultClassKey(position) : opts.key
  if (key !== null && db.prepare('SELECT 1 FROM classes WHERE key = ? AND deleted_at IS NULL').get(key)) key = null
  const colour = opts.colour ?? defaultClassColour(position)
  const info = db
    .prepare('INSERT INTO classes (name, key, colour, position, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(name, key, colour, position, new Date().toISOString())
  return { id: Number(info.lastInsertRowid), name, key, colour, position }
}

export function classByName(db: Db, name: string): ClassRow | undefined {
  return db.prepare('SELECT id, name, key, colour, position FROM classes WHERE name = ? AND deleted_at IS NULL').get(name) as ClassRow | undefined
}

/** Classes with how many non-excluded images have each as their consensus label. */
export function classesWithCounts(db: Db): ClassInfo[] {
  const counts = new Map<number, number>()
  const rows = db
    .prepare(`SELECT l.class_id AS classId, count(*) AS n FROM image_labels l
              JOIN images i ON i.id = l.image_id WHERE i.excluded = 0 GROUP BY l.class_id`)
    .all() as { classId: number; n: number }[]
  for (const r of rows) counts.set(r.classId, r.n)
  return listClasses(db).map((c) => ({ ...c, imageCount: counts.get(c.id) ?? 0 }))
}
