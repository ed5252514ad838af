import type { Db } from '../connection'

export interface NewImage {
  sha256: string
  phash: string | null
  sourcePath: string | null
  storedPath: string | null
  fileName: string
  width: number
  height: number
  format: string
  bytes: number
  environment?: string | null
  subjectId?: string | null
  attributes?: Record<string, string>
  splitHint?: string | null
}

export interface ImageRow {
  id: number
  sha256: string
  phash: string | null
  sourcePath: string | null
  storedPath: string | null
  fileName: string
  width: number
  height: number
  format: string
  bytes: number
  environment: string | null
  subjectId: string | null
  attributes: Record<string, string>
  splitHint: string | null
  excluded: boolean
  missing: boolean
}

const SELECT = `SELECT id, sha256, phash, source_path AS sourcePath, stored_path AS storedPath,
  file_name AS fileName, width, height, format, bytes, environment, subject_id AS subjectId,
  attributes, split_hint AS splitHint, excluded, missing FROM images`

function toRow(r: Record<string, unknown>): ImageRow {
  return {
    ...(r as unknown as ImageRow),
    attributes: JSON.parse(r.attributes as string) as Record<string, string>,
    excluded: r.excluded === 1,
    missing: r.missing === 1
  }
}

/** Inserts an image unless its content is already in the project; returns its id and whether it is new. */
export function insertImage(db: Db, img: NewImage): { id: number; created: boolean } {
  const found = db.prepare('SELECT id FROM images WHERE sha256 = ?').get(img.sha256) as { id: number } | undefined
  if (found) return { id: found.id, created: false }
  const info = db
    .prepare(
      `INSERT INTO images (sha256, phash, source_path, stored_path, file_name, width, height, format, bytes,
        environment, subject_id, attributes, split_hint, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
    )
    .run(
      img.sha256,
      img.phash,
      img.sourcePath,
      img.storedPath,
      img.fileName,
      img.width,
      img.height,
      img.format,
      img.bytes,
      img.environment ?? null,
      img.subjectId ?? null,
      JSON.stringify(img.attributes ?? {}),
      img.splitHint ?? null,
      new Date().toISOString()
    )
  return { id: Number(info.lastInsertRowid), created: true }
}

export function getImage(db: Db, id: number): ImageRow | undefined {
  const r = db.prepare(`${SELECT} WHERE id = ?`).get(id) as Record<string, unknown> | undefined
  return r && toRow(r)
}

export function imageBySha(db: Db, sha256: string): ImageRow | undefined {
  const r = db.prepare(`${SELECT} WHERE sha256 = ?`).get(sha256) as Record<string, unknown> | undefined
  return r && toRow(r)
}

export function listImages(db: Db, opts: { limit?: number; offset?: number } = {}): ImageRow[] {
  return (
    db.prepare(`${SELECT} ORDER BY id LIMIT ? OFFSET ?`).all(opts.limit ?? -1, opts.offset ?? 0) as Record<string, unknown>[]
  ).map(toRow)
}

export function imageCounts(db: Db): { total: number; excluded: number; missing: number } {
  return db
    .prepare('SELECT count(*) AS total, coalesce(sum(excluded), 0) AS excluded, coalesce(sum(missing), 0) AS missing FROM images')
    .get() as { total: number; excluded: number; missing: number }
}

export function environmentCounts(db: Db): { name: string; count: number }[] {
  return db
    .prepare(`SELECT coalesce(environment, '(none)') AS name, count(*) AS count FROM images WHERE excluded = 0
              GROUP BY environment ORDER BY count DESC, name`)
    .all() as { name: string; count: number }[]
}
