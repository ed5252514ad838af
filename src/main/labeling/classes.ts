import { StudioError } from '../../shared/errors'
import type { Db } from '../db/connection'
import { addAnnotations, CURRENT_SQL } from '../db/repos/annotations'
import { addClass, listClasses, type ClassRow } from '../db/repos/classes'
import { audit } from '../db/repos/meta'

export const CLASS_KEY_PATTERN = /^[0-9a-z]$/

function get(db: Db, id: number): ClassRow {
  const row = listClasses(db).find((c) => c.id === id)
  if (!row) throw new StudioError('not_found', `class ${id} does not exist (deleted or merged meanwhile?)`, 'classId')
  return row
}

export interface ClassImpact {
  classId: number
  /** Current labels (one per annotator and image) that name this class. */
  labels: number
  /** Images for which at least one annotator's current label is this class. */
  images: number
  /** Images whose consensus is this class. */
  consensus: number
}

export function classImpact(db: Db, classId: number): ClassImpact {
  get(db, classId)
  const cur = db.prepare(`SELECT count(*) AS labels, count(DISTINCT image_id) AS images FROM (${CURRENT_SQL}) WHERE class_id = ?`).get(classId) as {
    labels: number
    images: number
  }
  const consensus = db.prepare('SELECT count(*) FROM image_labels WHERE class_id = ?').pluck().get(classId) as number
  return { classId, ...cur, consensus }
}

export function createClass(db: Db, name: string): ClassRow {
  if (!name.trim()) throw new StudioError('invalid_payload', 'a class name must not be empty', 'name')
  const row = addClass(db, name)
  audit(db, 'class.create', { id: row.id, name })
  return row
}

/** Names are stored exactly as typed (the renderer escapes them); only empty and duplicate names are refused. */
export function renameClass(db: Db, classId: number, name: string): ClassRow {
  const row = get(db, classId)
  if (!name.trim()) throw new StudioError('invalid_payload', 'a class name must not be empty', 'name')
  const other = listClasses(db).find((c) => c.name === name && c.id !== classId)
  if (other) throw new StudioError('conflict', `another class is already named "${name}"; merge the two instead`, 'name')
  db.prepare('UPDATE classes SET name = ? WHERE id = ?').run(name, classId)
  audit(db, 'class.rename', { id: classId, from: row.name, to: name })
  return { ...row, name }
}

export function recolourClass(db: Db, classId: number, colour: string): ClassRow {
  const row = get(db, classId)
  if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new StudioError('invalid_payload', `colour must look like #a1b2c3 (got "${colour}")`, 'colour')
  db.prepare('UPDATE classes SET colour = ? WHERE id = ?').run(colour, classId)
  return { ...row, colour }
}

/** Remaps a class's key; a key another class holds is refused with that class's name. */
export function setClassKey(db: Db, classId: number, key: string | null): ClassRow {
  const row = get(db, classId)
  if (key !== null && !CLASS_KEY_PATTERN.test(key)) throw new StudioError('invalid_payload', `a class key is one digit or lower-case letter (got "${key}")`, 'key')
  const holder = key === null ? undefined : listClasses(db).find((c) => c.key === key && c.id !== classId)
  if (holder) throw new StudioError('conflict', `key ${key} already labels "${holder.name}"; give that class another key first`, 'key')
  db.prepare('UPDATE classes SET key = ? WHERE id = ?').run(key, classId)
  return { ...row, key }
}

export function reorderClasses(db: Db, orderedIds: number[]): ClassRow[] {
  const current = listClasses(db)
  const ids = new Set(current.map((c) => c.id))
  if (orderedIds.length !== current.length || !orderedIds.every((id) => ids.has(id)) || new Set(orderedIds).size !== orderedIds.length) {
    throw new StudioError('invalid_payload', 'the new order must list every class exactly once', 'classIds')
  }
  db.transaction(() => orderedIds.forEach((id, position) => db.prepare('UPDATE classes SET position = ? WHERE id = ?').run(position, id)))()
  return listClasses(db)
}

function retire(db: Db, classId: number): void {
  // Old annotations keep pointing at the row, so the history stays readable; the name and key are freed.
  db.prepare("UPDATE classes SET deleted_at = ?, key = NULL, name = name || ' #deleted-' || id WHERE id = ?").run(new Date().toISOString(), classId)
}

function relabelCurrent(db: Db, from: number, to: number | null, source: string): number {
  const rows = db.prepare(`SELECT image_id AS imageId, annotator FROM (${CURRENT_SQL}) WHERE class_id = ?`).all(from) as { imageId: number; annotator: string }[]
  if (rows.length) addAnnotations(db, rows.map((r) => ({ imageId: r.imageId, annotator: r.annotator, classId: to, source })))
  return rows.length
}

/** Moves every current label of `sourceId` to `targetId` and retires the source class. */
export function mergeClasses(db: Db, sourceId: number, targetId: number): { moved: number; into: ClassRow } {
  if (sourceId === targetId) throw new StudioError('invalid_payload', 'cannot merge a class into itself', 'targetId')
  const source = get(db, sourceId)
  const target = get(db, targetId)
  return db.transaction(() => {
    const moved = relabelCurrent(db, sourceId, targetId, 'merge')
    retire(db, sourceId)
    audit(db, 'class.merge', { from: source.name, into: target.name, moved })
    return { moved, into: target }
  })()
}

/** Deletes a class; refuses while labels use it unless `clearLabels` confirms they should be cleared. */
export function deleteClass(db: Db, classId: number, clearLabels = false): { cleared: number } {
  const row = get(db, classId)
  const impact = classImpact(db, classId)
  if (impact.labels > 0 && !clearLabels) {
    throw new StudioError(
      'conflict',
      `"${row.name}" is the current label of ${impact.images} image(s) (${impact.labels} label(s)); merge it into another class, or confirm to clear those labels`,
      'classId'
    )
  }
  return db.transaction(() => {
    const cleared = relabelCurrent(db, classId, null, 'class-delete')
    retire(db, classId)
    audit(db, 'class.delete', { name: row.name, cleared })
    return { cleared }
  })()
}
