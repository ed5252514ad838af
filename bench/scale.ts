// Scale: a generated 100,000-image project (bench/scale-project.ts: real thumbnails hard-linked,
// half labeled, three environments, 400 subjects, an attribute). Measures opening it, the
// library's queries, filters and facets, the dashboard channels, labeling through the contract,
// and the database's size. Run: node bin/run-ts.mjs bench/scale.ts [images] [runs]
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { dispatch } from '../src/main/app/dispatch'
import { createHandlers, type Handlers } from '../src/main/app/handlers'
import { Session } from '../src/main/app/session'
import { PROJECT_DB } from '../src/main/project/project'
import { CHANNEL_NAMES, type ChannelName } from '../src/shared/contract'
import { median, peakRssMiB, table, writeResult } from './common'
import { makeScaleProject } from './scale-project'

const images = Number(process.argv[2] ?? 100_000)
const runs = Number(process.argv[3] ?? 5)
const root = mkdtempSync(join(tmpdir(), 'ff-bench-scale-'))
const dir = join(root, 'project')

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

async function call(handlers: Handlers, channel: ChannelName, payload: unknown): Promise<unknown> {
  const res = await dispatch(handlers, channel, payload)
  if (!res.ok) throw new Error(`${channel}: ${res.error.message}`)
  return res.value
}

const fileMiB = (f: string) => {
  try {
    return statSync(f).size / 2 ** 20
  } catch {
    return 0
  }
}

const t0 = performance.now()
await makeScaleProject(dir, images)
const generateS = (performance.now() - t0) / 1000
const dbMiB = fileMiB(join(dir, PROJECT_DB)) + fileMiB(join(dir, `${PROJECT_DB}-wal`))

// Opening: what the app does when a window opens a project (open, migrate check, summary).
const openMs: number[] = []
for (let r = 0; r < runs; r++) {
  const session = new Session({ configDir: join(root, 'config'), transport: 'http', nativeDialogs: false })
  openMs.push(await timed(() => session.open(dir)))
  await session.dispose()
}

const session = new Session({ configDir: join(root, 'config'), transport: 'http', nativeDialogs: false })
await session.open(dir)
const handlers = createHandlers(session)
const page = (filter: Record<string, unknown>, sort?: string, offset = 0) => ({ filter, ...(sort ? { sort } : {}), offset, limit: 200 })
const queries: [string, ChannelName, unknown][] = [
  ['grid: first page, newest first', 'library.query', page({})],
  ['grid: page at offset 99,800', 'library.query', page({}, 'added', images - 200)],
  ['grid: sorted by name', 'library.query', page({}, 'name')],
  ['grid: sorted by class', 'library.query', page({}, 'class')],
  ['filter: one class', 'library.query', page({ classIds: [3] })],
  ['filter: unlabeled', 'library.query', page({ unlabeled: true })],
  ['filter: environment', 'library.query', page({ environments: ['webcam'] })],
  ['filter: attribute', 'library.query', page({ attributes: { age_band: '60+' } })],
  ['filter: subject', 'library.query', page({ subjects: ['s7'] })],
  ['filter: search file name', 'library.query', page({ search: '09999' })],
  ['filter: disagreement', 'library.query', page({ disagreement: true })],
  ['filter: class + environment + attribute', 'library.query', page({ classIds: [1, 2], environments: ['phone'], attributes: { age_band: '18-29' } })],
  ['select all ids (100k)', 'library.ids', { filter: {} }],
  ['facets', 'library.facets', {}],
  ['project summary (counts per class, env, annotator)', 'project.summary', {}],
  ['annotator agreement', 'label.agreement', {}],
  // Dashboards and review are built beside this benchmark: measured when their channels exist.
  ...(['insights.dashboard', 'review.status', 'training.runs'] as const)
    .filter((c) => (CHANNEL_NAMES as string[]).includes(c))
    .map((c): [string, ChannelName, unknown] => [`${c}`, c, {}])
]
const rows: (string | number)[][] = []
const figures: Record<string, { medianMs: number; maxMs: number }> = {}
for (const [name, channel, payload] of queries) {
  const ms: number[] = []
  try {
    for (let r = 0; r < runs; r++) ms.push(await timed(() => call(handlers, channel, payload)))
    figures[name] = { medianMs: median(ms), maxMs: Math.max(...ms) }
    rows.push([name, channel, `${median(ms).toFixed(1)} ms`, `${Math.max(...ms).toFixed(1)} ms`])
  } catch (err) {
    rows.push([name, channel, 'failed', (err as Error).message.slice(0, 80)])
  }
}

