import { randomUUID } from 'node:crypto'
import { StudioError } from '../../shared/errors'
import type { Db } from '../db/connection'
import { addAnnotations } from '../db/repos/annotations'

/** What one action changed on one image: enough to replay it either way. */
interface Change {
  imageId: number
  before: unknown
  after: unknown
}

export type ActionKind = 'label' | 'exclude' | 'environment' | 'subject' | 'attribute'

export interface ActionSummary {
  id: string
  kind: ActionKind
  annotator: string
  images: number[]
  /** For attribute edits, the attribute's name. */
  field?: string
}

const MAX_IMAGES_PER_ACTION = 200_000

function checkImages(db: Db, imageIds: number[]): void {
  if (imageIds.length === 0) throw new StudioError('invalid_payload', 'no images selected', 'imageIds')
  if (imageIds.length > MAX_IMAGES_PER_ACTION) throw new StudioError('invalid_payload', `at most ${MAX_IMAGES_PER_ACTION} images per action`, 'imageIds')
  const gone = db
    .prepare('SELECT j.value FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM images WHERE id = j.value) LIMIT 1')
    .pluck()
    .get(JSON.stringify(imageIds)) as number | undefined
  if (gone !== undefined) throw new StudioError('not_found', `image ${gone} no longer exists in this project (deleted meanwhile?)`, 'imageIds')
}

/** The images of the list that still exist. */
function existing(db: Db, imageIds: number[]): Set<number> {
  return new Set(
    db.prepare('SELECT j.value FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM images WHERE id = j.value)').pluck().all(JSON.stringify(imageIds)) as number[]
  )
}

function checkClass(db: Db, classId: number | null): void {
  if (classId === null) return
  if (!db.prepare('SELECT 1 FROM classes WHERE id = ? AND deleted_at IS NULL').get(classId)) {
    throw new StudioError('not_found', `class ${classId} does not exist (renamed, merged or deleted meanwhile?)`, 'classId')
  }
}

function record(db: Db, annotator: string, kind: ActionKind, changes: Change[], field?: string): ActionSummary {
  const id = randomUUID()
  // A new action ends every redo chain of this annotator.
  db.prepare("UPDATE actions SET state = 'discarded' WHERE annotator = ? AND state = 'undone'").run(annotator)
  db.prepare('INSERT INTO actions (id, annotator, kind, changes, created_at) VALUES (?, ?, ?, ?, ?)').run(
    id,
    annotator,
    kind,
    JSON.stringify({ field, changes }),
    new Date().toISOString()
  )
  return { id, kind, annotator, images: changes.map((c) => c.imageId), ...(field ? { field } : {}) }
}

/** This annotator's current label of each image (null when none), in one statement. */
function currentOf(db: Db, imageIds: number[], annotator: string): Map<number, number | null> {
  const rows = db
    .prepare(
      `SELECT j.value AS imageId,
              (SELECT a.class_id FROM annotations a WHERE a.image_id = j.value AND a.annotator = ? ORDER BY a.id DESC LIMIT 1) AS classId
       FROM json_each(?) j`
    )
    .all(annotator, JSON.stringify(imageIds)) as { imageId: number; classId: number | null }[]
  return new Map(rows.map((r) => [r.imageId, r.classId]))
}

/** Labels images (null clears the annotator's label) as one undoable step. */
export function label(db: Db, annotator: string, imageIds: number[], classId: number | null, source = 'manual'): ActionSummary {
  return db.transaction(() => {
    checkImages(db, imageIds)
    checkClass(db, classId)
    const unique = [...new Set(imageIds)]
    const before = currentOf(db, unique, annotator)
    const changes = unique.map((imageId) => ({ imageId, before: before.get(imageId) ?? null, after: classId }))
    const summary = record(db, annotator, 'label', changes)
    addAnnotations(db, unique.map((imageId) => ({ imageId, classId, annotator, source })), summary.id)
    return summary
  })()
}

type Field = { kind: 'exclude' } | { kind: 'environment' } | { kind: 'subject' } | { kind: 'attribute'; name: string }

