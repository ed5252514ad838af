// Backbone features of images, computed once per (backbone, input size, preprocessing, image,
// view) and kept in <project>/cache/embeddings.sqlite. That file is apart from studio.sqlite on
// purpose: the main process holds the project database exclusively, while embedding runs in
// worker threads that must write here. Training the head on these vectors instead of running the
// frozen backbone every epoch is what makes stage 1 fast (DESIGN.md).
import { mkdirSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { setImmediate } from 'node:timers/promises'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import Database from 'better-sqlite3'
import { moduleWorkerEntry } from '../util/module-worker'
import { sameWork, startEmbedWorker, WORKER_TAG, type EmbedWorker, type WorkerInput } from './embed-workers'
import { initBackend } from './backend'
import { getBackbone, loadFeatureExtractor, preprocessSpecFor, type FeatureExtractor } from './backbones'
import { flipHorizontal, loadPixels, PIPELINE, type PreprocessSpec, type ResizePolicy } from './preprocess'

export type View = 'orig' | 'flip'

export interface EmbeddingRequest {
  sha256: string
  path: string
}

export interface EmbeddingOptions {
  backbone: string
  size: number
  /** Default ['orig']. 'flip' is the image mirrored left-right, for augmentation. */
  views?: View[]
  /** How a non-square image becomes square; default 'crop'. Part of the cache key. */
  resize?: ResizePolicy
  signal?: AbortSignal
  /** Counts image views (an image with two views counts twice), cached ones included. */
  onProgress?: (done: number, total: number) => void
  /** Image views per forward pass; default 32. */
  batchSize?: number
}

export interface EmbeddingResult {
  dim: number
  /** sha256 -> one vector per requested view, in the order asked. Complete images only. */
  vectors: Map<string, Float32Array[]>
  /** Image views computed now, and found in the cache. */
  computed: number
  cached: number
  /** Image views computed per second of computing (0 when everything was cached). */
  imagesPerSecond: number
  /** Stopped by the signal between batches: what was computed is cached, `vectors` is partial. */
  cancelled: boolean
  /** tfjs backend that computed, null when nothing needed computing. */
  backend: string | null
  /** embedParallel: lanes that ran on workers started ahead of the call (ParallelOptions.prestarted). */
  startedAhead?: number
}

export const CACHE_FILE = 'embeddings.sqlite'
const CACHE_SCHEMA = 1
const DEFAULT_BATCH = 32
const VIEWS: readonly View[] = ['orig', 'flip']

interface CacheKey {
  backbone: string
  size: number
  /** Everything besides backbone and size that changes the pixels fed to it. */
  preprocess: string
}

interface Pending {
  sha256: string
  path: string
  views: View[]
}

function sqliteOptions(): Database.Options {
  // As in db/connection.ts: under Electron the addon built for Electron's ABI is loaded.
  const electronBinding = process.env.FREEZEFRAME_SQLITE_BINDING
  return electronBinding && process.versions.electron ? { nativeBinding: electronBinding } : {}
}

/** The on-disk cache. Safe to delete at any time; an unreadable or outdated file is rebuilt. */
class EmbeddingCache {
  private readonly db: Database.Database
  private readonly getStmt: Database.Statement<[string, number, string, string, string], { vector: Buffer }>
  private readonly putStmt: Database.Statement<[string, number, string, string, string, Buffer, string]>

  constructor(cacheDir: string) {
    mkdirSync(cacheDir, { recursive: true })
    this.db = openCacheDb(join(cacheDir, CACHE_FILE))
    this.getStmt = this.db.prepare('SELECT vector FROM embeddings WHERE backbone = ? AND size = ? AND preprocess = ? AND sha256 = ? AND view = ?')
    this.putStmt = this.db.prepare(
      'INSERT OR REPLACE INTO embeddings (backbone, size, preprocess, sha256, view, vector, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'
    )
  }

  get(key: CacheKey, sha256: string, view: View, dim: number): Float32Array | null {
    const row = this.getStmt.get(key.backbone, key.size, key.preprocess, sha256, view)
    // A vector of the wrong length is from some other build of the backbone: recompute it.
    if (!row || row.vector.byteLength !== dim * 4) return null
    return new Float32Array(row.vector.buffer.slice(row.vector.byteOffset, row.vector.byteOffset + row.vector.byteLength))
  }

  /** One transaction per batch, so a cancel or crash keeps every finished batch. */
  put(key: CacheKey, rows: { sha256: string; view: View; vector: Float32Array }[]): void {
    const now = new Date().toISOString()
    this.db.transaction(() => {
      for (const r of rows) {
        const blob = Buffer.from(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength)
        this.putStmt.run(key.backbone, key.size, key.preprocess, r.sha256, r.view, blob, now)
      }
    })()
  }

  close(): void {
    this.db.close()
  }
}

function openCacheDb(file: string): Database.Database {
  try {
    return initCacheDb(file)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') throw err
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true })
    return initCacheDb(file)
  }
}

