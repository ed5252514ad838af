import { existsSync, realpathSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import sharp from 'sharp'
import { thumbnailPath } from '../dataset/files'
import { getThumbnail } from '../db/repos/thumbnails'
import type { Project } from './project'

export interface ServedFile {
  body: Buffer
  contentType: string
}

/** Formats a browser shows as they are; others are converted for display. */
const BROWSER_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif'
}

const SHA = /^[0-9a-f]{64}$/

function inside(root: string, file: string): boolean {
  const r = realpathSync(root)
  const f = realpathSync(file)
  return f === r || f.startsWith(r + sep)
}

/**
 * The only way a page reaches image bytes: a thumbnail by content hash or an image by id, both
 * looked up in the open project. No path from a URL is ever opened.
 */
export async function projectFile(project: Project, route: string): Promise<ServedFile | null> {
  const [kind, name] = route.split('/')
  if (kind === 'thumb' && name?.endsWith('.webp')) {
    const sha = name.slice(0, -5)
    if (!SHA.test(sha)) return null
    const stored = getThumbnail(project.db, sha)
    if (stored) return { body: stored, contentType: 'image/webp' }
    // Projects made before thumbnails moved into the database keep them as files.
    const file = thumbnailPath(project.dir, sha)
    if (!existsSync(file) || !inside(project.dir, file)) return null
    return { body: await readFile(file), contentType: 'image/webp' }
  }
  if (kind === 'image' && name && /^\d{1,12}$/.test(name)) {
    const row = project.db.prepare('SELECT source_path AS source, stored_path AS stored, format FROM images WHERE id = ?').get(Number(name)) as
      | { source: string | null; stored: string | null; format: string }
      | undefined
    if (!row) return null
    let file: string
    if (row.stored) {
      file = resolve(project.dir, row.stored)
      if (!existsSync(file) || !inside(join(project.dir, 'images'), file)) return null
    } else {
      file = row.source!
      if (!existsSync(file)) return null
    }
    const bytes = await readFile(file)
    const type = BROWSER_TYPES[row.format]
    if (type) return { body: bytes, contentType: type }
    return { body: await sharp(bytes).rotate().webp({ quality: 90 }).toBuffer(), contentType: 'image/webp' }
  }
  return null
}