/** Reads and writes one field of an image, with the statements prepared once per action. */
function fieldAccess(db: Db, f: Field): { read(imageId: number): unknown; write(imageId: number, value: unknown): void } {
  const select = db.prepare('SELECT excluded, environment, subject_id, attributes FROM images WHERE id = ?')
  const path = f.kind === 'attribute' ? `$.${JSON.stringify(f.name)}` : ''
  const update =
    f.kind === 'exclude'
      ? db.prepare('UPDATE images SET excluded = ? WHERE id = ?')
      : f.kind === 'environment'
        ? db.prepare('UPDATE images SET environment = ? WHERE id = ?')
        : f.kind === 'subject'
          ? db.prepare('UPDATE images SET subject_id = ? WHERE id = ?')
          : db.prepare('UPDATE images SET attributes = json_set(attributes, ?, ?) WHERE id = ?')
  const remove = db.prepare('UPDATE images SET attributes = json_remove(attributes, ?) WHERE id = ?')
  return {
    read(imageId) {
      const row = select.get(imageId) as { excluded: number; environment: string | null; subject_id: string | null; attributes: string }
      if (f.kind === 'exclude') return row.excluded === 1
      if (f.kind === 'environment') return row.environment
      if (f.kind === 'subject') return row.subject_id
      return (JSON.parse(row.attributes) as Record<string, string>)[f.name] ?? null
    },
    write(imageId, value) {
      if (f.kind === 'exclude') update.run(value ? 1 : 0, imageId)
      else if (f.kind !== 'attribute') update.run(value as string | null, imageId)
      else if (value === null) remove.run(path, imageId)
      else update.run(path, value as string, imageId)
    }
  }
}

/** Excludes/includes images or sets a metadata field on them, as one undoable step. */
export function setField(db: Db, annotator: string, imageIds: number[], field: Field, value: string | boolean | null): ActionSummary {
  return db.transaction(() => {
    checkImages(db, imageIds)
    const unique = [...new Set(imageIds)]
    const access = fieldAccess(db, field)
    const changes = unique.map((imageId) => ({ imageId, before: access.read(imageId), after: value }))
    for (const id of unique) access.write(id, value)
    return record(db, annotator, field.kind, changes, field.kind === 'attribute' ? field.name : undefined)
  })()
}

function replay(db: Db, annotator: string, row: { id: string; kind: ActionKind; changes: string }, direction: 'before' | 'after'): ActionSummary {
  const { field, changes } = JSON.parse(row.changes) as { field?: string; changes: Change[] }
  const present = existing(db, changes.map((c) => c.imageId))
  const alive = changes.filter((c) => present.has(c.imageId))
  if (row.kind === 'label') {
    addAnnotations(
      db,
      alive.map((c) => ({ imageId: c.imageId, classId: c[direction] as number | null, annotator, source: direction === 'before' ? 'undo' : 'redo' })),
      `${row.id}:${direction === 'before' ? 'undo' : 'redo'}:${randomUUID()}`
    )
  } else {
    const f: Field = row.kind === 'attribute' ? { kind: 'attribute', name: field! } : ({ kind: row.kind } as Field)
    const access = fieldAccess(db, f)
    for (const c of alive) access.write(c.imageId, c[direction])
  }
  return { id: row.id, kind: row.kind, annotator, images: alive.map((c) => c.imageId), ...(field ? { field } : {}) }
}

/** Undoes this annotator's latest action by appending its inverse; the history keeps both. */
export function undo(db: Db, annotator: string): ActionSummary {
  return db.transaction(() => {
    const row = db
      .prepare("SELECT id, kind, changes FROM actions WHERE annotator = ? AND state = 'done' ORDER BY seq DESC LIMIT 1")
      .get(annotator) as { id: string; kind: ActionKind; changes: string } | undefined
    if (!row) throw new StudioError('conflict', `nothing to undo for ${annotator}: already at the start of the history`)
    const summary = replay(db, annotator, row, 'before')
    db.prepare("UPDATE actions SET state = 'undone' WHERE id = ?").run(row.id)
    return summary
  })()
}

/** Redoes the action undone last, unless a new action has been made since. */
export function redo(db: Db, annotator: string): ActionSummary {
  return db.transaction(() => {
    const row = db
      .prepare("SELECT id, kind, changes FROM actions WHERE annotator = ? AND state = 'undone' ORDER BY seq ASC LIMIT 1")
      .get(annotator) as { id: string; kind: ActionKind; changes: string } | undefined
    if (!row) throw new StudioError('conflict', `nothing to redo for ${annotator}`)
    const summary = replay(db, annotator, row, 'after')
    db.prepare("UPDATE actions SET state = 'done' WHERE id = ?").run(row.id)
    return summary
  })()
}

export function undoState(db: Db, annotator: string): { canUndo: boolean; canRedo: boolean } {
  const count = (state: string) =>
    (db.prepare('SELECT count(*) FROM actions WHERE annotator = ? AND state = ?').pluck().get(annotator, state) as number) > 0
  return { canUndo: count('done'), canRedo: count('undone') }
}
