import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, describe, expect, it } from 'vitest'
import { setApi } from '../../src/renderer/src/services/api'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import NoiseMatrix from '../../src/renderer/src/components/review/NoiseMatrix.vue'
import ReviewView from '../../src/renderer/src/views/ReviewView.vue'
import type { FlagItem, ReviewStatus } from '../../src/shared/review'
import { FLAG_TYPES } from '../../src/shared/review'
import { fakeApi, summary } from './fake-api'

const classes = [
  { id: 1, name: 'happy', key: '1', colour: '#3cb44b', position: 0, imageCount: 5 },
  { id: 2, name: 'sad', key: '2', colour: '#4363d8', position: 1, imageCount: 5 }
]

function flag(id: number, imageId: number, suggested: number | null): FlagItem {
  return {
    id,
    imageId,
    type: 'mislabeled',
    score: 0.9,
    suggestedClassId: suggested,
    evidence: { givenClassId: 1, summary: `flag ${id} evidence`, probs: [{ classId: 2, p: 0.8 }, { classId: 1, p: 0.2 }] },
    status: 'open',
    stale: false,
    runId: 1,
    createdAt: '2026-01-01T00:00:00.000Z'
  }
}

const noise = { classes: [{ id: 1, name: 'happy' }, { id: 2, name: 'sad' }], noise: [[0.9, 0.3], [0.1, 0.7]], joint: [[9, 1], [1, 7]], thresholds: [0.6, 0.5], estimatedNoisy: 2, folds: 5, foldNote: null, images: 18 }

function status(decided: number, total: number, runs = 1): ReviewStatus {
  return {
    runs: runs ? [{ id: 1, type: 'mislabeled', createdAt: '2026-01-01T00:00:00.000Z', sourceVersion: 'x', params: {}, flagged: total, stale: false, warnings: [] }] : [],
    counts: FLAG_TYPES.map((type) => ({ type, open: type === 'mislabeled' ? total - decided : 0, decided: type === 'mislabeled' ? decided : 0, stale: 0 })),
    total,
    decided,
    noise: runs ? noise : null,
    needsRun: runs === 0
  }
}

function mountView(fake: ReturnType<typeof fakeApi>) {
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().summary = summary({ classes, classCount: 2, key: 'k' })
  return mount(ReviewView, { global: { plugins: [pinia], stubs: { ZoomImage: true } }, attachTo: document.body })
}

afterEach(() => {
  setApi(null)
  document.body.innerHTML = ''
})

