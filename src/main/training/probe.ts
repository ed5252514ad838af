// Choosing the backbone by measurement: a quick linear probe of every available backbone on a
// stratified sample of the project. Each backbone's features (cached embeddings, reused by the
// real run afterwards) go through a ridge-regression classifier on one-hot targets, scored by
// stratified K-fold cross-validation; the ranking is by balanced accuracy, then accuracy, then
// time. The classifier is solved in its dual form (n x n Gram matrix of the sample, shared by
// every fold), so a thousand-image sample of 1280-d features fits in about a second of plain JS.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setImmediate } from 'node:timers/promises'
import { mulberry32 } from '../util/random'
import { backboneStatus, getBackbone, listBackbones, prepareBackbone } from './backbones'
import type { ProbeEntry, ProbeResult } from '../../shared/probe'
import { embedParallel, type EmbeddingRequest } from './embeddings'

export interface ProbeImage extends EmbeddingRequest {
  /** Class index, 0..classes-1. */
  label: number
}

export interface ProbeOptions {
  /** <project>/cache: where embeddings are cached (and found from earlier runs). */
  cacheDir: string
  /** Images sampled per class at most (default 60). */
  samplePerClass?: number
  /** Backbone ids to compare; default every backbone whose status is ready (no download needed). */
  backbones?: string[]
  /** Project folder, so project-scoped folder backbones are offered by default. */
  projectDir?: string | null
  /** Input size per backbone id; default each backbone's defaultSize. */
  sizes?: Record<string, number>
  /** Cross-validation folds (default 5, fewer when a class has fewer sampled images). */
  folds?: number
  seed?: number
  /** Download the weights of listed backbones that need it (default false: they are reported as failed). */
  download?: boolean
  /** Ridge strength (default RIDGE_LAMBDA). */
  lambda?: number
  /** Threads computing embeddings (default one per core). */
  workers?: number
  signal?: AbortSignal
  onProgress?: (p: ProbeProgress) => void
}

export interface ProbeProgress {
  backbone: string
  /** 0-based position of this backbone, of `count`. */
  index: number
  count: number
  phase: 'download' | 'embedding' | 'fitting'
  done: number
  total: number
}

export type { ProbeEntry, ProbeResult } from '../../shared/probe'

export const PROBE_FILE = 'probe.json'
const DEFAULT_PER_CLASS = 60
/** Sample images at most: the n x n Gram matrix and its Cholesky factor grow as n^2 and n^3. */
export const MAX_SAMPLE = 2000

// ---- Sampling -----------------------------------------------------------------------------

