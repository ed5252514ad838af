// A user's own tfjs LayersModel folder as a backbone: validated with errors that name the broken
// file, features taken from the right layer, registered per user or per project, and loadable by
// id from the registry like a built-in one.
import { createHash } from 'node:crypto'
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { getBackbone, listBackbones, loadFeatureExtractor, registerFolderBackbone, unregisterFolderBackbone } from '../../../src/main/training/backbones'
import { cutPoints, loadLayersFeatureModel, readModelFolder } from '../../../src/main/training/backbones/model-folder'
import { embed, embedParallel } from '../../../src/main/training/embeddings'
import { picture } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'
import { tinyConvNet, writeModelFolder } from '../../helpers/tfjs-model-folder'

let home: string | undefined
beforeAll(async () => {
  expect((await initBackend()).name).toBe('wasm')
})
beforeEach(() => {
  home = process.env.FREEZEFRAME_HOME
  process.env.FREEZEFRAME_HOME = tempDir('ff-home-')
})
afterEach(() => {
  if (home === undefined) delete process.env.FREEZEFRAME_HOME
  else process.env.FREEZEFRAME_HOME = home
})

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()]
  return Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i])))
}

async function folderWithTinyNet(size = 16): Promise<{ dir: string; model: tf.LayersModel }> {
  const dir = tempDir('ff-model-')
  const model = tinyConvNet(size)
  await writeModelFolder(model, dir)
  return { dir, model }
}

describe('model folder validation', () => {
  it('names model.json when it is missing, not JSON, or not a model', async () => {
    const { dir } = await folderWithTinyNet()
    const file = join(dir, 'model.json')
    const good = readFileSync(file, 'utf8')
    writeFileSync(file, good.slice(0, 200))
    expect(() => readModelFolder(dir)).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')}: is not valid JSON`))
    writeFileSync(file, JSON.stringify({ weightsManifest: [] }))
    expect(() => readModelFolder(dir)).toThrow(/model\.json: has no "modelTopology" object/)
    writeFileSync(file, JSON.stringify({ ...JSON.parse(good), weightsManifest: [{ paths: ['x.bin'] }] }))
    expect(() => readModelFolder(dir)).toThrow(/weightsManifest\[0\] needs "paths" \(file names\) and "weights"/)
    rmSync(file)
    expect(() => readModelFolder(dir)).toThrow(/model\.json: not found/)
    expect(() => readModelFolder(join(dir, 'nope'))).toThrow(/nope: is not a folder/)
  })

  it('names a missing shard and a shard of the wrong length', async () => {
    const { dir } = await folderWithTinyNet()
    const shard = join(dir, 'group1-shard1of1.bin')
    truncateSync(shard, 10)
    expect(() => readModelFolder(dir)).toThrow(/group1-shard1of1\.bin: weight shards group1-shard1of1\.bin hold 10 bytes; model\.json describes \d+/)
    rmSync(shard)
    expect(() => readModelFolder(dir)).toThrow(/group1-shard1of1\.bin: weight shard listed in model\.json is missing/)
    await expect(registerFolderBackbone(dir)).rejects.toThrow(/group1-shard1of1\.bin: weight shard listed in model\.json is missing/)
    expect(listBackbones().some((b) => b.source?.kind === 'folder')).toBe(false)
  })

  it('reads the input size from the model, and needs one when the model takes any size', async () => {
    const dir = tempDir('ff-model-')
    const input = tf.input({ shape: [null, null, 3] as unknown as number[] })
    const m = tf.model({ inputs: input, outputs: tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(tf.layers.conv2d({ filters: 2, kernelSize: 3, name: 'c' }).apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor })
    await writeModelFolder(m, dir)
    m.dispose()
    await expect(registerFolderBackbone(dir)).rejects.toThrow(/model\.json: its input size is not fixed; give one/)
    expect(await registerFolderBackbone(dir, { size: 40 })).toMatchObject({ sizes: [40], defaultSize: 40, featureDim: 2 })
    const wide = tempDir('ff-model-')
    const w = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [20, 30, 3], filters: 2, kernelSize: 3 }), tf.layers.globalAveragePooling2d({})] })
    await writeModelFolder(w, wide)
    w.dispose()
    await expect(registerFolderBackbone(wide)).rejects.toThrow(/its input is 20x30; only square inputs are supported/)
  })

  it('refuses a model whose input is not a square RGB image', async () => {
    const dir = tempDir('ff-model-')
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [5], units: 2 })] })
    await writeModelFolder(m, dir)
    await expect(registerFolderBackbone(dir)).rejects.toThrow(/model\.json: its model has no 4-d image input/)
    m.dispose()
  })
})

