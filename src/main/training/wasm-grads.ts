// Gradient kernels the wasm backend lacks, composed from kernels it has. Without them, unfreezing
// any conv layer on wasm either throws or borrows the pure-JS cpu kernels at ~1 image/s. Also
// faster stand-ins for what training hits hardest on wasm: Conv2DBackpropInput (a plain C++ loop
// there), Sum/Mean over leading axes (wasm transposes them innermost first) and the BatchNorm
// gradient (tiles a full-size tensor where broadcasting does).
//
// Why these compositions: on wasm, BatchMatMul is fast only without transpose flags, Slice and
// StridedSlice copy the whole input through JS before cutting it, and Conv2D / DepthwiseConv2dNative
// (XNNPACK) are the fastest data movers available. So every gradient is a convolution or a plain
// matmul, fed by native Transpose/PadV2 and free Reshapes; Slice only ever touches tiny results.
//
// Imported from @tensorflow/tfjs (not tfjs-core) so the kernels land in the very registry tfjs runs.
import {
  add,
  backend_util,
  getBackend,
  getGradient,
  getKernel,
  mul,
  neg,
  registerGradient,
  registerKernel,
  rsqrt,
  scalar,
  sub,
  sum,
  unregisterKernel,
  util,
  type GradConfig,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type Tensor,
  type TensorInfo
} from '@tensorflow/tfjs'

type Pair = [number, number]
type Shape4 = [number, number, number, number]
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]]
type Rounding = 'floor' | 'round' | 'ceil' | undefined

const BACKEND = 'wasm'

/**
 * Runs wasm kernels directly on TensorInfos, the way backend kernels call each other, and frees
 * every intermediate it made except the one returned (also when something throws).
 */
class Scratch {
  private readonly made: TensorInfo[] = []
  constructor(private readonly backend: KernelBackend) {}

  run(name: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
    const kernel = getKernel(name, BACKEND)
    if (!kernel) throw new Error(`wasm-grads: the wasm backend has no '${name}' kernel to build on`)
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs: attrs as NamedAttrMap }) as TensorInfo
    this.made.push(out)
    return out
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape })
  }
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm })
  }
  pad(x: TensorInfo, paddings: Pair[]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 })
  }
  reverse(x: TensorInfo, dims: number[]): TensorInfo {
    return this.run('Reverse', { x }, { dims })
  }
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size })
  }
  sum(x: TensorInfo, axis: number[]): TensorInfo {
    return this.run('Sum', { x }, { axis, keepDims: false })
  }
  /** a @ b; never with transpose flags, which take wasm's slow non-XNNPACK path. */
  matMul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false })
  }
  /** Stride-1 convolution with explicit [top,bottom] x [left,right] zero padding. */
  conv2d(x: TensorInfo, filter: TensorInfo, pads: [Pair, Pair], dilations: Pair = [1, 1]): TensorInfo {
    return this.run('Conv2D', { x, filter }, {
      strides: [1, 1], pad: [[0, 0], pads[0], pads[1], [0, 0]], dataFormat: 'NHWC', dilations, dimRoundingMode: undefined
    })
  }
  depthwise(x: TensorInfo, filter: TensorInfo, pads: [Pair, Pair], dilations: Pair = [1, 1]): TensorInfo {
    return this.run('DepthwiseConv2dNative', { x, filter }, {
      strides: [1, 1], pad: [[0, 0], pads[0], pads[1], [0, 0]], dataFormat: 'NHWC', dilations, dimRoundingMode: undefined
    })
  }

  /** Frees all intermediates but `result` (a reshape sharing its data keeps it alive by refcount). */
  finish(result: TensorInfo | null): void {
    for (const t of this.made) if (t !== result) this.backend.disposeData(t.dataId)
    this.made.length = 0
  }
}

type Kernel = (inputs: NamedTensorInfoMap, backend: KernelBackend, attrs: NamedAttrMap) => TensorInfo

/** Backends hand kernels an untyped backend and optional attrs; ours need both. */
function kernelFunc(kernel: Kernel): KernelFunc {
  return ({ inputs, backend, attrs }) => kernel(inputs, backend as KernelBackend, attrs ?? {})
}

