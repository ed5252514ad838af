// Label-noise flags: how well "likely mislabeled" (K-fold out-of-fold probabilities + confident
// learning) finds the labels the demo generator made wrong, beside a plain baseline (the k images
// with the lowest self-confidence, k = the true number of wrong labels), and how long flagging
// 10,000 images x 5 folds takes on cached embeddings (synthetic 1,280-d vectors, as MobileNetV2's).
// Run: node bin/run-ts.mjs bench/flags.ts [images per dataset] [backbone,backbone...] [demo seed, default 11]
//      (seeds 21 and 22 were used to choose the defaults; 11 is the reported one)
//      node bin/run-ts.mjs bench/flags.ts timing     (only the 10,000-image timing, 3 runs)
// Prints a markdown table and writes bench/results/flags.json. Never fails: errors are reported.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { confidentLearning, lowestQuality, selfConfidence, type FilterBy, type RankBy } from '../src/main/analysis/flags/confident-learning'
import { outOfFoldProbs } from '../src/main/analysis/flags/folds'
import { DEFAULT_FLAGGING, meanOfViews, runFlagging } from '../src/main/analysis/flags/run'
import { standardize } from '../src/main/analysis/flags/softmax'
import { listFlags } from '../src/main/analysis/flags/store'
import { importDemo, DEMO_TRUTH_FILE } from '../src/main/dataset/demo-import'
import type { NoiseKind } from '../src/main/dataset/demo/generator'
import { createProject, type Project } from '../src/main/project/project'
import { getBackbone } from '../src/main/training/backbones'
import { CACHE_FILE, embed } from '../src/main/training/embeddings'
import { gatherImages } from '../src/main/training/runner'
import { mulberry32 } from '../src/main/util/random'
import { table, writeResult } from './common'

const timingOnly = process.argv[2] === 'timing'
const images = timingOnly ? 0 : Number(process.argv[2] ?? 1000)
const backbones = (process.argv[3] ?? 'mobilenetv2-nsfwjs,face-expression-faceapi').split(',').map((id) => getBackbone(id.trim()))
type Backbone = (typeof backbones)[number]
const demoSeed = Number(process.argv[4] ?? 11)
const cases: { noise: number; kind: NoiseKind }[] = [
  { noise: 0.1, kind: 'symmetric' },
  { noise: 0.2, kind: 'symmetric' },
  { noise: 0.1, kind: 'class-conditional' },
  { noise: 0.2, kind: 'class-conditional' }
]

interface Scores {
  flagged: number
  precision: number
  recall: number
  f1: number
}

function scores(flagged: Set<number>, noisy: Set<number>): Scores {
  const hits = [...flagged].filter((i) => noisy.has(i)).length
  const precision = flagged.size ? hits / flagged.size : 0
  const recall = noisy.size ? hits / noisy.size : 0
  return { flagged: flagged.size, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 }
}

/** Image ids whose given label is wrong, from demo-truth.csv. */
function trueNoise(p: Project): Set<number> {
  const files = readFileSync(join(p.dir, DEMO_TRUTH_FILE), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0])
  const byName = p.db.prepare('SELECT id FROM images WHERE file_name = ?').pluck()
  return new Set(files.map((f) => byName.get(f) as number))
}

/** The other issue filters, scored on the same out-of-fold probabilities as the baseline. */
const ALTERNATIVES: { name: string; filterBy: FilterBy; rankBy: RankBy; countScale?: number }[] = [
  { name: 'prune_by_noise_rate (paper; default before)', filterBy: 'prune_by_noise_rate', rankBy: 'self_confidence' },
  { name: 'both', filterBy: 'both', rankBy: 'self_confidence' },
  { name: 'confident_learning', filterBy: 'confident_learning', rankBy: 'self_confidence' },
  { name: 'predicted_neq_given', filterBy: 'predicted_neq_given', rankBy: 'self_confidence' },
  { name: 'lowest margin x1', filterBy: 'lowest_quality', rankBy: 'normalized_margin', countScale: 1 },
  { name: 'lowest conf+margin x1', filterBy: 'lowest_quality', rankBy: 'confidence_and_margin', countScale: 1 }
]

/**
 * Recomputes the out-of-fold probabilities runFlagging used (same features, folds, seed and head)
 * and returns the baseline (the k least self-confident images) and the alternative filters' sets.
 */
