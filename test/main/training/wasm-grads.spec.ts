// The composed wasm gradient kernels (and the faster stand-ins registered with them) must agree
// with the cpu backend's reference kernels, free every intermediate, and let a small model with
// every layer trainable fine-tune on wasm exactly as it does on cpu.
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
// Registers the wasm backend even when a filter skips the initBackend tests.
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { registerWasmGradients } from '../../../src/main/training/wasm-grads'

const KERNELS = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']
const STAND_INS = ['Conv2DBackpropInput', 'Sum', 'Mean']

/** mulberry32: the same shapes and values on every run and on both backends. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function values(rand: () => number, size: number): Float32Array {
  const out = new Float32Array(size)
  for (let i = 0; i < size; i++) out[i] = rand() * 2 - 1
  return out
}

/** Largest difference, relative to the largest reference magnitude (absolute below 1). */
function relError(reference: Float32Array, actual: Float32Array): number {
  let diff = 0
  let scale = 1
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(reference[i] - actual[i]))
    scale = Math.max(scale, Math.abs(reference[i]))
  }
  return diff / scale
}

interface Case {
  n: number
  h: number
  w: number
  cin: number
  cout: number
  multiplier: number
  k: number
  stride: 1 | 2
  pad: 'same' | 'valid'
}

/**
 * Every kernel size x stride x padding three times, with random batch, channels and sizes:
 * odd height and even width, then the reverse, then anything.
 */
function cases(): Case[] {
  const rand = prng(20240517)
  const pick = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))
  const size = (parity: number | null) => {
    const v = pick(5, 17)
    return parity === null || v % 2 === parity ? v : v === 17 ? 16 : v + 1
  }
  const out: Case[] = []
  for (const [hParity, wParity] of [[1, 0], [0, 1], [null, null]]) {
    for (const k of [1, 3, 5]) {
      for (const stride of [1, 2] as const) {
        for (const pad of ['same', 'valid'] as const) {
          out.push({
            n: pick(1, 3), h: size(hParity), w: size(wParity), cin: pick(1, 8), cout: pick(1, 8),
            multiplier: rand() < 0.25 ? 2 : 1, k, stride, pad
          })
        }
      }
    }
  }
  return out
}

/** dL/dx and dL/dfilter of sum(conv(x, filter) * dy) for a plain and a depthwise conv. */
function gradients(c: Case, seed: number): tf.Tensor[] {
  const rand = prng(seed)
  const x = tf.tensor4d(values(rand, c.n * c.h * c.w * c.cin), [c.n, c.h, c.w, c.cin])
  const filter = tf.tensor4d(values(rand, c.k * c.k * c.cin * c.cout), [c.k, c.k, c.cin, c.cout])
  const dwFilter = tf.tensor4d(values(rand, c.k * c.k * c.cin * c.multiplier), [c.k, c.k, c.cin, c.multiplier])
  const conv = (a: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(a, f, c.stride, c.pad)
  const depthwise = (a: tf.Tensor4D, f: tf.Tensor4D) => tf.depthwiseConv2d(a, f, c.stride, c.pad)
  return [conv, depthwise].flatMap((op, i) => {
    const f = i === 0 ? filter : dwFilter
    const outShape = op(x, f).shape
    const dy = tf.tensor(values(rand, outShape.reduce((a, b) => a * b, 1)), outShape)
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, f])
  })
}

async function onBackend(name: string, run: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(name)
  const out = tf.tidy(run)
  const data = out.map((t) => t.dataSync() as Float32Array)
  tf.dispose(out)
  return data
}

/** Live data on the active backend: tensors the engine knows and buffers the backend holds. */
function liveData(): { tensors: number; dataIds: number } {
  return { tensors: tf.memory().numTensors, dataIds: tf.engine().backend.numDataIds() }
}

/** Where tfjs-node(-gpu) did install, initBackend rightly picks them and the wasm case cannot run. */
const nativeInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
  try {
    createRequire(import.meta.url).resolve(pkg)
    return true
  } catch {
    return false
  }
})

