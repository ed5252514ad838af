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
