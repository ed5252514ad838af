// Stage 2: fine-tune the top of the backbone together with the stage-1 head.
// - The backbone is cut at a block boundary (Backbone.blocks); layers above it are unfrozen except
//   BatchNormalization, which stays frozen AND in inference mode: every backbone layer is called
//   with training: false, because tfjs-layers updates a BN layer's moving statistics whenever it
//   is called in training mode, trainable or not (DESIGN.md).
// - Below the cut nothing trains, so its output (the "boundary activations") is computed once per
//   image and view when augmentation is only flipping, and every epoch runs just the top of the
//   network ("cached" path). Richer augmentation changes the pixels every epoch, so then the
//   bottom runs too, in inference mode, on augmented pixels ("full" path).
// - A hand-written loop as in stage 1: seeded shuffles, class-weighted loss, early stopping on
//   validation loss with the best weights restored (stage 1's own result counts as the first
//   "best", so a stage 2 that only hurts is undone), a checkpoint after every epoch.
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../util/random'
import { augmentPixels, cacheCovers, type AugmentConfig } from './augment'
import type { Backbone } from './backbones'
import type { Normalization } from './preprocess'
import type { EpochMetrics } from './stage1'
import { headTrainingForward } from './head'

export interface Stage2Config {
  /** Share of the backbone's layers above the cut (snapped to the nearest block boundary). */
  fraction: number
  /** The head's rate; the unfrozen backbone layers learn at BACKBONE_RATE of it. */
  learningRate: number
  epochs: number
  batchSize: number
  /** Smallest batch the out-of-memory fallback goes down to. */
  minBatchSize: number
  patience: number
  seed: number
  augment: AugmentConfig
  /** Stop after the epoch that passes this much training time (benchmarks compare at equal time). */
  maxMs?: number
}

/**
 * The unfrozen backbone layers learn ten times slower than the head. At the head's stage-2 rate
 * (stage 1's / 10 = 1e-4 with Adam) the top blocks of MobileNetV2 drifted away from what the
 * head had been fitted to within an epoch (training loss jumped, validation loss never beat
 * stage 1's on the 1500-image demo); Adam's step size ignores gradient scale, so the backbone
 * gets its own optimizer at a tenth of the rate (the Keras transfer-learning guide fine-tunes at
 * 1e-5).
 */
export const BACKBONE_RATE = 0.1

export interface Cut {
  /** Last frozen layer: its output is the boundary activation. */
  boundary: string
  /** Layers above the cut, in the backbone's topological order. */
  top: tf.layers.Layer[]
  /** Blocks above the cut, and the share of the backbone's layers they hold. */
  blocks: number
  fraction: number
  /** Shape of one image's boundary activation, [h, w, c]. */
  shape: number[]
  trainableParams: number
}

/**
 * How much to unfreeze given the training images (the seed: little data, keep the backbone
 * frozen; more, unfreeze more of the top). Under 300 images: none; then from 10% growing with the
 * logarithm of the data to 30% at 30,000 images.
 */
export function defaultUnfreezeFraction(trainImages: number): number {
  if (trainImages < 300) return 0
  const t = Math.log10(trainImages / 300) / 2
  return Math.round((0.1 + 0.2 * Math.min(1, Math.max(0, t))) * 100) / 100
}

const isBatchNorm = (l: tf.layers.Layer) => l.getClassName() === 'BatchNormalization'

/** The block boundary whose share of layers above it is nearest `fraction` (at least one block). */
export function chooseCut(model: tf.LayersModel, backbone: Backbone, fraction: number): Cut {
  if (!backbone.fineTunable || !backbone.blocks.length) throw new Error(`backbone ${backbone.id} cannot be fine-tuned`)
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`the unfrozen fraction must be above 0 and at most 1 (got ${fraction})`)
  const n = model.layers.length
  const candidates = backbone.blocks
    .slice(0, -1) // cutting after the last block would unfreeze nothing
    .map((name, k) => {
      const index = model.layers.findIndex((l) => l.name === name)
      if (index < 0) throw new Error(`block boundary ${name} is not a layer of ${backbone.id}`)
      return { name, index, blocks: backbone.blocks.length - 1 - k, share: (n - 1 - index) / n }
    })
  const best = candidates.reduce((a, b) => (Math.abs(b.share - fraction) < Math.abs(a.share - fraction) ? b : a))
  const top = model.layers.slice(best.index + 1)
  const known = new Set([best.name, ...top.map((l) => l.name)])
  for (const layer of top) {
    for (const inbound of layer.inboundNodes[0].inboundLayers) {
      if (!known.has(inbound.name)) throw new Error(`cutting ${backbone.id} after ${best.name} is not a clean block boundary: ${layer.name} reads ${inbound.name}`)
    }
  }
  const shape = (model.getLayer(best.name).outputShape as number[]).slice(1)
  const trainableParams = top.filter((l) => !isBatchNorm(l)).reduce((s, l) => s + l.countParams(), 0)
  return { boundary: best.name, top, blocks: best.blocks, fraction: best.share, shape, trainableParams }
}

