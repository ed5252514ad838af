// Downloading pretrained weights on demand, against a local HTTP server (never the network): the
// files land in the cache only when complete and matching their sha256; progress is reported,
// cancel and offline give clear errors and leave nothing behind; a damaged cache is caught.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { BACKBONES, backboneStatus, listBackbones, loadFeatureExtractor, prepareBackbone, type Backbone } from '../../../src/main/training/backbones'
import { probeBackbones, type ProbeImage } from '../../../src/main/training/probe'
import { picture } from '../../helpers/images'
import { ensureDownloaded, loadExternal } from '../../../src/main/training/backbones/external'
import { downloadedDir, downloadModel, RECORD_FILE, verifyDownload, type DownloadProgress, type DownloadSpec } from '../../../src/main/training/download'
import { tempDir } from '../../helpers/tmp'
import { tinyConvNet, writeModelFolder } from '../../helpers/tfjs-model-folder'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A hand-written tfjs GraphModel: features = mean over the image of each channel, times a 3x2 matrix. */
function tinyGraphModel(): { modelJson: Buffer; shard: Buffer } {
  const dim = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s) })) })
  const json = {
    format: 'graph-model',
    generatedBy: 'test',
    convertedBy: 'hand',
    modelTopology: {
      node: [
        { name: 'image', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim([-1, 8, 8, 3]) } } },
        { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dim([2]) } } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim([3, 2]) } } } },
        { name: 'pooled', op: 'Mean', input: ['image', 'axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
        { name: 'features', op: 'MatMul', input: ['pooled', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } }
      ],
      versions: { producer: 1 }
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'axes', shape: [2], dtype: 'int32' }, { name: 'w', shape: [3, 2], dtype: 'float32' }] }]
  }
  const shard = Buffer.concat([Buffer.from(Int32Array.from([1, 2]).buffer), Buffer.from(Float32Array.from([1, 0, 0, 1, 1, 1]).buffer)])
  return { modelJson: Buffer.from(JSON.stringify(json)), shard }
}

interface Served {
  files: Map<string, Buffer>
  /** Paths whose body is sent slowly, in small pieces, so a test can cancel mid-file. */
  slow: Set<string>
  requests: string[]
}

let server: Server
let base: string
const served: Served = { files: new Map(), slow: new Set(), requests: [] }

