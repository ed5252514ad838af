import type { Db } from '../connection'

/**
 * Stores thumbnails, one statement prepared for many rows. The same content always has the same
 * thumbnail, so storing one that is there already does nothing.
 */
export function thumbnailStore(db: Db): (sha256: string, webp: Uint8Array) => void {
  const put = db.prepare('INSERT OR IGNORE INTO thumbnails (sha256, webp) VALUES (?, ?)')
  return (sha256, webp) => void put.run(sha256, webp)
}

export function getThumbnail(db: Db, sha256: string): Buffer | undefined {
  return db.prepare('SELECT webp FROM thumbnails WHERE sha256 = ?').pluck().get(sha256) as Buffer | undefined
}
