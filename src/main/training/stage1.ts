// Stage 1: the backbone frozen, the head trained on cached embeddings. A hand-written loop
// rather than fit(): shuffling is seeded, class weights weigh each sample's loss, the flip view
// of each image is drawn per epoch, cancel is checked between batches, and the best epoch's
// weights are kept and restored (early stopping on validation loss).
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../util/random'
import { buildHead, headLoss, type HeadConfig } from './head'

export interface EmbeddedSet {
  /** One or more views per image (original, flipped), each `dim` long. */
  views: Float32Array[][]
  /** Class index 0..classes-1 per image. */
  labels: Int32Array
  dim: number
}

export interface EpochMetrics {
  stage: number
  epoch: number
  loss: number
  accuracy: number
  valLoss: number | null
  valAccuracy: number | null
  imagesPerSecond: number
  ms: number
}

export interface Stage1Result {
  model: tf.Sequential
  history: EpochMetrics[]
  bestEpoch: number
  stoppedEarly: boolean
  cancelled: boolean
}

export interface Stage1Hooks {
  onEpoch?: (m: EpochMetrics) => void
  signal?: AbortSignal
}



/** Per-feature mean and 1/std of the training set. */
export interface Standardization {
  mean: Float32Array
  inv: Float32Array
}

/**
 * Backbone features are far from centred (ReLU outputs, pixel intensities): a head trained on
 * them raw can sit at chance. Training sees standardized features; afterwards the scaling is
 * folded into the first Dense layer, so the saved head takes raw features and needs no extra step.
 */
export function standardization(set: EmbeddedSet): Standardization {
  const mean = new Float64Array(set.dim)
  const sq = new Float64Array(set.dim)
  let n = 0
  for (const views of set.views)
    for (const v of views) {
      n++
      for (let d = 0; d < set.dim; d++) {
        mean[d] += v[d]
        sq[d] += v[d] * v[d]
      }
    }
  const m = new Float32Array(set.dim)
  const std = new Float32Array(set.dim)
  for (let d = 0; d < set.dim; d++) {
    m[d] = mean[d] / Math.max(1, n)
    std[d] = Math.sqrt(Math.max(0, sq[d] / Math.max(1, n) - m[d] * m[d]))
  }
  // A nearly constant feature (a ReLU that rarely fires) scaled to unit variance would get a huge
  // folded weight, and stage 2, which moves the features, would then swing the head wildly. Its
  // scale is capped at ten times that of the livelier features (90th percentile of spread) instead.
  // (MobileNetV2 on faces: a quarter of its 1280 features have a spread under 0.01, the top tenth over 0.38.)
  const sorted = Float32Array.from(std).sort()
  const floor = Math.max(1e-3, 0.1 * (sorted[Math.floor(sorted.length * 0.9)] ?? 0))
  const inv = std.map((s) => 1 / Math.max(s, floor))
  return { mean: m, inv }
}

/** Makes the model compute on raw features what it computed on standardized ones. */
export function foldStandardization(model: tf.LayersModel, norm: Standardization): void {
  const first = model.layers.find((l) => l.getClassName() === 'Dense')!
  const [kernel, bias] = first.getWeights()
  const folded = tf.tidy(() => {
    const inv = tf.tensor2d(norm.inv, [norm.inv.length, 1])
    const w = kernel.mul(inv)
    const shift = tf.matMul(tf.tensor2d(norm.mean, [1, norm.mean.length]), w).reshape(bias.shape)
    return [w, bias.sub(shift)]
  })
  first.setWeights(folded)
  folded.forEach((t) => t.dispose())
}

function batchTensors(set: EmbeddedSet, idx: number[], pickView: (i: number) => number, classes: number, norm?: Standardization): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const x = new Float32Array(idx.length * set.dim)
  idx.forEach((i, k) => x.set(set.views[i][pickView(i)], k * set.dim))
  if (norm) for (let j = 0; j < x.length; j++) x[j] = (x[j] - norm.mean[j % set.dim]) * norm.inv[j % set.dim]
  return {
    x: tf.tensor2d(x, [idx.length, set.dim]),
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(idx, (i) => set.labels[i]), 'int32'), classes).toFloat() as tf.Tensor2D)
  }
}

/** Above this many floats the standardized training set is not kept resident (256 MiB). */
const RESIDENT_LIMIT = 64 * 2 ** 20

/**
 * Every view of the training set standardized once and held as one tensor, so a batch is a
 * gather inside the backend instead of a copy, a scaling loop and an upload from JS per batch.
 * Null when the set is too large to hold twice (JS copy + backend); batches are built per step then.
 */
function residentSet(set: EmbeddedSet, norm: Standardization): { x: tf.Tensor2D; firstRow: Int32Array } | null {
  const firstRow = new Int32Array(set.views.length)
  let rows = 0
  set.views.forEach((views, i) => {
    firstRow[i] = rows
    rows += views.length
  })
  if (rows * set.dim > RESIDENT_LIMIT) return null
  const flat = new Float32Array(rows * set.dim)
  let at = 0
  for (const views of set.views)
    for (const v of views) {
      for (let d = 0; d < set.dim; d++) flat[at + d] = (v[d] - norm.mean[d]) * norm.inv[d]
      at += set.dim
    }
  return { x: tf.tensor2d(flat, [rows, set.dim]), firstRow }
}

