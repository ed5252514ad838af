// A light head for out-of-fold probabilities: multinomial logistic regression on standardised
// embeddings, trained by mini-batch Adam. The two matrix products per batch run on tfjs (wasm
// SIMD here; plain JS loops managed about 0.25 billion multiply-adds a second on this machine,
// 21 s for 10,000 x 1,280 x 5 folds at 12 epochs); the rest is plain typed arrays. Each batch is a millisecond or two,
// and the loop yields to the event loop between batches so the main process never freezes.
import { setImmediate } from 'node:timers/promises'
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../../util/random'

export interface Matrix {
  /** n x d, row-major. */
  data: Float32Array
  n: number
  d: number
}

export interface SoftmaxOptions {
  epochs: number
  batchSize: number
  learningRate: number
  /** L2 penalty on the weights (not the biases). */
  l2: number
  seed: number
}

export const DEFAULT_SOFTMAX: SoftmaxOptions = { epochs: 8, batchSize: 256, learningRate: 0.003, l2: 0.3, seed: 1 }

export interface SoftmaxModel {
  /** m x d, row-major (one row of weights per class), and m biases. */
  w: Float32Array
  b: Float32Array
  d: number
  m: number
}

/** Lets other work on the event loop run when this loop has held it for a while. */
export class Yielder {
  private last = performance.now()
  constructor(
    private readonly signal?: AbortSignal,
    private readonly everyMs = 25
  ) {}

  /** Throws CancelledError once the signal is aborted (checked at every call: a cancel must not wait for the next yield). */
  async maybe(): Promise<void> {
    if (this.signal?.aborted) throw new CancelledError()
    if (performance.now() - this.last < this.everyMs) return
    await setImmediate()
    this.last = performance.now()
    if (this.signal?.aborted) throw new CancelledError()
  }
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled')
  }
}

/** Scales every column to mean 0 and standard deviation 1 (constant columns become 0), in place. */
export function standardize(x: Matrix): void {
  const { data, n, d } = x
  const mean = new Float64Array(d)
  const sq = new Float64Array(d)
  for (let i = 0; i < n; i++) {
    const o = i * d
    for (let k = 0; k < d; k++) {
      const v = data[o + k]
      mean[k] += v
      sq[k] += v * v
    }
  }
  const inv = new Float64Array(d)
  for (let k = 0; k < d; k++) {
    mean[k] /= n
    const variance = sq[k] / n - mean[k] * mean[k]
    inv[k] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0
  }
  for (let i = 0; i < n; i++) {
    const o = i * d
    for (let k = 0; k < d; k++) data[o + k] = (data[o + k] - mean[k]) * inv[k]
  }
}

class Adam {
  private readonly mom: Float32Array
  private readonly vel: Float32Array
  private t = 0
  constructor(
    size: number,
    private readonly lr: number
  ) {
    this.mom = new Float32Array(size)
    this.vel = new Float32Array(size)
  }

  step(params: Float32Array, grad: Float32Array): void {
    this.t++
    const b1 = 0.9
    const b2 = 0.999
    const c1 = 1 - b1 ** this.t
    const c2 = 1 - b2 ** this.t
    const { mom, vel, lr } = this
    for (let k = 0; k < params.length; k++) {
      const g = grad[k]
      mom[k] = b1 * mom[k] + (1 - b1) * g
      vel[k] = b2 * vel[k] + (1 - b2) * g * g
      params[k] -= (lr * (mom[k] / c1)) / (Math.sqrt(vel[k] / c2) + 1e-8)
    }
  }
}

function shuffle(items: Int32Array, rand: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    const t = items[i]
    items[i] = items[j]
    items[j] = t
  }
}

/** Copies the given rows of x into a [rows, d] tensor (gathering inside tfjs was far slower). */
function rowsTensor(x: Matrix, rows: Int32Array, buf: Float32Array): tf.Tensor2D {
  const { d, data } = x
  rows.forEach((r, i) => buf.set(data.subarray(r * d, (r + 1) * d), i * d))
  return tf.tensor2d(buf.subarray(0, rows.length * d), [rows.length, d])
}

function logitsOf(model: SoftmaxModel, xb: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(xb, tf.tensor2d(model.w, [model.m, model.d]), false, true).add(tf.tensor1d(model.b))
}

/** Mini-batch gradient of mean cross-entropy (+ L2 on the weights), the two products on tfjs. */
function batchGradient(model: SoftmaxModel, x: Matrix, labels: Int32Array, batch: Int32Array, opts: SoftmaxOptions, buf: Float32Array, gw: Float32Array, gb: Float32Array): void {
  const [w, b] = tf.tidy(() => {
    const xb = rowsTensor(x, batch, buf)
    const onehot = tf.oneHot(tf.tensor1d(batch.map((r) => labels[r]), 'int32'), model.m).toFloat()
    const err = tf.softmax(logitsOf(model, xb)).sub(onehot).div(batch.length)
    return [tf.matMul(err, xb, true, false), err.sum(0)]
  })
  gw.set(w.dataSync())
  gb.set(b.dataSync())
  w.dispose()
  b.dispose()
  for (let k = 0; k < gw.length; k++) gw[k] += opts.l2 * model.w[k]
}

/** Softmax probabilities of the given rows of x, rows x m row-major. */
export async function predictRows(model: SoftmaxModel, x: Matrix, rows: Int32Array, yielder: Yielder): Promise<Float32Array> {
  const out = new Float32Array(rows.length * model.m)
  const chunk = 512
  const buf = new Float32Array(chunk * x.d)
  for (let from = 0; from < rows.length; from += chunk) {
    const part = rows.subarray(from, Math.min(rows.length, from + chunk))
    out.set(tf.tidy(() => tf.softmax(logitsOf(model, rowsTensor(x, part, buf))).dataSync()), from * model.m)
    await yielder.maybe()
  }
  return out
}

/** Trains on the given rows of x; yields between batches, throws CancelledError when aborted. */
export async function trainSoftmax(x: Matrix, labels: Int32Array, rows: Int32Array, m: number, opts: SoftmaxOptions, yielder: Yielder): Promise<SoftmaxModel> {
  const model: SoftmaxModel = { w: new Float32Array(x.d * m), b: new Float32Array(m), d: x.d, m }
  const gw = new Float32Array(model.w.length)
  const gb = new Float32Array(m)
  const buf = new Float32Array(opts.batchSize * x.d)
  const adamW = new Adam(model.w.length, opts.learningRate)
  const adamB = new Adam(m, opts.learningRate)
  const rand = mulberry32(opts.seed)
  const order = rows.slice()
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    shuffle(order, rand)
    for (let from = 0; from < order.length; from += opts.batchSize) {
      batchGradient(model, x, labels, order.subarray(from, Math.min(order.length, from + opts.batchSize)), opts, buf, gw, gb)
      adamW.step(model.w, gw)
      adamB.step(model.b, gb)
      await yielder.maybe()
    }
  }
  return model
}
