// Stage-2 figures on this machine (MobileNetV2 from nsfwjs):
//  1. training images/s with the top 25% unfrozen at 128 px: composed wasm gradients with the
//     whole backbone per batch, the same with cached boundary activations, and the cpu kernels
//     borrowed into wasm (what tfjs offers without ours; tiny batch, minutes a step);
//  2. stage-1 epoch time on 10,000 cached embeddings;
//  3. embedding images/s with 1 and 2 worker threads;
//  4. on a demo project: validation accuracy of head-only vs staged vs full fine-tuning with the
//     same stage-2 time budget, and of a studio-only model on webcam images;
//  peak RSS and the main thread's event-loop delay p99 while runs train in their worker.
// Run: node bin/run-ts.mjs bench/stage2.ts [--quick] [--no-borrowed] [--no-demo | --demo-only] [--images N] [--budget S]
// Writes bench/results/stage2.json (--demo-only: only part 4, to bench/results/stage2-demo.json). Never fails: errors are reported in the table.
import { loadavg } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { importDemo } from '../src/main/dataset/demo-import'
import { createProject } from '../src/main/project/project'
import { DEFAULT_AUGMENT } from '../src/main/training/augment'
import { initBackend } from '../src/main/training/backend'
import { getBackbone, loadFeatureExtractor } from '../src/main/training/backbones'
import { embedParallel } from '../src/main/training/embeddings'
import { buildHead, DEFAULT_HEAD, stage1BatchSize } from '../src/main/training/head'
import { runTraining, type RunOutcome } from '../src/main/training/runner'
import { trainStage1, type EmbeddedSet } from '../src/main/training/stage1'
import { bottomModel, cachedSource, chooseCut, fullSource, trainStage2, type BoundarySource, type Cut } from '../src/main/training/stage2'
import { mulberry32 } from '../src/main/util/random'
import { EMOTION7 } from '../src/shared/presets'
import { useKernels, type Mode } from './borrow-kernels'
import { peakRssMiB, table, writeResult } from './common'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(`--${name}`)
const value = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback)
const quick = flag('quick')
const demoImages = value('images', quick ? 420 : 1500)
const budgetS = value('budget', quick ? 60 : 300)
const tmp = () => mkdtempSync(join(tmpdir(), 'bench-stage2-'))

type Row = Record<string, unknown>

function randomActivations(cut: Cut, n: number, views: number, seed: number): Float32Array[][] {
  const random = mulberry32(seed)
  const per = cut.shape.reduce((a, b) => a * b, 1)
  return Array.from({ length: n }, () => Array.from({ length: views }, () => Float32Array.from({ length: per }, () => random() * 3)))
}

/** Images/s of stage-2 training steps (the second epoch when there are two: the first warms XNNPACK up). */
async function stepRate(mode: Mode, path: 'cached' | 'full', size: number, batch: number, steps: number, epochs: number): Promise<Row> {
  useKernels(mode)
  const backbone = getBackbone('mobilenetv2-nsfwjs')
  const extractor = await loadFeatureExtractor(backbone.id, size)
  const model = extractor.model!
  try {
    const cut = chooseCut(model, backbone, 0.25)
    const n = batch * steps
    const labels = Int32Array.from({ length: n }, (_, i) => i % 7)
    const val = { views: [] as Float32Array[][] }
    let source: BoundarySource
    if (path === 'cached') source = cachedSource(cut, { views: randomActivations(cut, n, 1, 1) }, val)
    else {
      const random = mulberry32(2)
      const images = Array.from({ length: n }, () => Float32Array.from({ length: size * size * 3 }, () => random()))
      source = fullSource(bottomModel(model, cut), { size, normalization: 'zero1', load: async (i) => images[i] }, n, DEFAULT_AUGMENT, val, cut)
    }
    const head = buildHead(1280, 7, { hidden: 256, dropout: 0.5, seed: 1 })
    const r = await trainStage2(cut, head, source, labels, new Int32Array(0), 7, new Array(7).fill(1),
      { fraction: 0.25, learningRate: 1e-4, epochs, batchSize: batch, minBatchSize: 2, patience: 99, seed: 1, augment: DEFAULT_AUGMENT }, { valLoss: null })
    head.dispose()
    const last = r.history[r.history.length - 1]
    return { kernels: mode, path, size, batch: r.batchSize, boundary: cut.boundary, unfrozenLayers: `${Math.round(cut.fraction * 100)}%`, images: n, imagesPerSecond: +last.imagesPerSecond.toFixed(2) }
  } finally {
    extractor.dispose()
    useKernels('composed')
  }
}