function compose(backend: KernelBackend, body: (s: Scratch) => TensorInfo): TensorInfo {
  const s = new Scratch(backend)
  let result: TensorInfo | null = null
  try {
    result = body(s)
    return result
  } finally {
    s.finish(result)
  }
}

function pair(v: number | number[] | undefined): Pair {
  if (v == null) return [1, 1]
  return typeof v === 'number' ? [v, v] : [v[0], v[1]]
}

function requireNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(`wasm-grads ${kernel}: only NHWC is supported on wasm, got dataFormat '${String(dataFormat)}'`)
  }
}

function requireUnitDilations(kernel: string, dilations: unknown): void {
  const [dh, dw] = pair(dilations as number | number[] | undefined)
  if (dh !== 1 || dw !== 1) {
    throw new Error(`wasm-grads ${kernel}: dilations other than 1 are not supported, got [${dh}, ${dw}]`)
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise: boolean) {
  return backend_util.computeConv2DInfo(
    xShape as Shape4, filterShape as Shape4, attrs.strides as number | Pair, 1, attrs.pad as Pad,
    attrs.dimRoundingMode as Rounding, depthwise, 'channelsLast')
}

/**
 * Filter gradients as one correlation of x with dy, dy acting as the (dilated-by-stride) filter:
 * output tap k reads x rows k - top + i*stride. `before`/`after` pad x so the output is exactly
 * the filter size; `extra` > 0 means x has rows past the last window, so the output is that much
 * bigger and gets trimmed (a slice of a tiny tensor).
 */
function filterWindow(k: number, out: number, stride: number, before: number, inSize: number) {
  const after = k + (out - 1) * stride - before - inSize
  return { pads: [before, Math.max(0, after)] as Pair, extra: Math.max(0, -after) }
}

// dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s+kh-top, ow*s+kw-left, ci] * dy[n,oh,ow,co].
const conv2DBackpropFilter: Kernel = (inputs, backend, attrs) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  requireNhwc('Conv2DBackpropFilter', attrs.dataFormat)
  const filterShape = attrs.filterShape as Shape4
  const info = convInfo(x.shape, filterShape, attrs, false)
  const [kh, kw, ci, co] = filterShape
  const [n, h, w] = x.shape
  const [, oh, ow] = dy.shape
  const { strideHeight: sh, strideWidth: sw, padInfo } = info
  return compose(backend, (s) => {
    const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 &&
      padInfo.top === 0 && padInfo.left === 0 && oh === h && ow === w
    if (pointwise) {
      // x^T dy as a flag-free matmul, so one operand is transposed first. XNNPACK repacks the
      // right-hand operand on every call, which costs more per element than the transpose: the
      // wider operand is transposed and the narrower one goes right (measured ~1.5-2x either way).
      const p = n * h * w
      const x2 = s.reshape(x, [p, ci])
      const dy2 = s.reshape(dy, [p, co])
      if (ci > co) return s.reshape(s.matMul(s.transpose(x2, [1, 0]), dy2), filterShape)
      return s.reshape(s.transpose(s.matMul(s.transpose(dy2, [1, 0]), x2), [1, 0]), filterShape)
    }
    // Batch becomes the channel axis: x as [ci, h, w, n] convolved with dy as an [oh, ow, n, co]
    // filter dilated by the stride gives [ci, kh, kw, co].
    const rows = filterWindow(kh, oh, sh, padInfo.top, h)
    const cols = filterWindow(kw, ow, sw, padInfo.left, w)
    const xt = s.transpose(x, [3, 1, 2, 0])
    const dyt = s.transpose(dy, [1, 2, 0, 3])
    let grad = s.conv2d(xt, dyt, [rows.pads, cols.pads], [sh, sw])
    if (rows.extra || cols.extra) grad = s.slice(grad, [0, 0, 0, 0], [ci, kh, kw, co])
    return s.transpose(grad, [1, 2, 0, 3])
  })
}

