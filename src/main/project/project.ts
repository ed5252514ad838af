import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import type { ProjectSummary } from '../../shared/domain'
import { StudioError } from '../../shared/errors'
import { openDatabase, schemaVersion, type Db } from '../db/connection'
import { annotatorCounts, labeledImageCount } from '../db/repos/annotations'
import { addClass, classesWithCounts } from '../db/repos/classes'
import { environmentCounts, imageCounts } from '../db/repos/images'
import { audit, getMeta, setMeta } from '../db/repos/meta'
import { markInterruptedRuns } from '../db/repos/runs'
import { sweepLeftovers } from './leftovers'

export const PROJECT_DB = 'studio.sqlite'
/** Folders every project has; images with no source file of their own live under images/. */
export const PROJECT_DIRS = ['cache', 'runs', 'exports', 'images'] as const

export class Project {
  readonly dir: string
  readonly db: Db
  /** Leftover temporaries of a crashed process removed after opening (resolves to how many). */
  swept: Promise<number> = Promise.resolve(0)
  private closed = false

  constructor(dir: string, db: Db) {
    this.dir = dir
    this.db = db
  }

  get name(): string {
    return getMeta(this.db, 'name') ?? basename(this.dir)
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }

  summary(): ProjectSummary {
    const { total, excluded, missing } = imageCounts(this.db)
    const labeled = labeledImageCount(this.db)
    const classes = classesWithCounts(this.db)
    const usable = total - excluded
    return {
      dir: this.dir,
      name: this.name,
      createdAt: getMeta(this.db, 'created_at') ?? '',
      schemaVersion: schemaVersion(this.db),
      imageCount: total,
      excludedCount: excluded,
      missingCount: missing,
      labeledCount: labeled,
      labeledShare: usable > 0 ? labeled / usable : 0,
      classCount: classes.length,
      classes,
      environments: environmentCounts(this.db),
      annotators: annotatorCounts(this.db)
    }
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }
}

function checkClassNames(classes: string[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const raw of classes) {
    const name = raw.trim()
    if (!name) throw new StudioError('invalid_payload', 'class names must not be empty', 'classes')
    if (seen.has(name)) throw new StudioError('invalid_payload', `class "${name}" is listed twice`, 'classes')
    seen.add(name)
    out.push(name)
  }
  return out
}

export interface CreateOptions {
  name?: string
  classes?: string[]
}

export function createProject(dirIn: string, opts: CreateOptions = {}): Project {
  const dir = resolve(dirIn)
  const classes = checkClassNames(opts.classes ?? [])
  if (existsSync(join(dir, PROJECT_DB))) {
    throw new StudioError('project_exists', `${dir} already holds a project; open it instead`, 'dir')
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new StudioError('invalid_payload', `${dir} exists and is not a folder`, 'dir')
  }
  try {
    mkdirSync(dir, { recursive: true })
  } catch (err) {
    throw new StudioError('io_error', `cannot create ${dir}: ${(err as Error).message}`, 'dir')
  }
  const db = openDatabase(join(dir, PROJECT_DB), { create: true })
  const project = new Project(dir, db)
  try {
    for (const sub of PROJECT_DIRS) mkdirSync(join(dir, sub), { recursive: true })
    db.transaction(() => {
      setMeta(db, 'name', opts.name?.trim() || basename(dir))
      setMeta(db, 'created_at', new Date().toISOString())
      for (const c of classes) addClass(db, c)
      audit(db, 'project.create', { classes })
    })()
    return project
  } catch (err) {
    project.close()
    throw err
  }
}

export function openProject(dirIn: string): Project {
  const dir = resolve(dirIn)
  if (!existsSync(dir)) throw new StudioError('not_a_project', `${dir} does not exist`, 'dir')
  if (!statSync(dir).isDirectory()) throw new StudioError('not_a_project', `${dir} is not a folder`, 'dir')
  const file = join(dir, PROJECT_DB)
  if (!existsSync(file)) {
    const entries = readdirSync(dir).length
    throw new StudioError(
      'not_a_project',
      `${dir} is not a Freezeframe project (no ${PROJECT_DB}${entries ? '' : '; the folder is empty'}); create a project there instead`,
      'dir'
    )
  }
  const db = openDatabase(file)
  const project = new Project(dir, db)
  for (const sub of PROJECT_DIRS) mkdirSync(join(dir, sub), { recursive: true })
  const interrupted = markInterruptedRuns(db)
  if (interrupted) audit(db, 'runs.interrupted', { count: interrupted })
  // In the background: on 100,000 files (older projects' thumbs/) the walk takes longer than opening should.
  project.swept = sweepLeftovers(dir).catch(() => 0)
  return project
}