describe('backend selection', () => {
  it.skipIf(nativeInstalled)('lands on wasm here, after native TensorFlow fails, and says why', async () => {
    const choice = await initBackend()
    expect(choice.name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(choice.simd).toBeTypeOf('boolean')
    expect(choice.threads).toBe(false)
    expect(choice.tried.map((t) => t.name)).toEqual(['tfjs-node-gpu', 'tfjs-node', 'wasm'])
    for (const native of choice.tried.slice(0, 2)) expect(native.error).toMatch(/\S/)
    expect(choice.tried[2].error).toBeUndefined()
    for (const kernel of KERNELS) expect(tf.getKernel(kernel, 'wasm')).toBeDefined()
  })

  it('honours the preference order', async () => {
    const choice = await initBackend(['cpu', 'wasm'])
    expect(choice).toMatchObject({ name: 'cpu', simd: null, threads: null, tried: [{ name: 'cpu' }] })
    expect(tf.getBackend()).toBe('cpu')
  })
})

describe('wasm gradient kernels', () => {
  beforeAll(async () => {
    registerWasmGradients()
    await tf.setBackend('wasm')
  })

  it('registers idempotently', () => {
    const first = registerWasmGradients()
    expect(registerWasmGradients()).toEqual(first)
    expect(first).toEqual(['BatchMatMul', ...KERNELS, ...STAND_INS])
  })

  it.each(cases().map((c, i) => [i, c] as const))('case %i matches the cpu backend: %o', async (i, c) => {
    const reference = await onBackend('cpu', () => gradients(c, 1000 + i))
    await tf.setBackend('wasm')
    const before = liveData()
    const actual = await onBackend('wasm', () => gradients(c, 1000 + i))
    expect(liveData()).toEqual(before)
    const names = ['conv dx', 'conv dfilter', 'depthwise dx', 'depthwise dfilter']
    const errors = Object.fromEntries(names.map((name, j) => [name, relError(reference[j], actual[j])]))
    for (const name of names) expect(errors[name], name).toBeLessThan(1e-4)
  })

  it('frees every intermediate across repeated calls', () => {
    const c: Case = { n: 2, h: 9, w: 10, cin: 3, cout: 4, multiplier: 1, k: 3, stride: 2, pad: 'same' }
    tf.dispose(gradients(c, 7))
    const before = liveData()
    for (let i = 0; i < 3; i++) tf.dispose(tf.tidy(() => gradients(c, 7)))
    expect(liveData()).toEqual(before)
  })

  it('refuses what it does not implement, clearly', () => {
    const x = tf.zeros([1, 6, 6, 2])
    const dy = tf.zeros([1, 6, 6, 2])
    const filter = tf.zeros([3, 3, 2, 1])
    const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) => () =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap)
    const dw = { strides: 1, pad: 'same', dilations: 2 }
    expect(run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...dw, filterShape: [3, 3, 2, 1] })).toThrow(/dilations/)
    expect(run('DepthwiseConv2dNativeBackpropInput', { dy, filter }, { ...dw, inputShape: [1, 6, 6, 2] })).toThrow(/dilations/)
    expect(run('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }))
      .toThrow(/NHWC/)
    tf.dispose([x, dy, filter])
  })
})

describe('faster stand-ins on wasm', () => {
  beforeAll(() => registerWasmGradients())

  const reductions: [number[], number | number[], boolean, 'float32' | 'int32'][] = [
    [[3, 7, 6, 5], [0, 1, 2], false, 'float32'],
    [[3, 7, 6, 5], [2, 0, 1], true, 'float32'],
    [[4, 9], 0, false, 'float32'],
    [[2, 5, 3], [0, 1], true, 'float32'],
    [[2, 5, 3], [1, 2], false, 'float32'],
    [[2, 5, 3], [0, 2], false, 'float32'],
    [[2, 5, 3], [0, 1, 2], false, 'float32'],
    [[1, 5, 3], 0, false, 'float32'],
    [[6, 4, 3], [0, 1], false, 'int32']
  ]

  it.each(reductions)('Sum and Mean of %j over %j (keepDims %s, %s) match cpu', async (shape, axis, keepDims, dtype) => {
    const size = shape.reduce((a, b) => a * b, 1)
    const data = values(prng(size), size).map((v) => (dtype === 'int32' ? Math.round(v * 50) : v))
    const run = () => {
      const x = tf.tensor(data, shape, dtype)
      return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)]
    }
    await tf.setBackend('cpu')
    const reference = tf.tidy(run)
    const expected = reference.map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }))
    tf.dispose(reference)
    await tf.setBackend('wasm')
    const before = liveData()
    const actual = tf.tidy(run)
    actual.forEach((t, i) => {
      expect(t.shape).toEqual(expected[i].shape)
      expect(relError(expected[i].data, t.dataSync() as Float32Array)).toBeLessThan(1e-5)
    })
    tf.dispose(actual)
    expect(liveData()).toEqual(before)
  })

  it.each([
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 6, 4], [2, 6, 3], true, false],
    [[2, 4, 6], [1, 3, 6], false, true],
    [[4, 5], [5, 3], false, false]
  ] as const)('matMul %j x %j (transposeA %s, transposeB %s) matches cpu', async (aShape, bShape, ta, tb) => {
    const rand = prng(aShape.length * 13 + bShape[0] + (ta ? 1 : 0) + (tb ? 2 : 0))
    const size = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1)
    const av = values(rand, size(aShape))
    const bv = values(rand, size(bShape))
    const run = () => [tf.matMul(tf.tensor(av, [...aShape]), tf.tensor(bv, [...bShape]), ta, tb)]
    const reference = await onBackend('cpu', run)
    await tf.setBackend('wasm')
    const before = liveData()
    const actual = await onBackend('wasm', run)
    expect(liveData()).toEqual(before)
    expect(relError(reference[0], actual[0])).toBeLessThan(1e-5)
  })

  // tfjs cannot record batchNorm without a scale on the tape on any backend, so no such case.
  it.each([
    ['NHWC', [2, 5, 4, 3]],
    ['sequence', [3, 6, 5]],
    ['dense features', [6, 7]]
  ] as const)('BatchNorm gradient (%s) matches cpu', async (_, shape) => {
    const channels = shape[shape.length - 1]
    const rand = prng(shape.length * 31 + channels)
    const size = shape.reduce((a, b) => a * b, 1)
    const [xs, dys, offsets, scales] = [values(rand, size), values(rand, size), values(rand, channels), values(rand, channels)]
    const run = () => {
      const x = tf.tensor(xs, [...shape])
      const dy = tf.tensor(dys, [...shape])
      const offset = tf.tensor1d(offsets)
      const scale = tf.add(tf.tensor1d(scales), 2)
      // Batch statistics, as a BatchNormalization layer in training mode feeds them.
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [...Array(shape.length - 1).keys()])
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, c, 1e-3), dy))
      }
      return tf.grads(f)([x, offset, scale])
    }
    const reference = await onBackend('cpu', run)
    await tf.setBackend('wasm')
    const before = liveData()
    const actual = await onBackend('wasm', run)
    expect(liveData()).toEqual(before)
    reference.forEach((r, i) => expect(relError(r, actual[i]), `input ${i}`).toBeLessThan(1e-4))
  })
})

