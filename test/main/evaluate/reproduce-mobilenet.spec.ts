// The real thing: a MobileNetV2 run trained by the studio, exported, and `studio predict` on the
// export gives the probabilities the trainer recorded for its validation images, to 1e-5.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { createProject } from '../../../src/main/project/project'
import { runTraining } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'

const dir = mkdtempSync(join(tmpdir(), 'ff-repro-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('export of a MobileNetV2 run', () => {
  it('predicts what the trainer recorded, to 1e-5', async () => {
    const p = createProject(join(dir, 'p'), { classes: [...EMOTION7] })
    await importDemo(p, { images: 60, seed: 8, labelNoise: 0, imbalance: 1 })
    const run = await runTraining(p, { backbone: 'mobilenetv2-nsfwjs', size: 96, split: { kind: 'stratified', validation: 0.3, seed: 1 }, head: { epochs: 3 }, stage2: { enabled: false }, seed: 1 })
    expect(run.status).toBe('completed')
    const recorded = p.db
      .prepare("SELECT i.stored_path AS stored, p.probs FROM run_predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = ? AND p.part = 'validation' ORDER BY i.id")
      .all(run.runId) as { stored: string; probs: string }[]
    p.close()
    expect(recorded.length).toBe(run.summary!.validationImages)
    let out = ''
    const io: Io = { out: (t) => (out += t + '\n'), err: () => undefined }
    expect(await main(['export', join(dir, 'p'), '--run', String(run.runId), '--out', join(dir, 'export')], io)).toBe(0)
    out = ''
    const paths = recorded.map((r) => join(dir, 'p', r.stored))
    expect(await main(['predict', join(dir, 'export'), ...paths, '--json'], io)).toBe(0)
    const rows = JSON.parse(out) as { path: string; probs: Record<string, number> }[]
    let worst = 0
    rows.forEach((r, i) => {
      expect(r.path).toBe(paths[i])
      Object.values(r.probs).forEach((v, k) => (worst = Math.max(worst, Math.abs(v - (JSON.parse(recorded[i].probs) as number[])[k]))))
    })
    expect(worst).toBeLessThan(1e-5)
  }, 180_000)
})
