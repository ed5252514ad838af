// Embedding throughput: camera-sized JPEGs (640x480) through nsfwjs's MobileNetV2 at 128 px,
// batch 32, into an empty cache: in this thread, and split over worker threads (wasm runs one
// thread per tfjs instance in Node, so two cores need two instances); the raw-pixels baseline
// for comparison. "wall" is the whole call (worker start-up, model loading and the first, slower
// batch included); "computing" is the rate once the model is loaded, summed over workers.
// --flip embeds each image's orig and flip views, as a training run does (one decode, two forward
// passes); --skip-workers leaves out the "N worker threads" case (flagging's and the probe's way);
// --demo embeds the demo dataset's faces (112 px PNGs, `studio demo --seed 3`) instead of photos.
// The training-run case's CPU per image (all threads) gives the most the cores could do; the
// table says how close it came, and that ceiling's ratio to one thread.
// Run: node bin/run-ts.mjs bench/embeddings.ts [N] [runs] [--flip] [--skip-workers] [--demo]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { importDemo } from '../src/main/dataset/demo-import'
import { createProject, openProject } from '../src/main/project/project'
import { initBackend } from '../src/main/training/backend'
import { EMOTION7 } from '../src/shared/presets'
import { preprocessSpecFor } from '../src/main/training/backbones'
import { loadPixels } from '../src/main/training/preprocess'
import { startEmbedWorker, type EmbedWorker } from '../src/main/training/embed-workers'
import { embed, embedParallel, type EmbeddingOptions, type EmbeddingRequest, type EmbeddingResult, type View } from '../src/main/training/embeddings'
import { median, peakRssMiB, table, writeResult } from './common'

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'))
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const N = Number(positional[0] ?? 512)
const RUNS = Number(positional[1] ?? 3)
const VIEWS: View[] = flags.includes('--flip') ? ['orig', 'flip'] : ['orig']
const SKIP_WORKERS = flags.includes('--skip-workers')
const DEMO = flags.includes('--demo')
const SRC = join(tmpdir(), DEMO ? `ff-bench-embed-demo-${N}` : `ff-bench-embed-photos-${N}`)
const SOURCE = DEMO ? 'demo faces (112 px PNG)' : 'JPEGs (640x480)'

/** The demo dataset's own images, as `studio demo <dir> --images N --seed 3` makes them. */
async function makeDemo(): Promise<EmbeddingRequest[]> {
  if (!existsSync(join(SRC, 'studio.sqlite'))) {
    rmSync(SRC, { recursive: true, force: true })
    const p = createProject(SRC, { classes: [...EMOTION7] })
    await importDemo(p, { images: N, seed: 3 })
    p.close()
  }
  const p = openProject(SRC)
  try {
    const rows = p.db.prepare('SELECT sha256, stored_path AS stored FROM images ORDER BY id').all() as { sha256: string; stored: string }[]
    return rows.map((r) => ({ sha256: r.sha256, path: join(SRC, r.stored) }))
  } finally {
    p.close()
  }
}

/** Smooth gradients, a disc and sensor noise: JPEG decode then costs what a photo's does. */
async function makePhotos(): Promise<EmbeddingRequest[]> {
  if (!existsSync(SRC) || readdirSync(SRC).length < N) {
    rmSync(SRC, { recursive: true, force: true })
    mkdirSync(SRC, { recursive: true })
    const w = 640
    const h = 480
    let state = 99
    const rand = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32
    for (let i = 0; i < N; i++) {
      const raw = Buffer.alloc(w * h * 3)
      const [cx, cy, r] = [rand() * w, rand() * h, 50 + rand() * 150]
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * 3
          const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
          const noise = (rand() - 0.5) * 24
          raw[o] = Math.max(0, Math.min(255, (inside ? 210 : (x * 255) / w) + noise))
          raw[o + 1] = Math.max(0, Math.min(255, (inside ? 140 : (y * 255) / h) + noise))
          raw[o + 2] = Math.max(0, Math.min(255, ((i * 11) % 255) + noise))
        }
      writeFileSync(join(SRC, `p${i}.jpg`), await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer())
    }
  }
  return Array.from({ length: N }, (_, i) => {
    const path = join(SRC, `p${i}.jpg`)
    return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }
  })
}

type Run = (cacheDir: string, images: EmbeddingRequest[], opts: EmbeddingOptions, ahead: EmbedWorker[]) => Promise<EmbeddingResult>

interface Case {
  label: string
  backbone: string
  size: number
  workers: number
  run: Run
  /** Pin the whole process (every thread, libuv's decoders included) to these CPUs for the run. */
  pin?: string
  /**
   * Workers started before the clock starts, and awaited: a training run starts them with its
   * training worker, whose own start-up (~1 s from source) they run beside (runner.ts).
   */
  ahead?: number
}

/** Sets the CPU affinity of every thread of this process (Linux taskset); false where it cannot. */
function pinTo(cpus: string): boolean {
  return spawnSync('taskset', ['-a', '-c', '-p', cpus, String(process.pid)], { stdio: 'ignore' }).status === 0
}