describe('fine-tuning on wasm', () => {
  beforeAll(() => registerWasmGradients())

  function model(): tf.Sequential {
    const m = tf.sequential()
    m.add(tf.layers.conv2d({ inputShape: [11, 12, 3], filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false }))
    m.add(tf.layers.batchNormalization())
    m.add(tf.layers.reLU({ maxValue: 6 }))
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }))
    m.add(tf.layers.batchNormalization())
    m.add(tf.layers.reLU({ maxValue: 6 }))
    m.add(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', depthMultiplier: 2 }))
    m.add(tf.layers.conv2d({ filters: 8, kernelSize: 1 }))
    m.add(tf.layers.globalAveragePooling2d({}))
    m.add(tf.layers.dense({ units: 3, activation: 'softmax' }))
    return m
  }

  async function train(backend: string, weights: Float32Array[], xs: Float32Array, labels: number[]) {
    await tf.setBackend(backend)
    const m = model()
    m.setWeights(m.getWeights().map((w, i) => tf.tensor(weights[i], w.shape)))
    m.layers.forEach((layer) => expect(layer.trainable).toBe(true))
    m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' })
    const x = tf.tensor4d(xs, [labels.length, 11, 12, 3])
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3)
    const losses: number[] = []
    for (let step = 0; step < 3; step++) losses.push((await m.trainOnBatch(x, y)) as number)
    const trained = m.getWeights().map((w) => w.dataSync() as Float32Array)
    m.dispose()
    tf.dispose([x, y])
    return { losses, trained }
  }

  it('trains every layer for 3 steps with the same losses as cpu', async () => {
    await tf.setBackend('cpu')
    const initial = model()
    const weights = initial.getWeights().map((w) => w.dataSync() as Float32Array)
    initial.dispose()
    const rand = prng(99)
    const labels = [0, 1, 2, 1, 0, 2, 2, 1]
    const xs = values(rand, labels.length * 11 * 12 * 3)
    const onCpu = await train('cpu', weights, xs, labels)
    const onWasm = await train('wasm', weights, xs, labels)
    expect(onWasm.losses.every(Number.isFinite)).toBe(true)
    expect(onWasm.losses[2]).not.toBe(onWasm.losses[0])
    onWasm.losses.forEach((loss, step) => expect(Math.abs(loss - onCpu.losses[step]), `step ${step}`).toBeLessThan(1e-3))
    // The loss barely feels a slightly wrong gradient after 3 steps; the weights do.
    onWasm.trained.forEach((w, i) => {
      expect(relError(onCpu.trained[i], w), `weight ${i}`).toBeLessThan(1e-5)
      expect(relError(weights[i], w), `weight ${i} moved`).toBeGreaterThan(0)
    })
  })
})
