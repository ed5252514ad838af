// Import throughput: 2,000 camera-sized JPEGs (640x480) into a new project, with hashing,
// perceptual hash, thumbnails and the database. Run: node bin/run-ts.mjs bench/import.ts [N] [runs]
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { readFile } from 'node:fs/promises'
import { importPath } from '../src/main/dataset/importer'
import '../src/main/dataset/decode'
import { createProject } from '../src/main/project/project'
import { median, peakRssMiB, table, writeResult } from './common'

const N = Number(process.argv[2] ?? 2000)
const RUNS = Number(process.argv[3] ?? 3)
const SRC = join(tmpdir(), `ff-bench-photos-${N}`)

/** Photo-like content (gradients, shapes and sensor noise) so JPEG decode costs what real photos cost. */
async function makePhotos(): Promise<void> {
  if (existsSync(SRC) && readdirSync(join(SRC, 'c0')).length * 4 >= N) return
  rmSync(SRC, { recursive: true, force: true })
  const w = 640
  const h = 480
  let state = 12345
  const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32)
  for (let i = 0; i < N; i++) {
    const raw = Buffer.alloc(w * h * 3)
    const cx = rand() * w
    const cy = rand() * h
    const r = 60 + rand() * 120
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        const noise = (rand() - 0.5) * 30
        raw[o] = Math.max(0, Math.min(255, (inside ? 200 : (x * 255) / w) + noise))
        raw[o + 1] = Math.max(0, Math.min(255, (inside ? 150 : (y * 255) / h) + noise))
        raw[o + 2] = Math.max(0, Math.min(255, ((i * 7) % 255) + noise))
      }
    const dir = join(SRC, `c${i % 4}`)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `p${i}.jpg`), await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer())
  }
}

/** Decode + shrink to 256 px alone, 8 in flight: the ceiling the issue quotes (~320/s), measured in the same run. */
async function bareDecode(): Promise<number> {
  const files = ['c0', 'c1', 'c2', 'c3'].flatMap((d) => readdirSync(join(SRC, d)).map((f) => join(SRC, d, f))).slice(0, N)
  let next = 0
  const t0 = performance.now()
  const lane = async () => {
    while (next < files.length) {
      const bytes = await readFile(files[next++])
      await sharp(bytes).resize({ width: 256, height: 256, fit: 'inside' }).raw().toBuffer()
    }
  }
  await Promise.all(Array.from({ length: 8 }, lane))
  return files.length / ((performance.now() - t0) / 1000)
}

async function main(): Promise<void> {
  console.log(`preparing ${N} JPEGs of 640x480 in ${SRC} ...`)
  await makePhotos()
  const rates: number[] = []
  const secs: number[] = []
  const bare: number[] = []
  const made: string[] = []
  for (let run = 0; run < RUNS; run++) {
    // Interleaved with the imports so both see the same machine load.
    bare.push(await bareDecode())
    console.log(`run ${run + 1}: decode + resize only ${bare[run].toFixed(0)} images/s`)
    const dir = join(tmpdir(), `ff-bench-import-${process.pid}-${run}`)
    rmSync(dir, { recursive: true, force: true })
    const project = createProject(dir)
    const t0 = performance.now()
    const report = await importPath(project, SRC, process.env.IMPORT_CONCURRENCY ? { concurrency: Number(process.env.IMPORT_CONCURRENCY) } : {})
    const s = (performance.now() - t0) / 1000
    project.close()
    // Deleted after all runs: this disk is mounted with online discard, and deleting 2,000 files
    // right before the next run slowed that run's file creation (up to 1.6 ms per open() seen).
    made.push(dir)
    if (report.added !== N) throw new Error(`expected ${N} images, imported ${report.added}`)
    secs.push(s)
    rates.push(N / s)
    console.log(`run ${run + 1}: ${s.toFixed(2)} s, ${(N / s).toFixed(0)} images/s`)
  }
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
  const rss = peakRssMiB()
  const md = table(
    ['benchmark', 'images', 'runs', 'median s', 'median images/s', 'peak RSS MiB'],
    [
      ['import 640x480 JPEG (hash, phash, thumbnail, DB)', N, RUNS, median(secs).toFixed(2), median(rates).toFixed(0), rss.toFixed(0)],
      ['decode + resize to 256 px only, 8 in flight', N, RUNS, (N / median(bare)).toFixed(2), median(bare).toFixed(0), '']
    ]
  )
  const ratio = median(rates) / median(bare)
  writeResult('import', { images: N, runs: RUNS, seconds: secs, imagesPerSecond: rates, medianImagesPerSecond: median(rates), bareDecodeImagesPerSecond: bare, importOverBareDecode: ratio, peakRssMiB: rss }, md + `\n\nimport / bare decode: ${ratio.toFixed(2)}`)
}

await main()
