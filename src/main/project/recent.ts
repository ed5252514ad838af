import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { RecentProject } from '../../shared/domain'

const MAX_RECENT = 12

/** Recently opened projects, kept in a small JSON file in the user's config folder. */
export class RecentProjects {
  readonly file: string

  constructor(configDir: string) {
    this.file = join(configDir, 'recent-projects.json')
  }

  list(): RecentProject[] {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as unknown
      if (!Array.isArray(data)) return []
      return data.filter(
        (r): r is RecentProject =>
          typeof r === 'object' && r !== null && typeof r.dir === 'string' && typeof r.name === 'string' && typeof r.openedAt === 'string'
      )
    } catch {
      // A missing or damaged list only costs the user their recent list, never a start-up.
      return []
    }
  }

  add(dir: string, name: string): RecentProject[] {
    const list = [{ dir, name, openedAt: new Date().toISOString() }, ...this.list().filter((r) => r.dir !== dir)].slice(0, MAX_RECENT)
    this.save(list)
    return list
  }

  remove(dir: string): RecentProject[] {
    const list = this.list().filter((r) => r.dir !== dir)
    this.save(list)
    return list
  }

  private save(list: RecentProject[]): void {
    mkdirSync(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(list, null, 2))
    renameSync(tmp, this.file)
  }
}

export function defaultConfigDir(): string {
  if (process.env.FREEZEFRAME_HOME) return process.env.FREEZEFRAME_HOME
  const base = process.env.XDG_CONFIG_HOME || join(process.env.HOME || process.cwd(), '.config')
  return join(base, 'freezeframe-studio')
}