beforeAll(async () => {
  expect((await initBackend()).name).toBe('wasm')
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    served.requests.push(url.pathname + url.search)
    // Like tfhub/Kaggle: files are only served with ?tfjs-format=file when the path asks for it.
    if (url.pathname.startsWith('/hub/') && url.searchParams.get('tfjs-format') !== 'file') return res.writeHead(404).end('not a tfjs request')
    const body = served.files.get(url.pathname)
    if (!body) return res.writeHead(404).end('no such file')
    res.writeHead(200, { 'content-length': body.length })
    if (!served.slow.has(url.pathname)) return res.end(body)
    let at = 0
    const tick = setInterval(() => {
      if (res.destroyed || at >= body.length) {
        clearInterval(tick)
        return res.end()
      }
      res.write(body.subarray(at, (at += 64)))
    }, 20)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

let cacheEnv: string | undefined
let mirrorEnv: string | undefined
let root: string
beforeEach(() => {
  cacheEnv = process.env.FREEZEFRAME_MODEL_CACHE
  mirrorEnv = process.env.FREEZEFRAME_MODEL_MIRROR
  root = tempDir('ff-models-')
  process.env.FREEZEFRAME_MODEL_CACHE = root
  served.files.clear()
  served.slow.clear()
  served.requests.length = 0
})
afterEach(() => {
  for (const [key, value] of [['FREEZEFRAME_MODEL_CACHE', cacheEnv], ['FREEZEFRAME_MODEL_MIRROR', mirrorEnv]] as const) {
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
})

async function serveTiny(prefix: string): Promise<{ modelJson: Buffer; shard: Buffer; model: tf.LayersModel }> {
  const model = tinyConvNet(16)
  const files = await writeModelFolder(model, tempDir('ff-src-'))
  served.files.set(`${prefix}/model.json`, files.modelJson)
  served.files.set(`${prefix}/group1-shard1of1.bin`, files.shard)
  return { ...files, model }
}

const leftovers = () => readdirSync(root)

describe('downloadModel', () => {
  it('downloads, checks pinned hashes, records every hash and reports progress', async () => {
    const { modelJson, shard, model } = await serveTiny('/m/tiny')
    const spec: DownloadSpec = { id: 'tiny', url: `${base}/m/tiny/model.json`, sha256: { 'model.json': sha(modelJson), 'group1-shard1of1.bin': sha(shard) } }
    const seen: DownloadProgress[] = []
    const dir = await downloadModel(spec, { onProgress: (p) => seen.push(p) })
    expect(dir).toBe(join(root, 'tiny'))
    expect(readFileSync(join(dir, 'group1-shard1of1.bin')).equals(shard)).toBe(true)
    expect(downloadedDir(spec)).toBe(dir)
    const record = verifyDownload(dir, spec)
    expect(record.files.map((f) => [f.name, f.sha256, f.pinned])).toEqual([
      ['model.json', sha(modelJson), true],
      ['group1-shard1of1.bin', sha(shard), true]
    ])
    expect(seen.at(-1)).toMatchObject({ bytes: modelJson.length + shard.length, filesDone: 2, filesTotal: 2 })
    expect(seen.map((p) => p.bytes)).toEqual([...seen.map((p) => p.bytes)].sort((a, b) => a - b))
    expect(leftovers()).toEqual(['tiny'])
    model.dispose()
  })

  it('refuses a file whose sha256 is not the pinned one, and caches nothing', async () => {
    const { modelJson, model } = await serveTiny('/m/tiny')
    const wrong = 'ab'.repeat(32)
    const spec: DownloadSpec = { id: 'tiny', url: `${base}/m/tiny/model.json`, sha256: { 'model.json': sha(modelJson), 'group1-shard1of1.bin': wrong } }
    await expect(downloadModel(spec)).rejects.toThrow(new RegExp(`group1-shard1of1\\.bin from .* has sha256 [0-9a-f]{64}, expected ${wrong}`))
    expect(downloadedDir(spec)).toBeNull()
    expect(leftovers()).toEqual([])
    model.dispose()
  })

  it('appends the tfhub query to model.json and to every shard', async () => {
    const { model } = await serveTiny('/hub/tiny/1')
    await downloadModel({ id: 'hub', url: `${base}/hub/tiny/1/model.json`, query: '?tfjs-format=file' })
    expect(served.requests).toEqual(['/hub/tiny/1/model.json?tfjs-format=file', '/hub/tiny/1/group1-shard1of1.bin?tfjs-format=file'])
    await expect(downloadModel({ id: 'hub2', url: `${base}/hub/tiny/1/model.json` })).rejects.toThrow(/cannot download model\.json from .*: HTTP 404/)
    model.dispose()
  })

  it('stops on cancel mid-file and leaves nothing in the cache', async () => {
    const { model } = await serveTiny('/m/tiny')
    served.slow.add('/m/tiny/group1-shard1of1.bin')
    const abort = new AbortController()
    const pending = downloadModel(
      { id: 'tiny', url: `${base}/m/tiny/model.json` },
      { signal: abort.signal, onProgress: (p) => p.file === 'group1-shard1of1.bin' && abort.abort() }
    )
    await expect(pending).rejects.toThrow(/^download cancelled$/)
    expect(leftovers()).toEqual([])
    model.dispose()
  })

  it('says the machine looks offline when the host cannot be reached', async () => {
    // A port nothing listens on: connection refused, as a blocked or absent network gives.
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    await expect(downloadModel({ id: 'x', url: `http://127.0.0.1:${port}/model.json` })).rejects.toThrow(
      /cannot download model\.json from .*: 127\.0\.0\.1:\d+ cannot be reached \(ECONNREFUSED\); the machine looks offline/
    )
    expect(leftovers()).toEqual([])
  })

  it('refuses a model.json that is not a model, and a shard the server lacks', async () => {
    served.files.set('/m/bad/model.json', Buffer.from('<html>login</html>'))
    await expect(downloadModel({ id: 'bad', url: `${base}/m/bad/model.json` })).rejects.toThrow(/model\.json from .* is not valid JSON/)
    const { model } = await serveTiny('/m/tiny')
    served.files.delete('/m/tiny/group1-shard1of1.bin')
    await expect(downloadModel({ id: 'tiny', url: `${base}/m/tiny/model.json` })).rejects.toThrow(/cannot download group1-shard1of1\.bin from .*: HTTP 404/)
    expect(leftovers()).toEqual([])
    model.dispose()
  })
})

describe('download backbones', () => {
  function entry(over: Partial<Backbone> & { source: Backbone['source'] }): Backbone {
    return { id: 'test-dl', name: 'Test', provenance: 'a test model', sizes: [16], defaultSize: 16, normalization: 'zero1', featureDim: 8, featureLayer: 'gap', fineTunable: true, blocks: ['conv1', 'res_add', 'conv3'], ...over }
  }

  it('lists the catalog as needing download while the cache is empty, and says so on load', async () => {
    const downloadable = BACKBONES.filter((b) => b.source?.kind === 'download')
    expect(downloadable.map((b) => b.id)).toEqual(expect.arrayContaining(['mobilenetv2-035-imagenet', 'mobilenetv3-small-imagenet', 'mobilenetv3-large-imagenet']))
    for (const b of downloadable) expect(backboneStatus(b.id)).toBe('needs download')
    expect(listBackbones().find((b) => b.id === 'mobilenetv2-nsfwjs')?.status).toBe('ready')
    await expect(loadFeatureExtractor('mobilenetv3-small-imagenet', 224)).rejects.toThrow(/mobilenetv3-small-imagenet needs download: its weights are fetched from https:\/\/tfhub\.dev\//)
  })

  it('downloads a LayersModel backbone on demand and extracts what the original computes', async () => {
    const { model } = await serveTiny('/m/tiny')
    const b = entry({ source: { kind: 'download', format: 'layers-model', download: { id: 'test-dl', url: `${base}/m/tiny/model.json` } } })
    await expect(loadExternal(b, 16)).rejects.toThrow(/needs download/)
    const dir = await ensureDownloaded(b)
    expect(await ensureDownloaded(b)).toBe(dir) // cached: no second download
    expect(served.requests.filter((r) => r.endsWith('model.json'))).toHaveLength(1)
    const extractor = await loadExternal(b, 16)
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D
    const ours = extractor.extract(x)
    const reference = tf.model({ inputs: model.inputs, outputs: model.getLayer('gap').output }).predict(x) as tf.Tensor
    const [o, r] = [await ours.data(), await reference.data()]
    expect(Math.max(...Array.from(o, (v, i) => Math.abs(v - r[i])))).toBeLessThan(1e-6)
    tf.dispose([x, ours, reference])
    extractor.dispose()
    // A damaged cache is caught on the next load, naming the file.
    writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.alloc(readFileSync(join(dir, 'group1-shard1of1.bin')).length))
    await expect(loadExternal(b, 16)).rejects.toThrow(/group1-shard1of1\.bin has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}: the cached download is damaged/)
    model.dispose()
  })

  it('runs a downloaded GraphModel as a frozen extractor', async () => {
    const { modelJson, shard } = tinyGraphModel()
    served.files.set('/hub/g/1/model.json', modelJson)
    served.files.set('/hub/g/1/group1-shard1of1.bin', shard)
    const b = entry({
      id: 'test-graph',
      sizes: [8],
      defaultSize: 8,
      featureDim: 2,
      featureLayer: null,
      fineTunable: false,
      blocks: [],
      source: { kind: 'download', format: 'graph-model', download: { id: 'test-graph', url: `${base}/hub/g/1/model.json`, query: '?tfjs-format=file', sha256: { 'model.json': sha(modelJson) } } }
    })
    await ensureDownloaded(b)
    const extractor = await loadExternal(b, 8)
    expect(extractor.model).toBeNull()
    // Channel means (r, g, b) = (0.2, 0.5, 0.1) -> features (r + b, g + b) = (0.3, 0.6).
    const x = tf.tidy(() => tf.ones([1, 8, 8, 3]).mul(tf.tensor1d([0.2, 0.5, 0.1]))) as tf.Tensor4D
    const out = extractor.extract(x)
    expect(out.shape).toEqual([1, 2])
    const v = await out.data()
    expect(v[0]).toBeCloseTo(0.3, 5)
    expect(v[1]).toBeCloseTo(0.6, 5)
    tf.dispose([x, out])
    extractor.dispose()
    expect(existsSync(join(root, 'test-graph', RECORD_FILE))).toBe(true)
  })
})

describe('catalog backbones through a mirror', () => {
  /** Stands in for the published MobileNetV1 0.25: the same layer names and 256-d conv_pw_13_relu, tiny 1x1 convs. */
  async function serveFakeMobileNetV1(): Promise<void> {
    const input = tf.input({ shape: [224, 224, 3], name: 'input_1' })
    let x = input
    for (let i = 1; i <= 13; i++) {
      x = tf.layers.conv2d({ name: `conv_pw_${i}`, filters: i === 13 ? 256 : 4, kernelSize: 1, strides: i <= 5 ? 2 : 1, kernelInitializer: tf.initializers.glorotUniform({ seed: i }) }).apply(x) as tf.SymbolicTensor
      x = tf.layers.reLU({ name: `conv_pw_${i}_relu` }).apply(x) as tf.SymbolicTensor
    }
    const model = tf.model({ inputs: input, outputs: x })
    const files = await writeModelFolder(model, tempDir('ff-src-'))
    model.dispose()
    served.files.set('/storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json', files.modelJson)
    served.files.set('/storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/group1-shard1of1.bin', files.shard)
  }

  async function images(dir: string): Promise<ProbeImage[]> {
    return Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const png = await picture(i)
        const path = join(dir, `p${i}.png`)
        writeFileSync(path, png)
        return { path, sha256: sha(png), label: i % 2 }
      })
    )
  }

  it('fetches a catalog entry from <mirror>/<host>/<path> and loads it at another size', async () => {
    await serveFakeMobileNetV1()
    process.env.FREEZEFRAME_MODEL_MIRROR = `${base}/`
    expect(backboneStatus('mobilenetv1-025-imagenet')).toBe('needs download')
    const seen: DownloadProgress[] = []
    await prepareBackbone('mobilenetv1-025-imagenet', { onProgress: (p) => seen.push(p) })
    expect(served.requests).toEqual(['/storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json', '/storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/group1-shard1of1.bin'])
    expect(seen.at(-1)).toMatchObject({ filesDone: 2, filesTotal: 2 })
    expect(backboneStatus('mobilenetv1-025-imagenet')).toBe('ready')
    // The record keeps the published URL, not the mirror's.
    expect(verifyDownload(join(root, 'mobilenetv1-025-imagenet')).url).toBe('https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json')
    const extractor = await loadFeatureExtractor('mobilenetv1-025-imagenet', 128)
    expect(extractor.model!.layers.at(-1)!.name).toBe('feature_pool')
    expect(extractor.model!.trainableWeights).toHaveLength(0)
    const x = tf.randomUniform([2, 128, 128, 3], -1, 1, 'float32', 1) as tf.Tensor4D
    const out = extractor.extract(x)
    expect(out.shape).toEqual([2, 256])
    tf.dispose([x, out])
    extractor.dispose()
  })

  it('probes a backbone that needs download only when allowed, and says offline when it cannot fetch', async () => {
    await serveFakeMobileNetV1()
    const imgs = await images(tempDir('ff-img-'))
    const opts = { cacheDir: tempDir('ff-cache-'), backbones: ['pixels', 'mobilenetv1-025-imagenet'], samplePerClass: 6, folds: 3, workers: 1 }
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    process.env.FREEZEFRAME_MODEL_MIRROR = `http://127.0.0.1:${port}`
    const refused = await probeBackbones(imgs, 2, opts)
    expect(refused.ranking.at(-1)).toMatchObject({ backbone: 'mobilenetv1-025-imagenet', accuracy: null, error: expect.stringMatching(/needs download/) })
    const offline = await probeBackbones(imgs, 2, { ...opts, download: true })
    expect(offline.ranking.at(-1)!.error).toMatch(/cannot be reached \(ECONNREFUSED\); the machine looks offline/)
    expect(offline.best).toBe('pixels')
    process.env.FREEZEFRAME_MODEL_MIRROR = base
    const phases: string[] = []
    const fetched = await probeBackbones(imgs, 2, { ...opts, download: true, onProgress: (p) => phases.push(`${p.backbone}:${p.phase}`) })
    const entry = fetched.ranking.find((e) => e.backbone === 'mobilenetv1-025-imagenet')!
    expect(entry.error).toBeUndefined()
    expect(entry).toMatchObject({ size: 128, computed: 12 })
    expect(entry.accuracy).toBeGreaterThanOrEqual(0)
    expect(phases).toContain('mobilenetv1-025-imagenet:download')
    expect(backboneStatus('mobilenetv1-025-imagenet')).toBe('ready')
  })
})
