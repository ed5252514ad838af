// A run's saved model (src/main/training/artifacts.ts): backbone + head composed into one tfjs
// LayersModel must predict what the studio's two-step path (features, then head) predicts, load
// with plain @tensorflow/tfjs, and fail loudly on missing shards, broken JSON and bad images.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { fileModelHandler, loadRunModel, predictFiles, saveRunModel } from '../../../src/main/training/artifacts'
import { initBackend } from '../../../src/main/training/backend'
import { loadFeatureExtractor, preprocessSpecFor } from '../../../src/main/training/backbones'
import { buildHead } from '../../../src/main/training/head'
import { loadPixels } from '../../../src/main/training/preprocess'
import { foldStandardization } from '../../../src/main/training/stage1'
import { picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'

const CLASSES = [
  { id: 4, name: 'happy' },
  { id: 7, name: 'sad' },
  { id: 9, name: 'angry' }
]

async function images(dir: string, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(put(join(dir, `img${i}.png`), await picture(i + 1, 'png', 40 + i * 3, 30 + i * 2)))
  return out
}

/** A head with a non-trivial folded standardization, as the trainer leaves it. */
function trainedHead(dim: number): tf.LayersModel {
  const head = buildHead(dim, CLASSES.length, { hidden: 8, dropout: 0.5, seed: 3 })
  const mean = Float32Array.from({ length: dim }, (_, i) => (i % 7) * 0.01)
  const inv = Float32Array.from({ length: dim }, (_, i) => 1 + (i % 5) * 0.3)
  foldStandardization(head, { mean, inv })
  return head
}

/** The studio's own path: features from the extractor, then the head. */
async function twoStep(backboneId: string, size: number, head: tf.LayersModel, paths: string[]): Promise<number[][]> {
  const spec = preprocessSpecFor(backboneId, size)
  const ex = await loadFeatureExtractor(backboneId, size)
  try {
    const px = await Promise.all(paths.map((p) => loadPixels(p, spec)))
    const flat = new Float32Array(px.length * size * size * 3)
    px.forEach((p, i) => flat.set(p, i * size * size * 3))
    const probs = tf.tidy(() => head.predict(ex.extract(tf.tensor4d(flat, [px.length, size, size, 3]))) as tf.Tensor2D)
    const out = probs.arraySync()
    probs.dispose()
    return out
  } finally {
    ex.dispose()
  }
}

function maxDiff(a: number[][], b: number[][]): number {
  let d = 0
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j])))))
  return d
}

beforeAll(async () => {
  await initBackend(['wasm', 'cpu'])
})

