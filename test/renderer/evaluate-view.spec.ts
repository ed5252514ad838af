// The Evaluate and Export views against a fake core: an evaluation arrives as a job, the matrix
// is recorded as viewed, a cell opens its images in the Library, a failed job shows its reason,
// and an export shows its files and the SavedModel note.
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { setApi } from '../../src/renderer/src/services/api'
import { useLibraryStore } from '../../src/renderer/src/stores/library'
import EvaluateView from '../../src/renderer/src/views/EvaluateView.vue'
import ExportView from '../../src/renderer/src/views/ExportView.vue'
import type { RunBrief } from '../../src/shared/evaluate'
import { evaluation } from './evaluate-fixture'
import { fakeApi } from './fake-api'

const RUNS: RunBrief[] = [
  { id: 3, status: 'completed', backbone: 'pixels', startedAt: '2026-11-27T05:00:00Z', endedAt: '2026-11-27T05:01:00Z', error: null, valAccuracy: 0.8, hasModel: true, confusionViewedAt: null },
  { id: 2, status: 'cancelled', backbone: 'pixels', startedAt: '2026-11-27T04:00:00Z', endedAt: null, error: null, valAccuracy: null, hasModel: false, confusionViewedAt: null }
]

const facets = { environments: [{ name: 'webcam', count: 4 }], subjects: 0, attributes: [], annotators: [], splitHints: [] }

async function mountView(component: typeof EvaluateView, impl: Parameters<typeof fakeApi>[0]) {
  const fake = fakeApi({ 'evaluate.runs': () => RUNS, 'library.facets': () => facets, ...impl })
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/evaluate', component },
      { path: '/library', name: 'library', component: { template: '<div>library</div>' } },
      { path: '/label', name: 'label', component: { template: '<div>label</div>' } },
      { path: '/train', component: { template: '<div>train</div>' } }
    ]
  })
  await router.push('/evaluate')
  const wrapper = mount(component, { global: { plugins: [pinia, router] } })
  await flushPromises()
  return { wrapper, fake, router }
}

describe('EvaluateView', () => {
  beforeEach(() => setApi(null))

  it('evaluates the newest completed run, records the matrix as viewed, and opens a cell in the Library', async () => {
    const { wrapper, fake, router } = await mountView(EvaluateView, {
      'evaluate.run': () => ({ jobId: 'j1' }),
      'evaluate.markViewed': () => ({ confusionViewedAt: '2026-11-27T05:02:00Z' }),
      'library.ids': () => ({ ids: [4] }),
      'library.cards': () => [],
      'label.undoState': () => ({ canUndo: false, canRedo: false })
    })
    expect(fake.calls.find((c) => c.channel === 'evaluate.run')?.payload).toEqual({ runId: 3, subset: { kind: 'validation' } })
    // the cancelled run is not offered
    expect(wrapper.find('[data-test=evaluate-run]').findAll('option').map((o) => o.text())).toEqual([expect.stringContaining('run 3')])
    fake.emit('job.progress', { jobId: 'j1', kind: 'evaluate', done: 2, total: 6, message: 'predicting' })
    await flushPromises()
    expect(wrapper.find('[data-test=evaluate-progress]').text()).toBe('predicting · 2 / 6')
    fake.emit('job.end', { jobId: 'j1', kind: 'evaluate', status: 'completed', result: evaluation() })
    await flushPromises()
    expect(wrapper.find('[data-test=tile-accuracy]').text()).toBe('83.3%')
    expect(fake.calls.filter((c) => c.channel === 'evaluate.markViewed').map((c) => c.payload)).toEqual([{ runId: 3 }])
    expect(wrapper.find('[data-test=evaluate-about]').text()).toContain('Confusion matrix reviewed 2026-11-27 05:02')
    await wrapper.find('[data-test=cell-0-1]').trigger('click')
    await flushPromises()
    expect(useLibraryStore().filter).toEqual({ ids: [4], excluded: 'include' })
    expect(router.currentRoute.value.name).toBe('library')
  })

  it('shows why an evaluation failed, and evaluates another subset on request', async () => {
    // job ids are unique in the core; the renderer remembers recent ends by id
    let n = 0
    const { wrapper, fake } = await mountView(EvaluateView, { 'evaluate.run': () => ({ jobId: `k${++n}` }) })
    fake.emit('job.end', { jobId: 'k1', kind: 'evaluate', status: 'failed', error: 'run 3 has no saved model in /p/runs/3/model' })
    await flushPromises()
    expect(wrapper.find('[data-test=evaluate-error]').text()).toBe('run 3 has no saved model in /p/runs/3/model')
    await wrapper.find('[data-test=evaluate-subset]').setValue('env\u0000webcam')
    await wrapper.find('[data-test=evaluate-start]').trigger('click')
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'evaluate.run').at(-1)?.payload).toEqual({ runId: 3, subset: { kind: 'environment', value: 'webcam' } })
  })

  it('says so plainly when there are no runs', async () => {
    const { wrapper } = await mountView(EvaluateView, { 'evaluate.runs': () => [] })
    expect(wrapper.find('[data-test=evaluate-empty]').text()).toContain('No training runs yet')
  })
})

describe('ExportView', () => {
  beforeEach(() => setApi(null))

  it('exports to the default folder and lists what was written', async () => {
    const { wrapper, fake } = await mountView(ExportView, {
      'export.defaultFolder': () => ({ path: '/p/exports/run-3' }),
      'export.start': () => ({ jobId: 'x1' })
    })
    expect((wrapper.find('[data-test=export-out]').element as HTMLInputElement).value).toBe('/p/exports/run-3')
    await wrapper.find('[data-test=export-dataset]').setValue('imagefolder')
    await wrapper.find('[data-test=export-start]').trigger('click')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'export.start')?.payload).toEqual({ runId: 3, out: '/p/exports/run-3', force: false, dataset: 'imagefolder', link: false })
    fake.emit('job.end', {
      jobId: 'x1', kind: 'export', status: 'completed',
      result: { runId: 3, out: '/p/exports/run-3', files: [{ path: 'model/model.json', bytes: 5000 }], savedModel: { written: false, reason: 'not written: no native backend' }, dataset: { format: 'imagefolder', images: 10, skipped: [] }, annotations: 12 }
    })
    await flushPromises()
    expect(wrapper.find('[data-test=export-done]').text()).toContain('model/model.json')
    expect(wrapper.find('[data-test=export-savedmodel]').text()).toBe('SavedModel: not written: no native backend')
  })

  it('shows a refusal from the core', async () => {
    const { wrapper, fake } = await mountView(ExportView, {
      'export.defaultFolder': () => ({ path: '/p/exports/run-3' }),
      'export.start': () => ({ jobId: 'x2' })
    })
    await wrapper.find('[data-test=export-start]').trigger('click')
    await flushPromises()
    fake.emit('job.end', { jobId: 'x2', kind: 'export', status: 'failed', error: '/p/exports/run-3 is not empty; choose an empty folder or replace it with --force' })
    await flushPromises()
    expect(wrapper.find('[data-test=export-error]').text()).toMatch(/is not empty/)
  })
})