// Labeling through the contract, as the label view does: set, next card, occasional undo.
const labelMs: number[] = []
for (let i = 0; i < 300; i++) {
  const id = 1 + ((i * 7919) % images)
  labelMs.push(
    await timed(async () => {
      await call(handlers, 'label.set', { imageIds: [id], classId: (i % 7) + 1, annotator: 'bench' })
      await call(handlers, 'library.cards', { ids: [id, id + 1 > images ? 1 : id + 1] })
    })
  )
  if (i % 50 === 49) labelMs.push(await timed(() => call(handlers, 'label.undo', { annotator: 'bench' })))
}
const bulkMs = await timed(() => call(handlers, 'label.set', { imageIds: Array.from({ length: Math.min(5000, images) }, (_, k) => k + 1), classId: 2, annotator: 'bench-bulk' }))
// Select all, label: the largest single action the library allows on this project.
const allIds = (await call(handlers, 'library.ids', { filter: {} })) as { ids: number[] }
const bulkAllMs = await timed(() => call(handlers, 'label.set', { imageIds: allIds.ids, classId: 3, annotator: 'bench-all' }))
const undoAllMs = await timed(() => call(handlers, 'label.undo', { annotator: 'bench-all' }))

// Starting a training run on every labeled image: gathering, splitting and recording the split
// happen on the core's thread before the worker takes over. The event loop's longest stall from
// the click until the worker reports its first embedding progress, then the run is cancelled.
const trainLoop = monitorEventLoopDelay({ resolution: 5 })
trainLoop.enable()
const trainT0 = performance.now()
let firstProgressMs = 0
const started = (await call(handlers, 'training.start', { backbone: 'pixels', size: 24, epochs: 1, stage2: { enabled: false } })) as { jobId: string }
await new Promise<void>((resolve) => {
  const off = session.onEvent((event, payload) => {
    const e = payload as { jobId?: string; type?: string; phase?: string }
    if (event === 'training.event' && e.jobId === started.jobId && e.type === 'progress' && e.phase === 'embedding') {
      firstProgressMs = performance.now() - trainT0
      off()
      resolve()
    }
    if (event === 'job.end' && e.jobId === started.jobId) {
      off()
      resolve()
    }
  })
})
trainLoop.disable()
await call(handlers, 'job.cancel', { jobId: started.jobId })
const trainStartStallMs = trainLoop.max / 1e6
const trainStartP99Ms = trainLoop.percentile(99) / 1e6
await new Promise((r) => setTimeout(r, 2000))
await session.dispose()
const dbAfterMiB = fileMiB(join(dir, PROJECT_DB)) + fileMiB(join(dir, `${PROJECT_DB}-wal`))
rmSync(root, { recursive: true, force: true })

const md = [
  table(
    ['measure', 'figure', 'notes'],
    [
      ['generate project', `${generateS.toFixed(1)} s`, `${images.toLocaleString('en')} images, half labeled, thumbnails hard-linked`],
      ['open project (open + migrations check + summary)', `${median(openMs).toFixed(0)} ms`, `median of ${runs}, max ${Math.max(...openMs).toFixed(0)} ms (target <= 2000 ms)`],
      ['database size', `${dbMiB.toFixed(1)} MiB`, `${((dbMiB * 2 ** 20) / images).toFixed(0)} bytes per image; ${dbAfterMiB.toFixed(1)} MiB after the labeling below`],
      ['label one image + fetch next cards, p50', `${percentile(labelMs, 50).toFixed(1)} ms`, `p95 ${percentile(labelMs, 95).toFixed(1)} ms, max ${Math.max(...labelMs).toFixed(1)} ms over ${labelMs.length} (undo every 50th)`],
      ['bulk label 5,000 images (one undo step)', `${bulkMs.toFixed(0)} ms`, ''],
      [`select all + label ${images.toLocaleString('en')} images`, `${bulkAllMs.toFixed(0)} ms`, `one synchronous transaction on the core's thread; undo ${undoAllMs.toFixed(0)} ms`],
      ['start training on every labeled image, until the worker embeds', `${firstProgressMs.toFixed(0)} ms`, `longest event-loop stall ${trainStartStallMs.toFixed(0)} ms, p99 ${trainStartP99Ms.toFixed(0)} ms (then cancelled)`],
      ['peak RSS of the benchmark', `${peakRssMiB().toFixed(0)} MiB`, ''],
      ['machine load at the end (1-minute average)', loadavg()[0].toFixed(1), 'other work on the machine inflates every figure above']
    ]
  ),
  '',
  table(['query', 'channel', `median of ${runs}`, 'max'], rows)
].join('\n')
writeResult('scale', { images, runs, load: loadavg(), generateS, openMs, dbMiB, dbAfterMiB, queries: figures, bulkAllMs, undoAllMs, trainStart: { firstProgressMs, stallMs: trainStartStallMs, p99Ms: trainStartP99Ms }, label: { p50: percentile(labelMs, 50), p95: percentile(labelMs, 95), max: Math.max(...labelMs) }, bulkMs }, md)
