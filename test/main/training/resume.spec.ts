import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { getRun, runEpochs } from '../../../src/main/db/repos/runs'
import { createProject, openProject } from '../../../src/main/project/project'
import type { TrainerEvent } from '../../../src/main/training/plan'
import { resumeTraining } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'
import { tempDir } from '../../helpers/tmp'

describe('a run whose process dies', () => {
  it('is marked interrupted at the next open and resumes from its last checkpoint', async () => {
    const dir = join(tempDir(), 'p')
    const p = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p, { images: 72, seed: 6, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
    p.close()
    const child = spawnSync(process.execPath, ['bin/run-ts.mjs', 'test/main/training/fixtures/crash-run.ts', dir], { encoding: 'utf8', timeout: 180_000 })
    expect(child.stdout).toContain('crashing')
    expect(child.stdout).not.toContain('finished')
    expect(child.signal).toBe('SIGKILL')
    expect(existsSync(join(dir, 'runs', '1', 'checkpoints', 'stage2-epoch0001.json'))).toBe(true)

    const q = openProject(dir)
    expect(getRun(q.db, 1)!.status).toBe('interrupted')
    const before = runEpochs(q.db, 1)
    expect(before.filter((e) => e.stage === 2).map((e) => e.epoch)).toEqual([1])
    const events: TrainerEvent[] = []
    const out = await resumeTraining(q, 1, { onEvent: (e) => events.push(e) }, { embedWorkers: 1 })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe('completed')
    expect(out.summary!.resumed).toBe(true)
    // stage 1 came from its checkpoint; stage 2 went on with epochs 2 and 3 only
    expect(events.some((e) => e.type === 'stageBegin' && e.stage === 1 && /restored/.test(e.description))).toBe(true)
    const epochs2 = events.filter((e) => e.type === 'epochEnd').map((e) => (e as Extract<TrainerEvent, { type: 'epochEnd' }>).metrics)
    expect(epochs2.map((m) => `${m.stage}.${m.epoch}`)).toEqual(['2.2', '2.3'])
    expect(runEpochs(q.db, 1).filter((e) => e.stage === 2).map((e) => e.epoch)).toEqual([1, 2, 3])
    expect(getRun(q.db, 1)!.status).toBe('completed')
    await expect(resumeTraining(q, 1)).rejects.toThrow(/only an interrupted, failed or cancelled run can be resumed/)
    q.close()
  }, 300_000)
})
