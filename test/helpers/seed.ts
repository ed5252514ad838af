import { createHash } from 'node:crypto'
import type { Db } from '../../src/main/db/connection'

export interface SeedOptions {
  environment?: (i: number) => string | null
  subject?: (i: number) => string | null
  attributes?: (i: number) => Record<string, string>
  fileName?: (i: number) => string
}

/** Rows for n images straight into the database (no files): for tests of queries and labeling. */
export function seedImages(db: Db, n: number, opts: SeedOptions = {}, start = 0): number[] {
  const insert = db.prepare(
    `INSERT INTO images (sha256, phash, source_path, file_name, width, height, format, bytes, environment, subject_id, attributes, added_at)
     VALUES (?, ?, ?, ?, 64, 64, 'png', 100, ?, ?, ?, ?)`
  )
  const ids: number[] = []
  db.transaction(() => {
    for (let k = start; k < start + n; k++) {
      const sha = createHash('sha256').update(`image ${k}`).digest('hex')
      const name = opts.fileName?.(k) ?? `img_${String(k).padStart(6, '0')}.png`
      const info = insert.run(sha, sha.slice(0, 16), `/data/${name}`, name, opts.environment?.(k) ?? null, opts.subject?.(k) ?? null, JSON.stringify(opts.attributes?.(k) ?? {}), new Date().toISOString())
      ids.push(Number(info.lastInsertRowid))
    }
  })()
  return ids
}
