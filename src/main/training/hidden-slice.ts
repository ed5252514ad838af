// Some columns of the head's hidden Dense(relu) layer with their own Adam state: the unit stage 1
// splits between two threads (stage1-partner.ts). The forward pass keeps what the backward pass
// needs; the backward pass applies the update. The same code runs in both threads, and with one
// thread a single slice holds every column.
import * as tf from '@tensorflow/tfjs'

let names = 0

/** A trainable variable holding `initial`'s values; `initial` itself is released. */
export function variable(initial: tf.Tensor, name: string): tf.Variable {
  const v = tf.variable(initial, true, name)
  initial.dispose()
  return v
}

export interface SliceInit {
  dim: number
  cols: number
  /** Row-major [dim, cols] and [cols]. */
  kernel: Float32Array
  bias: Float32Array
  learningRate: number
}

export class HiddenSlice {
  readonly dim: number
  readonly cols: number
  private readonly kernel: tf.Variable
  private readonly bias: tf.Variable
  private readonly optimizer: tf.Optimizer
  private kept: { x: tf.Tensor2D; z: tf.Tensor2D; mask: tf.Tensor2D | null } | null = null

  constructor(init: SliceInit) {
    this.dim = init.dim
    this.cols = init.cols
    const id = ++names
    this.kernel = variable(tf.tensor2d(init.kernel, [init.dim, init.cols]), `stage1_slice${id}_kernel`)
    this.bias = variable(tf.tensor1d(init.bias), `stage1_slice${id}_bias`)
    // tfjs' own Adam, as the autograd path used: the same update rule, moments and epsilon.
    this.optimizer = tf.train.adam(init.learningRate)
  }

  /** relu(x W + b), times the dropout mask (0 or 1/(1 - rate) per unit) when there is one. */
  forward(x: tf.Tensor2D, mask: tf.Tensor2D | null): tf.Tensor2D {
    this.release()
    const z = tf.tidy(() => tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias) as tf.Tensor2D)
    const h = tf.tidy(() => {
      const r = tf.relu(z)
      return (mask ? tf.mul(r, mask) : r) as tf.Tensor2D
    })
    this.kept = { x, z, mask }
    return h
  }

  /** Gradients from dL/dh (this slice's columns), then one Adam step; x and mask are disposed here. */
  backward(dh: tf.Tensor2D): void {
    const kept = this.kept
    if (!kept) throw new Error('backward without a forward pass')
    tf.tidy(() => {
      const dz = tf.mul(kept.mask ? tf.mul(dh, kept.mask) : dh, tf.step(kept.z)) as tf.Tensor2D
      this.optimizer.applyGradients({ [this.kernel.name]: tf.matMul(kept.x, dz, true, false), [this.bias.name]: tf.sum(dz, 0) })
    })
    this.release()
  }

  weights(): { kernel: Float32Array; bias: Float32Array } {
    return { kernel: this.kernel.dataSync() as Float32Array, bias: this.bias.dataSync() as Float32Array }
  }

  private release(): void {
    if (!this.kept) return
    tf.dispose([this.kept.x, this.kept.z, ...(this.kept.mask ? [this.kept.mask] : [])])
    this.kept = null
  }

  dispose(): void {
    this.release()
    this.kernel.dispose()
    this.bias.dispose()
    this.optimizer.dispose()
  }
}

/** Columns [from, to) of a row-major [rows, cols] matrix. */
export function columns(data: Float32Array, rows: number, cols: number, from: number, to: number): Float32Array {
  const width = to - from
  const out = new Float32Array(rows * width)
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + from, r * cols + to), r * width)
  return out
}

/** The two column blocks of a row-major matrix side by side again. */
export function joinColumns(left: Float32Array, right: Float32Array, rows: number): Float32Array {
  const a = left.length / rows
  const b = right.length / rows
  const out = new Float32Array(rows * (a + b))
  for (let r = 0; r < rows; r++) {
    out.set(left.subarray(r * a, (r + 1) * a), r * (a + b))
    out.set(right.subarray(r * b, (r + 1) * b), r * (a + b) + a)
  }
  return out
}