/** CPU time all processes spent busy so far, in seconds (Linux); null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    return (user + nice + system + irq + softirq) / 100
  } catch {
    return null
  }
}

interface Sample {
  wall: number
  compute: number
  /** Cores' worth of CPU other processes used meanwhile: on a shared machine, what skewed this run. */
  others: number | null
  /** This process's CPU (every thread: backbones, decoders, workers) per image, in ms. */
  cpuMs: number
}

async function once(c: Case, images: EmbeddingRequest[]): Promise<Sample> {
  const cacheDir = join(tmpdir(), `ff-bench-embed-cache-${process.pid}`)
  rmSync(cacheDir, { recursive: true, force: true })
  if (c.pin && !pinTo(c.pin)) throw new Error(`${c.label}: taskset could not pin the process to CPU ${c.pin}`)
  const busy0 = machineBusySeconds()
  const opts = { backbone: c.backbone, size: c.size, batchSize: 32, views: VIEWS }
  const ahead = Array.from({ length: c.ahead ?? 0 }, () => startEmbedWorker(cacheDir, opts)!)
  await Promise.all(ahead.map((w) => w.ready))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const r = await c.run(cacheDir, images, opts, ahead).finally(() => {
    // all CPUs by count: availableParallelism() follows the affinity, and says 1 while pinned
    if (c.pin) pinTo(`0-${cpus().length - 1}`)
  })
  const s = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const busy1 = machineBusySeconds()
  rmSync(cacheDir, { recursive: true, force: true })
  if (r.computed !== images.length * VIEWS.length) throw new Error(`${c.label}: computed ${r.computed} of ${images.length * VIEWS.length} image views`)
  const others = busy0 === null || busy1 === null ? null : Math.max(0, busy1 - busy0 - (cpu.user + cpu.system) / 1e6) / s
  console.log(
    `${c.label}: ${s.toFixed(2)} s, ${(images.length / s).toFixed(1)} images/s (${(r.imagesPerSecond / VIEWS.length).toFixed(1)} computing), ` +
      `other processes ${others === null ? '?' : others.toFixed(2)} cores`
  )
  return { wall: images.length / s, compute: r.imagesPerSecond / VIEWS.length, others, cpuMs: (cpu.user + cpu.system) / 1000 / images.length }
}

/**
 * Decode CPU per image (loadPixels, one at a time here) beside the backbone's time per image (from
 * the one-thread computing rate): one thread decodes on libuv's threads, on the core its backbone
 * leaves idle, while two busy threads must fit decoding into the same two cores.
 */
async function decodeCost(images: EmbeddingRequest[], singleComputeRate: number): Promise<{ decodeMs: number; computeMs: number }> {
  const spec = preprocessSpecFor('mobilenetv2-nsfwjs', 128, 'crop')
  const sample = images.slice(0, 200)
  const times: number[] = []
  for (let pass = 0; pass < 3; pass++) {
    const cpu0 = process.cpuUsage()
    for (const img of sample) await loadPixels(img.path, spec)
    const cpu = process.cpuUsage(cpu0)
    times.push((cpu.user + cpu.system) / 1000 / sample.length)
  }
  return { decodeMs: median(times), computeMs: 1000 / singleComputeRate }
}