/** Unfreezes the layers above the cut except BatchNorm; returns the variables to train. */
export function unfreeze(cut: Cut): tf.Variable[] {
  const vars: tf.Variable[] = []
  for (const layer of cut.top) {
    layer.trainable = !isBatchNorm(layer)
    if (layer.trainable) for (const w of layer.trainableWeights) vars.push(w.read() as tf.Variable)
  }
  return vars
}

/** The frozen part: input -> boundary activation, run in inference mode. */
export function bottomModel(model: tf.LayersModel, cut: Cut): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(cut.boundary).output as tf.SymbolicTensor, name: 'bottom' })
}

/**
 * The top of the backbone applied eagerly to boundary activations, every layer in inference mode
 * (BatchNorm uses, and never updates, its moving statistics). Returns the pooled features.
 */
export function topForward(cut: Cut, boundary: tf.Tensor): tf.Tensor2D {
  const values = new Map<string, tf.Tensor>([[cut.boundary, boundary]])
  let last: tf.Tensor = boundary
  for (const layer of cut.top) {
    const inputs = layer.inboundNodes[0].inboundLayers.map((l) => values.get(l.name)!)
    last = layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as tf.Tensor
    values.set(layer.name, last)
  }
  return last as tf.Tensor2D
}

/** Where a batch's boundary activations come from. */
export interface BoundarySource {
  path: 'cached' | 'full'
  /** Activations for these train images; `random` picks views or augmentations. */
  trainBatch(idx: number[], random: () => number): Promise<tf.Tensor4D>
  /** Validation activations, original view, in order. */
  validation(start: number, end: number): tf.Tensor4D
  trainCount: number
  validationCount: number
}

export interface CachedActivations {
  /** Per image, one activation per view (original first). */
  views: Float32Array[][]
}

export function cachedSource(cut: Cut, train: CachedActivations, val: CachedActivations): BoundarySource {
  const per = cut.shape.reduce((a, b) => a * b, 1)
  const stack = (rows: Float32Array[]) => {
    const data = new Float32Array(rows.length * per)
    rows.forEach((r, k) => data.set(r, k * per))
    return tf.tensor4d(data, [rows.length, ...(cut.shape as [number, number, number])])
  }
  return {
    path: 'cached',
    trainCount: train.views.length,
    validationCount: val.views.length,
    trainBatch: async (idx, random) => stack(idx.map((i) => train.views[i][Math.floor(random() * train.views[i].length)])),
    validation: (start, end) => stack(val.views.slice(start, end).map((v) => v[0]))
  }
}

export interface PixelSource {
  size: number
  normalization: Normalization
  /** Prepared pixels of train image i (HWC float32). */
  load(i: number): Promise<Float32Array>
}

export function fullSource(bottom: tf.LayersModel, pixels: PixelSource, trainCount: number, augment: AugmentConfig, val: CachedActivations, cut: Cut): BoundarySource {
  const cached = cachedSource(cut, { views: [] }, val)
  const s = pixels.size
  return {
    path: 'full',
    trainCount,
    validationCount: val.views.length,
    validation: cached.validation,
    trainBatch: async (idx, random) => {
      const images = await Promise.all(idx.map((i) => pixels.load(i)))
      const data = new Float32Array(idx.length * s * s * 3)
      images.forEach((p, k) => data.set(augmentPixels(p, s, augment, random, pixels.normalization), k * s * s * 3))
      return tf.tidy(() => bottom.predict(tf.tensor4d(data, [idx.length, s, s, 3]), { batchSize: idx.length }) as tf.Tensor4D)
    }
  }
}

export function usesCache(augment: AugmentConfig): boolean {
  return cacheCovers(augment)
}

