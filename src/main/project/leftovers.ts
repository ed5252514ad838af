// What a killed process leaves behind: every file the studio writes goes to a `*.tmp` name first
// and is renamed into place (dataset/files.ts, training/artifacts.ts), so a crash can leave
// such temporaries but never a half-written file under a real name. The project is opened with
// an exclusive lock, so once it is open no other process is writing them: they are removed.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** A temporary of writeFileAtomic (`name.<8 hex>.tmp`) or of saveRunModel (`.model-<8 hex>.tmp`). */
const LEFTOVER = /(\.[0-9a-f]{8}\.tmp|^\.model-[0-9a-f]{8}\.tmp)$/

/** Removes leftover temporaries under the given project folders; returns how many went. */
export async function sweepLeftovers(projectDir: string, folders: readonly string[] = ['thumbs', 'images', 'runs', 'exports']): Promise<number> {
  let removed = 0
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return // gone or unreadable: nothing of ours to clean there
    }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (LEFTOVER.test(e.name)) {
        await rm(path, { recursive: true, force: true })
        removed++
      } else if (e.isDirectory() && !e.isSymbolicLink() && depth < 4) await walk(path, depth + 1)
    }
  }
  for (const folder of folders) await walk(join(projectDir, folder), 0)
  return removed
}