async function stage1Epoch(): Promise<Row> {
  const n = 10_000
  const dim = 1280
  const random = mulberry32(3)
  const centres = Array.from({ length: 7 }, () => Float32Array.from({ length: dim }, () => random()))
  const labels = Int32Array.from({ length: n }, (_, i) => i % 7)
  const set: EmbeddedSet = { dim, labels, views: Array.from(labels, (l) => [Float32Array.from(centres[l], (c) => c + random())]) }
  const batchSize = stage1BatchSize(n)
  const row: Row = { embeddings: n, dim, head: 'Dense 256 + Dropout + softmax', batch: batchSize }
  // One thread and two (the studio's default at this size), epochs 2-4 of each (the first warms up).
  for (const threads of [1, 2]) {
    const r = await trainStage1(set, null, 7, new Array(7).fill(1), { ...DEFAULT_HEAD, batchSize, epochs: 4, patience: 99 }, { threads })
    r.model.dispose()
    const ms = r.history.slice(1).map((h) => h.ms).sort((a, b) => a - b)
    row[`threads${threads}`] = r.threads
    row[`epochMs${threads}`] = Math.round(ms[1]) // median of 3
    row[`epochMsMin${threads}`] = Math.round(ms[0])
  }
  row.epochMs = row.epochMs2
  return row
}

async function embeddingRates(images: number): Promise<Row[]> {
  const dir = join(tmp(), 'p')
  const p = createProject(dir, { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 9 })
  const rows = p.db.prepare('SELECT sha256, stored_path AS stored FROM images').all() as { sha256: string; stored: string }[]
  p.close()
  const requests = rows.map((r) => ({ sha256: r.sha256, path: join(dir, r.stored) }))
  const out: Row[] = []
  for (const workers of [1, 2]) {
    const started = performance.now()
    const r = await embedParallel(tmp(), requests, { backbone: 'mobilenetv2-nsfwjs', size: 128, views: ['orig'], workers, useCallingThread: true })
    const wall = (performance.now() - started) / 1000
    out.push({ workers, images: r.computed, computeImagesPerSecond: +r.imagesPerSecond.toFixed(1), wallImagesPerSecond: +(r.computed / wall).toFixed(1) })
  }
  return out
}

async function demoAccuracy(): Promise<Row[]> {
  const dir = join(tmp(), 'demo')
  const p = createProject(dir, { classes: [...EMOTION7] })
  await importDemo(p, { images: demoImages, seed: 3 })
  const rows: Row[] = []
  const size = quick ? 96 : 128
  const base = { backbone: 'mobilenetv2-nsfwjs', size, seed: 3 }
  const budget = { maxMs: budgetS * 1000, epochs: 200, patience: 4 }
  const record = (name: string, o: RunOutcome) => {
    const s = o.summary
    const webcam = s?.perEnvironment.find((e) => e.environment === 'webcam')
    rows.push({
      run: name, status: o.status, valAccuracy: s?.valAccuracy ?? null, stage1Only: s?.stage2?.stage1ValAccuracy ?? s?.valAccuracy ?? null,
      webcamAccuracy: webcam?.accuracy ?? null, stage2Path: s?.stage2?.path ?? '-', unfrozen: s?.stage2 ? `${Math.round(s.stage2.fraction * 100)}% (${s.stage2.boundary})` : 'none',
      seconds: s ? +(s.durationMs / 1000).toFixed(0) : null, eventLoopP99Ms: o.eventLoopDelayP99Ms === undefined ? null : +o.eventLoopDelayP99Ms.toFixed(1), error: o.error
    })
    console.log(JSON.stringify(rows[rows.length - 1]))
  }
  try {
    record('head only', await runTraining(p, { ...base, stage2: { enabled: false } }))
    record('staged (top 25%)', await runTraining(p, { ...base, stage2: { fraction: 0.25, ...budget } }))
    record('full fine-tuning', await runTraining(p, { ...base, stage2: { fraction: 1, ...budget } }))
    record('studio-only, validated on webcam', await runTraining(p, { ...base, split: { kind: 'environment', validationEnvironments: ['webcam'] }, stage2: { fraction: 0.25, ...budget } }))
  } finally {
    p.close()
  }
  return rows
}

async function attempt<T>(label: string, fn: () => Promise<T>): Promise<T | Row> {
  try {
    return await fn()
  } catch (e) {
    console.error(`${label}: ${e instanceof Error ? e.stack : String(e)}`)
    return { error: e instanceof Error ? e.message : String(e) }
  }
}

