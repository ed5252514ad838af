import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { createProject, openProject, type CreateOptions, type Project } from './project'

/**
 * One connection per project per process, shared by every window that opens it: the database is
 * locked to this process, so a second window on the same project must reuse the first's handle.
 */
const open = new Map<string, { project: Project; refs: number; key: string }>()

export interface Handle {
  project: Project
  /** A random name for this open project, used in file URLs so a stale page cannot reach another project. */
  key: string
  release(): void
}

function handle(dir: string): Handle {
  const entry = open.get(dir)!
  let released = false
  return {
    project: entry.project,
    key: entry.key,
    release: () => {
      if (released) return
      released = true
      entry.refs--
      if (entry.refs === 0) {
        open.delete(dir)
        entry.project.close()
      }
    }
  }
}

function add(project: Project): Handle {
  open.set(project.dir, { project, refs: 1, key: randomBytes(12).toString('base64url') })
  return handle(project.dir)
}

export function acquireProject(dir: string): Handle {
  const abs = resolve(dir)
  const entry = open.get(abs)
  if (entry) {
    entry.refs++
    return handle(abs)
  }
  return add(openProject(abs))
}

export function acquireNewProject(dir: string, opts: CreateOptions): Handle {
  return add(createProject(dir, opts))
}

export function projectByKey(key: string): Project | undefined {
  for (const e of open.values()) if (e.key === key) return e.project
  return undefined
}