async function onSameProbs(p: Project, k: number, backbone: Backbone): Promise<{ baseline: Set<number>; alternatives: Record<string, Set<number>> }> {
  const rows = gatherImages(p).rows
  const cached = new AbortController()
  cached.abort()
  const emb = await embed(
    p.path('cache'),
    rows.map((r) => ({ sha256: r.sha256, path: join(p.dir, r.stored!) })),
    { backbone: backbone.id, size: backbone.defaultSize, views: DEFAULT_FLAGGING.flip ? ['orig', 'flip'] : ['orig'], signal: cached.signal }
  )
  const classIds = [...new Set(rows.map((r) => r.classId))].sort((a, b) => a - b)
  const labels = Int32Array.from(rows, (r) => classIds.indexOf(r.classId))
  const d = emb.dim
  const data = new Float32Array(rows.length * d)
  rows.forEach((r, i) => data.set(meanOfViews(emb.vectors.get(r.sha256)! as Float32Array[]), i * d))
  const x = { data, n: rows.length, d }
  standardize(x)
  // Same folds, seed and head as runFlagging's defaults, so the probabilities are the same ones.
  const oof = await outOfFoldProbs(x, labels, classIds.length, { folds: 5, seed: 1 })
  const probs = { data: oof.probs, n: rows.length, m: classIds.length }
  const ids = (mask: Uint8Array) => new Set([...mask.keys()].filter((i) => mask[i]).map((i) => rows[i].id))
  const alternatives = Object.fromEntries(ALTERNATIVES.map((a) => [a.name, ids(confidentLearning(probs, labels, a.rankBy, a).issues)]))
  return { baseline: ids(lowestQuality(selfConfidence(probs, labels), k)), alternatives }
}

async function oneCase(c: (typeof cases)[number], backbone: Backbone, sharedCache: string | null): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'ff-bench-flags-'))
  const p = createProject(join(dir, 'p'))
  try {
    await importDemo(p, { images, seed: demoSeed, labelNoise: c.noise, noiseKind: c.kind, imbalance: 2 })
    // The same seed draws the same faces: reuse embeddings computed for an earlier case.
    if (sharedCache && existsSync(sharedCache)) copyFileSync(sharedCache, p.path('cache', CACHE_FILE))
    const noisy = trueNoise(p)
    const started = performance.now()
    const report = await runFlagging(p, { types: ['mislabeled'], backbone: backbone.id })
    const seconds = (performance.now() - started) / 1000
    const queue = listFlags(p.db, { types: ['mislabeled'] }).map((f) => f.imageId)
    const cl = scores(new Set(queue), noisy)
    // What a reviewer meets first: the queue's top k (k = the true number of wrong labels).
    const topK = scores(new Set(queue.slice(0, noisy.size)), noisy)
    const same = await onSameProbs(p, noisy.size, backbone)
    const base = scores(same.baseline, noisy)
    const alternatives = Object.fromEntries(Object.entries(same.alternatives).map(([name, set]) => [name, scores(set, noisy)]))
    const estimated = (p.db.prepare("SELECT json_extract(stats, '$.noise.estimatedNoisy') FROM flag_runs WHERE type = 'mislabeled' ORDER BY id DESC LIMIT 1").pluck().get() as number) ?? null
    if (!sharedCache) copyFileSync(p.path('cache', CACHE_FILE), join(tmpdir(), `ff-bench-flags-cache-${backbone.id}.sqlite`))
    return { backbone: backbone.id, noise: c.noise, kind: c.kind, images, noisy: noisy.size, estimated, cl, queueTopK: topK, baseline: base, alternatives, seconds, warnings: report.warnings }
  } finally {
    p.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** 10,000 synthetic 1,280-d "embeddings" in 7 clusters with 10% flipped labels: standardise, 5 folds, confident learning. */
async function timing(): Promise<{ seconds: number; n: number; d: number; folds: number; maxEventLoopDelayMs: number; p99EventLoopDelayMs: number }> {
  const n = 10_000
  const d = 1280
  const m = 7
  const rand = mulberry32(9)
  const centres = Array.from({ length: m }, () => Float32Array.from({ length: d }, () => rand() - 0.5))
  const data = new Float32Array(n * d)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = i % m
    labels[i] = rand() < 0.1 ? Math.floor(rand() * m) : c
    for (let k = 0; k < d; k++) data[i * d + k] = Math.max(0, centres[c][k] + (rand() - 0.5) * 2)
  }
  // How long the event loop is held at a time: what a window would feel while flagging runs.
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const started = performance.now()
  const x = { data, n, d }
  standardize(x)
  const oof = await outOfFoldProbs(x, labels, m, { folds: 5 })
  confidentLearning({ data: oof.probs, n, m }, labels)
  const seconds = (performance.now() - started) / 1000
  lag.disable()
  return { seconds, n, d, folds: oof.folds, maxEventLoopDelayMs: lag.max / 1e6, p99EventLoopDelayMs: lag.percentile(99) / 1e6 }
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' / ')

