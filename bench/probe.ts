// Backbone probe on a demo project: per backbone, the linear probe's accuracy, balanced accuracy
// and time, first into an empty embedding cache and then again with the cache warm (what the
// one-click run pays when it starts from the probe's embeddings). Records the machine's load,
// since the figures mean little on a busy machine.
// Run: node bin/run-ts.mjs bench/probe.ts [images] [samplePerClass]
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { openProject } from '../src/main/project/project'
import { initBackend } from '../src/main/training/backend'
import { probeBackbones, type ProbeResult } from '../src/main/training/probe'
import { probeInputs } from '../src/main/training/probe-inputs'
import { peakRssMiB, table, writeResult } from './common'

const IMAGES = Number(process.argv[2] ?? 500)
const PER_CLASS = Number(process.argv[3] ?? 40)

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' / ')
}

async function main(): Promise<void> {
  const dir = join(mkdtempSync(join(tmpdir(), 'ff-bench-probe-')), 'demo')
  const loadBefore = load()
  execFileSync(process.execPath, ['bin/studio.mjs', 'demo', dir, '--images', String(IMAGES), '--seed', '1'], { stdio: 'ignore' })
  const project = openProject(dir)
  try {
    const backend = await initBackend()
    const inputs = probeInputs(project)
    const runs: ProbeResult[] = []
    const p99: number[] = []
    for (const pass of ['cold', 'warm']) {
      // The probe runs on the main process (the training.probe job): the window must stay responsive.
      const delay = monitorEventLoopDelay({ resolution: 10 })
      delay.enable()
      let last = ''
      const r = await probeBackbones(inputs.images, inputs.classes.length, {
        cacheDir: inputs.cacheDir,
        samplePerClass: PER_CLASS,
        projectDir: dir,
        onProgress: (p) => {
          const line = `${pass} ${p.index + 1}/${p.count} ${p.backbone} ${p.phase}`
          if (line !== last) process.stderr.write(`${(last = line)}\n`)
        }
      })
      delay.disable()
      p99.push(delay.percentile(99) / 1e6)
      runs.push(r)
    }
    const [cold, warm] = runs
    const rows = cold.ranking.map((e) => {
      const w = warm.ranking.find((x) => x.backbone === e.backbone)!
      const pct = (v: number | null) => (v === null ? e.error ?? 'failed' : `${(v * 100).toFixed(1)}%`)
      return [e.backbone, e.size, pct(e.accuracy), pct(e.balancedAccuracy), e.seconds.toFixed(1), e.fitSeconds.toFixed(2), w.seconds.toFixed(1), e.computed, w.cached]
    })
    const chance = `${(100 / inputs.classes.length).toFixed(1)}%`
    const md = [
      `Probe on a ${IMAGES}-image demo project (${inputs.classes.length} classes, chance ${chance}), ${cold.sample.images} images sampled (${cold.sample.perClass.join('/')} per class), ${cold.sample.folds}-fold; backend ${backend.name}.`,
      `Load average (1/5/15 min) before: ${loadBefore}; after: ${load()}. Peak RSS ${peakRssMiB().toFixed(0)} MiB.`,
      `Winner: ${cold.best}. Whole probe: ${cold.seconds.toFixed(1)} s cold, ${warm.seconds.toFixed(1)} s with the cache warm.`,
      `Event-loop delay p99 of the calling thread: ${p99[0].toFixed(1)} ms cold, ${p99[1].toFixed(1)} ms warm.`,
      '',
      table(['backbone', 'px', 'accuracy', 'balanced acc.', 'cold s', 'fit s', 'warm s', 'embedded', 'cached (warm)'], rows)
    ].join('\n')
    writeResult('probe', { images: IMAGES, samplePerClass: PER_CLASS, loadBefore, loadAfter: load(), backend: backend.name, eventLoopP99Ms: { cold: p99[0], warm: p99[1] }, cold, warm }, md)
  } finally {
    project.close()
    if (existsSync(dir)) rmSync(join(dir, '..'), { recursive: true, force: true })
  }
}

main().catch((err) => {
  // A benchmark never fails: report and exit 0.
  console.error(`bench/probe failed: ${err instanceof Error ? err.stack : String(err)}`)
})
