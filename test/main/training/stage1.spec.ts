import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { buildHead, DEFAULT_HEAD, headLoss, headParamCount, headTrainingForward, stage1BatchSize } from '../../../src/main/training/head'
import { HeadTrainer } from '../../../src/main/training/head-trainer'
import { evaluateSet, trainStage1, type EmbeddedSet } from '../../../src/main/training/stage1'

/** Gaussian clusters, one per class, in `dim` dimensions; seeded so every run sees the same data. */
function clusters(perClass: number[], dim: number, spread: number, seed: number): EmbeddedSet {
  let s = seed
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647)
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())
  const centres = perClass.map(() => Float32Array.from({ length: dim }, () => gauss()))
  const views: Float32Array[][] = []
  const labels: number[] = []
  perClass.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      const v = Float32Array.from(centres[c], (m) => m + spread * gauss())
      views.push([v, Float32Array.from(v, (x) => x + 0.05 * gauss())])
      labels.push(c)
    }
  })
  return { views, labels: Int32Array.from(labels), dim }
}

const cfg = { ...DEFAULT_HEAD, hidden: 32, epochs: 30, batchSize: 16, patience: 5, learningRate: 5e-3 }

describe('head', () => {
  it('keeps batch 32 for small sets and grows it while an epoch keeps 64 steps', () => {
    expect(stage1BatchSize(40)).toBe(32)
    expect(stage1BatchSize(1500)).toBe(32)
    expect(stage1BatchSize(4095)).toBe(32)
    expect(stage1BatchSize(4096)).toBe(64)
    expect(stage1BatchSize(10_000)).toBe(128)
    expect(stage1BatchSize(1_000_000)).toBe(256)
  })

  it('counts parameters as the seed head has them', () => {
    expect(headParamCount(1280, 256, 7)).toBe(1280 * 256 + 256 + 256 * 7 + 7)
    expect(headParamCount(1280, 0, 7)).toBe(1280 * 7 + 7)
    const model = buildHead(1280, 7, { hidden: 256, dropout: 0.5, seed: 1 })
    expect(model.countParams()).toBe(headParamCount(1280, 256, 7))
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dropout', 'Dense'])
    model.dispose()
  })
})