// dW[kh,kw,c,m] = sum over n,oh,ow of x[n, oh*s+kh-top, ow*s+kw-left, c] * dy[n,oh,ow,c*M+m].
const depthwiseBackpropFilter: Kernel = (inputs, backend, attrs) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  requireNhwc('DepthwiseConv2dNativeBackpropFilter', attrs.dataFormat)
  requireUnitDilations('DepthwiseConv2dNativeBackpropFilter', attrs.dilations)
  const filterShape = attrs.filterShape as Shape4
  const info = convInfo(x.shape, filterShape, attrs, true)
  const [kh, kw, c, m] = filterShape
  const [n, h, w] = x.shape
  const [, oh, ow] = dy.shape
  const { strideHeight: sh, strideWidth: sw, padInfo } = info
  return compose(backend, (s) => {
    // Batch folds into channels (n*c of them) so one depthwise conv, with dy as its dilated
    // [oh, ow] filter, yields every tap for every image; summing over n finishes it.
    const rows = filterWindow(kh, oh, sh, padInfo.top, h)
    const cols = filterWindow(kw, ow, sw, padInfo.left, w)
    const xt = s.reshape(s.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c])
    const dyt = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [oh, ow, n * c, m])
    let taps = s.depthwise(xt, dyt, [rows.pads, cols.pads], [sh, sw])
    if (rows.extra || cols.extra) taps = s.slice(taps, [0, 0, 0, 0], [1, kh, kw, n * c * m])
    const perImage = s.reshape(taps, [kh * kw, n, c * m])
    return s.reshape(s.sum(perImage, [1]), filterShape)
  })
}

/**
 * dy with stride-1 zeros after every row and column element (a transposed conv's input), made by
 * padding a reshaped view instead of strided writes: [n*oh, 1, ow, C] -> [n*oh, sh, ow, sw*C].
 */
function dilate(s: Scratch, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy
  const [n, oh, ow, ch] = dy.shape
  const padded = s.pad(s.reshape(dy, [n * oh, 1, ow, ch]), [[0, 0], [0, sh - 1], [0, 0], [0, (sw - 1) * ch]])
  return s.reshape(padded, [n, oh * sh, ow * sw, ch])
}

/**
 * Padding that turns a stride-1 'valid' conv of the dilated dy with the flipped filter into the
 * input gradient; `extra` > 0 when the dilated dy's trailing zeros overshoot the input, in which
 * case the result is trimmed.
 */
function inputWindow(k: number, padBefore: number, inSize: number, dilatedSize: number, kernel: string) {
  const before = k - 1 - padBefore
  if (before < 0) throw new Error(`wasm-grads ${kernel}: padding larger than the filter is not supported`)
  const after = inSize + k - 1 - before - dilatedSize
  return { pads: [before, Math.max(0, after)] as Pair, extra: Math.max(0, -after) }
}

// dx = correlation of the zero-dilated dy with the spatially flipped filter.
const depthwiseBackpropInput: Kernel = (inputs, backend, attrs) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const kernel = 'DepthwiseConv2dNativeBackpropInput'
  requireNhwc(kernel, attrs.dataFormat)
  requireUnitDilations(kernel, attrs.dilations)
  const inputShape = attrs.inputShape as Shape4
  const info = convInfo(inputShape, filter.shape, attrs, true)
  const [kh, kw, c, m] = filter.shape
  const [n, h, w] = inputShape
  const [, oh, ow] = dy.shape
  const { strideHeight: sh, strideWidth: sw, padInfo } = info
  return compose(backend, (s) => {
    const rows = inputWindow(kh, padInfo.top, h, oh * sh, kernel)
    const cols = inputWindow(kw, padInfo.left, w, ow * sw, kernel)
    const flipped = s.reshape(s.reverse(filter, [0, 1]), [kh, kw, c * m, 1])
    let dx = s.depthwise(dilate(s, dy, sh, sw), flipped, [rows.pads, cols.pads])
    if (rows.extra || cols.extra) dx = s.slice(dx, [0, 0, 0, 0], [n, h, w, c * m])
    // With a channel multiplier, each input channel gathers from its m outputs.
    return m === 1 ? dx : s.sum(s.reshape(dx, [n, h, w, c, m]), [4])
  })
}