describe('features from a model folder', () => {
  it('takes the last pooled layer by default and computes what the original model computes there', async () => {
    const { dir, model } = await folderWithTinyNet()
    const before = tf.memory().numTensors
    const built = await loadLayersFeatureModel(readModelFolder(dir))
    expect(built).toMatchObject({ featureLayer: 'gap', outputLayer: 'gap', featureDim: 8, inputSize: 16 })
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D
    const reference = tf.model({ inputs: model.inputs, outputs: model.getLayer('gap').output }).predict(x) as tf.Tensor
    const ours = built.model.predict(x) as tf.Tensor
    expect(ours.shape).toEqual([2, 8])
    expect(await maxDiff(ours, reference)).toBeLessThan(1e-6)
    expect(built.model.trainableWeights).toHaveLength(0)
    tf.dispose([x, reference, ours])
    built.model.dispose()
    // Nothing left behind, the classifier above the features included.
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it('pools a named convolutional layer and names the layers it has when the name is wrong', async () => {
    const { dir, model } = await folderWithTinyNet()
    const built = await loadLayersFeatureModel(readModelFolder(dir), { featureLayer: 'res_add' })
    expect(built).toMatchObject({ featureLayer: 'res_add', outputLayer: 'feature_pool', featureDim: 4 })
    built.model.dispose()
    await expect(loadLayersFeatureModel(readModelFolder(dir), { featureLayer: 'conv9' })).rejects.toThrow(/has no layer "conv9"; its last layers are .*conv3, gap, classes/)
    model.dispose()
  })

  it('cuts only where a single tensor joins the halves (never inside the residual)', async () => {
    const { dir, model } = await folderWithTinyNet()
    const cuts = cutPoints(model)
    // After conv2 both conv1's and conv2's outputs cross to res_add: not a cut.
    expect(cuts).toEqual(['conv1', 'res_add', 'conv3', 'gap'])
    model.dispose()
    expect(readModelFolder(dir).format).toBe('layers-model')
  })
})

describe('registering a folder backbone', () => {
  it('registers per user, resolves by id, and extracts the same features through the registry', async () => {
    const { dir, model } = await folderWithTinyNet()
    const entry = await registerFolderBackbone(dir, { name: 'Tiny' })
    expect(entry).toMatchObject({ name: 'Tiny', sizes: [16], defaultSize: 16, featureDim: 8, featureLayer: 'gap', fineTunable: true, blocks: ['conv1', 'res_add', 'conv3'] })
    expect(getBackbone(entry.id)).toEqual(entry)
    expect(listBackbones('/some/project').find((b) => b.id === entry.id)?.status).toBe('ready')
    const extractor = await loadFeatureExtractor(entry.id, 16)
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 9) as tf.Tensor4D
    const reference = tf.model({ inputs: model.inputs, outputs: model.getLayer('gap').output }).predict(x) as tf.Tensor
    const ours = extractor.extract(x)
    expect(await maxDiff(ours, reference)).toBeLessThan(1e-6)
    tf.dispose([x, reference, ours])
    extractor.dispose()
    model.dispose()
    // Gone from disk: listed as missing, and loading names the file.
    rmSync(join(dir, 'model.json'))
    expect(listBackbones().find((b) => b.id === entry.id)?.status).toBe('missing')
    await expect(loadFeatureExtractor(entry.id, 16)).rejects.toThrow(/model\.json: not found/)
    expect(unregisterFolderBackbone(entry.id)).toBe(true)
    expect(() => getBackbone(entry.id)).toThrow(/unknown backbone/)
  })

  it('names the registry file when it is corrupt, and still resolves built-in backbones', () => {
    const file = join(process.env.FREEZEFRAME_HOME!, 'backbones.json')
    writeFileSync(file, '{"backbones": [')
    expect(() => listBackbones()).toThrow(new RegExp(`${file.replace(/[/.]/g, '\\$&')} is not valid JSON.*fix or delete it`))
    expect(getBackbone('pixels').id).toBe('pixels')
  })

  it('offers a project-scoped folder only in that project', async () => {
    const { dir, model } = await folderWithTinyNet()
    const project = tempDir('ff-proj-')
    const entry = await registerFolderBackbone(dir, { project })
    expect(listBackbones(project).some((b) => b.id === entry.id)).toBe(true)
    expect(listBackbones(tempDir('ff-other-')).some((b) => b.id === entry.id)).toBe(false)
    expect(listBackbones(null).some((b) => b.id === entry.id)).toBe(false)
    model.dispose()
  })

  it('refuses a registered folder whose model changed under it', async () => {
    const { dir, model } = await folderWithTinyNet()
    const entry = await registerFolderBackbone(dir)
    const other = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 5, kernelSize: 3, name: 'c' }), tf.layers.globalAveragePooling2d({ name: 'gap' })] })
    await writeModelFolder(other, dir)
    await expect(loadFeatureExtractor(entry.id, 16)).rejects.toThrow(/gives 5-d features, the registry says 8: it is not the model backbone/)
    tf.dispose([other, model] as unknown as tf.Tensor[])
  })

  it('is resolved by id in embedding worker threads too (the registry file is shared)', async () => {
    const { dir, model } = await folderWithTinyNet()
    const entry = await registerFolderBackbone(dir)
    model.dispose()
    const imgDir = tempDir('ff-img-')
    const images = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const png = await picture(i)
        const path = join(imgDir, `p${i}.png`)
        writeFileSync(path, png)
        return { path, sha256: createHash('sha256').update(png).digest('hex') }
      })
    )
    let last = 0
    const parallel = await embedParallel(tempDir('ff-cache-'), images, { backbone: entry.id, size: 16, batchSize: 3, workers: 2, onProgress: (done) => (last = done) })
    expect(parallel).toMatchObject({ computed: 10, cancelled: false, dim: 8 })
    expect(last).toBe(10)
    const single = await embed(tempDir('ff-cache-'), images, { backbone: entry.id, size: 16 })
    for (const img of images) expect(Array.from(parallel.vectors.get(img.sha256)![0])).toEqual(Array.from(single.vectors.get(img.sha256)![0]))
  })
})