/** The timing alone, three times: the median is what a loaded machine cannot inflate much. */
async function timingRuns(): Promise<void> {
  const before = load()
  const all: Awaited<ReturnType<typeof timing>>[] = []
  for (let i = 0; i < 3; i++) all.push(await timing())
  const runs = all.map((r) => r.seconds)
  const sorted = [...runs].sort((a, b) => a - b)
  const maxLag = Math.max(...all.map((r) => r.maxEventLoopDelayMs))
  const md = table(
    ['case', 'runs (s)', 'median (s)', 'budget (s)', 'longest event-loop stall (ms)', 'p99 stall (ms)'],
    [['10,000 x 1,280-d, 5 folds', runs.map((r) => r.toFixed(1)).join(', '), sorted[1].toFixed(1), 20, maxLag.toFixed(0), Math.max(...all.map((r) => r.p99EventLoopDelayMs)).toFixed(0)]]
  )
  writeResult('flags-timing', { runs: all, median: sorted[1], loadBefore: before, loadAfter: load() }, md + `\n\nload average before: ${before}, after: ${load()}`)
}

async function main(): Promise<void> {
  if (timingOnly) return timingRuns()
  const loadBefore = load()
  const results: Record<string, unknown>[] = []
  for (const backbone of backbones) {
    let shared: string | null = null
    for (const c of cases) {
      try {
        results.push(await oneCase(c, backbone, shared))
        shared = join(tmpdir(), `ff-bench-flags-cache-${backbone.id}.sqlite`)
      } catch (err) {
        results.push({ backbone: backbone.id, noise: c.noise, kind: c.kind, error: (err as Error).message })
      }
    }
    if (shared) rmSync(shared, { force: true })
  }
  let speed: Awaited<ReturnType<typeof timing>> | { error: string }
  try {
    speed = await timing()
  } catch (err) {
    speed = { error: (err as Error).message }
  }
  const f = (x: number) => x.toFixed(3)
  const rows = results.map((r) => {
    if ('error' in r) return [String(r.backbone), `${r.noise} ${r.kind}`, String(r.error), '', '', '', '', '', '', '']
    const cl = r.cl as Scores
    const b = r.baseline as Scores
    const top = r.queueTopK as Scores
    return [String(r.backbone), `${(r.noise as number) * 100}% ${r.kind}`, `${r.noisy} / ${r.estimated}`, cl.flagged, f(cl.precision), f(cl.recall), f(cl.f1), `${f(b.precision)} / ${f(b.recall)} / ${f(b.f1)}`, f(top.precision), (r.seconds as number).toFixed(1)]
  })
  const md =
    `Likely mislabeled vs the demo's true noise (${images} images per dataset, 5 folds, demo seed ${demoSeed}, features averaged over the image and its mirror image)\n\n` +
    table(['features', 'noise', 'wrong labels: true / estimated', 'CL flagged', 'CL precision', 'CL recall', 'CL F1', 'baseline (k lowest self-confidence) P / R / F1', 'CL queue top-k precision', 'flagging s'], rows) +
    `\n\nFlagging 10,000 x 1,280-d cached embeddings, 5 folds (standardise + out-of-fold softmax + confident learning): ` +
    ('error' in speed ? `failed: ${speed.error}` : `${speed.seconds.toFixed(1)} s (budget 20 s)`) +
    `\n\nF1 (flagged) of the other issue filters on the same out-of-fold probabilities; default: ${DEFAULT_FLAGGING.filterBy} x${DEFAULT_FLAGGING.countScale} by ${DEFAULT_FLAGGING.rankBy}, the "CL F1" column\n\n` +
    table(
      ['features', 'noise', 'baseline', 'default (CL F1)', ...ALTERNATIVES.map((a) => a.name)],
      results.filter((r) => !('error' in r)).map((r) => {
        const alt = r.alternatives as Record<string, Scores>
        return [String(r.backbone), `${(r.noise as number) * 100}% ${r.kind}`, f((r.baseline as Scores).f1), f((r.cl as Scores).f1), ...ALTERNATIVES.map((a) => `${f(alt[a.name].f1)} (${alt[a.name].flagged})`)]
      })
    )
  writeResult('flags', { backbones: backbones.map((b) => b.id), images, demoSeed, defaults: DEFAULT_FLAGGING, results, timing10k: speed, loadBefore, loadAfter: load() }, md + `\n\nload average before: ${loadBefore}, after: ${load()}`)
}

main().catch((err) => {
  console.error(`bench/flags failed: ${(err as Error).message}`)
})