// wasm ships Conv2DBackpropInput as a plain C++ loop, ~6x (1x1) to ~10x (3x3) slower than the same
// work as an XNNPACK convolution, so NHWC goes through Conv2D and the rest keeps the original.
const conv2DBackpropInput: Kernel = (inputs, backend, attrs) => {
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    return original('Conv2DBackpropInput', inputs, backend, attrs)
  }
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo }
  const inputShape = attrs.inputShape as Shape4
  const info = convInfo(inputShape, filter.shape, attrs, false)
  const [kh, kw, ci] = filter.shape
  const [n, h, w] = inputShape
  const [, oh, ow] = dy.shape
  const { strideHeight: sh, strideWidth: sw, padInfo } = info
  return compose(backend, (s) => {
    const kernel = 'Conv2DBackpropInput'
    const rows = inputWindow(kh, padInfo.top, h, oh * sh, kernel)
    const cols = inputWindow(kw, padInfo.left, w, ow * sw, kernel)
    // [kh, kw, ci, co] flipped in space and with in/out swapped: the transposed convolution's filter.
    const spatial = kh === 1 && kw === 1 ? filter : s.reverse(filter, [0, 1])
    const flipped = s.transpose(spatial, [0, 1, 3, 2])
    let dx = s.conv2d(dilate(s, dy, sh, sw), flipped, [rows.pads, cols.pads])
    if (rows.extra || cols.extra) dx = s.slice(dx, [0, 0, 0, 0], [n, h, w, ci])
    return dx
  })
}

/**
 * Sum or Mean over a leading run of axes (batch statistics, bias and BatchNorm gradients) as one
 * XNNPACK average pool over an [n, 1] window: wasm's own kernels first transpose those axes
 * innermost, a full copy that costs several times the sum, and a matmul with a row of ones makes
 * XNNPACK repack the whole input as weights. Any other reduction keeps wasm's kernel.
 */
function leadingReduction(name: 'Sum' | 'Mean'): Kernel {
  return (inputs, backend, attrs) => {
    const { x } = inputs as { x: TensorInfo }
    const axes = util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b)
    const k = axes.length
    const leading = k > 0 && k < x.shape.length && axes.every((axis, i) => axis === i)
    const n = util.sizeFromShape(x.shape.slice(0, k))
    // XNNPACK refuses a 1x1 pool, and n = 1 needs no arithmetic anyway.
    const empty = util.sizeFromShape(x.shape) === 0
    if (!leading || n < 2 || empty || x.dtype !== 'float32') return original(name, inputs, backend, attrs)
    const rest = x.shape.slice(k)
    return compose(backend, (s) => {
      const columns = s.reshape(x, [1, n, 1, util.sizeFromShape(rest)])
      let reduced = s.run('AvgPool', { x: columns }, { filterSize: [n, 1], strides: [1, 1], pad: 'valid', dimRoundingMode: undefined })
      if (name === 'Sum') {
        const count = s.run('Fill', {}, { shape: [], value: n, dtype: 'float32' })
        reduced = s.run('Multiply', { a: reduced, b: count })
      }
      return s.reshape(reduced, attrs.keepDims ? [...axes.map(() => 1), ...rest] : rest)
    })
  }
}

/**
 * A matmul with a transpose flag (every Dense layer's kernel gradient is x^T dy) leaves XNNPACK
 * for wasm's plain loop: 58 ms for [1280x128]x[128x256] here, against 5.6 ms when the operand is
 * transposed first by wasm's Transpose kernel and multiplied without flags. That was most of a
 * stage-1 epoch on cached embeddings.
 */
function batchMatMul(inputs: NamedTensorInfoMap, backend: KernelBackend, attrs: NamedAttrMap): TensorInfo {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo }
  const ta = attrs.transposeA === true
  const tb = attrs.transposeB === true
  const plain = { ...attrs, transposeA: false, transposeB: false }
  if ((!ta && !tb) || a.dtype !== 'float32' || b.dtype !== 'float32') return original('BatchMatMul', inputs, backend, attrs)
  const lastTwo = (x: TensorInfo) => [...x.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : i === all.length - 2 ? i + 1 : i - 1))
  return compose(backend, (s) => {
    const left = ta ? s.transpose(a, lastTwo(a)) : a
    const right = tb ? s.transpose(b, lastTwo(b)) : b
    return original('BatchMatMul', { a: left, b: right }, backend, plain)
  })
}

