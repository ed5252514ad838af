import { homedir } from 'node:os'
import { resolve } from 'node:path'
import type { AppInfo, ProjectSummary } from '../../shared/domain'
import type { EventName, Events } from '../../shared/contract'
import { StudioError } from '../../shared/errors'
import { warmDashboard } from '../analysis/insights/dashboard'
import type { CreateOptions, Project } from '../project/project'
import { acquireNewProject, acquireProject, type Handle } from '../project/registry'
import { RecentProjects } from '../project/recent'
import { Jobs, type JobContext } from './jobs'
import { APP_VERSION } from './version'

/** How long after a project opens the dashboard's figures start being read in the background. */
const DASHBOARD_WARM_DELAY_MS = 500

export type EventListener = <E extends EventName>(event: E, payload: Events[E]) => void

export interface SessionOptions {
  configDir: string
  transport: AppInfo['transport']
  nativeDialogs: boolean
}

/**
 * What one window (or one browser page through the bridge) works on: at most one open project,
 * its jobs, and the events they send. The transports only translate calls and events.
 */
export class Session {
  private handle: Handle | null = null
  readonly recent: RecentProjects
  readonly jobs: Jobs
  private listeners = new Set<EventListener>()

  constructor(readonly options: SessionOptions) {
    this.recent = new RecentProjects(options.configDir)
    this.jobs = new Jobs(
      (p) => this.emit('job.progress', p),
      (e) => this.emit('job.end', e)
    )
  }

  appInfo(): AppInfo {
    return {
      version: APP_VERSION,
      transport: this.options.transport,
      nativeDialogs: this.options.nativeDialogs,
      fileBase: this.options.transport === 'electron' ? 'studio-file://files' : '/files',
      home: homedir()
    }
  }

  get project(): Project | null {
    return this.handle?.project ?? null
  }

  /** The open project's key in file URLs. */
  get projectKey(): string | null {
    return this.handle?.key ?? null
  }

  requireProject(): Project {
    if (!this.handle) throw new StudioError('no_project', 'no project is open; open or create one first')
    return this.handle.project
  }

  summary(): ProjectSummary {
    const project = this.requireProject()
    return { ...project.summary(), key: this.handle!.key }
  }

  async open(dir: string): Promise<ProjectSummary> {
    // Our own connection holds the project's lock: opening it again would refuse itself.
    if (this.project && this.project.dir === resolve(dir)) {
      this.recent.add(this.project.dir, this.project.name)
      return this.summary()
    }
    return this.replace(acquireProject(dir))
  }

  async create(dir: string, opts: CreateOptions): Promise<ProjectSummary> {
    return this.replace(acquireNewProject(dir, opts))
  }

  /** Cancels the project's jobs and waits for their cleanup before the database closes under them. */
  async close(): Promise<boolean> {
    if (!this.handle) return false
    await this.jobs.cancelAll()
    this.handle?.release()
    this.handle = null
    this.emit('project.changed', null)
    return true
  }

  /**
   * Runs long work on the open project as a job: the caller gets the id at once, progress and
   * the end arrive as events, and the overview is refreshed when it ends.
   */
  startJob<T>(kind: string, work: (project: Project, ctx: JobContext) => Promise<T>): { jobId: string } {
    const project = this.requireProject()
    const { jobId, done } = this.jobs.start(kind, (ctx) => work(project, ctx))
    void done.then(() => {
      if (this.project === project) this.changed()
    })
    return { jobId }
  }

  /** Re-sends the open project's summary, after anything that changes its counts. */
  changed(): void {
    if (this.handle) this.emit('project.changed', this.summary())
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const l of this.listeners) {
      try {
        l(event, payload)
      } catch (err) {
        console.error(`event listener for ${event} failed:`, err)
      }
    }
  }

  async dispose(): Promise<void> {
    await this.close()
    this.listeners.clear()
  }

  private async replace(next: Handle): Promise<ProjectSummary> {
    await this.close()
    this.handle = next
    const summary = this.summary()
    this.recent.add(next.project.dir, summary.name)
    this.emit('project.changed', summary)
    // Once the window has drawn the project, read what the dashboard's first look needs, in
    // slices that leave the event loop free (insights/dashboard.ts warmDashboard). It stops by
    // itself when the project closes.
    const db = next.project.db
    setTimeout(() => void warmDashboard(db).catch(() => undefined), DASHBOARD_WARM_DELAY_MS).unref()
    return summary
  }
}
