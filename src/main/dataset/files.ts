import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Written beside the target and renamed into place, so a crash never leaves half a file. */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  const dir = dirname(file)
  if (!madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true })
    madeDirs.add(dir)
  }
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    // The folder may have been removed since it was made (a deleted project re-created).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && madeDirs.delete(dir)) return writeFileAtomic(file, data)
    throw err
  }
}

/** Folders this process has made; a write into one skips the mkdir. */
const madeDirs = new Set<string>()

/** Where projects made before schema 4 keep thumbnails (keyed by content); newer ones keep them in the database. */
export function thumbnailPath(projectDir: string, sha256: string): string {
  return join(projectDir, 'thumbs', sha256.slice(0, 2), `${sha256}.webp`)
}

/** The same, off the main thread: for larger files (the images a FER2013 import stores). */
export async function writeFileAtomicAsync(file: string, data: Buffer | string): Promise<void> {
  const dir = dirname(file)
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true })
    madeDirs.add(dir)
  }
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, data)
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    // The folder may have been removed since it was made (a deleted project re-created).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && madeDirs.delete(dir)) return writeFileAtomicAsync(file, data)
    throw err
  }
}
