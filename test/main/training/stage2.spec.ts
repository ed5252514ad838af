import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { getBackbone, loadFeatureExtractor, type FeatureExtractor } from '../../../src/main/training/backbones'
import { buildHead } from '../../../src/main/training/head'
import { DEFAULT_AUGMENT } from '../../../src/main/training/augment'
import { cachedSource, chooseCut, defaultUnfreezeFraction, topForward, trainStage2, type CachedActivations, type Cut, type Stage2Config, type Stage2State } from '../../../src/main/training/stage2'
import { mulberry32 } from '../../../src/main/util/random'

const SIZE = 96
let extractor: FeatureExtractor
let model: tf.LayersModel
const backbone = getBackbone('mobilenetv2-nsfwjs')

beforeAll(async () => {
  await initBackend(['wasm', 'cpu'])
  extractor = await loadFeatureExtractor(backbone.id, SIZE)
  model = extractor.model!
}, 60_000)
afterAll(() => extractor.dispose())

/** Random non-negative activations at the cut, like the ReLU6 outputs the bottom produces. */
function activations(cut: Cut, images: number, views: number, seed: number): CachedActivations {
  const random = mulberry32(seed)
  const per = cut.shape.reduce((a, b) => a * b, 1)
  return { views: Array.from({ length: images }, () => Array.from({ length: views }, () => Float32Array.from({ length: per }, () => random() * 3))) }
}

const bnStats = () =>
  model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .map((l) => ({ name: l.name, values: l.getWeights().slice(2).map((t) => Buffer.from((t.dataSync() as Float32Array).buffer).toString('base64')) }))

const weightOf = (layer: string) => Float32Array.from(model.getLayer(layer).getWeights()[0].dataSync())

function config(over: Partial<Stage2Config> = {}): Stage2Config {
  return { fraction: 0.25, learningRate: 1e-3, epochs: 2, batchSize: 8, minBatchSize: 2, patience: 5, seed: 3, augment: DEFAULT_AUGMENT, ...over }
}

