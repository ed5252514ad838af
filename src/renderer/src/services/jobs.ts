import type { JobEnd, JobProgress } from '../../../shared/domain'
import { useApi } from './api'

/**
 * Every job's end, remembered briefly: a job that fails at once can end (and its event arrive)
 * before the call that started it has returned its id, and must not be missed.
 */
const ended = new Map<string, JobEnd>()
let listening = false

function trackJobEnds(): void {
  if (listening) return
  listening = true
  useApi().on('job.end', (e) => {
    ended.set(e.jobId, e)
    if (ended.size > 50) ended.delete(ended.keys().next().value!)
  })
}

function endedJob(jobId: string): JobEnd | undefined {
  return ended.get(jobId)
}

export interface JobFollower {
  /** Call with the id a start call returned: a job that already ended is delivered to `end` now (awaited). */
  started(jobId: string): Promise<void>
  stop(): void
}

/**
 * Follows the job whose id `current()` returns (it changes as jobs start and end): its progress
 * and its end. What the import, evaluate and review stores each did by hand.
 */
export function followJob(current: () => string | null, on: { progress?: (p: JobProgress) => void; end: (e: JobEnd) => void | Promise<void> }): JobFollower {
  const api = useApi()
  trackJobEnds()
  const offs = [
    api.on('job.progress', (p) => {
      if (p.jobId === current()) on.progress?.(p)
    }),
    api.on('job.end', (e) => {
      if (e.jobId === current()) void on.end(e)
    })
  ]
  return {
    async started(jobId) {
      const early = endedJob(jobId)
      if (early && early.jobId === current()) await on.end(early)
    },
    stop: () => offs.forEach((off) => off())
  }
}
