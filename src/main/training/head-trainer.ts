// Stage 1's training step for the seed's head (Dense(relu) -> Dropout -> Dense(softmax)), with the
// gradients written out instead of taken from tfjs' tape: the hidden layer's columns are split
// into slices (hidden-slice.ts), one here and, on two cores, one in a partner thread
// (stage1-partner.ts). The loss is the same class-weighted cross-entropy (mean over the batch);
// each variable gets tfjs' own Adam update.
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../util/random'
import { columns, HiddenSlice, joinColumns, variable } from './hidden-slice'
import { Stage1Partner } from './stage1-partner'
import type { BackendFamily } from './backend'

/** Makes each trainer's variable names unique in the engine. */
let serial = 0

export interface StepResult {
  /** Sum over the batch of each sample's weighted cross-entropy. */
  lossSum: number
  hits: number
}

export class HeadTrainer {
  private readonly dim: number
  private readonly hidden: number
  private readonly classes: number
  private readonly left: number
  private readonly dropout: number
  private readonly local: HiddenSlice
  private readonly partner: Stage1Partner | null
  private readonly outKernel: tf.Variable
  private readonly outBias: tf.Variable
  private readonly outOptimizer: tf.Optimizer

  private constructor(model: tf.LayersModel, dim: number, classes: number, dropout: number, learningRate: number, partner: Stage1Partner | null, left: number) {
    const [w1, b1, w2, b2] = model.getWeights().map((t) => t.dataSync() as Float32Array)
    this.dim = dim
    this.classes = classes
    this.hidden = b1.length
    this.left = left
    this.dropout = dropout
    this.partner = partner
    this.local = new HiddenSlice({ dim, cols: left, kernel: columns(w1, dim, this.hidden, 0, left), bias: b1.slice(0, left), learningRate })
    this.outKernel = variable(tf.tensor2d(w2, [this.hidden, classes]), `stage1_out_kernel_${serial}`)
    this.outBias = variable(tf.tensor1d(b2), `stage1_out_bias_${serial++}`)
    this.outOptimizer = tf.train.adam(learningRate)
  }

  /**
   * A trainer for `model` (built by buildHead with a hidden layer). With `threads` 2 the right half
   * of the hidden columns goes to a partner thread; if that thread cannot start, one thread does all.
   */
  static async create(model: tf.LayersModel, opts: { dim: number; classes: number; dropout: number; learningRate: number; threads: number; maxRows: number; backend: BackendFamily }): Promise<HeadTrainer> {
    const [w1, b1] = model.getWeights().map((t) => t.dataSync() as Float32Array)
    const hidden = b1.length
    let partner: Stage1Partner | null = null
    let left = hidden
    if (opts.threads >= 2 && hidden >= 2) {
      const split = Math.ceil(hidden / 2)
      try {
        partner = await Stage1Partner.start(
          opts.backend,
          { dim: opts.dim, cols: hidden - split, kernel: columns(w1, opts.dim, hidden, split, hidden), bias: b1.slice(split), learningRate: opts.learningRate },
          opts.maxRows
        )
        if (partner) left = split
      } catch {
        partner = null // one thread does all the columns: slower, the same result
      }
    }
    return new HeadTrainer(model, opts.dim, opts.classes, opts.dropout, opts.learningRate, partner, left)
  }

  /** Whether a partner thread does half of the hidden layer. */
  get threads(): number {
    return this.partner ? 2 : 1
  }

  /** One optimizer step on `rows` samples (x row-major [rows, dim]), dropout drawn from `seed`. */
  step(x: Float32Array, labels: Int32Array, weights: Float32Array, seed: number): StepResult {
    const rows = labels.length
    const { hidden, left, classes } = this
    const right = hidden - left
    let maskLeft: Float32Array | null = null
    let maskRight: Float32Array | null = null
    if (this.dropout > 0) {
      // Kept with probability 1 - rate and scaled by 1 / (1 - rate), as tf.dropout does.
      const random = mulberry32(seed)
      const keep = 1 / (1 - this.dropout)
      const mask = new Float32Array(rows * hidden)
      for (let i = 0; i < mask.length; i++) if (random() >= this.dropout) mask[i] = keep
      maskLeft = this.partner ? columns(mask, rows, hidden, 0, left) : mask
      maskRight = this.partner ? columns(mask, rows, hidden, left, hidden) : null
    }
    this.partner?.beginForward(x, rows, maskRight)
    const xt = tf.tensor2d(x.subarray(0, rows * this.dim), [rows, this.dim])
    const hLeft = this.local.forward(xt, maskLeft ? tf.tensor2d(maskLeft, [rows, left]) : null)
    const h = this.partner ? tf.tidy(() => tf.concat([hLeft, tf.tensor2d(this.partner!.endForward(rows), [rows, right])], 1)) : hLeft
    if (h !== hLeft) hLeft.dispose()
    const probs = tf.tidy(() => tf.softmax(tf.add(tf.matMul(h, this.outKernel as tf.Tensor2D), this.outBias)))
    const p = probs.dataSync() as Float32Array
    probs.dispose()
    // d(mean of w_i * CE_i)/d(logits) = w_i (p_i - y_i) / rows
    const dLogits = new Float32Array(rows * classes)
    let lossSum = 0
    let hits = 0
    for (let i = 0; i < rows; i++) {
      const o = i * classes
      const label = labels[i]
      lossSum -= weights[i] * Math.log(Math.min(1, Math.max(p[o + label], 1e-7)))
      let arg = 0
      for (let c = 0; c < classes; c++) {
        if (p[o + c] > p[o + arg]) arg = c
        dLogits[o + c] = (weights[i] * (p[o + c] - (c === label ? 1 : 0))) / rows
      }
      if (arg === label) hits++
    }
    const dh = tf.tidy(() => {
      const d = tf.tensor2d(dLogits, [rows, classes])
      const grads = { [this.outKernel.name]: tf.matMul(h, d, true, false), [this.outBias.name]: tf.sum(d, 0) }
      const back = tf.matMul(d, this.outKernel as tf.Tensor2D, false, true)
      this.outOptimizer.applyGradients(grads)
      return back
    })
    h.dispose()
    if (this.partner) {
      const all = dh.dataSync() as Float32Array
      dh.dispose()
      this.partner.beginBackward(columns(all, rows, hidden, left, hidden), rows)
      const mine = tf.tensor2d(columns(all, rows, hidden, 0, left), [rows, left])
      this.local.backward(mine)
      mine.dispose()
      this.partner.endBackward()
    } else {
      this.local.backward(dh as tf.Tensor2D)
      dh.dispose()
    }
    return { lossSum, hits }
  }

  /** The trained weights put into `model`, in buildHead's order. */
  writeTo(model: tf.LayersModel): void {
    const mine = this.local.weights()
    const theirs = this.partner?.weights()
    const kernel = theirs ? joinColumns(mine.kernel, theirs.kernel, this.dim) : mine.kernel
    const bias = theirs ? Float32Array.from([...mine.bias, ...theirs.bias]) : mine.bias
    const tensors = [tf.tensor2d(kernel, [this.dim, this.hidden]), tf.tensor1d(bias), this.outKernel.clone(), this.outBias.clone()]
    model.setWeights(tensors)
    tf.dispose(tensors)
  }

  async dispose(): Promise<void> {
    this.local.dispose()
    this.outKernel.dispose()
    this.outBias.dispose()
    this.outOptimizer.dispose()
    await this.partner?.stop()
  }
}

