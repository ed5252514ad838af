// Labeling speed in the real browser: keypress to "label stored and next image on screen" over
// 200 consecutive labels on a 20,000-image project, and long tasks while scrolling the grid of a
// 100,000-image project top to bottom. Run: node bin/run-ts.mjs bench/labeling.ts
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStudio } from '../test/e2e/harness'
import { median, table, writeResult } from './common'
import { makeScaleProject } from './scale-project'

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

async function keypress(images: number, labels: number): Promise<{ p50: number; p95: number; max: number; n: number }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'ff-bench-label-')), 'project')
  await makeScaleProject(dir, images, { labeledShare: 0 })
  const studio = await startStudio({ project: dir })
  try {
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-library]')
    await page.waitForSelector('[data-test=tile] img')
    await page.dblclick('[data-test=tile] >> nth=0')
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-test=label-image]')?.naturalWidth ?? 0) > 0)
    await page.fill('[data-test=annotator]', 'bench')
    await page.press('[data-test=annotator]', 'Enter')
    for (let i = 0; i < labels; i++) {
      await page.keyboard.press(String((i % 7) + 1))
      await page.waitForFunction((n) => performance.getEntriesByName('label-to-next').length >= n, i + 1)
    }
    const d = await page.evaluate(() => performance.getEntriesByName('label-to-next').map((e) => e.duration))
    return { p50: percentile(d, 50), p95: percentile(d, 95), max: Math.max(...d), n: d.length }
  } finally {
    await studio.stop()
  }
}

interface ScrollResult {
  longTasks: number
  worstMs: number
  seconds: number
  openMs: number
  /** The same at reading pace (thumbnails load while it moves), for 8 s from the middle. */
  slowLongTasks: number
  slowWorstMs: number
}

async function scroll(images: number): Promise<ScrollResult> {
  const dir = join(mkdtempSync(join(tmpdir(), 'ff-bench-scroll-')), 'project')
  await makeScaleProject(dir, images)
  const t0 = performance.now()
  const studio = await startStudio({ project: dir })
  const openMs = performance.now() - t0
  try {
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-library]')
    await page.waitForSelector('[data-test=tile] img')
    await page.waitForTimeout(500)
    return await page.evaluate(async () => {
      let tasks: number[] = []
      const when: string[] = []
      new PerformanceObserver((list) =>
        list.getEntries().forEach((e) => {
          tasks.push(e.duration)
          when.push(`${Math.round(e.startTime)}ms:${Math.round(e.duration)}`)
        })
      ).observe({ type: 'longtask', buffered: false })
      const el = document.querySelector<HTMLElement>('[data-test=grid]')!
      const start = performance.now()
      // A fast flick: a screen and a half per frame, top to bottom.
      while (el.scrollTop + el.clientHeight < el.scrollHeight - 2) {
        el.scrollTop += el.clientHeight * 1.5
        await new Promise((r) => requestAnimationFrame(() => r(null)))
      }
      await new Promise((r) => setTimeout(r, 300))
      const fast = { longTasks: tasks.filter((d) => d > 50).length, worstMs: tasks.length ? Math.max(...tasks) : 0, seconds: (performance.now() - start) / 1000, at: when.join(' '), startedAt: Math.round(start) }
      // Reading pace: about three screens a second, thumbnails loading as they come.
      el.scrollTop = el.scrollHeight / 2
      await new Promise((r) => setTimeout(r, 500))
      tasks = []
      const slowStart = performance.now()
      while (performance.now() - slowStart < 8000) {
        el.scrollTop += el.clientHeight * 0.05
        await new Promise((r) => requestAnimationFrame(() => r(null)))
      }
      await new Promise((r) => setTimeout(r, 300))
      return { ...fast, slowLongTasks: tasks.filter((d) => d > 50).length, slowWorstMs: tasks.length ? Math.max(...tasks) : 0 }
    }).then((r) => ({ ...r, openMs }))
  } finally {
    await studio.stop()
  }
}

const runs = Number(process.argv[2] ?? 1)
const only = process.argv[3] // 'keys' or 'scroll' to run one half while tuning
const keys: Awaited<ReturnType<typeof keypress>>[] = []
const scrolls: Awaited<ReturnType<typeof scroll>>[] = []
for (let r = 0; r < runs; r++) {
  if (only !== 'scroll') keys.push(await keypress(20_000, 200))
  if (only !== 'keys') scrolls.push(await scroll(100_000))
}
if (!keys.length) keys.push({ p50: NaN, p95: NaN, max: NaN, n: 0 })
if (!scrolls.length) scrolls.push({ longTasks: NaN, worstMs: NaN, seconds: NaN, openMs: NaN, slowLongTasks: NaN, slowWorstMs: NaN })
const md = table(
  ['benchmark', 'project', 'runs', 'median', 'notes'],
  [
    ['keypress -> label stored + next image shown, p95', '20,000 images', runs, `${median(keys.map((k) => k.p95)).toFixed(1)} ms`, `p50 ${median(keys.map((k) => k.p50)).toFixed(1)} ms, max ${median(keys.map((k) => k.max)).toFixed(1)} ms over ${keys[0].n} labels`],
    ['grid scroll top to bottom (1.5 screens/frame): long tasks > 50 ms', '100,000 images', runs, String(median(scrolls.map((s) => s.longTasks))), `worst task ${median(scrolls.map((s) => s.worstMs)).toFixed(0)} ms, ${median(scrolls.map((s) => s.seconds)).toFixed(1)} s of scrolling`],
    ['grid scroll at reading pace (~3 screens/s, thumbnails loading), 8 s: long tasks > 50 ms', '100,000 images', runs, String(median(scrolls.map((s) => s.slowLongTasks))), `worst task ${median(scrolls.map((s) => s.slowWorstMs)).toFixed(0)} ms`],
    ['open project + start bridge', '100,000 images', runs, `${median(scrolls.map((s) => s.openMs)).toFixed(0)} ms`, 'session open + summary + server start']
  ]
)
writeResult('labeling', { keypress: keys, scroll: scrolls }, md)
