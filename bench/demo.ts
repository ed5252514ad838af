// Demo dataset generation: 2,000 images rendered and written as PNG files, three runs.
// Run: node bin/run-ts.mjs bench/demo.ts [images] [runs]
// Prints a markdown table and writes bench/results/demo.json. A benchmark never fails: errors are
// reported and the process still exits 0.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { generateDemo, planDemo, type DemoOptions } from '../src/main/dataset/demo/generator'

const images = Number(process.argv[2] ?? 2000)
const runs = Number(process.argv[3] ?? 3)
const options: DemoOptions = { images, seed: 1, labelNoise: 0.1, imbalance: 4 }

interface Run {
  seconds: number
  peakRssMb: number
  bytes: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function oneRun(): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'freezeframe-demo-bench-'))
  let peak = process.memoryUsage().rss
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
  let bytes = 0
  try {
    const start = performance.now()
    for await (const image of generateDemo(options)) {
      await writeFile(join(dir, image.fileName), image.png)
      bytes += image.png.length
    }
    const seconds = (performance.now() - start) / 1000
    peak = Math.max(peak, process.memoryUsage().rss)
    return { seconds, peakRssMb: peak / 2 ** 20, bytes }
  } finally {
    clearInterval(sampler)
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const planStart = performance.now()
  planDemo(options)
  const planSeconds = (performance.now() - planStart) / 1000

  const results: Run[] = []
  for (let i = 0; i < runs; i++) results.push(await oneRun())

  const seconds = median(results.map((r) => r.seconds))
  const peakRssMb = Math.max(...results.map((r) => r.peakRssMb))
  const meanKb = results[0].bytes / images / 1024
  const row = {
    images,
    runs,
    medianSeconds: Number(seconds.toFixed(3)),
    imagesPerSecond: Number((images / seconds).toFixed(1)),
    peakRssMb: Number(peakRssMb.toFixed(1)),
    planSeconds: Number(planSeconds.toFixed(4)),
    meanPngKb: Number(meanKb.toFixed(2)),
    runSeconds: results.map((r) => Number(r.seconds.toFixed(3)))
  }

  console.log(`\n### Demo generation (${images} images, ${options.size ?? 112} px, written as PNG)\n`)
  console.log('| images | runs | median s | images/s | peak RSS MB | plan only s | mean PNG KB |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|')
  console.log(`| ${images} | ${runs} | ${row.medianSeconds} | ${row.imagesPerSecond} | ${row.peakRssMb} | ${row.planSeconds} | ${row.meanPngKb} |`)
  console.log(`\nruns: ${row.runSeconds.join(' s, ')} s; cores ${availableParallelism()}, sharp.concurrency() ${sharp.concurrency()}, libuv threadpool ${process.env.UV_THREADPOOL_SIZE ?? 4}`)

  mkdirSync('bench/results', { recursive: true })
  writeFileSync(
    'bench/results/demo.json',
    JSON.stringify(
      {
        bench: 'demo',
        date: new Date().toISOString(),
        node: process.version,
        sharp: sharp.versions.sharp,
        vips: sharp.versions.vips,
        cores: availableParallelism(),
        sharpConcurrency: sharp.concurrency(),
        options,
        ...row
      },
      null,
      2
    ) + '\n'
  )
}

main().catch((error: unknown) => {
  console.error(`bench/demo failed: ${error instanceof Error ? error.message : String(error)}`)
})
