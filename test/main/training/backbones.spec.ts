// The backbone registry and the one preprocessing function: nsfwjs's MobileNetV2 rebuilt at other
// input sizes must still be nsfwjs's network (same features at 224 px as the library's own code),
// and loadPixels must be deterministic and do what describeSpec says.
import * as tf from '@tensorflow/tfjs'
import { load as loadNsfwjs } from 'nsfwjs/core'
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2'
import sharp from 'sharp'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { BACKBONES, getBackbone, loadFeatureExtractor, preprocessSpecFor } from '../../../src/main/training/backbones'
import { describeSpec, flipHorizontal, loadPixels, type PreprocessSpec } from '../../../src/main/training/preprocess'

/** A 3-channel image with a gradient and a bright square, so crops, pads and flips all show. */
async function picture(width: number, height: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3
      const square = x > width * 0.6 && y < height * 0.4
      raw[o] = square ? 250 : (x * 255) / width
      raw[o + 1] = square ? 240 : (y * 255) / height
      raw[o + 2] = (seed * 37) % 256
    }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer()
}

const spec = (size: number, over: Partial<PreprocessSpec> = {}): PreprocessSpec => ({ size, normalization: 'zero1', resize: 'crop', colour: 'rgb', ...over })

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

describe('backbone registry', () => {
  it('has unique, self-consistent entries', () => {
    expect(new Set(BACKBONES.map((b) => b.id)).size).toBe(BACKBONES.length)
    for (const b of BACKBONES) {
      expect(b.sizes).toContain(b.defaultSize)
      expect(b.provenance.length).toBeGreaterThan(40)
      expect(b.featureDim).toBeGreaterThan(0)
      expect(b.fineTunable).toBe(b.blocks.length > 0)
    }
  })

  it('names the known backbones when asked for an unknown one', () => {
    expect(() => getBackbone('resnet50')).toThrow(/unknown backbone "resnet50".*mobilenetv2-nsfwjs.*pixels/)
  })

  it('refuses sizes a backbone does not take', async () => {
    expect(() => preprocessSpecFor('mobilenetv2-nsfwjs', 100)).toThrow(/96, 128, 160, 224/)
    await expect(loadFeatureExtractor('pixels', 32)).rejects.toThrow(/takes input sizes 24/)
    expect(preprocessSpecFor('mobilenetv2-nsfwjs', 128, 'pad')).toEqual({ size: 128, normalization: 'zero1', resize: 'pad', colour: 'rgb' })
  })
})

describe('mobilenetv2-nsfwjs', () => {
  beforeAll(async () => {
    expect((await initBackend()).name).toBe('wasm')
  })

  it("matches nsfwjs's own pooled features at 224 px, given what nsfwjs feeds it (pixels / 255)", async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {})
    const net = await loadNsfwjs('MobileNetV2', { modelDefinitions: [MobileNetV2Model] })
    const extractor = await loadFeatureExtractor('mobilenetv2-nsfwjs', 224)
    const image = tf.tidy(() => tf.randomUniform([224, 224, 3], 0, 255, 'float32', 7).round() as tf.Tensor3D)
    // nsfwjs's infer() does the normalisation itself; flatten_1 follows its 7x7 average pool.
    const reference = net.infer(image, 'flatten_1') as tf.Tensor
    const ours = tf.tidy(() => extractor.extract(image.div(255).expandDims(0) as tf.Tensor4D))
    expect(ours.shape).toEqual([1, 1280])
    expect(maxAbsDiff(await reference.data(), await ours.data())).toBeLessThan(1e-5)
    tf.dispose([image, reference, ours])
    // nsfwjs 4.4.0's dispose() frees the endpoint model and then the full model that shares its
    // layers, and throws on the second; the weights are freed by then.
    try {
      net.dispose()
    } catch {}
    extractor.dispose()
  })

  it.each([96, 128])('gives finite 1280-d features that tell images apart at %i px', async (size) => {
    const before = tf.memory().numTensors
    const extractor = await loadFeatureExtractor('mobilenetv2-nsfwjs', size)
    const batch = tf.tensor4d(
      Float32Array.from([...(await loadPixels(await picture(90, 70, 1), spec(size))), ...(await loadPixels(await picture(70, 90, 2), spec(size)))]),
      [2, size, size, 3]
    )
    const features = extractor.extract(batch)
    const values = await features.data()
    expect(features.shape).toEqual([2, 1280])
    expect(values.every(Number.isFinite)).toBe(true)
    expect(maxAbsDiff(values.subarray(0, 1280), values.subarray(1280))).toBeGreaterThan(1e-3)
    tf.dispose([batch, features])
    extractor.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('can be cut at every declared block, in order, and ends at its feature layer', async () => {
    const b = getBackbone('mobilenetv2-nsfwjs')
    const extractor = await loadFeatureExtractor(b.id, 96)
    const names = extractor.model!.layers.map((l) => l.name)
    const positions = b.blocks.map((name) => names.indexOf(name))
    expect(positions.every((p) => p >= 0)).toBe(true)
    expect([...positions].sort((x, y) => x - y)).toEqual(positions)
    expect(names.at(-1)).toBe(b.featureLayer)
    expect(extractor.model!.outputs[0].shape).toEqual([null, b.featureDim])
    expect(extractor.model!.trainableWeights).toHaveLength(0)
    extractor.dispose()
  })

  it('refuses a batch of the wrong size with a clear error', async () => {
    const extractor = await loadFeatureExtractor('mobilenetv2-nsfwjs', 96)
    const wrong = tf.zeros([1, 128, 128, 3]) as tf.Tensor4D
    expect(() => extractor.extract(wrong)).toThrow(/96x96x3/)
    wrong.dispose()
    extractor.dispose()
  })
})

