import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { setApi } from '../../src/renderer/src/services/api'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import TrainView from '../../src/renderer/src/views/TrainView.vue'
import type { BackboneInfo, RunInfo } from '../../src/shared/domain'
import { fakeApi, summary } from './fake-api'

const BACKBONES: BackboneInfo[] = [
  { id: 'mobilenetv2-nsfwjs', name: 'MobileNetV2 (nsfwjs)', provenance: 'nsfwjs', sizes: [96, 128], defaultSize: 128, featureDim: 1280, fineTunable: true }
]
const interrupted: RunInfo = {
  id: 3, status: 'interrupted', backbone: 'mobilenetv2-nsfwjs', backend: 'wasm', startedAt: '2026-01-01T00:00:00Z', endedAt: null, error: null,
  config: { split: { description: 'stratified' } }, summary: null
}
const staged: RunInfo = {
  ...interrupted, id: 2, status: 'completed',
  summary: { valAccuracy: 0.49, perEnvironment: [], stage2: { path: 'cached', boundary: 'block_14_add', blocks: 3, fraction: 0.13, stage1ValAccuracy: 0.454, batchSize: 32, learningRate: 0.0001 } }
}

async function setup() {
  const fake = fakeApi({
    'training.runs': () => [interrupted, staged],
    'training.backbones': () => BACKBONES,
    'training.epochs': () => [],
    'training.start': () => ({ jobId: 'job-1' }),
    'training.resume': () => ({ jobId: 'job-2' })
  })
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().summary = summary({ classCount: 7 })
  const w = mount(TrainView, { global: { plugins: [pinia], stubs: { TrainingCurves: true, ChecklistPanel: true } } })
  await flushPromises()
  return { w, fake }
}

describe('TrainView', () => {
  it('sends the advanced stage-2 settings with Train and shows live batch progress', async () => {
    const { w, fake } = await setup()
    await w.find('[data-test=train-stage2]').setValue('on')
    await w.find('[data-test=train-unfreeze]').setValue('0.2')
    await w.find('[data-test=train-stage2-epochs]').setValue('5')
    const rotate = w.findAll('input[type=checkbox]').find((c) => c.element.parentElement?.textContent?.includes('rotations'))!
    await rotate.setValue(true)
    await w.find('[data-test=train-start]').trigger('click')
    await flushPromises()
    const start = fake.calls.find((c) => c.channel === 'training.start')!.payload as { stage2: Record<string, unknown> }
    expect(start.stage2).toEqual({ fraction: 0.2, epochs: 5, batchSize: 32, augment: { flip: true, rotateDeg: 10 } })
    fake.emit('training.event', { jobId: 'job-1', type: 'stageBegin', stage: 2, description: 'fine-tuning the top 3 blocks' })
    fake.emit('training.event', { jobId: 'job-1', type: 'batchEnd', batch: { stage: 2, epoch: 3, done: 64, total: 128, loss: 1.234, accuracy: 0.5, imagesPerSecond: 41.7, etaMs: 95_000 } })
    fake.emit('training.event', { jobId: 'other-job', type: 'batchEnd', batch: { stage: 1, epoch: 9, done: 1, total: 1, loss: 9, accuracy: 0, imagesPerSecond: 1, etaMs: 0 } })
    await flushPromises()
    expect(w.find('[data-test=train-status]').text()).toContain('fine-tuning the top 3 blocks')
    expect(w.find('[data-test=train-batch]').text()).toMatch(/stage 2 epoch 3: 64 \/ 128 images, loss 1\.234, acc 50\.0%,\s+42 img\/s, about 1 min 35 s left/)
    expect(w.find('[data-test=train-cancel]').exists()).toBe(true)
  })

  it('turns stage 2 off on request, resumes an interrupted run, and says which path a finished run used', async () => {
    const { w, fake } = await setup()
    expect(w.findAll('[data-test=train-resume]')).toHaveLength(1) // only the interrupted run
    await w.find('[data-test=train-resume]').trigger('click')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'training.resume')!.payload).toEqual({ runId: 3 })
    expect(w.find('[data-test=train-cancel]').exists()).toBe(true)
    fake.emit('job.end', { jobId: 'job-2', kind: 'train', status: 'completed', result: { runId: 2, status: 'completed' } })
    await flushPromises()
    expect(w.find('[data-test=stage2-summary]').text()).toMatch(/top 3 blocks \(after block_14_add, 13% of layers\).*cached boundary activations.*Stage 1 alone: 45\.4%; after stage 2: 49\.0%/s)
    await w.find('[data-test=train-stage2]').setValue('off')
    await w.find('[data-test=train-start]').trigger('click')
    await flushPromises()
    const start = fake.calls.filter((c) => c.channel === 'training.start').at(-1)!.payload as { stage2: unknown }
    expect(start.stage2).toEqual({ enabled: false })
  })
})

