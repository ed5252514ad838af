import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Req } from '../../../shared/contract'
import type { ImportReport, JobEnd, JobProgress } from '../../../shared/domain'
import { errorMessage, useApi } from '../services/api'
import { followJob, type JobFollower } from '../services/jobs'

type Status = 'idle' | 'running' | 'completed' | 'cancelled' | 'failed'

/** One import (or demo generation) at a time: its progress, cancel, and the report at the end. */
export const useImportStore = defineStore('imports', () => {
  const jobId = ref<string | null>(null)
  const kind = ref<'import' | 'demo'>('import')
  const status = ref<Status>('idle')
  const progress = ref<JobProgress | null>(null)
  const report = ref<ImportReport | null>(null)
  const truthFile = ref<string | null>(null)
  const error = ref<string | null>(null)
  let follower: JobFollower | null = null

  const running = computed(() => status.value === 'running')
  const percent = computed(() => {
    const p = progress.value
    return p && p.total ? Math.min(100, Math.round((100 * p.done) / p.total)) : null
  })

  function listen(): JobFollower {
    return (follower ??= followJob(() => jobId.value, { progress: (p) => (progress.value = p), end: ended }))
  }

  function ended(e: JobEnd): void {
    status.value = e.status
    if (e.status === 'failed') error.value = e.error ?? 'the import failed'
    const result = e.result as (ImportReport & { report?: undefined }) | { report: ImportReport; truthFile: string } | undefined
    if (result && 'report' in result && result.report) {
      report.value = result.report
      truthFile.value = result.truthFile
    } else if (result) report.value = result as ImportReport
  }

  async function begin(k: 'import' | 'demo', start: () => Promise<{ jobId: string }>): Promise<void> {
    const follow = listen()
    kind.value = k
    status.value = 'running'
    progress.value = null
    report.value = null
    truthFile.value = null
    error.value = null
    try {
      jobId.value = (await start()).jobId
      await follow.started(jobId.value)
    } catch (err) {
      status.value = 'failed'
      error.value = errorMessage(err)
    }
  }

  const startImport = (req: Req<'dataset.import'>) => begin('import', () => useApi().dataset.import(req))
  const startDemo = (req: Req<'dataset.demo'>) => begin('demo', () => useApi().dataset.demo(req))

  async function cancel(): Promise<void> {
    if (jobId.value) await useApi().job.cancel({ jobId: jobId.value })
  }

  function reset(): void {
    status.value = 'idle'
    report.value = null
    progress.value = null
    error.value = null
  }

  function dispose(): void {
    follower?.stop()
    follower = null
  }

  return { jobId, kind, status, progress, report, truthFile, error, running, percent, startImport, startDemo, cancel, reset, dispose }
})