describe('pixels baseline', () => {
  it('is the 24x24 grey image, flattened', async () => {
    const extractor = await loadFeatureExtractor('pixels', 24)
    const pixels = await loadPixels(await picture(60, 40, 3), spec(24))
    const input = tf.tensor4d(pixels, [1, 24, 24, 3])
    const out = extractor.extract(input)
    const values = await out.data()
    expect(out.shape).toEqual([1, 576])
    const grey = 0.299 * pixels[0] + 0.587 * pixels[1] + 0.114 * pixels[2]
    expect(values[0]).toBeCloseTo(grey, 5)
    tf.dispose([input, out])
    extractor.dispose()
  })
})

describe('loadPixels', () => {
  it('is deterministic and sized size*size*3 in the normalisation asked for', async () => {
    const image = await picture(50, 30, 4)
    const a = await loadPixels(image, spec(32))
    expect(a.length).toBe(32 * 32 * 3)
    expect(maxAbsDiff(a, await loadPixels(image, spec(32)))).toBe(0)
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...a)).toBeLessThanOrEqual(1)
    const m = await loadPixels(image, spec(32, { normalization: 'minus1to1' }))
    expect(m[5]).toBeCloseTo(a[5] * 2 - 1, 5)
    const n = await loadPixels(image, spec(32, { normalization: 'imagenet' }))
    expect(n[4]).toBeCloseTo((a[4] - 0.456) / 0.224, 4)
  })

  it('pads with black or crops to the centre', async () => {
    const wide = await picture(64, 32, 5)
    const padded = await loadPixels(wide, spec(32, { resize: 'pad' }))
    const cropped = await loadPixels(wide, spec(32, { resize: 'crop' }))
    // Padding bars are the top and bottom quarters of the square: the first row is black.
    expect(Math.max(...padded.subarray(0, 32 * 3))).toBe(0)
    expect(Math.max(...cropped.subarray(0, 32 * 3))).toBeGreaterThan(0.1)
  })

  it('applies EXIF orientation before making the image square', async () => {
    // A wide image tagged "rotate 90": shown upright it is tall, so padding goes left and right.
    const tagged = await sharp(await picture(64, 32, 6)).withMetadata({ orientation: 6 }).jpeg().toBuffer()
    const px = await loadPixels(tagged, spec(32, { resize: 'pad' }))
    const column0 = Array.from({ length: 32 }, (_, y) => px[y * 32 * 3])
    expect(Math.max(...column0)).toBeLessThan(0.05)
    expect(Math.max(...px.subarray(0, 32 * 3))).toBeGreaterThan(0.1)
  })

  it('turns greyscale into three equal channels and puts transparency on black', async () => {
    const grey = await sharp(await picture(40, 40, 7)).toColourspace('b-w').png().toBuffer()
    const g = await loadPixels(grey, spec(16))
    expect(g[30]).toBe(g[31])
    expect(g[31]).toBe(g[32])
    const clear = await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png().toBuffer()
    expect(Math.max(...(await loadPixels(clear, spec(8))))).toBe(0)
  })

  it('gives the flip view as the exact mirror of the original view', async () => {
    const image = await picture(48, 40, 8)
    const orig = await loadPixels(image, spec(20))
    const flip = await loadPixels(image, spec(20), { flip: true })
    expect(maxAbsDiff(flip, flipHorizontal(orig, 20))).toBe(0)
    expect(maxAbsDiff(flip, orig)).toBeGreaterThan(0.1)
  })

  it('describes itself completely enough to reproduce', () => {
    const text = describeSpec(spec(128, { resize: 'pad' }))
    for (const part of ['128x128', 'EXIF', 'sRGB', 'lanczos3', 'pixel / 255', 'padded', 'sharp 0.35.5', 'version 1']) expect(text).toContain(part)
  })

  it('fails on bytes that are not an image', async () => {
    await expect(loadPixels(Buffer.from('not an image at all'), spec(16))).rejects.toThrow()
  })
})