function shuffle<T>(items: T[], rand: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** Up to `perClass` images of each class (seeded), each given a fold, round-robin within its class. */
export function stratifiedSample(images: ProbeImage[], classes: number, perClass: number, folds: number, seed: number): { images: ProbeImage[]; fold: Int32Array; perClass: number[] } {
  const rand = mulberry32(seed)
  const byClass: ProbeImage[][] = Array.from({ length: classes }, () => [])
  const seen = new Set<string>()
  for (const img of images) {
    // Two copies of one picture would sit in different folds and flatter every backbone.
    if (seen.has(img.sha256)) continue
    seen.add(img.sha256)
    byClass[img.label].push(img)
  }
  const picked: ProbeImage[] = []
  const fold: number[] = []
  byClass.forEach((members) => {
    shuffle(members, rand)
      .slice(0, perClass)
      .forEach((img, k) => {
        picked.push(img)
        fold.push(k % folds)
      })
  })
  return { images: picked, fold: Int32Array.from(fold), perClass: byClass.map((m) => Math.min(m.length, perClass)) }
}

// ---- The ridge classifier -----------------------------------------------------------------

/** Features standardized per dimension over the whole sample (no labels used), row-major n x d. */
async function standardize(vectors: Float32Array[], dim: number, tick: Tick): Promise<Float64Array> {
  const n = vectors.length
  const x = new Float64Array(n * dim)
  for (let j = 0; j < dim; j++) {
    if (j % 32 === 0) await tick()
    let mean = 0
    for (let i = 0; i < n; i++) mean += vectors[i][j]
    mean /= n
    let varSum = 0
    for (let i = 0; i < n; i++) varSum += (vectors[i][j] - mean) ** 2
    const sd = Math.sqrt(varSum / n)
    const scale = sd > 1e-8 ? 1 / sd : 0
    for (let i = 0; i < n; i++) x[i * dim + j] = (vectors[i][j] - mean) * scale
  }
  return x
}

class ProbeCancelled extends Error {}

/** The caller's progress listener threw: its own error, so it ends the probe instead of counting against a backbone. */
class ListenerFailed extends Error {
  constructor(readonly original: unknown) {
    super('the progress listener failed')
  }
}

/** A checkpoint for long loops: gives the event loop a turn (a cancel, the UI) every ~8 ms. */
export type Tick = () => Promise<void>

function ticker(signal?: AbortSignal, budgetMs = 8): Tick {
  let last = performance.now()
  return async () => {
    if (performance.now() - last < budgetMs) return
    await setImmediate()
    last = performance.now()
    if (signal?.aborted) throw new ProbeCancelled()
  }
}

/** K = X X^T / d (scaled so the ridge strength means the same for any feature width). */
async function gram(x: Float64Array, n: number, dim: number, tick: Tick): Promise<Float64Array> {
  const k = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    const a = i * dim
    for (let j = 0; j <= i; j++) {
      const b = j * dim
      let s = 0
      for (let t = 0; t < dim; t++) s += x[a + t] * x[b + t]
      k[i * n + j] = k[j * n + i] = s / dim
    }
    await tick()
  }
  return k
}

/** Solves A z = b for symmetric positive definite A (m x m) by Cholesky; b is m x c. */
export async function choleskySolve(a: Float64Array, m: number, b: Float64Array, c: number, tick: Tick = async () => {}): Promise<Float64Array> {
  const l = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    await tick()
    for (let j = 0; j <= i; j++) {
      let s = a[i * m + j]
      for (let t = 0; t < j; t++) s -= l[i * m + t] * l[j * m + t]
      if (i === j) {
        if (s <= 0) throw new Error('ridge system is not positive definite')
        l[i * m + i] = Math.sqrt(s)
      } else l[i * m + j] = s / l[j * m + j]
    }
  }
  const z = Float64Array.from(b)
  for (let col = 0; col < c; col++) {
    for (let i = 0; i < m; i++) {
      let s = z[i * c + col]
      for (let t = 0; t < i; t++) s -= l[i * m + t] * z[t * c + col]
      z[i * c + col] = s / l[i * m + i]
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = z[i * c + col]
      for (let t = i + 1; t < m; t++) s -= l[t * m + i] * z[t * c + col]
      z[i * c + col] = s / l[i * m + i]
    }
  }
  return z
}

/** Ridge strength on the scaled Gram matrix: about "one feature's worth" of shrinkage per sample. */
export const RIDGE_LAMBDA = 1

/** Out-of-fold predicted class of every sample image. */
async function crossValidate(k: Float64Array, n: number, labels: Int32Array, classes: number, fold: Int32Array, folds: number, lambda: number, tick: Tick): Promise<Int32Array> {
  const predicted = new Int32Array(n)
  for (let f = 0; f < folds; f++) {
    const train: number[] = []
    const test: number[] = []
    for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i)
    if (!test.length) continue
    const m = train.length
    // Targets one-hot, centred per class so the intercept needs no column of its own.
    const mean = new Float64Array(classes)
    for (const i of train) mean[labels[i]] += 1 / m
    const y = new Float64Array(m * classes)
    train.forEach((i, r) => {
      for (let c = 0; c < classes; c++) y[r * classes + c] = (labels[i] === c ? 1 : 0) - mean[c]
    })
    const a = new Float64Array(m * m)
    for (let r = 0; r < m; r++) {
      for (let s = 0; s < m; s++) a[r * m + s] = k[train[r] * n + train[s]]
      a[r * m + r] += lambda
    }
    const alpha = await choleskySolve(a, m, y, classes, tick)
    for (const i of test) {
      await tick()
      let best = 0
      let bestScore = -Infinity
      for (let c = 0; c < classes; c++) {
        let s = mean[c]
        for (let r = 0; r < m; r++) s += k[i * n + train[r]] * alpha[r * classes + c]
        if (s > bestScore) [best, bestScore] = [c, s]
      }
      predicted[i] = best
    }
  }
  return predicted
}