describe('saveRunModel / loadRunModel / predictFiles', () => {
  it('pixels: the composed model reproduces features + head and plain tfjs loads it', async () => {
    const dir = tempDir()
    const paths = await images(join(dir, 'imgs'), 5)
    const head = trainedHead(24 * 24)
    const spec = preprocessSpecFor('pixels', 24)
    const runDir = join(dir, 'run')
    await saveRunModel(runDir, { backbone: null, head, spec, backboneId: 'pixels', classes: CLASSES })
    expect(readdirSync(runDir).sort()).toEqual(['labels.json', 'model', 'preprocessing.json'])
    const labels = JSON.parse(readFileSync(join(runDir, 'labels.json'), 'utf8'))
    expect(labels.classes).toEqual([
      { index: 0, id: 4, name: 'happy' },
      { index: 1, id: 7, name: 'sad' },
      { index: 2, id: 9, name: 'angry' }
    ])
    const prep = JSON.parse(readFileSync(join(runDir, 'preprocessing.json'), 'utf8'))
    expect(prep.spec).toEqual({ size: 24, normalization: 'zero1', resize: 'crop', colour: 'rgb' })
    expect(prep.inputShape).toEqual([null, 24, 24, 3])
    expect(prep.description).toMatch(/pixel \/ 255/)

    const expected = await twoStep('pixels', 24, head, paths)
    const loaded = await loadRunModel(runDir)
    const got = await predictFiles(loaded.model, loaded.spec, paths)
    expect(got.map((g) => g.error)).toEqual(paths.map(() => undefined))
    expect(maxDiff(got.map((g) => g.probs!), expected)).toBeLessThan(1e-5)
    // The predictions are not all alike, so agreement means something.
    expect(maxDiff([expected[0]], [expected[1]])).toBeGreaterThan(1e-4)
    loaded.dispose()

    // Plain tfjs with nothing of ours: model.json and weights.bin read by hand into fromMemory.
    const json = JSON.parse(readFileSync(join(runDir, 'model', 'model.json'), 'utf8'))
    const bin = readFileSync(join(runDir, 'model', json.weightsManifest[0].paths[0]))
    const plain = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) })
    )
    const px = await loadPixels(paths[2], spec)
    const p = tf.tidy(() => (plain.predict(tf.tensor4d(px, [1, 24, 24, 3])) as tf.Tensor).arraySync() as number[][])
    expect(maxDiff(p, [expected[2]])).toBeLessThan(1e-5)
    plain.dispose()
    head.dispose()
  })

  it('mobilenet: backbone + head as one model matches the two-step path to 1e-5', async () => {
    const dir = tempDir()
    const paths = await images(join(dir, 'imgs'), 3)
    const ex = await loadFeatureExtractor('mobilenetv2-nsfwjs', 96)
    const head = trainedHead(1280)
    const spec = preprocessSpecFor('mobilenetv2-nsfwjs', 96)
    await saveRunModel(join(dir, 'run'), { backbone: ex.model, head, spec, backboneId: 'mobilenetv2-nsfwjs', classes: CLASSES })
    ex.dispose()
    const expected = await twoStep('mobilenetv2-nsfwjs', 96, head, paths)
    const loaded = await loadRunModel(join(dir, 'run'))
    expect(loaded.model.inputs[0].shape).toEqual([null, 96, 96, 3])
    const got = await predictFiles(loaded.model, loaded.spec, paths, { batchSize: 2 })
    expect(maxDiff(got.map((g) => g.probs!), expected)).toBeLessThan(1e-5)
    loaded.dispose()
    head.dispose()
  })

  it('names a missing shard, a truncated shard and a broken model.json, and leaves no partial model', async () => {
    const dir = tempDir()
    const head = trainedHead(24 * 24)
    const runDir = join(dir, 'run')
    const spec = preprocessSpecFor('pixels', 24)
    await expect(saveRunModel(runDir, { backbone: null, head, spec, backboneId: 'pixels', classes: CLASSES.slice(0, 2) })).rejects.toThrow(/3 outputs but 2 classes/)
    expect(existsSync(join(runDir, 'model'))).toBe(false)
    await saveRunModel(runDir, { backbone: null, head, spec, backboneId: 'pixels', classes: CLASSES })
    expect(readdirSync(runDir).filter((f) => f.includes('.tmp'))).toEqual([])

    const bin = join(runDir, 'model', 'weights.bin')
    const bytes = readFileSync(bin)
    writeFileSync(bin, bytes.subarray(0, bytes.length - 8))
    await expect(loadRunModel(runDir)).rejects.toThrow(/weights\.bin hold \d+ bytes, model\.json expects \d+/)
    rmSync(bin)
    await expect(loadRunModel(runDir)).rejects.toThrow(/missing the weight shard weights\.bin/)
    writeFileSync(bin, bytes)
    await expect(tf.loadLayersModel(fileModelHandler(join(runDir, 'model')))).resolves.toBeTruthy()

    writeFileSync(join(runDir, 'model', 'model.json'), '{"modelTopology": ')
    await expect(loadRunModel(runDir)).rejects.toThrow(/model\.json is not valid JSON/)
    rmSync(join(runDir, 'labels.json'))
    await expect(loadRunModel(runDir)).rejects.toThrow(/labels file .*labels\.json cannot be read: ENOENT/)
    await expect(loadRunModel(join(dir, 'nowhere'))).rejects.toThrow(/does not exist/)
    head.dispose()
  })

  it('reports a corrupt or missing image by name and still predicts the rest; cancel stops between batches', async () => {
    const dir = tempDir()
    const paths = await images(join(dir, 'imgs'), 3)
    const bad = put(join(dir, 'imgs', 'broken.jpg'), Buffer.from('not a jpeg at all'))
    const head = trainedHead(24 * 24)
    await saveRunModel(join(dir, 'run'), { backbone: null, head, spec: preprocessSpecFor('pixels', 24), backboneId: 'pixels', classes: CLASSES })
    const { model, spec, dispose } = await loadRunModel(join(dir, 'run'))
    const seen: number[] = []
    const got = await predictFiles(model, spec, [paths[0], bad, join(dir, 'gone.png'), paths[1]], { onProgress: (d) => seen.push(d) })
    expect(got.map((g) => g.predicted >= 0)).toEqual([true, false, false, true])
    expect(got[1].error).toMatch(/broken\.jpg: cannot read the image/)
    expect(got[2].error).toMatch(/gone\.png: cannot read the image \(file not found\)/)
    expect(seen).toEqual([4])
    const ctrl = new AbortController()
    const partial = await predictFiles(model, spec, [...paths, ...paths], {
      batchSize: 2,
      signal: ctrl.signal,
      onProgress: () => ctrl.abort()
    })
    expect(partial).toHaveLength(2)
    dispose()
    head.dispose()
  })
})
