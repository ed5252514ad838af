// Cached embedding extraction: computed once per (backbone, size, image, view), reused across
// calls, cancellable between batches, naming the file it cannot read, and leaking no tensors.
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { initBackend } from '../../../src/main/training/backend'
import { startEmbedWorker, type EmbedWorker } from '../../../src/main/training/embed-workers'
import { embed, embedParallel, type EmbeddingRequest } from '../../../src/main/training/embeddings'

const root = mkdtempSync(join(tmpdir(), 'ff-embed-'))
let images: EmbeddingRequest[] = []
let n = 0
const freshCache = () => join(root, `project-${n++}`, 'cache')
const OPTS = { backbone: 'mobilenetv2-nsfwjs', size: 96 } as const

async function writeImage(name: string, seed: number): Promise<EmbeddingRequest> {
  const w = 72
  const h = 56
  const raw = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3
      const blob = (x - ((seed * 13) % w)) ** 2 + (y - ((seed * 7) % h)) ** 2 < 150
      raw[o] = blob ? 255 : (x * 3 + seed * 20) % 256
      raw[o + 1] = blob ? 30 : (y * 4) % 256
      raw[o + 2] = (seed * 50) % 256
    }
  const bytes = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer()
  const path = join(root, name)
  writeFileSync(path, bytes)
  return { sha256: createHash('sha256').update(bytes).digest('hex'), path }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

