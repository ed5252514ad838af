import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dispatch } from '../../../../src/main/app/dispatch'
import { createHandlers } from '../../../../src/main/app/handlers'
import { Session } from '../../../../src/main/app/session'
import { importDemo } from '../../../../src/main/dataset/demo-import'
import { createProject } from '../../../../src/main/project/project'
import type { JobEnd } from '../../../../src/shared/domain'
import type { FlaggingReport, ReviewItem } from '../../../../src/shared/review'
import { tempDir } from '../../../helpers/tmp'

describe('review channels over the real core', () => {
  it('runs flagging as a job, refuses a second at once, serves the queue, an item with neighbours, decisions and undo', async () => {
    const dir = join(tempDir(), 'p')
    const p = createProject(dir)
    await importDemo(p, { images: 70, seed: 8, labelNoise: 0.2, imbalance: 1, environments: { studio: 1 } })
    p.close()
    const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const handlers = createHandlers(session)
    await session.open(dir)
    const ends: JobEnd[] = []
    const progress: string[] = []
    session.onEvent((event, payload) => {
      if (event === 'job.end') ends.push(payload as JobEnd)
      if (event === 'job.progress') progress.push((payload as { message: string }).message)
    })
    try {
      const bad = await dispatch(handlers, 'review.run', { types: ['bogus'] })
      expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'types.0' } })

      const started = await dispatch(handlers, 'review.run', { backbone: 'pixels' })
      expect(started.ok).toBe(true)
      const second = await dispatch(handlers, 'review.run', { backbone: 'pixels' })
      expect(second).toMatchObject({ ok: false, error: { code: 'conflict', message: 'flagging is already running; wait for it or cancel it first' } })
      while (!ends.length) await new Promise((r) => setTimeout(r, 50))
      expect(ends[0]).toMatchObject({ kind: 'flags', status: 'completed' })
      const report = ends[0].result as FlaggingReport
      expect(report.runs.map((r) => r.type)).toEqual(['mislabeled', 'outlier', 'disagreement', 'duplicate', 'leakage'])
      expect(progress.length).toBeGreaterThan(2)

      const queue = await dispatch(handlers, 'review.queue', { types: ['mislabeled'] })
      if (!queue.ok) throw new Error(queue.error.message)
      const flags = (queue.value as { flags: { id: number; imageId: number; suggestedClassId: number }[] }).flags
      expect(flags.length).toBe(report.runs[0].flagged)
      const item = await dispatch(handlers, 'review.item', { flagId: flags[0].id })
      if (!item.ok) throw new Error(item.error.message)
      const it0 = item.value as ReviewItem
      expect(it0.card.id).toBe(flags[0].imageId)
      expect(it0.neighbours).toHaveLength(8)
      expect(it0.neighbours.map((n) => n.imageId)).not.toContain(flags[0].imageId)
      const sims = it0.neighbours.map((n) => n.similarity)
      expect([...sims].sort((a, b) => b - a)).toEqual(sims)

      const decided = await dispatch(handlers, 'review.decide', { flagId: flags[0].id, decision: 'accept', annotator: 'me' })
      expect(decided).toMatchObject({ ok: true, value: { flag: { status: 'accepted' }, canUndo: true } })
      expect(session.requireProject().db.prepare('SELECT class_id FROM image_labels WHERE image_id = ?').pluck().get(flags[0].imageId)).toBe(flags[0].suggestedClassId)
      const undone = await dispatch(handlers, 'review.undo', { annotator: 'me' })
      expect(undone).toMatchObject({ ok: true, value: { decision: 'accept', flag: { status: 'open' }, canUndo: false } })
      const status = await dispatch(handlers, 'review.status', {})
      expect(status).toMatchObject({ ok: true, value: { needsRun: false, decided: 0 } })
    } finally {
      await session.dispose()
    }
  }, 120_000)
})