/**
 * Recognises the ways tfjs / wasm report running out of memory. When the wasm heap cannot grow,
 * malloc's failure surfaces as a view past the end of the heap ("Invalid typed array length" in a
 * worker thread, "memory access out of bounds" on the main thread), then the module aborts.
 */
export function isOutOfMemory(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err)
  return /out of memory|could not allocate|cannot enlarge memory|allocation failed|Aborted\(|WebAssembly\.Memory|OOM|Invalid typed array length|memory access out of bounds/i.test(text)
}

export interface Stage2State {
  epoch: number
  history: EpochMetrics[]
  bestEpoch: number
  bestLoss: number
  sinceBest: number
  batchSize: number
}

export interface Stage2Hooks {
  signal?: AbortSignal
  onEpoch?: (m: EpochMetrics) => void
  onBatch?: (p: { epoch: number; done: number; total: number; loss: number; accuracy: number; imagesPerSecond: number; etaMs: number }) => void
  /** Called after each epoch with everything a resume needs. */
  onCheckpoint?: (state: Stage2State, tensors: tf.NamedTensorMap) => Promise<void>
  /** Where a resumed run left off. */
  resume?: { state: Stage2State; tensors: tf.NamedTensorMap }
  /** The batch size was reduced after running out of memory. */
  onBatchSize?: (batchSize: number) => void
  /** Fault injection for tests: a batch larger than this throws an out-of-memory error. */
  failBatchAbove?: number
  /** Fault injection for tests: a batch larger than this really exhausts the wasm heap (4 GiB). */
  exhaustMemoryAbove?: number
  /** Fault injection for tests: a batch larger than this runs out of memory and leaves the backend unusable, as an aborted wasm module is. */
  loseBackendAbove?: number
}

/**
 * The backend died of a real out-of-memory (wasm aborts its module when its heap cannot grow):
 * nothing more can run in this thread. The runner starts a fresh worker that resumes from the
 * last checkpoint at `batchSize` (runner.ts).
 */
export class BackendLost extends Error {
  constructor(message: string, readonly batchSize: number, options?: ErrorOptions) {
    super(message, options)
  }
}

export interface Stage2Result {
  history: EpochMetrics[]
  bestEpoch: number
  stoppedEarly: boolean
  cancelled: boolean
  batchSize: number
  /** Validation probabilities with the restored weights, row-major [n, classes]. */
  valProbs: Float32Array
  valLoss: number | null
  valAccuracy: number | null
}