export function scores(labels: Int32Array, predicted: Int32Array, classes: number): { accuracy: number; balancedAccuracy: number } {
  const hit = new Array<number>(classes).fill(0)
  const count = new Array<number>(classes).fill(0)
  labels.forEach((l, i) => {
    count[l]++
    if (predicted[i] === l) hit[l]++
  })
  const present = count.map((c, i) => [c, i]).filter(([c]) => c > 0)
  return {
    accuracy: hit.reduce((a, b) => a + b, 0) / labels.length,
    balancedAccuracy: present.reduce((a, [c, i]) => a + hit[i] / c, 0) / present.length
  }
}

// ---- Probing ------------------------------------------------------------------------------

function rank(entries: ProbeEntry[]): ProbeEntry[] {
  const key = (e: ProbeEntry) => [e.balancedAccuracy ?? -1, e.accuracy ?? -1, -e.seconds]
  return [...entries].sort((p, q) => {
    const [a, b] = [key(p), key(q)]
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i] - a[i]
    return 0
  })
}

async function probeOne(id: string, index: number, count: number, sample: ReturnType<typeof stratifiedSample>, classes: number, folds: number, opts: ProbeOptions): Promise<ProbeEntry> {
  const started = performance.now()
  const backbone = getBackbone(id)
  const size = opts.sizes?.[id] ?? backbone.defaultSize
  const progress = (phase: ProbeProgress['phase'], done: number, total: number) => {
    try {
      opts.onProgress?.({ backbone: id, index, count, phase, done, total })
    } catch (err) {
      throw new ListenerFailed(err)
    }
  }
  const base = { backbone: id, name: backbone.name, size }
  try {
    if (backboneStatus(id) === 'needs download') {
      if (!opts.download) throw new Error(`${id} needs download; probe it with downloading allowed, or choose it once to fetch its weights`)
      await prepareBackbone(id, { signal: opts.signal, onProgress: (p) => progress('download', p.filesDone, p.filesTotal ?? p.filesDone + 1) })
    }
    const emb = await embedParallel(opts.cacheDir, sample.images, {
      backbone: id,
      size,
      signal: opts.signal,
      workers: opts.workers,
      onProgress: (done, total) => progress('embedding', done, total)
    })
    if (emb.cancelled || opts.signal?.aborted) throw new ProbeCancelled()
    const fitStart = performance.now()
    progress('fitting', 0, folds)
    const kept = sample.images.map((img, i) => ({ v: emb.vectors.get(img.sha256)?.[0], label: img.label, fold: sample.fold[i] })).filter((r) => r.v)
    const labels = Int32Array.from(kept, (r) => r.label)
    const tick = ticker(opts.signal)
    const k = await gram(await standardize(kept.map((r) => r.v!), emb.dim, tick), kept.length, emb.dim, tick)
    const predicted = await crossValidate(k, kept.length, labels, classes, Int32Array.from(kept, (r) => r.fold), folds, opts.lambda ?? RIDGE_LAMBDA, tick)
    progress('fitting', folds, folds)
    const fitSeconds = (performance.now() - fitStart) / 1000
    return { ...base, ...scores(labels, predicted, classes), seconds: (performance.now() - started) / 1000, fitSeconds, computed: emb.computed, cached: emb.cached }
  } catch (err) {
    if (err instanceof ListenerFailed) throw err.original
    if (err instanceof ProbeCancelled || opts.signal?.aborted) throw new ProbeCancelled()
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]
    return { ...base, accuracy: null, balancedAccuracy: null, seconds: (performance.now() - started) / 1000, fitSeconds: 0, computed: 0, cached: 0, error: message }
  }
}

