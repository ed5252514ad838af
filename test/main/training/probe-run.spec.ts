// The one-click run (backbone 'auto'): a linear probe of the training split picks the backbone the
// run then trains; the ranking is kept with the run; cancelling during the probe ends the run
// cancelled with nothing half made; `studio train` probes by default and prints the ranking.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { getRun } from '../../../src/main/db/repos/runs'
import { createProject, openProject, type Project } from '../../../src/main/project/project'
import type { ProbeProgress } from '../../../src/main/training/probe'
import { loadProbe } from '../../../src/main/training/probe'
import { runTraining, type RunProbe } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'
import { tempDir } from '../../helpers/tmp'

const column = (p: Project, runId: number, name: 'backbone' | 'ended_at') => p.db.prepare(`SELECT ${name} FROM runs WHERE id = ?`).pluck().get(runId)

async function demo(images: number): Promise<Project> {
  const p = createProject(join(tempDir(), 'p'), { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 5, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
  return p
}

const FAST = { head: { epochs: 3 }, stage2: { enabled: false }, embedWorkers: 1, split: { kind: 'stratified' as const, validation: 0.25, seed: 1 } }

describe('a one-click run (backbone auto)', () => {
  it('probes the training split, trains the winner and keeps the ranking with the run', async () => {
    const p = await demo(70)
    const seen: ProbeProgress[] = []
    const order: string[] = []
    const out = await runTraining(
      p,
      { ...FAST, backbone: 'auto', probe: { samplePerClass: 3, backbones: ['pixels', 'face-expression-faceapi'] } },
      { onProbe: (e) => (seen.push(e), order.push('probe')), onEvent: (e) => order.push(e.type) }
    )
    expect(out.error).toBeUndefined()
    expect(out.status).toBe('completed')
    // both backbones were really probed, before the worker started
    expect(new Set(seen.map((e) => e.backbone))).toEqual(new Set(['pixels', 'face-expression-faceapi']))
    expect(seen.some((e) => e.phase === 'fitting')).toBe(true)
    expect(order.lastIndexOf('probe')).toBeLessThan(order.indexOf('backend'))
    const probe = out.probe!
    expect(probe.ranking.map((e) => e.backbone).sort()).toEqual(['face-expression-faceapi', 'pixels'])
    expect(probe.ranking.every((e) => e.balancedAccuracy !== null)).toBe(true)
    expect(probe.ranking[0].balancedAccuracy!).toBeGreaterThanOrEqual(probe.ranking[1].balancedAccuracy!)
    expect(probe.best).toBe(probe.ranking[0].backbone)
    // the run trained the winner at its input size, and keeps the ranking in its config and probe.json
    const run = getRun(p.db, out.runId)!
    const config = run.config as { backbone: string; size: number; probe: RunProbe; checklist: { checks: unknown[]; error?: string } }
    expect(column(p, out.runId, 'backbone')).toBe(probe.best)
    expect(config.backbone).toBe(probe.best)
    expect(config.size).toBe(probe.ranking[0].size)
    expect(config.probe.ranking).toEqual(probe.ranking)
    expect(config.checklist.error).toBeUndefined() // the preflight judged the chosen backbone
    expect(config.checklist.checks.length).toBeGreaterThan(0)
    expect(loadProbe(join(p.dir, 'runs', String(out.runId)))!.ranking).toEqual(probe.ranking)
    // validation images never reach the probe: its sample comes from the training part only
    const validation = new Set(
      (p.db.prepare("SELECT i.sha256 FROM split_assignments a JOIN runs r ON r.split_id = a.split_id JOIN images i ON i.id = a.image_id WHERE r.id = ? AND a.part = 'validation'").pluck().all(out.runId) as string[])
    )
    expect(validation.size).toBeGreaterThan(0)
    const cached = p.db.prepare("SELECT count(*) FROM split_assignments a JOIN runs r ON r.split_id = a.split_id WHERE r.id = ? AND a.part = 'train'").pluck().get(out.runId) as number
    expect(probe.sample.images).toBeLessThanOrEqual(cached)
    expect(probe.sample.perClass.every((n) => n <= 3)).toBe(true)
    p.close()
  })

  it('cancelled during the probe: the run ends cancelled before any training, earlier runs intact; an explicit backbone skips the probe', async () => {
    const p = await demo(50)
    const probed: ProbeProgress[] = []
    const first = await runTraining(p, { ...FAST, backbone: 'pixels' }, { onProbe: (e) => probed.push(e) })
    expect(first.status).toBe('completed')
    expect(probed).toEqual([]) // an explicit backbone: no probe
    expect(first.probe).toBeUndefined()
    const firstDir = join(p.dir, 'runs', String(first.runId))
    expect(existsSync(join(firstDir, 'probe.json'))).toBe(false)
    const firstFiles = readdirSync(firstDir).sort()

    const controller = new AbortController()
    const events: string[] = []
    const out = await runTraining(p, { ...FAST, backbone: 'auto', probe: { samplePerClass: 3, backbones: ['pixels', 'face-expression-faceapi'] } }, {
      signal: controller.signal,
      onProbe: () => controller.abort(),
      onEvent: (e) => events.push(e.type)
    })
    expect(out.status).toBe('cancelled')
    expect(events).toEqual([]) // the worker never started
    const run = getRun(p.db, out.runId)!
    expect(run.status).toBe('cancelled')
    expect(column(p, out.runId, 'ended_at')).not.toBeNull()
    expect(p.db.prepare('SELECT count(*) FROM run_epochs WHERE run_id = ?').pluck().get(out.runId)).toBe(0)
    const dir = join(p.dir, 'runs', String(out.runId))
    expect(readdirSync(dir)).toEqual(['probe.json']) // no model, metrics or checkpoint half written
    expect(loadProbe(dir)!.cancelled).toBe(true)
    expect((run.config as { probe: RunProbe }).probe.cancelled).toBe(true) // the view can show what the probe got to
    // the earlier run is untouched
    expect(getRun(p.db, first.runId)!.status).toBe('completed')
    expect(readdirSync(firstDir).sort()).toEqual(firstFiles)
    p.close()
  })

  it('`studio train` probes by default and prints the chosen backbone and ranking (text and --json)', async () => {
    const p = await demo(50)
    const dir = p.dir
    p.close()
    let out = ''
    const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (out += t + '\n') }
    const args = ['train', dir, '--probe-sample', '3', '--probe-backbones', 'pixels,face-expression-faceapi', '--no-stage2', '--epochs', '2', '--workers', '1', '--split', 'stratified']
    expect(await main(args, io)).toBe(0)
    expect(out).toMatch(/probing backbones: pixels \(\d of 2\), embedding/)
    const chosen = /chosen backbone: (\S+)/.exec(out)![1]
    expect(out).toMatch(/backbone probe \(\d+ training images, \d-fold/)
    expect(out).toMatch(new RegExp(`\\* ${chosen.replace(/[-]/g, '\\-')}\\s+balanced acc\\s+\\d+\\.\\d%`))
    out = ''
    expect(await main([...args, '--json'], io)).toBe(0)
    const json = JSON.parse(out) as { runId: number; probe: RunProbe }
    expect(json.probe.ranking).toHaveLength(2)
    const q = openProject(dir)
    expect(column(q, json.runId, 'backbone')).toBe(json.probe.best)
    q.close()
    out = ''
    expect(await main(['train', dir, '--backbone', 'pixels', '--no-stage2', '--epochs', '2', '--workers', '1', '--json'], io)).toBe(0)
    expect((JSON.parse(out) as { probe?: unknown }).probe).toBeUndefined()
  })
})