describe('stage 2 fine-tuning', () => {
  it('cuts at block boundaries and unfreezes more with more data', () => {
    expect(defaultUnfreezeFraction(100)).toBe(0)
    expect(defaultUnfreezeFraction(300)).toBeCloseTo(0.1)
    expect(defaultUnfreezeFraction(1200)).toBeGreaterThan(0.1)
    expect(defaultUnfreezeFraction(1200)).toBeLessThan(0.3)
    expect(defaultUnfreezeFraction(100_000)).toBe(0.3)
    const quarter = chooseCut(model, backbone, 0.25)
    expect(backbone.blocks).toContain(quarter.boundary)
    expect(quarter.boundary).toBe('block_12_add')
    expect(quarter.fraction).toBeCloseTo(0.25, 1)
    const tenth = chooseCut(model, backbone, 0.1)
    expect(tenth.blocks).toBeLessThan(quarter.blocks)
    expect(tenth.trainableParams).toBeLessThan(quarter.trainableParams)
    expect(() => chooseCut(model, backbone, 0)).toThrow(/above 0/)
    // the top applied to the bottom's output is the whole backbone's output
    const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 5)
    const whole = model.predict(x) as tf.Tensor
    const bottom = tf.model({ inputs: model.inputs, outputs: model.getLayer(quarter.boundary).output as tf.SymbolicTensor })
    const composed = topForward(quarter, bottom.predict(x) as tf.Tensor)
    expect(tf.max(tf.abs(tf.sub(whole, composed))).dataSync()[0]).toBeLessThan(1e-4)
    tf.dispose([x, whole, composed])
  })

  it('keeps every BatchNorm moving mean and variance bit-identical while the unfrozen convs and the head learn', async () => {
    const cut = chooseCut(model, backbone, 0.25)
    const head = buildHead(1280, 3, { hidden: 16, dropout: 0.2, seed: 1 })
    const before = bnStats()
    const convBefore = weightOf('block_15_project')
    const frozenBefore = weightOf('block_5_project')
    const headBefore = Float32Array.from(head.getWeights()[0].dataSync())
    const train = activations(cut, 24, 2, 1)
    const val = activations(cut, 8, 1, 2)
    const labels = Int32Array.from({ length: 24 }, (_, i) => i % 3)
    const r = await trainStage2(cut, head, cachedSource(cut, train, val), labels, Int32Array.from({ length: 8 }, (_, i) => i % 3), 3, [1, 1, 1], config({ patience: 10 }), { valLoss: null })
    expect(r.history).toHaveLength(2)
    // the best epoch is restored, and it is a stage-2 epoch (no stage-1 baseline given)
    expect(r.bestEpoch).toBeGreaterThan(0)
    const after = bnStats()
    expect(after.length).toBeGreaterThan(40)
    expect(after).toEqual(before)
    expect(weightOf('block_15_project')).not.toEqual(convBefore)
    expect(weightOf('block_5_project')).toEqual(frozenBefore)
    expect(Float32Array.from(head.getWeights()[0].dataSync())).not.toEqual(headBefore)
    head.dispose()
  }, 120_000)

  it('would have moved the statistics had BatchNorm run in training mode (the quirk the test guards)', () => {
    const bn = model.getLayer('block_16_project_BN')
    const before = Float32Array.from(bn.getWeights()[2].dataSync())
    const x = tf.randomUniform([4, 3, 3, 320])
    tf.tidy(() => {
      bn.apply(x, { training: true })
    })
    const after = Float32Array.from(bn.getWeights()[2].dataSync())
    expect(after).not.toEqual(before)
    bn.setWeights([...bn.getWeights().slice(0, 2), tf.tensor1d(before), bn.getWeights()[3]])
    x.dispose()
  })

  it('halves the batch when memory runs out, and says so plainly at the smallest batch', async () => {
    const cut = chooseCut(model, backbone, 0.1)
    const head = buildHead(1280, 2, { hidden: 0, dropout: 0, seed: 1 })
    const src = cachedSource(cut, activations(cut, 16, 1, 4), activations(cut, 4, 1, 5))
    const labels = Int32Array.from({ length: 16 }, (_, i) => i % 2)
    const vlabels = Int32Array.from({ length: 4 }, (_, i) => i % 2)
    const sizes: number[] = []
    const r = await trainStage2(cut, head, src, labels, vlabels, 2, [1, 1], config({ epochs: 1, batchSize: 16 }), { valLoss: null }, { failBatchAbove: 4, onBatchSize: (b) => sizes.push(b) })
    expect(r.batchSize).toBe(4)
    expect(sizes).toEqual([8, 4])
    expect(r.history[0].loss).toBeGreaterThan(0)
    await expect(trainStage2(cut, head, src, labels, vlabels, 2, [1, 1], config({ epochs: 1, batchSize: 4 }), { valLoss: null }, { failBatchAbove: 1 })).rejects.toThrow(
      /out of memory even at batch size 2 \(the smallest allowed\)/
    )
    head.dispose()
  }, 60_000)

  it('resumes from a checkpoint exactly where an uninterrupted run would be', async () => {
    const cut = chooseCut(model, backbone, 0.1)
    const train = activations(cut, 12, 2, 6)
    const val = activations(cut, 6, 1, 7)
    const labels = Int32Array.from({ length: 12 }, (_, i) => i % 2)
    const vlabels = Int32Array.from({ length: 6 }, (_, i) => i % 2)
    const original = model.getWeights().map((t) => t.clone())
    const run = async (epochs: number, resume?: { state: Stage2State; tensors: tf.NamedTensorMap }) => {
      const head = buildHead(1280, 2, { hidden: 0, dropout: 0, seed: 1 })
      let saved: { state: Stage2State; tensors: tf.NamedTensorMap } | undefined
      await trainStage2(cut, head, cachedSource(cut, train, val), labels, vlabels, 2, [1, 1], config({ epochs, patience: 10, learningRate: 5e-3 }), { valLoss: null }, {
        resume,
        onCheckpoint: async (state, tensors) => {
          saved = { state: structuredClone(state), tensors: Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.clone()])) }
        }
      })
      const out = { head: Float32Array.from(head.getWeights()[0].dataSync()), conv: weightOf('block_16_project'), saved: saved! }
      head.dispose()
      return out
    }
    const straight = await run(3)
    model.setWeights(original)
    const first = await run(1)
    model.setWeights(original) // the resumed run must get its weights from the checkpoint alone
    const resumed = await run(3, first.saved)
    expect(resumed.saved.state.history.map((h) => h.epoch)).toEqual([1, 2, 3])
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
    expect(diff(resumed.conv, straight.conv)).toBeLessThan(1e-5)
    expect(diff(resumed.head, straight.head)).toBeLessThan(1e-5)
    model.setWeights(original)
    tf.dispose(original)
  }, 120_000)
})