function shuffled(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** Loss, accuracy and probabilities of top + head on the validation set, inference mode. */
export function evaluateTop(cut: Cut, head: tf.LayersModel, source: BoundarySource, labels: Int32Array, classes: number, batch = 64): { loss: number; accuracy: number; probs: Float32Array } {
  const n = source.validationCount
  const probs = new Float32Array(n * classes)
  let loss = 0
  let correct = 0
  for (let s = 0; s < n; s += batch) {
    const end = Math.min(n, s + batch)
    const p = tf.tidy(() => head.apply(topForward(cut, source.validation(s, end)), { training: false }) as tf.Tensor2D)
    const data = p.dataSync() as Float32Array
    p.dispose()
    probs.set(data, s * classes)
    for (let k = 0; k < end - s; k++) {
      const row = data.subarray(k * classes, (k + 1) * classes)
      loss -= Math.log(Math.max(row[labels[s + k]], 1e-7))
      let arg = 0
      for (let c = 1; c < classes; c++) if (row[c] > row[arg]) arg = c
      if (arg === labels[s + k]) correct++
    }
  }
  return { loss: n ? loss / n : 0, accuracy: n ? correct / n : 0, probs }
}

interface Snapshot {
  values: tf.Tensor[]
}

function snapshot(vars: tf.Variable[]): Snapshot {
  return { values: vars.map((v) => v.clone()) }
}

function restore(vars: tf.Variable[], s: Snapshot): void {
  vars.forEach((v, i) => v.assign(s.values[i]))
}

export async function trainStage2(
  cut: Cut,
  head: tf.LayersModel,
  source: BoundarySource,
  trainLabels: Int32Array,
  valLabels: Int32Array,
  classes: number,
  classWeights: number[],
  cfg: Stage2Config,
  baseline: { valLoss: number | null },
  hooks: Stage2Hooks = {}
): Promise<Stage2Result> {
  if (!source.trainCount) throw new Error('no training images for stage 2')
  const backboneVars = unfreeze(cut)
  const headVars = head.trainableWeights.map((w) => w.read() as tf.Variable)
  const vars = [...backboneVars, ...headVars]
  const optimizer = tf.train.adam(cfg.learningRate)
  const backboneOptimizer = tf.train.adam(cfg.learningRate * BACKBONE_RATE)
  const weightsOf = tf.tensor1d(classWeights)
  const hasVal = source.validationCount > 0
  let state: Stage2State = { epoch: 0, history: [], bestEpoch: 0, bestLoss: hasVal ? (baseline.valLoss ?? Infinity) : Infinity, sinceBest: 0, batchSize: cfg.batchSize }
  let best = snapshot(vars)
  if (hooks.resume) {
    state = { ...hooks.resume.state }
    const t = hooks.resume.tensors
    vars.forEach((v, i) => v.assign(t[`w/${i}`]))
    best.values.forEach((b) => b.dispose())
    best = { values: vars.map((_, i) => t[`best/${i}`].clone()) }
    const moments = (prefix: string) => Object.keys(t).filter((k) => k.startsWith(prefix)).map((k) => ({ name: k.slice(prefix.length), tensor: t[k] }))
    if (moments('opt/').length) await optimizer.setWeights(moments('opt/'))
    if (moments('optb/').length) await backboneOptimizer.setWeights(moments('optb/'))
  }
  let cancelled = false
  /** Set by the loseBackendAbove fault: the backend counts as dead from then on. */
  let lost = false
  const began = performance.now()
  // A resumed run that had already stopped early has nothing left to train.
  let stoppedEarly = state.sinceBest >= cfg.patience
  try {
    for (let epoch = state.epoch + 1; epoch <= cfg.epochs && !stoppedEarly; epoch++) {
      const started = performance.now()
      // One generator per epoch, so a resumed run shuffles and augments as an uninterrupted one.
      const random = mulberry32(cfg.seed * 1009 + epoch * 7919)
      const order = shuffled(source.trainCount, random)
      let lossSum = 0
      let correct = 0
      let seen = 0
      let s = 0
      while (s < order.length) {
        if (hooks.signal?.aborted) {
          cancelled = true
          break
        }
        const idx = order.slice(s, s + state.batchSize)
        try {
          const [l, h] = await step(idx)
          lossSum += l
          correct += h
        } catch (err) {
          if (!isOutOfMemory(err)) throw err
          const smaller = Math.max(cfg.minBatchSize, Math.floor(state.batchSize / 2))
          if (smaller === state.batchSize) {
            throw new Error(`out of memory even at batch size ${state.batchSize} (the smallest allowed): use a smaller input size or unfreeze fewer blocks`, { cause: err })
          }
          hooks.onBatchSize?.(smaller)
          checkBackendAlive(err, smaller, lost)
          state.batchSize = smaller
          continue
        }
        s += idx.length
        seen += idx.length
        const elapsed = performance.now() - started
        const rate = seen / (elapsed / 1000)
        const remainingEpochImages = order.length - seen + (cfg.epochs - epoch) * order.length
        hooks.onBatch?.({ epoch, done: seen, total: order.length, loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: rate, etaMs: (remainingEpochImages / rate) * 1000 })
        await tf.nextFrame()
      }
      if (cancelled) break
      const v = hasVal ? evaluateTop(cut, head, source, valLabels, classes) : null
      const ms = performance.now() - started
      const m: EpochMetrics = { stage: 2, epoch, loss: lossSum / seen, accuracy: correct / seen, valLoss: v?.loss ?? null, valAccuracy: v?.accuracy ?? null, imagesPerSecond: seen / (ms / 1000), ms }
      state.history.push(m)
      hooks.onEpoch?.(m)
      state.epoch = epoch
      const monitored = m.valLoss ?? m.loss
      if (monitored < state.bestLoss - 1e-6) {
        best.values.forEach((t) => t.dispose())
        best = snapshot(vars)
        state.bestLoss = monitored
        state.bestEpoch = epoch
        state.sinceBest = 0
      } else state.sinceBest++
      if (hooks.onCheckpoint) await hooks.onCheckpoint(state, await checkpointTensors(vars, best, optimizer, backboneOptimizer))
      if (state.sinceBest >= cfg.patience) {
        stoppedEarly = true
        break
      }
      if (cfg.maxMs !== undefined && performance.now() - began > cfg.maxMs) break
    }
    restore(vars, best)
    const final = hasVal ? evaluateTop(cut, head, source, valLabels, classes) : null
    return {
      history: state.history,
      bestEpoch: state.bestEpoch,
      stoppedEarly,
      cancelled,
      batchSize: state.batchSize,
      valProbs: final?.probs ?? new Float32Array(0),
      valLoss: final?.loss ?? null,
      valAccuracy: final?.accuracy ?? null
    }
  } finally {
    best.values.forEach((t) => t.dispose())
    weightsOf.dispose()
    optimizer.dispose()
    backboneOptimizer.dispose()
  }

  async function step(idx: number[]): Promise<[number, number]> {
    if (hooks.failBatchAbove !== undefined && idx.length > hooks.failBatchAbove) throw new Error(`Out of memory (simulated for a batch of ${idx.length})`)
    if (hooks.exhaustMemoryAbove !== undefined && idx.length > hooks.exhaustMemoryAbove) exhaustHeap()
    if (hooks.loseBackendAbove !== undefined && idx.length > hooks.loseBackendAbove) {
      lost = true
      throw new Error(`Out of memory (simulated for a batch of ${idx.length}; the backend is left unusable)`)
    }
    const x = await source.trainBatch(idx, mulberry32(cfg.seed + idx[0] * 31 + idx.length))
    let hits: tf.Tensor | null = null
    try {
      const stats = tf.tidy(() => {
        const y = tf.oneHot(tf.tensor1d(Array.from(idx, (i) => trainLabels[i]), 'int32'), classes).toFloat()
        const w = tf.gather(weightsOf, tf.argMax(y, 1))
        const { value: cost, grads } = tf.variableGrads(() => {
          const probs = headTrainingForward(head, topForward(cut, x), cfg.seed * 100_003 + idx[0] * 31 + idx.length + state.epoch * 7919)
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(y, 1)), 'float32')))
          const ce = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), 1))
          return tf.mean(tf.mul(ce, w)) as tf.Scalar
        }, vars)
        const part = (list: tf.Variable[]) => list.map((v) => ({ name: v.name, tensor: grads[v.name] }))
        optimizer.applyGradients(part(headVars))
        backboneOptimizer.applyGradients(part(backboneVars))
        return tf.stack([tf.mul(cost, idx.length), hits!])
      })
      const [l, h] = stats.dataSync()
      stats.dispose()
      return [l, h]
    } finally {
      ;(hits as tf.Tensor | null)?.dispose()
      x.dispose()
    }
  }
}

