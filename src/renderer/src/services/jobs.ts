import type { JobEnd } from '../../../shared/domain'
import { useApi } from './api'

/**
 * Every job's end, remembered briefly: a job that fails at once can end (and its event arrive)
 * before the call that started it has returned its id, and must not be missed.
 */
const ended = new Map<string, JobEnd>()
let listening = false

export function trackJobEnds(): void {
  if (listening) return
  listening = true
  useApi().on('job.end', (e) => {
    ended.set(e.jobId, e)
    if (ended.size > 50) ended.delete(ended.keys().next().value!)
  })
}

export function endedJob(jobId: string): JobEnd | undefined {
  return ended.get(jobId)
}