async function main(): Promise<void> {
  // Other processes on the machine skew every figure here: say how busy it was.
  const loadBefore = loadavg()[0]
  const backend = await initBackend()
  console.log(`backend ${backend.name} (simd ${backend.simd}); preparing ${N} ${SOURCE} in ${SRC} ...`)
  const images = DEMO ? await makeDemo() : await makePhotos()
  const cores = availableParallelism()
  const every: Case[] = [
    // One tfjs thread, with JPEG decoding on libuv's threads free to use the other core.
    { label: 'MobileNetV2 (nsfwjs), 1 thread', backbone: 'mobilenetv2-nsfwjs', size: 128, workers: 1, run: embed },
    // The same pinned to one core: decoding and inference share it, the figure "using both cores" is measured against.
    { label: 'MobileNetV2 (nsfwjs), 1 thread on one core', backbone: 'mobilenetv2-nsfwjs', size: 128, workers: 1, run: embed, pin: '0' },
    {
      label: `MobileNetV2 (nsfwjs), ${cores} worker threads`,
      backbone: 'mobilenetv2-nsfwjs',
      size: 128,
      workers: cores,
      run: (dir, imgs, opts) => embedParallel(dir, imgs, { ...opts, workers: cores })
    },
    {
      // What a training run does: its own thread computes beside workers started with the run.
      label: `MobileNetV2 (nsfwjs), this thread + ${cores - 1} worker${cores > 2 ? 's' : ''} started with the run (training runs)`,
      backbone: 'mobilenetv2-nsfwjs',
      size: 128,
      workers: cores,
      ahead: cores - 1,
      run: (dir, imgs, opts, ahead) => embedParallel(dir, imgs, { ...opts, workers: cores, useCallingThread: true, prestarted: ahead })
    },
    { label: 'raw pixels 24x24, 1 thread', backbone: 'pixels', size: 24, workers: 1, run: embed }
  ]
  const cases = every.filter((c) => !(SKIP_WORKERS && c.workers > 1 && !c.label.includes('this thread')))
  // Cases take turns, run after run, so a burst of other work on the machine hits all of them;
  // within a run the training-run case comes right after one thread, so that pair sees the same
  // machine (this VM's speed drifts by ~20% within minutes).
  const training = cases.findIndex((c) => c.label.includes('this thread'))
  const order = [0, training, ...[...cases.keys()].filter((i) => i !== 0 && i !== training)]
  const samples = cases.map(() => [] as Sample[])
  for (let run = 0; run < RUNS; run++) for (const i of order) samples[i].push(await once(cases[i], images))
  const wall = samples.map((ss) => ss.map((x) => x.wall))
  const single = median(wall[0])
  const oneCore = median(wall[1])
  // Same-run pairs: run k of the training-run case against run k of each baseline.
  const paired = (base: number) => median(wall[training].map((w, k) => w / wall[base][k]))
  // The most both cores can give: all cores busy with this process's own CPU per image (decoding
  // included, which one thread gets for free on the core its backbone leaves idle).
  const cpuMs = median(samples[training].map((x) => x.cpuMs))
  const ceiling = (cores * 1000) / cpuMs
  const reached = median(wall[training].map((w, k) => w / ((cores * 1000) / samples[training][k].cpuMs)))
  // One thread's own CPU time over its wall time: the cores it keeps busy (its decoding runs on
  // libuv's threads, on the core its backbone leaves idle). At its CPU per image, all cores busy
  // give at most cores / that times its rate, however the work is split.
  const oneThreadCores = median(samples[0].map((x) => (x.cpuMs * x.wall) / 1000))
  const cost = await decodeCost(images, median(samples[0].map((x) => x.compute)))
  const rows = cases.map((c, i) => [
    c.label,
    `${c.size} px`,
    median(wall[i]).toFixed(1),
    Math.max(...wall[i]).toFixed(1),
    median(samples[i].map((x) => x.compute)).toFixed(1),
    c.backbone === cases[0].backbone ? `${(median(wall[i]) / single).toFixed(2)}x (best ${(Math.max(...wall[i]) / Math.max(...wall[0])).toFixed(2)}x)` : '-',
    c.backbone === cases[0].backbone ? `${(median(wall[i]) / oneCore).toFixed(2)}x` : '-',
    samples[i].map((x) => (x.others === null ? '?' : x.others.toFixed(2))).join(' / ')
  ])
  const results = cases.map((c, i) => ({
    case: c.label,
    backbone: c.backbone,
    size: c.size,
    workers: c.workers,
    imagesPerSecond: median(wall[i]),
    bestImagesPerSecond: Math.max(...wall[i]),
    computeImagesPerSecond: median(samples[i].map((x) => x.compute)),
    runs: samples[i]
  }))
  const markdown =
    `Embedding ${N} ${SOURCE}, views ${VIEWS.join('+')}, into an empty cache, batch 32, backend ${backend.name}, ${RUNS} runs each\n\n` +
    table(['backbone', 'input', 'images/s (median, wall)', 'best run', 'images/s (median, computing)', 'vs 1 thread', 'vs 1 thread on one core', 'other processes, cores (per run)'], rows) +
    `\n\nTraining-run case against the same run's baselines (median of ${RUNS} pairs): ${paired(0).toFixed(2)}x one thread, ${paired(1).toFixed(2)}x one thread on one core.\n` +
    `Training-run case: ${cpuMs.toFixed(1)} ms CPU per image over all its threads, so ${cores} busy cores give at most ${ceiling.toFixed(1)} images/s ` +
    `(${(ceiling / single).toFixed(2)}x one thread); the runs reached ${(reached * 100).toFixed(0)}% of that (median).\n` +
    `One thread keeps ${oneThreadCores.toFixed(2)} cores busy (its CPU time over its wall time, median), so at its CPU per image ${cores} busy cores give at most ` +
    `${(cores / oneThreadCores).toFixed(2)}x it.\n` +
    `Decoding (loadPixels) costs ${cost.decodeMs.toFixed(2)} ms CPU per image, the backbone ${cost.computeMs.toFixed(1)} ms per image (${VIEWS.length} view${VIEWS.length > 1 ? 's' : ''}).`
  const load = { before: loadBefore, after: loadavg()[0] }
  console.log(`load average (1 min) before ${load.before.toFixed(2)}, after ${load.after.toFixed(2)}`)
  writeResult(`embeddings${DEMO ? '-demo' : ''}${VIEWS.length > 1 ? '-flip' : ''}`, {
    source: SOURCE,
    images: N, views: VIEWS, runs: RUNS, backend: backend.name, simd: backend.simd, peakRssMiB: peakRssMiB(), loadAverage: load,
    pairedRatio: { vsOneThread: paired(0), vsOneThreadOnOneCore: paired(1) }, decodeCost: cost,
    ceiling: { cpuMsPerImage: cpuMs, imagesPerSecond: ceiling, vsOneThread: ceiling / single, reached },
    oneThread: { coresBusy: oneThreadCores, boundVsOneThread: cores / oneThreadCores }, results
  }, markdown)
}

await main()