describe('ReviewView', () => {
  it('shows the empty state with a button that starts flagging', async () => {
    const fake = fakeApi({
      'review.status': () => status(0, 0, 0),
      'review.queue': () => ({ flags: [] }),
      'review.canUndo': () => ({ canUndo: false }),
      'review.run': () => ({ jobId: 'j1' }),
      'job.cancel': () => ({ cancelled: true }),
      'training.backbones': () => []
    })
    const w = mountView(fake)
    await flushPromises()
    expect(w.find('[data-test=review-empty] h2').text()).toBe('Nothing flagged yet')
    expect(w.find('[data-test=flagging-card]').exists()).toBe(false)
    await w.find('[data-test=run-flagging]').trigger('click')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'review.run')?.payload).toEqual({ folds: 5 })
    fake.emit('job.progress', { jobId: 'j1', kind: 'flags', done: 500, total: 1000, message: 'cross-validating: fold 2 of 5 done', cancelled: false, durationMs: 1 })
    await flushPromises()
    expect(w.find('[data-test=flagging-progress]').text()).toContain('cross-validating: fold 2 of 5 done')
    expect(w.find('[data-test=flagging-progress]').text()).toContain('50%')
    await w.find('[data-test=flagging-cancel]').trigger('click')
    expect(fake.calls.find((c) => c.channel === 'job.cancel')?.payload).toEqual({ jobId: 'j1' })
    fake.emit('job.end', { jobId: 'j1', kind: 'flags', status: 'cancelled' })
    await flushPromises()
    expect(w.find('[data-test=flagging-error]').text()).toBe('Flagging was cancelled; the flags from before are unchanged.')
    expect(w.find('[data-test=run-flagging]').exists()).toBe(true)
    w.unmount()
  })

  it('walks the queue: accept with Enter, relabel with a class key, shows progress and the noise matrix', async () => {
    let decided = 0
    const fake = fakeApi({
      'review.status': () => status(decided, 3),
      'review.queue': () => ({ flags: [flag(11, 101, 2), flag(12, 102, 2), flag(13, 103, null)] }),
      'review.canUndo': () => ({ canUndo: false }),
      'review.item': (req: never) => {
        const id = (req as { flagId: number }).flagId
        return { flag: flag(id, id + 90, id === 13 ? null : 2), card: { id: id + 90, fileName: `f${id}.png`, sha256: 'a'.repeat(64), classId: 1, votes: 1, tie: false, disagreement: false, excluded: false, missing: false, environment: null, subjectId: null }, otherFlags: [], neighbours: [], neighboursNote: null }
      },
      'review.decide': (req: never) => {
        decided++
        return { flag: { ...flag((req as { flagId: number }).flagId, 0, 2), status: 'accepted' }, canUndo: true }
      },
      'review.undo': () => {
        decided--
        return { flag: flag(13, 103, null), decision: 'keep', canUndo: true }
      },
      'training.backbones': () => []
    })
    const w = mountView(fake)
    await flushPromises()
    expect(w.find('[data-test=evidence-summary]').text()).toBe('flag 11 evidence')
    expect(w.find('[data-test=suggested-label]').text()).toBe('sad')
    expect(w.find('[data-test=queue-progress]').text()).toContain('0 of 3 flags decided')
    expect(w.findComponent(NoiseMatrix).exists()).toBe(true)

    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'review.decide').map((c) => c.payload)).toEqual([{ flagId: 11, decision: 'accept', annotator: 'me' }])
    expect(w.find('[data-test=evidence-summary]').text()).toBe('flag 12 evidence')
    expect(w.find('[data-test=queue-progress]').text()).toContain('1 of 3 flags decided')

    window.dispatchEvent(new KeyboardEvent('keydown', { key: '1' }))
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'review.decide')[1].payload).toEqual({ flagId: 12, decision: 'relabel', annotator: 'me', classId: 1 })
    // The third has no suggestion: accept is disabled and Enter does nothing.
    expect(w.find('[data-test=accept]').attributes('disabled')).toBeDefined()
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'review.decide')).toHaveLength(2)
    expect(w.find('[data-test=review-undo]').attributes('disabled')).toBeUndefined()

    // Keeping the last one finishes the queue; Ctrl+Z brings it back.
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'k' }))
    await flushPromises()
    expect(w.find('[data-test=review-empty] h2').text()).toBe('Queue done: every flag here is decided')
    expect(w.find('[data-test=session-decided]').text()).toContain('3 decided in this session')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'z', ctrlKey: true }))
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'review.undo')).toHaveLength(1)
    expect(w.find('[data-test=review-empty]').exists()).toBe(false)
    expect(w.find('[data-test=evidence-summary]').text()).toBe('flag 13 evidence')
    w.unmount()
  })

  it('shows a decision the core refuses as an error, and stays on the flag', async () => {
    const fake = fakeApi({
      'review.status': () => status(0, 1),
      'review.queue': () => ({ flags: [flag(11, 101, 2)] }),
      'review.canUndo': () => ({ canUndo: false }),
      'review.item': () => ({ flag: flag(11, 101, 2), card: { id: 101, fileName: 'f.png', sha256: 'a'.repeat(64), classId: 1, votes: 1, tie: false, disagreement: false, excluded: false, missing: false, environment: null, subjectId: null }, otherFlags: [], neighbours: [], neighboursNote: 'no cached embedding' }),
      'training.backbones': () => []
    })
    fake.api.review.decide = fake.fail('conflict', 'flag 11 was already decided (accepted)') as never
    const w = mountView(fake)
    await flushPromises()
    await w.find('[data-test=keep]').trigger('click')
    await flushPromises()
    expect(w.find('[data-test=review-error]').text()).toBe('flag 11 was already decided (accepted)')
    expect(w.find('[data-test=evidence-summary]').text()).toBe('flag 11 evidence')
    expect(w.text()).toContain('no cached embedding')
    w.unmount()
  })
})

describe('NoiseMatrix', () => {
  it('shows p(given | true) as percentages with the estimate and folds', () => {
    const w = mount(NoiseMatrix, { props: { noise } })
    const cells = w.findAll('tbody td').map((td) => td.text())
    expect(cells).toEqual(['90%', '30%', '10%', '70%'])
    expect(w.text()).toContain('5-fold')
    expect(w.find('caption').text()).toContain('puts 2 labels off the diagonal')
  })
})