beforeAll(async () => {
  expect((await initBackend()).name).toBe('wasm')
  images = await Promise.all(Array.from({ length: 10 }, (_, i) => writeImage(`img${i}.jpg`, i + 1)))
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('embed', () => {
  it('computes each image view once, then serves it from the cache file', async () => {
    const cacheDir = freshCache()
    const few = images.slice(0, 5)
    // The same content under a second path is one image.
    const requests = [...few, { sha256: few[0].sha256, path: join(root, 'elsewhere.jpg') }]
    const progress: number[][] = []
    const first = await embed(cacheDir, requests, { ...OPTS, views: ['orig', 'flip'], batchSize: 4, onProgress: (d, t) => progress.push([d, t]) })
    expect(first).toMatchObject({ dim: 1280, computed: 10, cached: 0, cancelled: false, backend: 'wasm' })
    expect(first.imagesPerSecond).toBeGreaterThan(0)
    expect(progress).toEqual([[0, 10], [4, 10], [8, 10], [10, 10]])
    expect(existsSync(join(cacheDir, 'embeddings.sqlite'))).toBe(true)
    expect(first.vectors.size).toBe(5)
    for (const [orig, flip] of first.vectors.values()) {
      expect(orig.length).toBe(1280)
      expect(orig.every(Number.isFinite) && flip.every(Number.isFinite)).toBe(true)
      expect(maxAbsDiff(orig, flip)).toBeGreaterThan(1e-3)
    }

    const second = await embed(cacheDir, few, { ...OPTS, views: ['orig', 'flip'] })
    expect(second).toMatchObject({ computed: 0, cached: 10, backend: null, imagesPerSecond: 0 })
    for (const img of few) {
      const [a, b] = [first.vectors.get(img.sha256)!, second.vectors.get(img.sha256)!]
      expect(maxAbsDiff(a[0], b[0]) + maxAbsDiff(a[1], b[1])).toBe(0)
    }

    // Asking for the flip view first returns the same vectors in that order.
    const reordered = await embed(cacheDir, few.slice(0, 1), { ...OPTS, views: ['flip'] })
    expect(reordered.computed).toBe(0)
    expect(maxAbsDiff(reordered.vectors.get(few[0].sha256)![0], first.vectors.get(few[0].sha256)![1])).toBe(0)
  })

  it('keys the cache by size and resize policy too', async () => {
    const cacheDir = freshCache()
    const one = images.slice(0, 1)
    await embed(cacheDir, one, OPTS)
    expect((await embed(cacheDir, one, { ...OPTS, size: 128 })).computed).toBe(1)
    expect((await embed(cacheDir, one, { ...OPTS, resize: 'pad' })).computed).toBe(1)
    expect((await embed(cacheDir, one, OPTS)).computed).toBe(0)
  })

  it('stops between batches when cancelled and keeps what it finished', async () => {
    const cacheDir = freshCache()
    const controller = new AbortController()
    const cut = await embed(cacheDir, images, {
      ...OPTS,
      batchSize: 3,
      signal: controller.signal,
      onProgress: (done) => done > 0 && controller.abort()
    })
    expect(cut).toMatchObject({ cancelled: true, computed: 3 })
    expect(cut.vectors.size).toBe(3)
    const rest = await embed(cacheDir, images, OPTS)
    expect(rest).toMatchObject({ cancelled: false, computed: 7, cached: 3 })
  })

  it('names the file it cannot decode', async () => {
    const bad = join(root, 'broken.jpg')
    writeFileSync(bad, Buffer.from('this is not a JPEG'))
    const requests = [...images.slice(0, 2), { sha256: 'f'.repeat(64), path: bad }]
    await expect(embed(freshCache(), requests, OPTS)).rejects.toThrow(bad)
    await expect(embed(freshCache(), [{ sha256: 'e'.repeat(64), path: join(root, 'missing.png') }], OPTS)).rejects.toThrow('missing.png')
  })

  it('leaves no tensors behind', async () => {
    await embed(freshCache(), images.slice(0, 2), OPTS) // first use may allocate lazily-built state
    const before = tf.memory().numTensors
    await embed(freshCache(), images.slice(0, 3), { ...OPTS, views: ['orig', 'flip'], batchSize: 4 })
    await embed(freshCache(), images.slice(0, 3), { backbone: 'pixels', size: 24 })
    expect(tf.memory().numTensors).toBe(before)
  })

  it('refuses options it cannot honour', async () => {
    await expect(embed(freshCache(), images, { ...OPTS, size: 100 })).rejects.toThrow(/96, 128, 160, 224/)
    await expect(embed(freshCache(), images, { ...OPTS, views: ['orig', 'orig'] })).rejects.toThrow(/distinct/)
  })
})

describe('embedParallel', () => {
  it('splits the work over worker threads and returns what embed returns', async () => {
    const single = await embed(freshCache(), images, OPTS)
    const cacheDir = freshCache()
    const progress: number[] = []
    const parallel = await embedParallel(cacheDir, images, { ...OPTS, workers: 2, batchSize: 4, onProgress: (d) => progress.push(d) })
    expect(parallel).toMatchObject({ computed: 10, cached: 0, cancelled: false, backend: 'wasm' })
    expect(progress.at(-1)).toBe(10)
    for (const img of images) expect(maxAbsDiff(parallel.vectors.get(img.sha256)![0], single.vectors.get(img.sha256)![0])).toBeLessThan(1e-6)
    expect((await embed(cacheDir, images, OPTS)).computed).toBe(0)
  })

  it('reports a complete run as complete when nobody listens to progress', async () => {
    const done = await embedParallel(freshCache(), images, { ...OPTS, workers: 2, batchSize: 4 })
    expect(done).toMatchObject({ computed: 10, cancelled: false })
  })

  it('uses a worker started ahead for the same work, ends the others, and reports one that died', async () => {
    const single = await embed(freshCache(), images, OPTS)
    const cacheDir = freshCache()
    const same = startEmbedWorker(cacheDir, { ...OPTS, batchSize: 2 })!
    const other = startEmbedWorker(cacheDir, { ...OPTS, size: 128, batchSize: 2 })! // another size: not this work
    const exited = (w: EmbedWorker) => new Promise<number>((resolve) => w.worker.once('exit', resolve))
    const [sameExit, otherExit] = [exited(same), exited(other)]
    let batchesBySame = 0
    same.worker.on('message', (m: { type: string }) => m.type === 'batchDone' && batchesBySame++)
    await Promise.all([same.ready, other.ready])
    expect(same.early).toBeNull()
    const both = await embedParallel(cacheDir, images, { ...OPTS, workers: 2, batchSize: 2, useCallingThread: true, prestarted: [same, other] })
    expect(both.computed).toBe(10)
    expect(both.startedAhead).toBe(1)
    expect(batchesBySame).toBeGreaterThan(0)
    for (const img of images) expect(maxAbsDiff(both.vectors.get(img.sha256)![0], single.vectors.get(img.sha256)![0])).toBeLessThan(1e-5)
    // both threads end: the one that worked, and the one never used
    await Promise.all([sameExit, otherExit])
    // a worker that died before it was handed work is named, not waited for
    const dead = startEmbedWorker(freshCache(), { ...OPTS, batchSize: 2 })!
    await dead.worker.terminate()
    await dead.ready
    await expect(embedParallel(dead.input.cacheDir, images, { ...OPTS, workers: 2, batchSize: 2, prestarted: [dead] })).rejects.toThrow(/embedding worker exited with code \d+ before finishing/)
  })

  it("fails with a progress listener's own error, stopping the workers (never an uncaught throw)", async () => {
    for (const useCallingThread of [false, true]) {
      const cacheDir = freshCache()
      const run = embedParallel(cacheDir, images, {
        ...OPTS,
        workers: 2,
        batchSize: 2,
        useCallingThread,
        onProgress: (done) => {
          if (done > 0) throw new Error('listener broke')
        }
      })
      await expect(run, `calling thread ${useCallingThread}`).rejects.toThrow('listener broke')
      // It stopped handing out batches: what was finished is cached, the rest was never computed.
      const rest = await embed(cacheDir, images, OPTS)
      expect(rest.cached).toBeLessThan(10)
      expect(rest.cached + rest.computed).toBe(10)
    }
  })

  it('cancels every worker between batches, keeping their finished batches', async () => {
    const cacheDir = freshCache()
    const controller = new AbortController()
    const cut = await embedParallel(cacheDir, images, {
      ...OPTS,
      workers: 2,
      batchSize: 2,
      signal: controller.signal,
      onProgress: (done) => done > 0 && controller.abort()
    })
    expect(cut.cancelled).toBe(true)
    expect(cut.computed).toBeLessThan(10)
    expect(cut.vectors.size).toBe(cut.computed)
    const rest = await embed(cacheDir, images, OPTS)
    expect(rest).toMatchObject({ cached: cut.computed, computed: 10 - cut.computed })
  })

  it('lets the calling thread compute beside a worker, with the same vectors, cancel and errors', async () => {
    const single = await embed(freshCache(), images, OPTS)
    const cacheDir = freshCache()
    const both = await embedParallel(cacheDir, images, { ...OPTS, workers: 2, batchSize: 2, useCallingThread: true })
    expect(both).toMatchObject({ computed: 10, cached: 0, cancelled: false })
    for (const img of images) expect(maxAbsDiff(both.vectors.get(img.sha256)![0], single.vectors.get(img.sha256)![0])).toBeLessThan(1e-6)
    expect((await embed(cacheDir, images, OPTS)).computed).toBe(0)

    const controller = new AbortController()
    const cutDir = freshCache()
    const cut = await embedParallel(cutDir, images, { ...OPTS, workers: 2, batchSize: 2, useCallingThread: true, signal: controller.signal, onProgress: (done) => done > 0 && controller.abort() })
    expect(cut.cancelled).toBe(true)
    expect(cut.computed).toBeLessThan(10)
    expect((await embed(cutDir, images, OPTS)).cached).toBe(cut.computed)

    const bad = join(root, 'broken-here.png')
    writeFileSync(bad, Buffer.from('not a picture'))
    // the broken file first: the calling thread, which starts at once, takes it
    const requests = [{ sha256: 'e'.repeat(64), path: bad }, ...images]
    await expect(embedParallel(freshCache(), requests, { ...OPTS, workers: 2, batchSize: 4, useCallingThread: true })).rejects.toThrow(bad)
  })

  it("reports a worker's decode error naming the file", async () => {
    const bad = join(root, 'broken-too.png')
    writeFileSync(bad, Buffer.from('nope'))
    const requests = [...images, { sha256: 'd'.repeat(64), path: bad }]
    await expect(embedParallel(freshCache(), requests, { ...OPTS, workers: 2, batchSize: 4 })).rejects.toThrow(bad)
  })
})
