// The probe as the Train view and the CLI reach it: 'training.probe' runs as a job over the open
// project and ends with the ranking; 'training.backbones' tells which backbones need a download.
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../../src/main/app/dispatch'
import { createHandlers } from '../../../src/main/app/handlers'
import { Session } from '../../../src/main/app/session'
import type { JobEnd, JobProgress } from '../../../src/shared/domain'
import type { ProbeReport } from '../../../src/shared/probe'
import { tempDir } from '../../helpers/tmp'

let saved: Record<string, string | undefined>
beforeEach(() => {
  saved = { FREEZEFRAME_HOME: process.env.FREEZEFRAME_HOME, FREEZEFRAME_MODEL_CACHE: process.env.FREEZEFRAME_MODEL_CACHE }
  process.env.FREEZEFRAME_HOME = tempDir('ff-home-')
  process.env.FREEZEFRAME_MODEL_CACHE = tempDir('ff-models-')
})
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

async function call<T>(handlers: ReturnType<typeof createHandlers>, channel: string, payload: unknown): Promise<T> {
  const res = await dispatch(handlers, channel, payload)
  if (!res.ok) throw new Error(`${channel}: ${res.error.message}`)
  return res.value as T
}

describe('training.probe', () => {
  it('probes the open project as a job, with progress, ending with the ranking and class names', async () => {
    const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const handlers = createHandlers(session)
    const ends = new Map<string, JobEnd>()
    const progress: JobProgress[] = []
    session.onEvent((name, payload) => {
      if (name === 'job.end') ends.set((payload as JobEnd).jobId, payload as JobEnd)
      if (name === 'job.progress') progress.push(payload as JobProgress)
    })
    const waitEnd = async (jobId: string): Promise<JobEnd> => {
      for (let i = 0; i < 1200 && !ends.has(jobId); i++) await new Promise((r) => setTimeout(r, 50))
      return ends.get(jobId)!
    }
    try {
      await call(handlers, 'project.create', { dir: join(tempDir(), 'p') })
      const demo = await call<{ jobId: string }>(handlers, 'dataset.demo', { images: 70, seed: 4 })
      expect((await waitEnd(demo.jobId)).status).toBe('completed')

      const list = await call<{ id: string; status?: string; source?: string }[]>(handlers, 'training.backbones', {})
      expect(list.find((b) => b.id === 'face-expression-faceapi')).toMatchObject({ status: 'ready', source: 'bundled' })
      expect(list.find((b) => b.id === 'mobilenetv3-small-imagenet')).toMatchObject({ status: 'needs download', source: 'download' })

      const bad = await dispatch(handlers, 'training.probe', { samplePerClass: 1 })
      expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'samplePerClass' } })

      const job = await call<{ jobId: string }>(handlers, 'training.probe', { backbones: ['pixels', 'face-expression-faceapi'], samplePerClass: 6, folds: 3 })
      const end = await waitEnd(job.jobId)
      expect(end).toMatchObject({ kind: 'probe', status: 'completed' })
      const report = end.result as ProbeReport
      expect(report.ranking.map((e) => e.backbone).sort()).toEqual(['face-expression-faceapi', 'pixels'])
      expect(report.ranking.every((e) => e.accuracy !== null && e.computed + e.cached > 0)).toBe(true)
      expect(report.classes.length).toBe(report.sample.perClass.length)
      expect(report.best).toBe(report.ranking[0].backbone)
      const mine = progress.filter((p) => p.jobId === job.jobId)
      expect(mine.at(-1)).toMatchObject({ kind: 'probe', total: 2000 })
      expect(mine.some((p) => /face-expression-faceapi: embedding/.test(p.message))).toBe(true)
    } finally {
      await session.dispose()
    }
  })
})
