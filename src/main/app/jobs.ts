import { randomUUID } from 'node:crypto'
import type { JobEnd, JobProgress } from '../../shared/domain'

export interface JobContext {
  signal: AbortSignal
  /** Reports progress; throttled so a fast loop cannot flood the renderer. */
  progress(done: number, total: number | null, message?: string): void
}

interface Running {
  kind: string
  controller: AbortController
  done: Promise<JobEnd>
}

/**
 * Long work returns a job id at once and streams progress; every job ends with exactly one
 * job.end event, whatever happens, because the end is sent from `finally`.
 */
export class Jobs {
  private running = new Map<string, Running>()

  constructor(
    private readonly onProgress: (p: JobProgress) => void,
    private readonly onEnd: (e: JobEnd) => void,
    private readonly throttleMs = 100
  ) {}

  start<T>(kind: string, work: (ctx: JobContext) => Promise<T>): { jobId: string; done: Promise<JobEnd> } {
    const jobId = randomUUID()
    const controller = new AbortController()
    let last = 0
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (done, total, message = '') => {
        const now = Date.now()
        if (now - last < this.throttleMs && done !== total) return
        last = now
        this.onProgress({ jobId, kind, done, total, message })
      }
    }
    let finished = false
    const done = (async (): Promise<JobEnd> => {
      let end: JobEnd = { jobId, kind, status: 'failed', error: 'job ended without a result' }
      try {
        const result = await work(ctx)
        end = controller.signal.aborted ? { jobId, kind, status: 'cancelled', result } : { jobId, kind, status: 'completed', result }
      } catch (err) {
        end = controller.signal.aborted
          ? { jobId, kind, status: 'cancelled' }
          : { jobId, kind, status: 'failed', error: err instanceof Error ? err.message : String(err) }
      } finally {
        finished = true
        this.running.delete(jobId)
        this.onEnd(end)
      }
      return end
    })()
    if (!finished) this.running.set(jobId, { kind, controller, done })
    return { jobId, done }
  }

  cancel(jobId: string): boolean {
    const job = this.running.get(jobId)
    if (!job) return false
    job.controller.abort()
    return true
  }

  /** Cancels every job and waits until each has finished its cleanup. */
  async cancelAll(): Promise<void> {
    const jobs = [...this.running.values()]
    for (const job of jobs) job.controller.abort()
    await Promise.all(jobs.map((j) => j.done))
  }

  get size(): number {
    return this.running.size
  }
}
