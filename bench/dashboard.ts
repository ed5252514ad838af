// Dashboard and checklist query times on a large project (issue 8: dashboard queries at most
// 200 ms on 100,000 images). The project comes from bench/scale-project.ts, every image labeled,
// plus what a real project has after a while: a second annotator on 5% of the images and a run
// with its split over every image and validation predictions for a fifth of them.
// Usage: node bin/run-ts.mjs bench/dashboard.ts [images=100000] [repeats=7]
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runChecklist } from '../src/main/analysis/insights/checklist'
import { dashboard, warmDashboard } from '../src/main/analysis/insights/dashboard'
import { forgetLive } from '../src/main/analysis/insights/live'
import { dashboardHtml } from '../src/main/analysis/insights/report'
import { createRun, finishRun } from '../src/main/db/repos/runs'
import { recomputeConsensus } from '../src/main/db/repos/consensus'
import { label, setField } from '../src/main/labeling/actions'
import { openProject, type Project } from '../src/main/project/project'
import { median, peakRssMiB, table, writeResult } from './common'
import { makeScaleProject } from './scale-project'

const n = Number(process.argv[2] ?? 100_000)
const repeats = Number(process.argv[3] ?? 7)

function addHistory(p: Project): void {
  const db = p.db
  const now = new Date().toISOString()
  db.transaction(() => {
    // a second annotator on every 20th image, disagreeing on one in five of those
    const label = db.prepare("INSERT INTO annotations (image_id, class_id, annotator, source, created_at) VALUES (?, ?, 'second', 'manual', ?)")
    const rows = db.prepare('SELECT image_id AS id, class_id AS c FROM image_labels WHERE image_id % 20 = 0').all() as { id: number; c: number }[]
    rows.forEach((r, i) => label.run(r.id, i % 5 === 0 ? (r.c % 7) + 1 : r.c, now))
    recomputeConsensus(db, rows.map((r) => r.id))
    const splitId = Number(db.prepare("INSERT INTO splits (name, method, params, created_at) VALUES ('bench', 'stratified', '{}', ?)").run(now).lastInsertRowid)
    db.prepare(`INSERT INTO split_assignments (split_id, image_id, part) SELECT ?, id, CASE WHEN id % 5 = 0 THEN 'validation' ELSE 'train' END FROM images`).run(splitId)
    const runId = createRun(db, { classes: Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `c${i + 1}` })), split: { description: 'bench split' } }, { backbone: 'pixels', splitId })
    db.prepare(
      `INSERT INTO run_predictions (run_id, image_id, part, label, predicted, probs)
       SELECT ?, l.image_id, 'validation', l.class_id - 1, CASE WHEN l.image_id % 3 = 0 THEN (l.class_id % 7) ELSE l.class_id - 1 END, '[]'
       FROM image_labels l WHERE l.image_id % 5 = 0`
    ).run(runId)
    finishRun(db, runId, 'completed', {})
  })()
}

