// The review queue: the open flags as they were when the queue was loaded (so positions stay put
// while decisions are made), the item on screen, decisions and their undo, and the flagging job.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { JobEnd, JobProgress } from '../../../shared/domain'
import type { FlaggingReport, FlagItem, FlagType, ReviewDecisionKind, ReviewItem, ReviewStatus } from '../../../shared/review'
import { errorMessage, useApi } from '../services/api'
import { followJob, type JobFollower } from '../services/jobs'

export const useReviewStore = defineStore('review', () => {
  const api = useApi()
  const status = ref<ReviewStatus | null>(null)
  const queue = ref<FlagItem[]>([])
  const index = ref(0)
  const item = ref<ReviewItem | null>(null)
  const typeFilter = ref<FlagType | 'all'>('all')
  /** flag id -> what was decided in this session (undo removes it). */
  const decided = ref(new Map<number, ReviewDecisionKind>())
  const canUndo = ref(false)
  const error = ref<string | null>(null)
  const busy = ref(false)

  const jobId = ref<string | null>(null)
  const progress = ref<JobProgress | null>(null)
  const report = ref<FlaggingReport | null>(null)
  const jobError = ref<string | null>(null)
  let follower: JobFollower | null = null

  const current = computed(() => queue.value[index.value] ?? null)
  const running = computed(() => jobId.value !== null)
  const decidedCount = computed(() => decided.value.size)
  const remaining = computed(() => queue.value.filter((f) => !decided.value.has(f.id)).length)

  async function refreshStatus(): Promise<void> {
    status.value = await api.review.status({})
  }

  async function show(i: number): Promise<void> {
    index.value = Math.max(0, Math.min(i, queue.value.length - 1))
    const flag = current.value
    if (!flag) {
      item.value = null
      return
    }
    try {
      const next = await api.review.item({ flagId: flag.id })
      if (current.value?.id === flag.id) item.value = next
      error.value = null
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  /** Loads the status and the open flags, and shows the first. */
  async function load(annotator: string): Promise<void> {
    error.value = null
    try {
      await refreshStatus()
      const types = typeFilter.value === 'all' ? undefined : [typeFilter.value]
      queue.value = (await api.review.queue({ types })).flags
      decided.value = new Map()
      canUndo.value = (await api.review.canUndo({ annotator })).canUndo
      item.value = null
      await show(0)
    } catch (err) {
      error.value = errorMessage(err)
    }
  }

  /** The next flag after `from` not decided yet; stays put at the end. */
  function nextOpen(from: number): number {
    for (let i = from + 1; i < queue.value.length; i++) if (!decided.value.has(queue.value[i].id)) return i
    for (let i = 0; i < queue.value.length; i++) if (!decided.value.has(queue.value[i].id)) return i
    return from
  }

  async function decide(decision: ReviewDecisionKind, annotator: string, classId?: number): Promise<void> {
    const flag = current.value
    if (!flag || busy.value) return
    if (decided.value.has(flag.id)) {
      error.value = 'This flag is decided already; undo (Ctrl+Z) to change it.'
      return
    }
    busy.value = true
    try {
      const res = await api.review.decide({ flagId: flag.id, decision, annotator, ...(classId !== undefined ? { classId } : {}) })
      decided.value = new Map(decided.value).set(flag.id, decision)
      canUndo.value = res.canUndo
      error.value = null
      await refreshStatus()
      await show(nextOpen(index.value))
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      busy.value = false
    }
  }

  async function undo(annotator: string): Promise<void> {
    if (busy.value) return
    busy.value = true
    try {
      const res = await api.review.undo({ annotator })
      const map = new Map(decided.value)
      map.delete(res.flag.id)
      decided.value = map
      canUndo.value = res.canUndo
      let at = queue.value.findIndex((f) => f.id === res.flag.id)
      if (at < 0) {
        queue.value = [res.flag, ...queue.value]
        at = 0
      }
      error.value = null
      await refreshStatus()
      await show(at)
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      busy.value = false
    }
  }

  function listen(annotator: string): JobFollower {
    return (follower ??= followJob(() => jobId.value, { progress: (p) => (progress.value = p), end: (e) => ended(e, annotator) }))
  }

  async function ended(e: JobEnd, annotator: string): Promise<void> {
    jobId.value = null
    progress.value = null
    if (e.status === 'completed') report.value = (e.result as FlaggingReport) ?? null
    else if (e.status === 'failed') jobError.value = e.error ?? 'flagging failed'
    else jobError.value = 'Flagging was cancelled; the flags from before are unchanged.'
    await load(annotator)
  }

  async function run(annotator: string, options: { backbone?: string; folds?: number } = {}): Promise<void> {
    const follow = listen(annotator)
    jobError.value = null
    report.value = null
    try {
      jobId.value = (await api.review.run(options)).jobId
      await follow.started(jobId.value)
    } catch (err) {
      jobId.value = null
      jobError.value = errorMessage(err)
    }
  }

  async function cancel(): Promise<void> {
    if (jobId.value) await api.job.cancel({ jobId: jobId.value })
  }

  function dispose(): void {
    follower?.stop()
    follower = null
  }

  return {
    status,
    queue,
    index,
    item,
    typeFilter,
    decided,
    canUndo,
    error,
    busy,
    jobId,
    progress,
    report,
    jobError,
    current,
    running,
    decidedCount,
    remaining,
    load,
    show,
    decide,
    undo,
    run,
    cancel,
    listen,
    dispose
  }
})
