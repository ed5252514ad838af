import { randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Written beside the target and renamed into place, so a crash never leaves half a file. */
export function writeFileAtomic(file: string, data: Buffer | string): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(tmp, data)
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

/** Thumbnails are keyed by content, so the same image never gets two. */
export function thumbnailPath(projectDir: string, sha256: string): string {
  return join(projectDir, 'thumbs', sha256.slice(0, 2), `${sha256}.webp`)
}

const madeDirs = new Set<string>()

/** The same, off the main thread: for the many small files of an import. */
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
    madeDirs.delete(dir)
    throw err
  }
}
