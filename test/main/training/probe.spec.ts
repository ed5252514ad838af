// The backbone probe on a tiny synthetic project whose two classes differ only in hue at equal
// brightness: grey raw pixels cannot tell them apart, a backbone that sees colour can, and the
// ranking must say so. Also: the ridge solver, sampling, progress, the cache, cancel, bad input.
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { listBackbones, registerFolderBackbone } from '../../../src/main/training/backbones'
import { choleskySolve, loadProbe, MAX_SAMPLE, probeBackbones, saveProbe, stratifiedSample, type ProbeImage, type ProbeProgress } from '../../../src/main/training/probe'
import { tempDir } from '../../helpers/tmp'
import { writeModelFolder } from '../../helpers/tfjs-model-folder'

let home: string | undefined
let models: string | undefined
beforeAll(async () => {
  expect((await initBackend()).name).toBe('wasm')
})
beforeEach(() => {
  home = process.env.FREEZEFRAME_HOME
  models = process.env.FREEZEFRAME_MODEL_CACHE
  // Registered folders and downloaded models of this machine's user must not leak into the test.
  process.env.FREEZEFRAME_HOME = tempDir('ff-home-')
  process.env.FREEZEFRAME_MODEL_CACHE = tempDir('ff-models-')
})
afterEach(() => {
  for (const [key, value] of [['FREEZEFRAME_HOME', home], ['FREEZEFRAME_MODEL_CACHE', models]] as const) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

/** Reddish (class 0) or greenish (class 1) noise of the same luma, with per-image brightness jitter. */
async function hueImages(dir: string, perClass: number, seed = 3): Promise<ProbeImage[]> {
  let s = seed
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const out: ProbeImage[] = []
  for (let label = 0; label < 2; label++) {
    for (let k = 0; k < perClass; k++) {
      const w = 20
      const raw = Buffer.alloc(w * w * 3)
      const gain = 0.6 + 0.8 * rand()
      for (let p = 0; p < w * w; p++) {
        // At most 50 * 1.4 = 70 < 0.299 * 255, so red never clips and both hues keep the same luma.
        const luma = (20 + 30 * rand()) * gain
        // Same luma (0.299 r + 0.587 g + 0.114 b) either way: red alone or green alone.
        if (label === 0) raw[p * 3] = Math.min(255, luma / 0.299)
        else raw[p * 3 + 1] = Math.min(255, luma / 0.587)
      }
      const png = await sharp(raw, { raw: { width: w, height: w, channels: 3 } }).png().toBuffer()
      const path = join(dir, `${label}-${k}.png`)
      writeFileSync(path, png)
      out.push({ sha256: createHash('sha256').update(png).digest('hex'), path, label })
    }
  }
  return out
}

/** A "backbone" that sees colour: the image's mean red, green and blue (a global average pool). */
async function colourBackbone(): Promise<string> {
  const dir = tempDir('ff-colour-')
  const input = tf.input({ shape: [16, 16, 3] })
  const model = tf.model({ inputs: input, outputs: tf.layers.globalAveragePooling2d({ name: 'mean_rgb' }).apply(input) as tf.SymbolicTensor })
  await writeModelFolder(model, dir)
  model.dispose()
  return (await registerFolderBackbone(dir, { name: 'Mean colour' })).id
}

describe('probeBackbones', () => {
  it('ranks the backbone that separates the classes first, with every figure filled in', async () => {
    const images = await hueImages(tempDir('ff-img-'), 24)
    const colour = await colourBackbone()
    const cacheDir = tempDir('ff-cache-')
    const seen: ProbeProgress[] = []
    const result = await probeBackbones(images, 2, { cacheDir, backbones: ['pixels', colour], samplePerClass: 20, folds: 4, workers: 1, onProgress: (p) => seen.push(p) })
    expect(result.best).toBe(colour)
    expect(result.ranking.map((e) => e.backbone)).toEqual([colour, 'pixels'])
    const [top, pixels] = result.ranking
    expect(top.balancedAccuracy).toBeGreaterThan(0.95)
    expect(pixels.balancedAccuracy!).toBeLessThan(0.75)
    expect(top).toMatchObject({ size: 16, computed: 40, cached: 0 })
    expect(pixels).toMatchObject({ size: 24, computed: 40 })
    for (const e of result.ranking) expect(e.seconds).toBeGreaterThanOrEqual(e.fitSeconds)
    expect(result.sample).toEqual({ images: 40, perClass: [20, 20], folds: 4, seed: 1 })
    expect(result.cancelled).toBe(false)
    expect(result.method).toMatch(/ridge classifier.*4-fold stratified/)
    // Progress for both backbones, embedding then fitting, ending complete.
    expect(new Set(seen.map((p) => `${p.backbone}:${p.phase}`))).toEqual(new Set([`pixels:embedding`, `pixels:fitting`, `${colour}:embedding`, `${colour}:fitting`]))
    expect(seen.at(-1)).toMatchObject({ backbone: colour, index: 1, count: 2, phase: 'fitting', done: 4, total: 4 })

    // Run again: same sample, same ranking, embeddings all from the cache.
    const again = await probeBackbones(images, 2, { cacheDir, backbones: ['pixels', colour], samplePerClass: 20, folds: 4, workers: 1 })
    expect(again.ranking.map((e) => [e.backbone, e.accuracy, e.computed, e.cached])).toEqual(result.ranking.map((e) => [e.backbone, e.accuracy, 0, 40]))

    const runDir = join(tempDir('ff-run-'), 'runs', '7')
    saveProbe(runDir, result)
    expect(loadProbe(runDir)).toEqual(result)
    expect(loadProbe(tempDir('ff-empty-'))).toBeNull()
  })

  it('ranks a failing backbone last with its error, and probes every ready backbone by default', async () => {
    const images = await hueImages(tempDir('ff-img-'), 6)
    const colour = await colourBackbone()
    writeFileSync(images[3].path, 'not a png')
    const result = await probeBackbones(images, 2, { cacheDir: tempDir('ff-cache-'), samplePerClass: 6, workers: 1 })
    const ready = listBackbones().filter((b) => b.status === 'ready').map((b) => b.id)
    expect(ready).toEqual(expect.arrayContaining(['mobilenetv2-nsfwjs', 'face-expression-faceapi', 'pixels', colour]))
    expect(ready).not.toContain('mobilenetv3-small-imagenet')
    expect(result.ranking.map((e) => e.backbone).sort()).toEqual([...ready].sort())
    // Every backbone meets the broken image; each says which file.
    for (const e of result.ranking) expect(e.error).toMatch(new RegExp(`cannot read image .*0-3\\.png`))
    expect(result.best).toBeNull()
    await expect(probeBackbones(images, 2, { cacheDir: tempDir('ff-cache-'), backbones: ['resnet50'] })).rejects.toThrow(/unknown backbone "resnet50"/)
  })

  it("fails with a progress listener's own error instead of blaming the backbone", async () => {
    const images = await hueImages(tempDir('ff-img-'), 10)
    for (const phase of ['embedding', 'fitting'] as const) {
      const probe = probeBackbones(images, 2, {
        cacheDir: tempDir('ff-cache-'),
        backbones: ['pixels', 'face-expression-faceapi'],
        workers: 1,
        onProgress: (p) => {
          if (p.phase === phase && p.done > 0) throw new Error(`listener broke at ${p.phase}`)
        }
      })
      await expect(probe, phase).rejects.toThrow(`listener broke at ${phase}`)
    }
  })

  it('stops when cancelled and says so', async () => {
    const images = await hueImages(tempDir('ff-img-'), 10)
    const abort = new AbortController()
    const result = await probeBackbones(images, 2, {
      cacheDir: tempDir('ff-cache-'),
      backbones: ['pixels', 'face-expression-faceapi'],
      workers: 1,
      signal: abort.signal,
      onProgress: (p) => p.phase === 'fitting' && p.done > 0 && abort.abort()
    })
    expect(result.cancelled).toBe(true)
    expect(result.ranking.map((e) => e.backbone)).toEqual(['pixels'])
  })

  it('refuses input it cannot probe, naming what is wrong', async () => {
    const cacheDir = tempDir('ff-cache-')
    const img = (label: number, k: number): ProbeImage => ({ sha256: `${label}-${k}`, path: `/x/${label}-${k}.png`, label })
    await expect(probeBackbones([img(0, 1), img(0, 2)], 2, { cacheDir, backbones: ['pixels'] })).rejects.toThrow(/at least two classes \(found 1\)/)
    await expect(probeBackbones([img(0, 1), img(5, 2)], 2, { cacheDir, backbones: ['pixels'] })).rejects.toThrow(/\/x\/5-2\.png has label 5; expected a class index 0\.\.1/)
    await expect(probeBackbones([img(0, 1), img(1, 2)], 1, { cacheDir })).rejects.toThrow(/at least two classes \(got 1\)/)
  })
})

describe('probe internals', () => {
  it('keeps the sample to MAX_SAMPLE images however many per class are asked for', async () => {
    const images: ProbeImage[] = Array.from({ length: 50 }, (_, i) => ({ sha256: `s${i}`, path: `/x/${i}.png`, label: i % 25 }))
    // 25 classes x 500 asked would be 12,500 images; the cap makes it 80 per class (only 2 exist here).
    const r = await probeBackbones(images, 25, { cacheDir: tempDir('ff-cache-'), backbones: ['pixels'], samplePerClass: 500, workers: 1 })
    expect(r.method).toContain(`up to ${Math.floor(MAX_SAMPLE / 25)} images per class`)
    expect(r.ranking[0].error).toMatch(/cannot read image \/x\//)
  })

  it('samples at most n per class, drops duplicate pictures, and spreads each class over the folds', () => {
    const images: ProbeImage[] = []
    for (let i = 0; i < 30; i++) images.push({ sha256: `a${i}`, path: `a${i}`, label: 0 })
    for (let i = 0; i < 7; i++) images.push({ sha256: `b${i}`, path: `b${i}`, label: 1 })
    images.push({ sha256: 'b0', path: 'copy-of-b0', label: 1 })
    const s = stratifiedSample(images, 2, 10, 5, 42)
    expect(s.perClass).toEqual([10, 7])
    expect(s.images.filter((i) => i.sha256 === 'b0')).toHaveLength(1)
    const foldsOfB = s.images.map((img, i) => [img.label, s.fold[i]]).filter(([l]) => l === 1).map(([, f]) => f)
    expect(new Set(foldsOfB)).toEqual(new Set([0, 1, 2, 3, 4]))
    expect(stratifiedSample(images, 2, 10, 5, 42).images).toEqual(s.images)
    expect(stratifiedSample(images, 2, 10, 5, 43).images).not.toEqual(s.images)
  })

  it('solves a positive definite system exactly', async () => {
    // A = [[4, 2], [2, 3]], B = A * [[1, 2], [3, -1]]
    const a = Float64Array.from([4, 2, 2, 3])
    const b = Float64Array.from([4 + 6, 8 - 2, 2 + 9, 4 - 3])
    const z = await choleskySolve(a, 2, b, 2)
    expect(Array.from(z).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 2, 3, -1])
    await expect(choleskySolve(Float64Array.from([1, 2, 2, 1]), 2, Float64Array.from([1, 1]), 1)).rejects.toThrow(/not positive definite/)
  })
})