describe('stage 1 on embeddings', () => {
  it('learns separable classes, reports every epoch, and leaks no tensors', async () => {
    const before = tf.memory().numTensors
    const train = clusters([60, 60, 60], 16, 0.6, 1)
    const val = clusters([20, 20, 20], 16, 0.6, 1) // same centres (same seed), fresh samples
    const epochs: number[] = []
    const r = await trainStage1(train, val, 3, [1, 1, 1], cfg, { onEpoch: (m) => epochs.push(m.epoch) })
    expect(evaluateSet(r.model, val, 3).accuracy).toBeGreaterThan(0.9)
    expect(epochs[0]).toBe(1)
    expect(r.history.every((m) => Number.isFinite(m.loss) && m.imagesPerSecond > 0)).toBe(true)
    r.model.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('is reproducible for a seed', async () => {
    const train = clusters([30, 30], 8, 1.5, 2)
    const a = await trainStage1(train, null, 2, [1, 1], { ...cfg, epochs: 5 })
    const b = await trainStage1(train, null, 2, [1, 1], { ...cfg, epochs: 5 })
    expect(a.history.map((m) => m.loss)).toEqual(b.history.map((m) => m.loss))
    a.model.dispose()
    b.model.dispose()
  })

  it('lets class weights raise the recall of a rare class', async () => {
    const train = clusters([300, 10], 4, 3.5, 3) // heavily overlapping, 30:1 imbalance
    const val = clusters([200, 60], 4, 3.5, 3)
    const recallOfRare = (probs: Float32Array) => {
      let hit = 0
      let n = 0
      val.labels.forEach((y, i) => {
        if (y !== 1) return
        n++
        if (probs[i * 2 + 1] > probs[i * 2]) hit++
      })
      return hit / n
    }
    const plain = await trainStage1(train, val, 2, [1, 1], { ...cfg, epochs: 15, patience: 99 })
    const weighted = await trainStage1(train, val, 2, [310 / (2 * 300), 310 / (2 * 10)], { ...cfg, epochs: 15, patience: 99 })
    expect(recallOfRare(evaluateSet(weighted.model, val, 2).probs)).toBeGreaterThan(recallOfRare(evaluateSet(plain.model, val, 2).probs) + 0.1)
    plain.model.dispose()
    weighted.model.dispose()
  })

  it("stops early and restores the best epoch's weights", async () => {
    const train = clusters([15, 15], 32, 3, 4) // few, noisy: validation loss turns up soon
    const val = clusters([50, 50], 32, 3, 4)
    const r = await trainStage1(train, val, 2, [1, 1], { ...cfg, hidden: 64, epochs: 200, patience: 3, learningRate: 2e-2 })
    expect(r.stoppedEarly).toBe(true)
    const best = r.history.find((m) => m.epoch === r.bestEpoch)!
    expect(r.history.length).toBe(r.bestEpoch + 3)
    expect(evaluateSet(r.model, val, 2).loss).toBeCloseTo(best.valLoss!, 4)
    r.model.dispose()
  })

  it('cancels between batches and refuses an empty training set', async () => {
    const train = clusters([100, 100], 8, 1, 5)
    const controller = new AbortController()
    const r = await trainStage1(train, null, 2, [1, 1], { ...cfg, epochs: 50 }, { onEpoch: (m) => m.epoch === 2 && controller.abort(), signal: controller.signal })
    expect(r.cancelled).toBe(true)
    expect(r.history.length).toBe(2)
    r.model.dispose()
    await expect(trainStage1({ views: [], labels: new Int32Array(), dim: 4 }, null, 2, [1, 1], cfg)).rejects.toThrow(/no training images/)
  })
})

describe('stage 1 dropout', () => {
  it('draws a new dropout mask at every step, the same ones again for the same seed', async () => {
    const model = buildHead(16, 2, { hidden: 64, dropout: 0.5, seed: 1 })
    const x = tf.ones([4, 16])
    const out = (seed: number) => tf.tidy(() => Array.from(headTrainingForward(model, x, seed).dataSync()))
    expect(out(1)).toEqual(out(1))
    expect(out(1)).not.toEqual(out(2))
    // the layer as tfjs builds it repeats its mask at every call: the reason for the seed per step
    const viaLayer = () => tf.tidy(() => Array.from((model.apply(x, { training: true }) as tf.Tensor).dataSync()))
    expect(viaLayer()).toEqual(viaLayer())
    x.dispose()
    model.dispose()
  })
})

describe('stage 1 written-out gradients and its second thread', () => {
  /** A fixed batch for one step: features, labels and class weights. */
  function batch(rows: number, dim: number, classes: number): { x: Float32Array; labels: Int32Array; w: Float32Array } {
    let s = 11
    const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647)
    return {
      x: Float32Array.from({ length: rows * dim }, () => rand() * 2 - 1),
      labels: Int32Array.from({ length: rows }, (_, i) => i % classes),
      w: Float32Array.from({ length: rows }, (_, i) => 1 + (i % classes) * 0.5)
    }
  }

  it("takes the same Adam steps as tfjs' tape on the same loss (no dropout)", async () => {
    const before = tf.memory().numTensors
    const dim = 12
    const head = { hidden: 10, dropout: 0, seed: 3 }
    const ours = buildHead(dim, 3, head)
    const tape = buildHead(dim, 3, head) // same seeds: the same initial weights
    const trainer = await HeadTrainer.create(ours, { dim, classes: 3, dropout: 0, learningRate: 0.01, threads: 1, maxRows: 16, backend: 'cpu' })
    const optimizer = tf.train.adam(0.01)
    const b = batch(16, dim, 3)
    let lossSum = 0
    for (let step = 0; step < 3; step++) {
      lossSum = trainer.step(b.x, b.labels, b.w, step).lossSum
      tf.tidy(() => {
        const x = tf.tensor2d(b.x, [16, dim])
        const y = tf.oneHot(tf.tensor1d(b.labels, 'int32'), 3).toFloat() as tf.Tensor2D
        optimizer.minimize(() => headLoss(tape, x, y, tf.tensor1d(b.w), step))
      })
    }
    trainer.writeTo(ours)
    const a = ours.getWeights().map((t) => Array.from(t.dataSync()))
    const e = tape.getWeights().map((t) => Array.from(t.dataSync()))
    for (let k = 0; k < 4; k++) a[k].forEach((v, i) => expect(v, `weight ${k}[${i}]`).toBeCloseTo(e[k][i], 5))
    const fresh = buildHead(dim, 3, head)
    expect(a[0]).not.toEqual(Array.from(fresh.getWeights()[0].dataSync())) // it did move
    fresh.dispose()
    // the loss it reports is the tape's loss times the batch size
    const tapeLoss = tf.tidy(() => headLoss(tape, tf.tensor2d(b.x, [16, dim]), tf.oneHot(tf.tensor1d(b.labels, 'int32'), 3).toFloat() as tf.Tensor2D, tf.tensor1d(b.w), 0).dataSync()[0])
    expect(Number.isFinite(lossSum) && lossSum > 0).toBe(true)
    expect(tapeLoss).toBeLessThan(lossSum / 16) // one more step lowered it
    await trainer.dispose()
    optimizer.dispose()
    ours.dispose()
    tape.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('trains half of the hidden layer in a second thread with the same result as one thread', async () => {
    const train = clusters([150, 150, 150], 24, 1.2, 8)
    const val = clusters([30, 30, 30], 24, 1.2, 8)
    const c = { ...cfg, hidden: 20, dropout: 0.5, epochs: 4, batchSize: 32 }
    const one = await trainStage1(train, val, 3, [1, 1, 2], c, { threads: 1 })
    const two = await trainStage1(train, val, 3, [1, 1, 2], c, { threads: 2 })
    expect([one.threads, two.threads]).toEqual([1, 2])
    two.history.forEach((m, i) => {
      expect(m.loss).toBeCloseTo(one.history[i].loss, 5)
      expect(m.valLoss!).toBeCloseTo(one.history[i].valLoss!, 5)
    })
    const [w1, w2] = [one, two].map((r) => Array.from(r.model.getWeights()[0].dataSync()))
    w2.forEach((v, i) => expect(v).toBeCloseTo(w1[i], 5))
    one.model.dispose()
    two.model.dispose()
  }, 60_000)

  it('does all columns in one thread when the second cannot start, and names a second thread that stopped', async () => {
    const head = buildHead(8, 2, { hidden: 6, dropout: 0.5, seed: 1 })
    // no native TensorFlow here: the partner's backend cannot start
    const alone = await HeadTrainer.create(head, { dim: 8, classes: 2, dropout: 0.5, learningRate: 0.01, threads: 2, maxRows: 8, backend: 'tensorflow' })
    expect(alone.threads).toBe(1)
    const b = batch(8, 8, 2)
    expect(Number.isFinite(alone.step(b.x, b.labels, b.w, 1).lossSum)).toBe(true)
    await alone.dispose()
    const paired = await HeadTrainer.create(head, { dim: 8, classes: 2, dropout: 0.5, learningRate: 0.01, threads: 2, maxRows: 8, backend: 'cpu' })
    expect(paired.threads).toBe(2)
    paired.step(b.x, b.labels, b.w, 1)
    await (paired as unknown as { partner: { worker: { terminate(): Promise<number> } } }).partner.worker.terminate()
    await new Promise((r) => setTimeout(r, 50)) // the exit event arrives
    expect(() => paired.step(b.x, b.labels, b.w, 2)).toThrow(/stage 1's second thread failed: the thread stopped/)
    await paired.dispose()
    head.dispose()
  }, 60_000)
})