const KERNELS: KernelConfig[] = [
  { kernelName: 'BatchMatMul', backendName: BACKEND, kernelFunc: kernelFunc(batchMatMul) },
  { kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: kernelFunc(conv2DBackpropFilter) },
  { kernelName: 'DepthwiseConv2dNativeBackpropFilter', backendName: BACKEND, kernelFunc: kernelFunc(depthwiseBackpropFilter) },
  { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: BACKEND, kernelFunc: kernelFunc(depthwiseBackpropInput) },
  { kernelName: 'Conv2DBackpropInput', backendName: BACKEND, kernelFunc: kernelFunc(conv2DBackpropInput) },
  { kernelName: 'Sum', backendName: BACKEND, kernelFunc: kernelFunc(leadingReduction('Sum')) },
  { kernelName: 'Mean', backendName: BACKEND, kernelFunc: kernelFunc(leadingReduction('Mean')) }
]

/** wasm's own kernels that ours replaced: the fallback for cases ours do not take, and for unregistering. */
const originals = new Map<string, KernelConfig>()

function original(name: string, inputs: NamedTensorInfoMap, backend: KernelBackend, attrs: NamedAttrMap): TensorInfo {
  const config = originals.get(name)
  if (!config) throw new Error(`wasm-grads ${name}: case not supported and wasm has no kernel of its own to fall back on`)
  return config.kernelFunc({ inputs, backend, attrs }) as TensorInfo
}

let stockBatchNormGradient: GradConfig | undefined

/**
 * tfjs's FusedBatchNorm gradient tiles 1/sqrt(variance) to the full input shape before one
 * multiply; broadcasting gives the same numbers without the copy (Tile was ~13% of a MobileNetV2
 * fine-tuning step here). The per-channel sums factor their constants out of the full-size products.
 * Other backends and non-per-channel statistics keep the stock gradient.
 */
function batchNormGradient(stock: GradConfig): GradConfig {
  return {
    ...stock,
    gradFunc: (dys, saved, attrs) => {
      const [x, mean, variance, scale] = saved
      if (getBackend() !== BACKEND || mean.rank !== 1 || x.rank < 2) return stock.gradFunc(dys, saved, attrs)
      const dy = dys as Tensor
      const eps = scalar(attrs.varianceEpsilon as number)
      const axes = [...Array(x.rank - 1).keys()]
      const invStd = rsqrt(add(variance, eps))
      const dyScaled = scale == null ? dy : mul(dy, scale)
      const centered = sub(x, mean)
      return {
        x: () => mul(dyScaled, invStd),
        mean: () => neg(mul(sum(dyScaled, axes), invStd)),
        variance: () => mul(sum(mul(centered, dyScaled), axes), mul(scalar(-0.5), mul(invStd, mul(invStd, invStd)))),
        scale: () => mul(sum(mul(dy, centered), axes), invStd),
        offset: () => sum(dy, axes)
      }
    }
  }
}

/**
 * Registers the composed kernels for the wasm backend and the broadcasting BatchNorm gradient
 * (idempotent) and returns the kernel names that are now ours. Call before training on wasm;
 * order relative to `setBackend('wasm')` does not matter: kernels are looked up at run time.
 */
export function registerWasmGradients(): string[] {
  for (const config of KERNELS) {
    const current = getKernel(config.kernelName, BACKEND)
    if (current?.kernelFunc === config.kernelFunc) continue
    let replacement = config
    if (current) {
      originals.set(config.kernelName, current)
      // Its setup binds the C++ function the fallback calls; the backend runs setups of
      // registered kernels only when it initialises, which may still be ahead of us.
      replacement = { ...config, setupFunc: current.setupFunc }
      unregisterKernel(config.kernelName, BACKEND)
    }
    registerKernel(replacement)
  }
  const stock = getGradient('FusedBatchNorm')
  if (stock && !stockBatchNormGradient) {
    stockBatchNormGradient = stock
    registerGradient(batchNormGradient(stock))
  }
  return KERNELS.map((k) => k.kernelName)
}

/** Puts back what registerWasmGradients replaced (tests and benchmarks compare against it). */
export function unregisterWasmGradients(): void {
  for (const config of KERNELS) {
    if (getKernel(config.kernelName, BACKEND)?.kernelFunc !== config.kernelFunc) continue
    unregisterKernel(config.kernelName, BACKEND)
    const own = originals.get(config.kernelName)
    if (own) registerKernel(own)
  }
  if (stockBatchNormGradient) registerGradient(stockBatchNormGradient)
  stockBatchNormGradient = undefined
}
