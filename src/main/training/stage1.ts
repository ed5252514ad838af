// Stage 1: the backbone frozen, the head trained on cached embeddings. A hand-written loop
// rather than fit(): shuffling is seeded, class weights weigh each sample's loss, the flip view
// of each image is drawn per epoch, cancel is checked between batches, and the best epoch's
// weights are kept and restored (early stopping on validation loss).
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../util/random'
import { availableParallelism } from 'node:os'
import type { BackendFamily } from './backend'
import { buildHead, headLoss, type HeadConfig } from './head'
import { HeadTrainer } from './head-trainer'

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
  /** Threads the hidden layer trained on (2: half of its columns in a partner thread). */
  threads: number
  history: EpochMetrics[]
  bestEpoch: number
  stoppedEarly: boolean
  cancelled: boolean
}

export interface Stage1Hooks {
  onEpoch?: (m: EpochMetrics) => void
  signal?: AbortSignal
  /** Threads for the hidden layer: 2 splits its columns with a partner thread. Default: 2 on wasm from TWO_THREADS_FROM images when the machine has two cores. */
  threads?: number
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
 * Every view of the training set standardized once into one array, so a batch is row copies and
 * one upload. (Kept as a backend tensor and gathered per batch, it was slower: wasm's GatherV2
 * took ~5.5 ms for 128 rows of 1280 where copying them in JS and uploading takes ~0.6 ms; that
 * was a third of a stage-1 step.) Null when the set is too large to hold twice (the raw views
 * and this); batches are then built and scaled per step.
 */
function residentSet(set: EmbeddedSet, norm: Standardization): { flat: Float32Array; firstRow: Int32Array } | null {
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
  return { flat, firstRow }
}

/** One step's inputs built in JS: features (row-major), labels and each sample's class weight. */
function stepArrays(
  set: EmbeddedSet,
  idx: number[],
  pickView: (i: number) => number,
  classWeights: number[],
  resident: { flat: Float32Array; firstRow: Int32Array } | null,
  norm: Standardization
): { x: Float32Array; labels: Int32Array; w: Float32Array } {
  const dim = set.dim
  const x = new Float32Array(idx.length * dim)
  const labels = new Int32Array(idx.length)
  const w = new Float32Array(idx.length)
  idx.forEach((i, k) => {
    const view = pickView(i)
    if (resident) {
      const row = (resident.firstRow[i] + view) * dim
      x.set(resident.flat.subarray(row, row + dim), k * dim)
    } else {
      const v = set.views[i][view]
      for (let d = 0; d < dim; d++) x[k * dim + d] = (v[d] - norm.mean[d]) * norm.inv[d]
    }
    labels[k] = set.labels[i]
    w[k] = classWeights[set.labels[i]]
  })
  return { x, labels, w }
}

/**
 * Images from which stage 1 trains the hidden layer on two threads (on wasm, which runs one
 * thread per instance): starting the second thread takes ~0.3 s, one epoch of 4,096 images at
 * batch 64 about as long.
 */
export const TWO_THREADS_FROM = 4096

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
  const resident = residentSet(train, norm)
  // The seed's head (a hidden layer) trains through HeadTrainer's written-out gradients, on two
  // threads for larger sets; a plain softmax head through tfjs' tape.
  const backend = tf.getBackend()
  const threads = hooks.threads ?? (backend === 'wasm' && availableParallelism() >= 2 && train.labels.length >= TWO_THREADS_FROM ? 2 : 1)
  const trainer =
    cfg.hidden > 0
      ? await HeadTrainer.create(model, { dim: train.dim, classes, dropout: cfg.dropout, learningRate: cfg.learningRate, threads, maxRows: cfg.batchSize, backend: backend as BackendFamily })
      : null
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
        const batch = stepArrays(train, idx, pickView, classWeights, resident, norm)
        if (trainer) {
          const r = trainer.step(batch.x, batch.labels, batch.w, dropoutSeed)
          lossSum += r.lossSum
          correct += r.hits
        } else {
          const x = tf.tensor2d(batch.x, [idx.length, train.dim])
          const y = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes).toFloat() as tf.Tensor2D)
          const w = tf.tensor1d(batch.w)
          let hits: tf.Tensor | null = null
          const stats = tf.tidy(() => {
            // Hits kept past minimize's own tidy, so accuracy costs no second forward pass.
            const cost = optimizer.minimize(() => headLoss(model, x, y, w, dropoutSeed, (t) => (hits = tf.keep(t))), true) as tf.Scalar
            return tf.stack([tf.mul(cost, idx.length), hits!])
          })
          const [l, h] = stats.dataSync()
          tf.dispose([stats, x, y, w, ...(hits ? [hits as tf.Tensor] : [])])
          lossSum += l
          correct += h
        }
        // Lets cancel and progress through; a batch takes about a millisecond, and each yield costs
        // a timer turn (1 ms or far more on a busy machine), so yield every 25 ms instead.
        if (performance.now() - lastYield > 25) {
          await tf.nextFrame()
          lastYield = performance.now()
        }
      }
      if (cancelled) break
      trainer?.writeTo(model)
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
    return { model, threads: trainer?.threads ?? 1, history, bestEpoch: best.epoch, stoppedEarly, cancelled }
  } finally {
    await trainer?.dispose()
    best.weights?.forEach((t) => t.dispose())
    optimizer.dispose()
  }
}