/**
 * Linear-probes each backbone on the same stratified sample and ranks them. A backbone that
 * fails (weights missing, an unreadable image) is ranked last with its error; cancelling returns
 * what finished so far with `cancelled: true`. Embeddings land in the cache the real run reuses.
 */
export async function probeBackbones(images: ProbeImage[], classes: number, opts: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now()
  const seed = opts.seed ?? 1
  const asked = opts.samplePerClass ?? DEFAULT_PER_CLASS
  if (classes < 2) throw new Error(`a probe needs at least two classes (got ${classes})`)
  if (!Number.isInteger(asked) || asked < 2) throw new Error(`samplePerClass must be an integer of at least 2 (got ${asked})`)
  // A quick probe stays quick: many classes share the MAX_SAMPLE images.
  const perClassCap = Math.max(2, Math.min(asked, Math.floor(MAX_SAMPLE / classes)))
  const ids = opts.backbones ?? listBackbones(opts.projectDir ?? null).filter((b) => b.status === 'ready').map((b) => b.id)
  if (!ids.length) throw new Error('no backbone to probe')
  for (const id of ids) getBackbone(id) // unknown ids fail before any work
  const counts = new Array<number>(classes).fill(0)
  for (const img of images) {
    if (!Number.isInteger(img.label) || img.label < 0 || img.label >= classes) throw new Error(`image ${img.path} has label ${img.label}; expected a class index 0..${classes - 1}`)
    counts[img.label]++
  }
  const present = counts.filter((c) => c > 0)
  if (present.length < 2) throw new Error(`a probe needs labeled images in at least two classes (found ${present.length})`)
  // No more folds than the smallest sampled class has images, so every fold tests every class.
  const folds = Math.max(2, Math.min(opts.folds ?? 5, Math.min(...present.map((c) => Math.min(c, perClassCap)))))
  const sample = stratifiedSample(images, classes, perClassCap, folds, seed)
  const entries: ProbeEntry[] = []
  let cancelled = false
  for (const [index, id] of ids.entries()) {
    if (opts.signal?.aborted) {
      cancelled = true
      break
    }
    try {
      entries.push(await probeOne(id, index, ids.length, sample, classes, folds, opts))
    } catch (err) {
      if (!(err instanceof ProbeCancelled)) throw err
      cancelled = true
      break
    }
  }
  const ranking = rank(entries)
  return {
    ranking,
    best: ranking[0]?.balancedAccuracy != null ? ranking[0].backbone : null,
    sample: { images: sample.images.length, perClass: sample.perClass, folds, seed },
    method: `ridge classifier (lambda ${opts.lambda ?? RIDGE_LAMBDA} on the Gram matrix of standardized features / d), ${folds}-fold stratified cross-validation, up to ${perClassCap} images per class`,
    cancelled,
    seconds: (performance.now() - started) / 1000
  }
}

/** Keeps the probe with a run: <runDir>/probe.json. */
export function saveProbe(runDir: string, result: ProbeResult): string {
  mkdirSync(runDir, { recursive: true })
  const file = join(runDir, PROBE_FILE)
  writeFileSync(file, JSON.stringify(result, null, 2))
  return file
}

/** The probe kept with a run, null when the run had none; an unreadable file is an error naming it. */
export function loadProbe(runDir: string): ProbeResult | null {
  const file = join(runDir, PROBE_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null
    throw err
  }
  try {
    return JSON.parse(text) as ProbeResult
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message})`)
  }
}