/** After a real wasm abort the module is unusable: say so plainly instead of failing oddly later. */
function checkBackendAlive(err: unknown, nextBatch: number, simulatedLoss = false): void {
  try {
    if (simulatedLoss) throw new Error('Aborted() (simulated)')
    tf.tidy(() => tf.add(tf.scalar(1), 1)).dataSync()
  } catch {
    throw new BackendLost(`the ${tf.getBackend()} backend ran out of memory and cannot continue in this process; resume the run to continue from its last checkpoint with batch size ${nextBatch}`, nextBatch, { cause: err })
  }
}

/** Fills the heap the way a too-large batch would, in 512 MiB tensors, until the backend gives out. */
function exhaustHeap(): void {
  const held: tf.Tensor[] = []
  try {
    for (let i = 0; i < 32; i++) held.push(tf.fill([256 * 2 ** 20], 1))
  } finally {
    for (const t of held) {
      try {
        t.dispose()
      } catch {
        // an aborted module cannot free; the thread is done with it anyway
      }
    }
  }
  throw new Error('out of memory: the heap took 32 GiB (not a wasm backend?)')
}

async function checkpointTensors(vars: tf.Variable[], best: Snapshot, optimizer: tf.Optimizer, backboneOptimizer: tf.Optimizer): Promise<tf.NamedTensorMap> {
  const out: tf.NamedTensorMap = {}
  vars.forEach((v, i) => (out[`w/${i}`] = v))
  best.values.forEach((t, i) => (out[`best/${i}`] = t))
  for (const w of await optimizer.getWeights()) out[`opt/${w.name}`] = w.tensor
  for (const w of await backboneOptimizer.getWeights()) out[`optb/${w.name}`] = w.tensor
  return out
}
