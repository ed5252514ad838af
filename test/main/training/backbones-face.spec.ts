// face-api's expression feature extractor rebuilt as Keras layers: it must compute what the
// library's own code computes from the same pixels, be cut at its dense blocks, and load offline.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { getBackbone, loadFeatureExtractor, preprocessSpecFor } from '../../../src/main/training/backbones'
import { FACE_API_MEAN_RGB } from '../../../src/main/training/backbones/face-expression'
import { bottomModel, chooseCut, topForward, unfreeze } from '../../../src/main/training/stage2'

type FaceApi = typeof import('@vladmandic/face-api')
const require = createRequire(import.meta.url)
const MODEL_DIR = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model')

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

/** Random 0..255 integer pixels, the same for both networks: [n, 112, 112, 3] as a flat array. */
function randomPixels(n: number, seed: number): Float32Array {
  let s = seed >>> 0
  const out = new Float32Array(n * 112 * 112 * 3)
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s >>> 24
  }
  return out
}

describe('face-expression-faceapi', () => {
  let faceapi: FaceApi
  // face-api's typings declare only part of the tf namespace it re-exports.
  let ftf: typeof tf

  beforeAll(async () => {
    expect((await initBackend()).name).toBe('wasm')
    // The library's own build for Node on the wasm-capable @tensorflow/tfjs, with its own tf
    // instance; it runs on that instance's cpu backend, so the reference is computed independently.
    faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi
    ftf = faceapi.tf as unknown as typeof tf
    await ftf.setBackend('cpu')
    await faceapi.nets.faceExpressionNet.loadFromDisk(MODEL_DIR)
  })

  it("gives the library's own 256-d features for the same pixels, to 1e-5", async () => {
    const raw = randomPixels(3, 11)
    const reference: number[] = []
    for (let i = 0; i < 3; i++) {
      // What face-api does with a 112x112 face: FaceFeatureExtractor.forwardInput (mean RGB off, / 255, 4 dense blocks, 7x7 pool).
      const image = ftf.tensor3d(raw.subarray(i * 112 * 112 * 3, (i + 1) * 112 * 112 * 3), [112, 112, 3])
      const input = await faceapi.toNetInput(image as never)
      const out = faceapi.nets.faceExpressionNet.faceFeatureExtractor.forwardInput(input)
      expect(out.shape).toEqual([1, 1, 1, 256])
      reference.push(...(await out.data()))
      ftf.dispose([image, out as unknown as tf.Tensor])
    }
    const extractor = await loadFeatureExtractor('face-expression-faceapi', 112)
    const batch = tf.tensor4d(raw, [3, 112, 112, 3]).div(255) as tf.Tensor4D
    const ours = extractor.extract(batch)
    expect(ours.shape).toEqual([3, 256])
    const values = await ours.data()
    const diff = maxAbsDiff(values, reference)
    console.info(`face-expression features vs face-api: max abs diff ${diff.toExponential(2)}, max abs feature ${Math.max(...reference.map(Math.abs)).toFixed(3)}`)
    expect(diff).toBeLessThan(1e-5)
    // Not trivially equal: the features vary across images and are not all zero.
    expect(maxAbsDiff(values.subarray(0, 256), values.subarray(256, 512))).toBeGreaterThan(1e-3)
    tf.dispose([batch, ours])
    extractor.dispose()
  })

  it("with face-api's classifier on top, predicts the library's expression probabilities", async () => {
    const raw = randomPixels(1, 5)
    const image = ftf.tensor3d(raw, [112, 112, 3])
    const probs = await faceapi.nets.faceExpressionNet.predictExpressions(image as never)
    ftf.dispose(image)
    const fc = faceapi.nets.faceExpressionNet.params!.fc
    const weights = tf.tensor2d(await fc.weights.data(), fc.weights.shape as [number, number])
    const bias = tf.tensor1d(await fc.bias.data())
    const extractor = await loadFeatureExtractor('face-expression-faceapi', 112)
    const ours = tf.tidy(() => tf.softmax(extractor.extract(tf.tensor4d(raw, [1, 112, 112, 3]).div(255) as tf.Tensor4D).matMul(weights).add(bias)))
    const names = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const
    const library = names.map((n) => (probs as unknown as Record<string, number>)[n])
    expect(maxAbsDiff(await ours.data(), library)).toBeLessThan(1e-5)
    tf.dispose([weights, bias, ours])
    extractor.dispose()
  })

  it('is cut at its four dense blocks, starts frozen, and keeps the mean subtraction below every block', async () => {
    const b = getBackbone('face-expression-faceapi')
    expect(preprocessSpecFor(b.id, 112).normalization).toBe('zero1')
    const extractor = await loadFeatureExtractor(b.id, 112)
    const model = extractor.model!
    const names = model.layers.map((l) => l.name)
    const positions = b.blocks.map((n) => names.indexOf(n))
    expect(positions.every((p) => p > 0)).toBe(true)
    expect([...positions].sort((x, y) => x - y)).toEqual(positions)
    expect(names.indexOf('face_mean_rgb')).toBeLessThan(positions[0])
    expect(names.at(-1)).toBe(b.featureLayer)
    expect(model.outputs[0].shape).toEqual([null, 256])
    expect(model.trainableWeights).toHaveLength(0)
    // 323,687 parameters with the 256x7 fc (DESIGN.md); without it, plus the 6 of the mean layer.
    expect(model.countParams()).toBe(323_687 - (256 * 7 + 7) + 6)
    const [kernel, bias] = model.getLayer('face_mean_rgb').getWeights()
    expect(Array.from(await kernel.data())).toEqual([1, 1, 1])
    expect(maxAbsDiff(await bias.data(), FACE_API_MEAN_RGB.map((m) => -m / 255))).toBeLessThan(1e-7)
    extractor.dispose()
  })

  it('builds at its other sizes with the same 256-d output', async () => {
    for (const size of [96, 128]) {
      const extractor = await loadFeatureExtractor('face-expression-faceapi', size)
      const batch = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 3) as tf.Tensor4D
      const out = extractor.extract(batch)
      expect(out.shape).toEqual([2, 256])
      expect((await out.data()).every(Number.isFinite)).toBe(true)
      tf.dispose([batch, out])
      extractor.dispose()
    }
  })

  it("fine-tunes with stage 2's cut: the top block's gradients flow on wasm and its convs move", async () => {
    const b = getBackbone('face-expression-faceapi')
    const extractor = await loadFeatureExtractor(b.id, 112)
    const model = extractor.model!
    const cut = chooseCut(model, b, 0.1)
    expect(cut.boundary).toBe('dense2_out')
    expect(cut.top.map((l) => l.name)).not.toContain('face_mean_rgb')
    const x = tf.randomUniform([2, 112, 112, 3], 0, 1, 'float32', 8) as tf.Tensor4D
    const boundary = bottomModel(model, cut).predict(x) as tf.Tensor
    // The top applied to the bottom's output is the whole network.
    const whole = model.predict(x) as tf.Tensor
    const composed = topForward(cut, boundary)
    expect(maxAbsDiff(await whole.data(), await composed.data())).toBeLessThan(1e-4)
    const vars = unfreeze(cut)
    expect(vars.length).toBeGreaterThan(0)
    const before = await vars[0].data()
    const target = tf.randomNormal([2, 256], 0, 1, 'float32', 2)
    const optimizer = tf.train.sgd(0.05)
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(target, topForward(cut, boundary)) as tf.Scalar, vars)
    for (const g of Object.values(grads)) expect((await g.data()).every(Number.isFinite)).toBe(true)
    optimizer.applyGradients(grads)
    expect(maxAbsDiff(before, await vars[0].data())).toBeGreaterThan(0)
    tf.dispose([x, boundary, whole, composed, target, value, ...Object.values(grads)])
    optimizer.dispose()
    extractor.dispose()
  })
})