describe('TrainView with backbone auto', () => {
  const probed: RunInfo = {
    ...interrupted, id: 4, status: 'completed', backbone: 'pixels',
    config: {
      split: { description: 'stratified' },
      probe: {
        best: 'pixels', seconds: 2.5, sample: { images: 21, perClass: [3, 3], folds: 3, seed: 1 },
        ranking: [
          { backbone: 'pixels', name: 'Raw pixels', size: 32, accuracy: 0.5, balancedAccuracy: 0.45, seconds: 0.4, fitSeconds: 0.1, computed: 21, cached: 0 },
          { backbone: 'mobilenetv2-nsfwjs', name: 'MobileNetV2 (nsfwjs)', size: 128, accuracy: 0.4, balancedAccuracy: 0.3, seconds: 2, fitSeconds: 0.1, computed: 21, cached: 0 },
          { backbone: 'big', name: 'Big net', size: 224, accuracy: null, balancedAccuracy: null, seconds: 0, fitSeconds: 0, computed: 0, cached: 0, error: 'big needs download' }
        ]
      }
    },
    summary: { valAccuracy: 0.5, perEnvironment: [] }
  }

  it('one click sends backbone auto, shows the probe phase, then the ranking of the run it made', async () => {
    const fake = fakeApi({
      'training.runs': () => [probed],
      'training.backbones': () => [...BACKBONES, { ...BACKBONES[0], id: 'big', name: 'Big net', status: 'needs download' }],
      'training.epochs': () => [],
      'training.start': () => ({ jobId: 'job-9' }),
      'job.cancel': () => ({ cancelled: true })
    })
    setApi(fake.api)
    const pinia = createPinia()
    setActivePinia(pinia)
    useProjectStore().summary = summary({ classCount: 7 })
    const w = mount(TrainView, { global: { plugins: [pinia], stubs: { TrainingCurves: true, ChecklistPanel: true } } })
    await flushPromises()
    expect(w.find('[data-test=train-status]').text()).toContain('the best backbone by a quick linear probe')
    expect(w.find('[data-test=train-backbone]').text()).toContain('Big net (needs download)')
    // the checklist judges a concrete backbone while 'auto' is chosen
    expect((w.findComponent({ name: 'ChecklistPanel' }).props('config') as { backbone?: string }).backbone).toBeUndefined()
    expect(w.find('[data-test=checklist-auto]').exists()).toBe(true)
    // the selected run shows the probe that chose its backbone, best first, failures and non-ready backbones marked
    const rows = w.findAll('[data-test=probe-row]')
    expect(rows.map((r) => r.text().split(/\s+/)[0])).toEqual(['Raw', 'MobileNetV2', 'Big'])
    expect(rows[0].find('[data-test=probe-best]').exists()).toBe(true)
    expect(rows[0].text()).toMatch(/45\.0%\s*50\.0%\s*0\.4 s/)
    expect(rows[2].text()).toContain('big needs download')
    expect(rows[2].find('[data-test=probe-status]').text()).toContain('needs download')

    await w.find('[data-test=train-start]').trigger('click')
    await flushPromises()
    const start = fake.calls.find((c) => c.channel === 'training.start')!.payload as Record<string, unknown>
    expect(start.backbone).toBe('auto')
    expect(start.size).toBeUndefined() // the winner's own input size
    fake.emit('training.event', { jobId: 'job-9', type: 'progress', phase: 'probe', name: 'pixels', description: 'probing backbones: pixels (2 of 3), embedding 5/10', done: 15, total: 30 })
    await flushPromises()
    expect(w.find('[data-test=train-status]').text()).toContain('probing backbones: pixels (2 of 3)')
    expect(w.find('[data-test=train-probe]').text()).toContain('50% of the probe')
    await w.find('[data-test=train-cancel]').trigger('click')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'job.cancel')!.payload).toEqual({ jobId: 'job-9' })
  })

  it('probes on demand from the advanced panel and shows the report', async () => {
    const fake = fakeApi({
      'training.runs': () => [],
      'training.backbones': () => BACKBONES,
      'training.probe': () => ({ jobId: 'probe-1' })
    })
    setApi(fake.api)
    const pinia = createPinia()
    setActivePinia(pinia)
    useProjectStore().summary = summary({ classCount: 7 })
    const w = mount(TrainView, { global: { plugins: [pinia], stubs: { TrainingCurves: true, ChecklistPanel: true } } })
    await flushPromises()
    await w.find('[data-test=probe-start]').trigger('click')
    await flushPromises()
    fake.emit('job.progress', { jobId: 'probe-1', kind: 'probe', done: 1, total: 2, message: 'pixels: embedding 3/6' })
    await flushPromises()
    expect(w.find('[data-test=probe-progress]').text()).toBe('pixels: embedding 3/6')
    const report = { ...(probed.config.probe as object), classes: ['a', 'b'], method: 'ridge', cancelled: false }
    fake.emit('job.end', { jobId: 'probe-1', kind: 'probe', status: 'completed', result: report })
    await flushPromises()
    expect(w.findAll('[data-test=probe-row]')).toHaveLength(3)
    expect(w.find('[data-test=probe-ranking]').text()).toContain('Linear probe on 21 training images, 3-fold')
  })
})