/** Mean cross-entropy and accuracy of the model on a set (original views only). */
export function evaluateSet(model: tf.LayersModel, set: EmbeddedSet, classes: number, norm?: Standardization, batch = 512): { loss: number; accuracy: number; probs: Float32Array } {
  const n = set.labels.length
  const probs = new Float32Array(n * classes)
  let loss = 0
  let correct = 0
  for (let s = 0; s < n; s += batch) {
    const idx = Array.from({ length: Math.min(batch, n - s) }, (_, k) => s + k)
    const p = tf.tidy(() => {
      const { x } = batchTensors(set, idx, () => 0, classes, norm)
      return model.predict(x) as tf.Tensor2D
    })
    const data = p.dataSync() as Float32Array
    p.dispose()
    probs.set(data, s * classes)
    idx.forEach((i, k) => {
      const row = data.subarray(k * classes, (k + 1) * classes)
      loss -= Math.log(Math.max(row[set.labels[i]], 1e-7))
      let arg = 0
      for (let c = 1; c < classes; c++) if (row[c] > row[arg]) arg = c
      if (arg === set.labels[i]) correct++
    })
  }
  return { loss: n ? loss / n : 0, accuracy: n ? correct / n : 0, probs }
}

export async function trainStage1(
  train: EmbeddedSet,
  val: EmbeddedSet | null,
  classes: number,
  classWeights: number[],
  cfg: HeadConfig,
  hooks: Stage1Hooks = {}
): Promise<Stage1Result> {
  if (train.labels.length === 0) throw new Error('no training images: every image is in validation or excluded')
  const model = buildHead(train.dim, classes, cfg)
  const norm = standardization(train)
  const optimizer = tf.train.adam(cfg.learningRate)
  const random = mulberry32(cfg.seed)
  const weightsOf = tf.tensor1d(classWeights)
  const resident = residentSet(train, norm)
  const history: EpochMetrics[] = []
  let steps = 0
  let best = { loss: Infinity, epoch: 0, weights: null as tf.Tensor[] | null }
  let sinceBest = 0
  let cancelled = false
  let stoppedEarly = false
  let lastYield = performance.now()
  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const started = performance.now()
      const order = Array.from({ length: train.labels.length }, (_, i) => i)
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      let lossSum = 0
      let correct = 0
      for (let s = 0; s < order.length; s += cfg.batchSize) {
        if (hooks.signal?.aborted) {
          cancelled = true
          break
        }
        const idx = order.slice(s, s + cfg.batchSize)
        // A dropout draw of its own for every step, reproducible from the seed.
        const dropoutSeed = cfg.seed * 100_003 + ++steps
        const pickView = (i: number) => Math.floor(random() * train.views[i].length)
        const { x, y } = resident
          ? {
              x: tf.tidy(() => tf.gather(resident.x, tf.tensor1d(Array.from(idx, (i) => resident.firstRow[i] + pickView(i)), 'int32')) as tf.Tensor2D),
              y: tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from(idx, (i) => train.labels[i]), 'int32'), classes).toFloat() as tf.Tensor2D)
            }
          : batchTensors(train, idx, pickView, classes, norm)
        let hits: tf.Tensor | null = null
        const stats = tf.tidy(() => {
          const w = tf.gather(weightsOf, tf.argMax(y, 1)) as tf.Tensor1D
          // Hits kept past minimize's own tidy, so accuracy costs no second forward pass.
          const cost = optimizer.minimize(() => headLoss(model, x, y, w, dropoutSeed, (t) => (hits = tf.keep(t))), true) as tf.Scalar
          return tf.stack([tf.mul(cost, idx.length), hits!])
        })
        const [l, h] = stats.dataSync()
        stats.dispose()
        ;(hits as tf.Tensor | null)?.dispose()
        x.dispose()
        y.dispose()
        lossSum += l
        correct += h
        // Lets cancel and progress through; a batch takes about a millisecond, and each yield costs
        // a timer turn (1 ms or far more on a busy machine), so yield every 25 ms instead.
        if (performance.now() - lastYield > 25) {
          await tf.nextFrame()
          lastYield = performance.now()
        }
      }
      if (cancelled) break
      const seen = order.length
      const v = val && val.labels.length ? evaluateSet(model, val, classes, norm) : null
      const ms = performance.now() - started
      const m: EpochMetrics = {
        stage: 1,
        epoch,
        loss: lossSum / seen,
        accuracy: correct / seen,
        valLoss: v?.loss ?? null,
        valAccuracy: v?.accuracy ?? null,
        imagesPerSecond: seen / (ms / 1000),
        ms
      }
      history.push(m)
      hooks.onEpoch?.(m)
      const monitored = m.valLoss ?? m.loss
      if (monitored < best.loss - 1e-6) {
        best.weights?.forEach((t) => t.dispose())
        best = { loss: monitored, epoch, weights: model.getWeights().map((t) => t.clone()) }
        sinceBest = 0
      } else if (++sinceBest >= cfg.patience) {
        stoppedEarly = true
        break
      }
    }
    if (best.weights) model.setWeights(best.weights)
    foldStandardization(model, norm)
    return { model, history, bestEpoch: best.epoch, stoppedEarly, cancelled }
  } finally {
    best.weights?.forEach((t) => t.dispose())
    weightsOf.dispose()
    resident?.x.dispose()
    optimizer.dispose()
  }
}