function initCacheDb(file: string): Database.Database {
  // Generous timeout: worker threads embedding in parallel take turns writing their batches.
  const db = new Database(file, { ...sqliteOptions(), timeout: 30_000 })
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    // IMMEDIATE: two workers opening a new cache at once must not both create it.
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number
      if (version === CACHE_SCHEMA) return
      db.exec('DROP TABLE IF EXISTS embeddings')
      // Vectors are little-endian float32, as Float32Array stores them on every platform we ship.
      db.exec(`CREATE TABLE embeddings (
        backbone TEXT NOT NULL, size INTEGER NOT NULL, preprocess TEXT NOT NULL,
        sha256 TEXT NOT NULL, view TEXT NOT NULL, vector BLOB NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (backbone, size, preprocess, sha256, view))`)
      db.pragma(`user_version = ${CACHE_SCHEMA}`)
    }).immediate()
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

interface Plan {
  key: CacheKey
  spec: PreprocessSpec
  views: View[]
  dim: number
  batchSize: number
}

function planFor(opts: EmbeddingOptions): Plan {
  const backbone = getBackbone(opts.backbone)
  const resize = opts.resize ?? 'crop'
  const spec = preprocessSpecFor(backbone.id, opts.size, resize)
  const views = opts.views ?? ['orig']
  if (!views.length || new Set(views).size !== views.length || views.some((v) => !VIEWS.includes(v))) {
    throw new Error(`views must be distinct values of ${VIEWS.join(', ')} (got ${views.join(', ') || 'none'})`)
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${batchSize})`)
  return {
    key: { backbone: backbone.id, size: opts.size, preprocess: `v${PIPELINE.version}:${resize}` },
    spec,
    views,
    dim: backbone.featureDim,
    batchSize
  }
}

/** Fills `found` from the cache and lists what is left to compute, one entry per distinct image. */
function lookup(cache: EmbeddingCache, plan: Plan, images: EmbeddingRequest[], found: Map<string, (Float32Array | undefined)[]>): { pending: Pending[]; cached: number } {
  const pending: Pending[] = []
  let cached = 0
  for (const img of images) {
    if (found.has(img.sha256)) continue // the same content under two paths is embedded once
    const vectors = plan.views.map((v) => cache.get(plan.key, img.sha256, v, plan.dim) ?? undefined)
    found.set(img.sha256, vectors)
    const missing = plan.views.filter((_, i) => !vectors[i])
    cached += plan.views.length - missing.length
    if (missing.length) pending.push({ sha256: img.sha256, path: img.path, views: missing })
  }
  return { pending, cached }
}

function complete(found: Map<string, (Float32Array | undefined)[]>): Map<string, Float32Array[]> {
  const out = new Map<string, Float32Array[]>()
  for (const [sha, vectors] of found) if (vectors.every(Boolean)) out.set(sha, vectors as Float32Array[])
  return out
}

/**
 * The last batches cut to a quarter of the size, so the threads finish close together: with whole
 * batches, and each worker two batches deep, one thread could idle for up to two batches (~1.3 s
 * of a 7 s run of 512 images here) while another finished.
 */
function shortTail(batches: Pending[][], lanes: number, batchSize: number): Pending[][] {
  const cut = Math.min(batches.length, lanes * 2)
  const tail = batches.slice(batches.length - cut).flat()
  return [...batches.slice(0, batches.length - cut), ...batchesOf(tail, Math.min(batchSize, Math.max(4, Math.ceil(batchSize / 4))))]
}

function batchesOf(pending: Pending[], batchSize: number): Pending[][] {
  const batches: Pending[][] = []
  let current: Pending[] = []
  let rows = 0
  for (const p of pending) {
    if (current.length && rows + p.views.length > batchSize) {
      batches.push(current)
      current = []
      rows = 0
    }
    current.push(p)
    rows += p.views.length
  }
  if (current.length) batches.push(current)
  return batches
}

interface Decoded {
  rows: { sha256: string; view: View }[]
  pixels: Float32Array
}

/** One decode per image; its flip view is mirrored from the same pixels. */
async function decodeBatch(batch: Pending[], spec: PreprocessSpec): Promise<Decoded> {
  const perImage = await Promise.all(
    batch.map(async (p) => {
      let pixels: Float32Array
      try {
        pixels = await loadPixels(p.path, spec)
      } catch (err) {
        const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]
        throw new Error(`cannot read image ${p.path}: ${reason}`, { cause: err })
      }
      return p.views.map((view) => ({ sha256: p.sha256, view, pixels: view === 'flip' ? flipHorizontal(pixels, spec.size) : pixels }))
    })
  )
  const rows = perImage.flat()
  const stride = spec.size * spec.size * 3
  const pixels = new Float32Array(rows.length * stride)
  rows.forEach((r, i) => pixels.set(r.pixels, i * stride))
  return { rows: rows.map(({ sha256, view }) => ({ sha256, view })), pixels }
}

/** The backend someone already chose if it is a fast one; otherwise the best that starts here. */
async function ensureBackend(): Promise<string> {
  const active = tf.engine().backendName
  if (active === 'tensorflow' || active === 'wasm') return active
  return (await initBackend()).name
}

type Stored = { sha256: string; view: View; vector: Float32Array }

/** Keeps a promise that may be awaited later, or dropped on cancel, from counting as unhandled. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {})
  return p
}

/** One decoded batch through the backbone, written to the cache in one transaction. */
async function embedBatch(extractor: FeatureExtractor, cache: EmbeddingCache, plan: Plan, { rows, pixels }: Decoded): Promise<Stored[]> {
  const size = plan.spec.size
  const out = tf.tidy(() => extractor.extract(tf.tensor4d(pixels, [rows.length, size, size, 3])))
  let features: Float32Array
  try {
    features = (await out.data()) as Float32Array
  } finally {
    out.dispose()
  }
  if (features.length !== rows.length * plan.dim) throw new Error(`${plan.key.backbone} gave ${features.length / rows.length} features per image, expected ${plan.dim}`)
  const stored = rows.map((r, i) => ({ ...r, vector: features.slice(i * plan.dim, (i + 1) * plan.dim) }))
  cache.put(plan.key, stored)
  return stored
}

/**
 * This thread as a lane: embeds the batches `take` hands out until it hands out none, each
 * decoded (on libuv's threads) while the one before runs the backbone here. Stops between batches
 * once `signal` aborts. `seconds` runs from the first forward pass, model loading excluded.
 */
async function lane(
  extractor: FeatureExtractor,
  cache: EmbeddingCache,
  plan: Plan,
  take: () => Pending[] | null,
  signal: AbortSignal | undefined,
  onStored: (stored: Stored[]) => void
): Promise<{ computed: number; seconds: number; cancelled: boolean }> {
  let computed = 0
  let started = 0
  let cancelled = false
  const first = take()
  let next = first ? quiet(decodeBatch(first, plan.spec)) : null
  while (next) {
    // A forward pass holds the thread; let queued events (a cancel message) run first.
    await setImmediate()
    if (signal?.aborted) {
      cancelled = true
      break
    }
    const decoded = await next
    const following = take()
    next = following ? quiet(decodeBatch(following, plan.spec)) : null
    started ||= performance.now()
    const stored = await embedBatch(extractor, cache, plan, decoded)
    computed += stored.length
    onStored(stored)
  }
  return { computed, seconds: started ? (performance.now() - started) / 1000 : 0, cancelled }
}

async function compute(
  cache: EmbeddingCache,
  plan: Plan,
  pending: Pending[],
  found: Map<string, (Float32Array | undefined)[]>,
  progress: (rows: number) => void,
  signal: AbortSignal | undefined
): Promise<{ computed: number; seconds: number; cancelled: boolean; backend: string }> {
  const backend = await ensureBackend()
  const extractor = await loadFeatureExtractor(plan.key.backbone, plan.spec.size)
  try {
    const batches = batchesOf(pending, plan.batchSize)
    let b = 0
    const r = await lane(extractor, cache, plan, () => (b < batches.length ? batches[b++] : null), signal, (stored) => {
      for (const row of stored) found.get(row.sha256)![plan.views.indexOf(row.view)] = row.vector
      progress(stored.length)
    })
    return { ...r, backend }
  } finally {
    extractor.dispose()
  }
}

/**
 * Embeddings of `images` under a backbone at one input size, from the cache where present,
 * computed in batches otherwise. A file that cannot be decoded fails the call with an error naming
 * it (batches before it stay cached). Cancelling stops between batches and resolves with
 * `cancelled: true`.
 */
export async function embed(cacheDir: string, images: EmbeddingRequest[], opts: EmbeddingOptions): Promise<EmbeddingResult> {
  const plan = planFor(opts)
  const cache = new EmbeddingCache(cacheDir)
  try {
    const found = new Map<string, (Float32Array | undefined)[]>()
    const { pending, cached } = lookup(cache, plan, images, found)
    const total = found.size * plan.views.length
    let done = cached
    opts.onProgress?.(done, total)
    const result = { dim: plan.dim, computed: 0, cached, imagesPerSecond: 0, cancelled: false, backend: null as string | null }
    if (pending.length && opts.signal?.aborted) result.cancelled = true
    else if (pending.length) {
      const r = await compute(cache, plan, pending, found, (rows) => {
        done += rows
        opts.onProgress?.(done, total)
      }, opts.signal)
      Object.assign(result, { computed: r.computed, cancelled: r.cancelled, backend: r.backend, imagesPerSecond: r.seconds > 0 ? r.computed / r.seconds : 0 })
    }
    return { ...result, vectors: complete(found) }
  } finally {
    cache.close()
  }
}

// ---- Several worker threads, each with its own single-threaded wasm backend ----------------
// wasm threads do not work in Node (DESIGN.md), so using both cores means two tfjs instances.
// The calling thread hands out batches as workers ask, so a worker that started late or shares
// its core with something else simply does fewer; cancelling means handing out no more.

type ToWorker = { type: 'work'; batch: Pending[] } | { type: 'stop'; drop: boolean }
type FromWorker =
  | { type: 'ready' }
  | { type: 'batchDone'; rows: number }
  | { type: 'done'; computed: number; backend: string; imagesPerSecond: number }
  | { type: 'error'; message: string }

const workerEntry = () => moduleWorkerEntry(import.meta.url, 'embeddings')

/** The worker side: load the backbone once, then embed each batch it is sent until told to stop. */
async function workerMain(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m)
  const plan = planFor(input.opts)
  const queue: Promise<Decoded>[] = []
  let stopping = false
  let wake: (() => void) | null = null
  port.on('message', (m: ToWorker) => {
    // Decoding starts on arrival, so the next batch decodes while this thread runs the backbone.
    if (m.type === 'work') queue.push(quiet(decodeBatch(m.batch, plan.spec)))
    else {
      stopping = true
      if (m.drop) queue.length = 0
    }
    wake?.()
  })
  let cache: EmbeddingCache | null = null
  let extractor: FeatureExtractor | null = null
  try {
    const backend = await ensureBackend()
    cache = new EmbeddingCache(input.cacheDir)
    extractor = await loadFeatureExtractor(plan.key.backbone, plan.spec.size)
    post({ type: 'ready' }) // for a worker started ahead of its work (startEmbedWorker)
    let computed = 0
    let started = 0
    for (;;) {
      const next = queue.shift()
      if (!next) {
        if (stopping) break
        await new Promise<void>((resolve) => (wake = resolve))
        wake = null
        continue
      }
      const decoded = await next
      started ||= performance.now()
      computed += (await embedBatch(extractor, cache, plan, decoded)).length
      post({ type: 'batchDone', rows: decoded.rows.length })
    }
    const seconds = started ? (performance.now() - started) / 1000 : 0
    // Closed before saying done: the caller ends this thread on 'done', and a connection left open
    // in an ended thread keeps its file handles and locks in the process (seen as "disk I/O error"
    // from the next cache opened at the same path).
    cache.close()
    cache = null
    post({ type: 'done', computed, backend, imagesPerSecond: seconds > 0 ? computed / seconds : 0 })
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  } finally {
    extractor?.dispose()
    cache?.close()
    port.close()
  }
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.[WORKER_TAG]) {
  void workerMain(parentPort, workerData as WorkerInput)
}

interface Dispatch {
  /** The next batch to hand out, or null when there is none or no more should start. */
  take(): Pending[] | null
  onRows(rows: number): void
  signal: AbortSignal
}

/** Runs one started worker to the end, keeping it two batches deep: one computing, one decoding. */
function runWorker(started: EmbedWorker, dispatch: Dispatch): Promise<FromWorker & { type: 'done' }> {
  const { worker } = started
  return new Promise((resolve, reject) => {
    // One that ended before it was handed work will send nothing more.
    if (started.early) return reject(started.early)
    const send = (m: ToWorker) => worker.postMessage(m)
    let outstanding = 0
    const feed = (count: number) => {
      for (let i = 0; i < count; i++) {
        const batch = dispatch.take()
        if (!batch) break
        send({ type: 'work', batch })
        outstanding++
      }
      if (outstanding === 0) send({ type: 'stop', drop: false })
    }
    const cancel = () => send({ type: 'stop', drop: true })
    dispatch.signal.addEventListener('abort', cancel, { once: true })
    let settled = false
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      dispatch.signal.removeEventListener('abort', cancel)
      fn()
    }
    // Two batches go out at once, not once the worker is ready: it starts decoding them as soon as
    // its module has loaded, while its backend and backbone load (~0.2 s sooner to its first batch).
    feed(2)
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') return
      if (m.type === 'batchDone') {
        outstanding--
        dispatch.onRows(m.rows)
        return feed(1)
      }
      // Its cache is closed by now; ending it here means a stray handle cannot keep it alive.
      void worker.terminate()
      if (m.type === 'done') finish(() => resolve(m))
      else finish(() => reject(new Error(m.message)))
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`embedding worker exited with code ${code} before finishing`))))
  })
}

export interface ParallelOptions extends EmbeddingOptions {
  /** Threads computing; default: one per core. */
  workers?: number
  /**
   * The calling thread is one of them: it starts at once (its backbone loads while the others'
   * threads start, ready after ~0.7 s from source here) and takes batches like a worker. Only for a thread that may
   * block for a batch at a time (a training worker, the CLI), never the app's main thread.
   */
  useCallingThread?: boolean
  /**
   * Workers started ahead of the call (startEmbedWorker), e.g. by a training worker alongside its
   * own start-up. Those started for this work are used first; every one is ended by the call.
   */
  prestarted?: EmbedWorker[]
}

/** The calling thread as one of embedParallel's lanes: batches taken from the same dispatch, one decoding ahead. */
async function runInThread(cacheDir: string, plan: Plan, dispatch: Dispatch): Promise<FromWorker & { type: 'done' }> {
  const backend = await ensureBackend()
  const cache = new EmbeddingCache(cacheDir)
  const extractor = await loadFeatureExtractor(plan.key.backbone, plan.spec.size)
  try {
    const r = await lane(extractor, cache, plan, dispatch.take, dispatch.signal, (stored) => dispatch.onRows(stored.length))
    return { type: 'done', computed: r.computed, backend, imagesPerSecond: r.seconds > 0 ? r.computed / r.seconds : 0 }
  } finally {
    extractor.dispose()
    cache.close()
  }
}

/**
 * embed() spread over worker threads that each load the backbone and write what they compute to
 * the shared cache file; the vectors are then read back from the cache. Same result and cache as
 * embed(). Falls back to in-thread embed() for one worker, under two batches of work, or a bundle
 * that cannot start workers.
 */
export async function embedParallel(cacheDir: string, images: EmbeddingRequest[], opts: ParallelOptions): Promise<EmbeddingResult> {
  const { workers: wanted, useCallingThread, prestarted = [], ...single } = opts
  // Every worker started ahead that no lane takes is ended here, whatever happens.
  const unused = new Set(prestarted)
  try {
    return await embedInLanes(cacheDir, images, single, Math.max(1, Math.floor(wanted ?? availableParallelism())), useCallingThread ?? false, unused)
  } finally {
    for (const w of unused) void w.worker.terminate()
  }
}

async function embedInLanes(cacheDir: string, images: EmbeddingRequest[], single: EmbeddingOptions, workers: number, useCallingThread: boolean, unused: Set<EmbedWorker>): Promise<EmbeddingResult> {
  const plan = planFor(single)
  const cache = new EmbeddingCache(cacheDir)
  let pending: Pending[]
  let cached: number
  let total: number
  try {
    const found = new Map<string, (Float32Array | undefined)[]>()
    ;({ pending, cached } = lookup(cache, plan, images, found))
    total = found.size * plan.views.length
  } finally {
    cache.close()
  }
  const full = batchesOf(pending, plan.batchSize)
  if (workers === 1 || full.length < 2 || !workerEntry()) return embed(cacheDir, images, single)
  const batches = shortTail(full, Math.min(workers, full.length), plan.batchSize)

  const { signal, onProgress, ...shared } = single
  // Aborted by the caller's signal, or by the first worker that fails.
  const stop = new AbortController()
  const forward = () => stop.abort()
  if (signal?.aborted) forward()
  signal?.addEventListener('abort', forward, { once: true })
  let done = cached
  onProgress?.(done, total)
  let next = 0
  // A listener that throws is the caller's error: it stops the work and is what the call rejects
  // with. Thrown from a worker's message handler instead, it would be an uncaught exception.
  let listenerError = null as { error: unknown } | null
  const dispatch: Dispatch = {
    take: () => (stop.signal.aborted || next >= batches.length ? null : batches[next++]),
    // Not `onProgress?.((done += rows), ...)`: optional chaining would skip the count without a listener.
    onRows: (rows) => {
      done += rows
      try {
        onProgress?.(done, total)
      } catch (error) {
        listenerError ??= { error }
        stop.abort()
      }
    },
    signal: stop.signal
  }
  /** A worker for one lane: one started ahead for this very work, else a new one. */
  let startedAhead = 0
  const laneWorker = (): EmbedWorker => {
    const ahead = [...unused].find((w) => sameWork(w.input, cacheDir, shared))
    if (ahead) {
      unused.delete(ahead)
      startedAhead++
      return ahead
    }
    const w = startEmbedWorker(cacheDir, shared)
    if (!w) throw new Error('no embedding worker entry was found beside this module')
    return w
  }
  let results: (FromWorker & { type: 'done' })[]
  try {
    const lanes = Math.min(workers, batches.length)
    const here = useCallingThread ? 1 : 0
    // The workers start first: the calling thread's own lane then blocks it batch by batch.
    const started = Array.from({ length: lanes - here }, () => runWorker(laneWorker(), dispatch))
    if (here) started.push(runInThread(cacheDir, plan, dispatch))
    results = await Promise.all(started)
  } catch (err) {
    stop.abort() // the others drop their queue and stop; what they finished stays cached
    throw err
  } finally {
    signal?.removeEventListener('abort', forward)
  }
  if (listenerError) throw listenerError.error
  const computed = results.reduce((a, r) => a + r.computed, 0)
  return {
    dim: plan.dim,
    vectors: readCached(cacheDir, images, plan),
    computed,
    cached,
    // Like embed(): the rate while computing (start-up and model loading excluded), all workers together.
    imagesPerSecond: results.reduce((a, r) => a + r.imagesPerSecond, 0),
    cancelled: done < total,
    backend: results[0]?.backend ?? null,
    startedAhead
  }
}

function readCached(cacheDir: string, images: EmbeddingRequest[], plan: Plan): Map<string, Float32Array[]> {
  const cache = new EmbeddingCache(cacheDir)
  try {
    const found = new Map<string, (Float32Array | undefined)[]>()
    lookup(cache, plan, images, found)
    return complete(found)
  } finally {
    cache.close()
  }
}