/** Part 4 alone: the long comparison, kept in a file of its own so the quick figures can be redone apart. */
async function demoOnly(): Promise<void> {
  const load: { before: number; after?: number } = { before: loadavg()[0] }
  const backend = await initBackend(['wasm'])
  const started = performance.now()
  const demo = await attempt('demo', demoAccuracy)
  load.after = loadavg()[0]
  const rows = Array.isArray(demo) ? demo : [demo]
  const md =
    `Demo project (${demoImages} images, seed 3, ${quick ? 96 : 128} px, MobileNetV2 from nsfwjs), stage 2 budget ${budgetS} s each:\n\n` +
    table(
      ['run', 'status', 'val acc', 'stage 1 alone', 'webcam acc', 'stage-2 path', 'unfrozen', 's', 'event-loop p99 ms'],
      rows.map((d) => [String(d.run), String(d.status ?? d.error), pct(d.valAccuracy), pct(d.stage1Only), pct(d.webcamAccuracy), String(d.stage2Path), String(d.unfrozen), String(d.seconds), String(d.eventLoopP99Ms)])
    ) +
    `\n\n${((performance.now() - started) / 60000).toFixed(0)} min in all; peak RSS ${peakRssMiB().toFixed(0)} MiB; load average ${load.before.toFixed(1)} before, ${(load.after ?? 0).toFixed(1)} after (2 cores).`
  writeResult('stage2-demo', { quick, images: demoImages, budgetS, backend, load, demo: rows, peakRssMiB: peakRssMiB() }, md)
}

async function main(): Promise<void> {
  if (flag('demo-only')) return demoOnly()
  const load: { before: number; after?: number } = { before: loadavg()[0] }
  const backend = await initBackend(['wasm'])
  console.log(`backend ${backend.name}, simd ${backend.simd}, load ${load.before.toFixed(2)}`)
  const steps: Row[] = []
  for (const [mode, path, batch, n, epochs] of [
    ['composed', 'cached', 32, quick ? 4 : 8, 2],
    ['composed', 'full', 32, quick ? 2 : 4, 2],
    ...(flag('no-borrowed') ? [] : [['borrowed', 'full', 2, 1, 1]])
  ] as [Mode, 'cached' | 'full', number, number, number][]) {
    const r = await attempt('step', () => stepRate(mode, path, 128, batch, n, epochs))
    steps.push({ kernels: mode, path, ...r })
    console.log(JSON.stringify(steps[steps.length - 1]))
  }
  const s1 = (await attempt('stage 1', stage1Epoch)) as Row
  console.log(JSON.stringify(s1))
  const emb = await attempt('embedding', () => embeddingRates(quick ? 96 : 256))
  console.log(JSON.stringify(emb))
  const demo = flag('no-demo') ? [] : await attempt('demo', demoAccuracy)
  load.after = loadavg()[0]
  const rate = (k: string, p: string) => steps.find((s) => s.kernels === k && s.path === p)?.imagesPerSecond as number | undefined
  const borrowed = rate('borrowed', 'full')
  const ratio = (x?: number) => (x && borrowed ? `${(x / borrowed).toFixed(0)}x` : '-')
  let md = 'Stage-2 training, MobileNetV2 (nsfwjs) at 128 px, top 25% unfrozen:\n\n' + table(
    ['kernels', 'path', 'batch', 'boundary', 'images', 'images/s', 'vs borrowed'],
    steps.map((s) => [String(s.kernels), String(s.path), String(s.batch ?? '-'), String(s.boundary ?? '-'), String(s.images ?? '-'), String(s.imagesPerSecond ?? s.error), ratio(s.imagesPerSecond as number)])
  )
  md += `\n\nStage 1 on 10,000 cached embeddings (batch ${s1.batch}): ${s1.epochMs2 ?? s1.error} ms per epoch on two threads, ${s1.epochMs1 ?? '-'} ms on one (medians of epochs 2-4; target <= 1000).\n\n`
  md += table(['embedding workers', 'images', 'compute images/s', 'wall images/s'], (Array.isArray(emb) ? emb : [emb]).map((e) => [String(e.workers ?? '-'), String(e.images ?? '-'), String(e.computeImagesPerSecond ?? e.error), String(e.wallImagesPerSecond ?? '-')]))
  if (Array.isArray(demo) && demo.length) {
    md += `\n\nDemo project (${demoImages} images, seed 3, ${quick ? 96 : 128} px), stage 2 budget ${budgetS} s:\n\n` + table(
      ['run', 'status', 'val acc', 'stage 1 alone', 'webcam acc', 'stage-2 path', 'unfrozen', 's', 'event-loop p99 ms'],
      demo.map((d) => [String(d.run), String(d.status), pct(d.valAccuracy), pct(d.stage1Only), pct(d.webcamAccuracy), String(d.stage2Path), String(d.unfrozen), String(d.seconds), String(d.eventLoopP99Ms)])
    )
  }
  md += `\n\npeak RSS ${peakRssMiB().toFixed(0)} MiB; load average ${load.before.toFixed(1)} before, ${(load.after ?? 0).toFixed(1)} after (2 cores).`
  writeResult('stage2', { quick, backend, load, steps, stage1: s1, embedding: emb, demo, peakRssMiB: peakRssMiB() }, md)
}

function pct(v: unknown): string {
  return typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '-'
}

main().catch((e) => {
  console.error(`stage2 bench: ${e instanceof Error ? e.stack : String(e)}`)
  process.exitCode = 0
})
