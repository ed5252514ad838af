import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { JobEnd } from '../../../shared/domain'
import type { Evaluation, ExportReport, RunBrief, RunComparison, Subset } from '../../../shared/evaluate'
import { errorMessage, useApi } from '../services/api'
import { followJob, type JobFollower } from '../services/jobs'

export interface JobState {
  jobId: string
  kind: string
  done: number
  total: number | null
  message: string
}

/**
 * Evaluation, comparison and export as the Evaluate and Export views see them. Each is a job in
 * the core: the store starts it, follows its progress, and takes the result from job.end.
 */
export const useEvaluateStore = defineStore('evaluate', () => {
  const runs = ref<RunBrief[]>([])
  const runId = ref<number | null>(null)
  const subset = ref<Subset>({ kind: 'validation' })
  const evaluation = ref<Evaluation | null>(null)
  const comparison = ref<RunComparison | null>(null)
  const exported = ref<ExportReport | null>(null)
  const job = ref<JobState | null>(null)
  const error = ref<string | null>(null)
  const cancelled = ref(false)
  let follower: JobFollower | null = null
  let waiting: ((e: JobEnd) => void) | null = null

  const usable = computed(() => runs.value.filter((r) => r.status === 'completed' && r.hasModel))

  function listen(): JobFollower {
    return (follower ??= followJob(() => job.value?.jobId ?? null, {
      progress: (p) => {
        if (job.value) job.value = { ...job.value, done: p.done, total: p.total, message: p.message }
      },
      end: (e) => waiting?.(e)
    }))
  }

  /** Starts a job and resolves with its result; null when it was cancelled or failed (error set). */
  async function runJob<T>(kind: string, start: () => Promise<{ jobId: string }>): Promise<T | null> {
    const follow = listen()
    error.value = null
    cancelled.value = false
    try {
      const { jobId } = await start()
      job.value = { jobId, kind, done: 0, total: null, message: '' }
      const end = await new Promise<JobEnd>((resolve) => {
        waiting = resolve
        void follow.started(jobId)
      })
      if (end.status === 'failed') error.value = end.error ?? `${kind} failed`
      if (end.status === 'cancelled') cancelled.value = true
      return end.status === 'completed' ? (end.result as T) : null
    } catch (err) {
      error.value = errorMessage(err)
      return null
    } finally {
      waiting = null
      job.value = null
    }
  }

  async function loadRuns(): Promise<void> {
    try {
      runs.value = await useApi().evaluate.runs({})
      if (runId.value === null || !usable.value.some((r) => r.id === runId.value)) runId.value = usable.value[0]?.id ?? null
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  async function evaluate(): Promise<void> {
    if (runId.value === null) return
    const req = { runId: runId.value, subset: subset.value }
    const result = await runJob<Evaluation>('evaluate', () => useApi().evaluate.run(req))
    if (result) evaluation.value = result
  }

  /** Called once the confusion matrix is on screen: the preflight checklist reads it. */
  async function markViewed(id: number): Promise<void> {
    try {
      const { confusionViewedAt } = await useApi().evaluate.markViewed({ runId: id })
      runs.value = runs.value.map((r) => (r.id === id ? { ...r, confusionViewedAt } : r))
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  async function compare(ids: number[]): Promise<void> {
    const result = await runJob<RunComparison>('compare', () => useApi().evaluate.compare({ runIds: ids }))
    if (result) comparison.value = result
  }

  async function exportRun(req: { runId: number; out: string; force: boolean; dataset: 'imagefolder' | 'csv' | 'none'; link: boolean }): Promise<void> {
    exported.value = null
    const result = await runJob<ExportReport>('export', () => useApi().export.start(req))
    if (result) exported.value = result
  }

  async function cancel(): Promise<void> {
    if (job.value) await useApi().job.cancel({ jobId: job.value.jobId })
  }

  function dispose(): void {
    follower?.stop()
    follower = null
  }

  return { runs, usable, runId, subset, evaluation, comparison, exported, job, error, cancelled, loadRuns, evaluate, markViewed, compare, exportRun, cancel, dispose }
})