/** Wall-clock and CPU time of this process: the machine is shared, and CPU time is what the code costs. */
function time<T>(fn: () => T): { ms: number; cpu: number; value: T } {
  const c = process.cpuUsage()
  const t = performance.now()
  const value = fn()
  const u = process.cpuUsage(c)
  return { ms: performance.now() - t, cpu: (u.user + u.system) / 1000, value }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ff-bench-dash-'))
  const dir = join(root, 'project')
  try {
    const made = performance.now()
    await makeScaleProject(dir, n, { labeledShare: 1 })
    const first = openProject(dir)
    addHistory(first)
    const cold = time(() => dashboard(first.db))
    first.close()
    // As the app does after opening a project (session.ts): the figures read in the background in
    // slices, then the first look. The longest slice is what the event loop waited at most.
    const warmed = openProject(dir)
    let last = performance.now()
    let longest = 0
    const warmStart = performance.now()
    await warmDashboard(warmed.db, {
      pause: async () => {
        longest = Math.max(longest, performance.now() - last)
        await new Promise<void>((resolve) => setImmediate(resolve))
        last = performance.now()
      }
    })
    longest = Math.max(longest, performance.now() - last)
    const warmMs = performance.now() - warmStart
    const afterWarm = time(() => dashboard(warmed.db))
    warmed.close()
    const p = openProject(dir)
    console.log(`project of ${n} images ready in ${((performance.now() - made) / 1000).toFixed(1)} s`)

    // What labeling costs before the dashboard was ever opened (no notes kept yet), for the
    // comparison with the same writes once it has been (live.ts keeps TEMP triggers).
    const classes = p.db.prepare('SELECT id FROM classes ORDER BY id').pluck().all() as number[]
    const ids = p.db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as number[]
    let turn = 0
    const batch = (k: number) => ids.slice((turn * 7919) % (ids.length - k), ((turn * 7919) % (ids.length - k)) + k)
    const labelSome = (k: number) => label(p.db, 'bench', batch(k), classes[turn++ % classes.length])
    const labelBefore: number[] = []
    const bulkBefore: number[] = []
    for (let i = 0; i < repeats; i++) {
      labelBefore.push(time(() => labelSome(1)).ms)
      bulkBefore.push(time(() => labelSome(5000)).ms)
    }

    const reopened = time(() => dashboard(p.db))
    const after = (write: () => void) => {
      const out: { ms: number; cpu: number; write: number }[] = []
      for (let i = 0; i < repeats; i++) {
        const w = time(write)
        out.push({ ...time(() => dashboard(p.db)), write: w.ms })
      }
      return out
    }
    const oneLabel = after(() => labelSome(1))
    const bulk = after(() => labelSome(5000))
    const exclude = after(() => setField(p.db, 'bench', batch(1), { kind: 'exclude' }, turn++ % 2 === 0))
    // A write the dashboard does not read (a temp table): every SQL part is kept, the figures rebuilt.
    p.db.exec('CREATE TEMP TABLE bench_bust (x)')
    const elsewhere = after(() => p.db.prepare('INSERT INTO bench_bust VALUES (1)').run())
    // Everything read again, as on the first look of a session.
    const full = after(() => forgetLive(p.db))
    const cached: number[] = []
    for (let i = 0; i < repeats; i++) cached.push(time(() => dashboard(p.db)).ms)
    const check: { ms: number; cpu: number }[] = []
    const rejudge: { ms: number; cpu: number }[] = []
    for (let i = 0; i < repeats; i++) {
      labelSome(1)
      check.push(time(() => runChecklist(p.db, {})))
      // the Train form changing: same data, another config
      rejudge.push(time(() => runChecklist(p.db, { weights: i % 2 ? 'off' : 'inverse', split: { kind: 'environment', validationEnvironments: ['webcam'] } })))
    }
    const html = time(() => dashboardHtml(cold.value, { project: 'bench', generatedAt: new Date().toISOString() }))
    const d = cold.value
    const med = (xs: { ms: number; cpu: number }[], k: 'ms' | 'cpu') => median(xs.map((x) => x[k]))
    const rows: (string | number)[][] = [
      ['dashboard, first look of the session (fresh connection)', cold.ms.toFixed(0), cold.cpu.toFixed(0)],
      [`background read after a project opens: in all / longest step`, `${warmMs.toFixed(0)} / ${longest.toFixed(0)}`, '-'],
      ['first look after that background read (what the app does)', afterWarm.ms.toFixed(0), afterWarm.cpu.toFixed(0)],
      [`first look again after ${(repeats * 5001).toLocaleString('en')} more labels by a third annotator`, reopened.ms.toFixed(0), reopened.cpu.toFixed(0)],
      [`dashboard after labeling 1 image (median of ${repeats})`, med(oneLabel, 'ms').toFixed(0), med(oneLabel, 'cpu').toFixed(0)],
      [`dashboard after labeling 5,000 images (median of ${repeats})`, med(bulk, 'ms').toFixed(0), med(bulk, 'cpu').toFixed(0)],
      [`dashboard after excluding 1 image (median of ${repeats})`, med(exclude, 'ms').toFixed(0), med(exclude, 'cpu').toFixed(0)],
      [`dashboard after a write it does not read (median of ${repeats})`, med(elsewhere, 'ms').toFixed(0), med(elsewhere, 'cpu').toFixed(0)],
      [`dashboard, everything read again (median of ${repeats})`, med(full, 'ms').toFixed(0), med(full, 'cpu').toFixed(0)],
      [`worst of all looks after a write`, Math.max(...[...oneLabel, ...bulk, ...exclude, ...elsewhere].map((x) => x.ms)).toFixed(0), '-'],
      [`label 1 image, dashboard never opened (median)`, median(labelBefore).toFixed(1), '-'],
      [`label 1 image, dashboard opened (median)`, median(oneLabel.map((x) => x.write)).toFixed(1), '-'],
      [`label 5,000 images, dashboard never opened (median)`, median(bulkBefore).toFixed(0), '-'],
      [`label 5,000 images, dashboard opened (median)`, median(bulk.map((x) => x.write)).toFixed(0), '-'],
      [`dashboard, nothing changed (median of ${repeats})`, median(cached).toFixed(2), '-'],
      [`checklist after a write (median of ${repeats})`, med(check, 'ms').toFixed(0), med(check, 'cpu').toFixed(0)],
      [`checklist, another config on the same data (median of ${repeats})`, med(rejudge, 'ms').toFixed(0), med(rejudge, 'cpu').toFixed(0)],
      ['HTML report (SVG charts)', html.ms.toFixed(0), html.cpu.toFixed(0)]
    ]
    writeResult(
      'dashboard',
      {
        images: n,
        labeled: d.totals.labeled,
        dashboardFirst: { ms: cold.ms, cpuMs: cold.cpu },
        backgroundRead: { ms: warmMs, longestStepMs: longest },
        dashboardFirstAfterBackgroundRead: { ms: afterWarm.ms, cpuMs: afterWarm.cpu },
        dashboardFirstWithThirdAnnotator: { ms: reopened.ms, cpuMs: reopened.cpu },
        dashboardAfterOneLabel: { medianMs: med(oneLabel, 'ms'), medianCpuMs: med(oneLabel, 'cpu'), worstMs: Math.max(...oneLabel.map((x) => x.ms)) },
        dashboardAfterBulkLabel5000: { medianMs: med(bulk, 'ms'), medianCpuMs: med(bulk, 'cpu'), worstMs: Math.max(...bulk.map((x) => x.ms)) },
        dashboardAfterExclude: { medianMs: med(exclude, 'ms'), medianCpuMs: med(exclude, 'cpu') },
        dashboardAfterUnreadWrite: { medianMs: med(elsewhere, 'ms'), medianCpuMs: med(elsewhere, 'cpu') },
        dashboardFullRead: { medianMs: med(full, 'ms'), medianCpuMs: med(full, 'cpu') },
        labelWriteMs: { oneBefore: median(labelBefore), oneAfter: median(oneLabel.map((x) => x.write)), bulk5000Before: median(bulkBefore), bulk5000After: median(bulk.map((x) => x.write)) },
        dashboardCachedMedianMs: median(cached),
        partsOfAFullRead: full.length ? (forgetLive(p.db), dashboard(p.db).timings) : {},
        partsAfterOneLabel: (labelSome(1), dashboard(p.db).timings),
        checklist: { medianMs: med(check, 'ms'), medianCpuMs: med(check, 'cpu'), sameDataMedianMs: med(rejudge, 'ms'), sameDataMedianCpuMs: med(rejudge, 'cpu') },
        reportMs: html.ms,
        reportBytes: html.value.length,
        budgetMs: 200,
        loadAverage: loadavg()[0],
        figures: { gaps: d.gaps.length, splitParts: d.split?.parts.length ?? 0, multiRated: d.annotators.multiRated, evaluated: d.run?.evaluated ?? 0 },
        peakRssMiB: peakRssMiB()
      },
      table(['step', 'wall ms', 'cpu ms'], rows) +
        `\n\n${n} images (${d.totals.labeled} labeled), budget 200 ms; ${d.annotators.multiRated} images with two annotators, ${d.run?.evaluated ?? 0} validation predictions; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`
    )
    p.close()
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

void main()
