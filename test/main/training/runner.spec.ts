import { existsSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { getRun, runEpochs } from '../../../src/main/db/repos/runs'
import { label } from '../../../src/main/labeling/actions'
import { createProject, openProject, type Project } from '../../../src/main/project/project'
import { loadRunModel } from '../../../src/main/training/artifacts'
import { defaultSplit, gatherImages, runTraining } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'
import { tempDir } from '../../helpers/tmp'

/** Studio-only demo faces: clean enough that even the raw-pixel baseline learns something. */
async function demo(images: number): Promise<Project> {
  const p = createProject(join(tempDir(), 'p'), { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 3, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
  return p
}

describe('a training run', () => {
  it('trains in a worker, records the run, its split and epochs, and saves a loadable head', async () => {
    const p = await demo(280)
    const rows = gatherImages(p).rows
    expect(defaultSplit(rows, 1).kind).toBe('subject') // demo images know their subject: no person in both parts by default
    const events: string[] = []
    const split = { kind: 'stratified' as const, validation: 0.25, seed: 2 }
    const out = await runTraining(p, { backbone: 'pixels', split, head: { epochs: 30 }, seed: 2 }, { onEvent: (e) => events.push(e.type) })
    expect(out.status).toBe('completed')
    // 280 images with their flip views: the embedding worker for each other core started with the
    // training worker, and computed (none on a one-core machine)
    expect(out.summary!.embedding).toMatchObject({ computed: 560, workers: availableParallelism(), startedAhead: availableParallelism() - 1 })
    expect(events).toContain('backend')
    expect(events.filter((e) => e === 'epochEnd').length).toBeGreaterThan(2)
    expect(events.at(-1)).toBe('runEnd')
    const run = getRun(p.db, out.runId)!
    expect(run.status).toBe('completed')
    expect((run.config as { split: { description: string } }).split.description).toMatch(/stratified/)
    expect(runEpochs(p.db, out.runId).length).toBe(events.filter((e) => e === 'epochEnd').length)
    const parts = p.db.prepare('SELECT part, count(*) AS n FROM split_assignments a JOIN runs r ON r.split_id = a.split_id WHERE r.id = ? GROUP BY part').all(out.runId) as { part: string; n: number }[]
    expect(parts.map((x) => x.part).sort()).toEqual(['train', 'validation'])
    // it learned (training accuracy rose well above guessing one of seven) and beats chance on
    // held-out images; the saved head loads with plain tfjs
    const history = runEpochs(p.db, out.runId)
    expect(Math.max(...history.map((h) => h.accuracy!))).toBeGreaterThan(0.35)
    expect(out.summary!.valAccuracy!).toBeGreaterThan(0.2)
    expect(out.summary!.confusion!.flat().reduce((a, b) => a + b, 0)).toBe(out.summary!.validationImages)
    const loaded = await loadRunModel(join(p.dir, 'runs', String(out.runId)))
    expect(loaded.model.outputs[0].shape).toEqual([null, 7])
    expect(loaded.labels.classes.map((c) => c.name)).toEqual([...EMOTION7])
    expect(existsSync(join(p.dir, 'runs', String(out.runId), 'metrics.json'))).toBe(true)
    loaded.model.dispose()
    p.close()
  })

  it('stops on cancel and marks the run cancelled', async () => {
    const p = await demo(70)
    const controller = new AbortController()
    const out = await runTraining(p, { backbone: 'pixels', head: { epochs: 300, patience: 300 } }, { signal: controller.signal, onEvent: (e) => e.type === 'epochEnd' && controller.abort() })
    expect(out.status).toBe('cancelled')
    expect(getRun(p.db, out.runId)!.status).toBe('cancelled')
    p.close()
  })

  it('explains what is wrong with the data instead of training on it', async () => {
    const p = createProject(join(tempDir(), 'p'), { classes: ['happy', 'sad', 'fear'] })
    await expect(runTraining(p, { backbone: 'pixels' })).rejects.toThrow(/at least two classes with labeled images \(found 0\)/)
    p.close()
    const q = await demo(70)
    const fear = (q.db.prepare("SELECT id FROM classes WHERE name = 'fear'").pluck().get() as number)
    const fearImages = q.db.prepare('SELECT image_id FROM image_labels WHERE class_id = ?').pluck().all(fear) as number[]
    label(q.db, 'demo', fearImages, null) // fear is now an empty class
    const out = await runTraining(q, { backbone: 'pixels', head: { epochs: 3 } })
    expect(out.warnings.join(' ')).toMatch(/"fear" has no labeled images/)
    expect(out.summary!.confusion!.length).toBe(6)
    // a class with a single image trains, with a warning that names it
    const sad = q.db.prepare("SELECT id FROM classes WHERE name = 'sad'").pluck().get() as number
    const sadImages = q.db.prepare('SELECT image_id FROM image_labels WHERE class_id = ?').pluck().all(sad) as number[]
    label(q.db, 'demo', sadImages.slice(1), null)
    const single = await runTraining(q, { backbone: 'pixels', head: { epochs: 2 }, split: { kind: 'stratified', validation: 0.25, seed: 1 } })
    expect(single.status).toBe('completed')
    expect(single.warnings.join(' ')).toMatch(/"sad" has a single labeled image/)
    // a split that leaves nothing to train on is refused before a run is recorded
    const runsBefore = q.db.prepare('SELECT count(*) FROM runs').pluck().get()
    q.db.prepare("UPDATE images SET split_hint = 'validation'").run()
    await expect(runTraining(q, { backbone: 'pixels', split: { kind: 'column' } })).rejects.toThrow(/the split leaves no images for training: every labeled image is in validation/)
    expect(q.db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(runsBefore)
    q.db.prepare('UPDATE images SET excluded = 1').run()
    await expect(runTraining(q, { backbone: 'pixels' })).rejects.toThrow(/found 0/)
    // earlier runs are untouched by the refusals
    expect(getRun(q.db, out.runId)!.status).toBe('completed')
    expect(getRun(q.db, single.runId)!.status).toBe('completed')
    q.close()
  })

  it('takes the head from the CLI (softmax only here) and refuses one out of bounds, naming the field', async () => {
    const p = await demo(70)
    const dir = p.dir
    p.close()
    let out = ''
    let err = ''
    const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
    const common = ['train', dir, '--backbone', 'pixels', '--no-stage2', '--epochs', '2', '--workers', '1', '--split', 'stratified']
    expect(await main([...common, '--hidden', '0', '--lr', '0.01', '--json'], io)).toBe(0)
    const runId = (JSON.parse(out) as { runId: number }).runId
    const q = openProject(dir)
    expect((getRun(q.db, runId)!.config as { head: object }).head).toMatchObject({ hidden: 0, learningRate: 0.01, epochs: 2 })
    // the saved model's head is one softmax layer on the features, as asked
    const loaded = await loadRunModel(join(dir, 'runs', String(runId)))
    expect(loaded.model.layers.filter((l) => l.getClassName() === 'Dense')).toHaveLength(1)
    loaded.model.dispose()
    q.close()
    expect(await main([...common, '--dropout', '2'], io)).toBe(1)
    expect(err).toMatch(/head\.dropout must be a number 0\.\.0\.95 \(got 2\)/)
    expect(await main([...common, '--hidden', '2.5'], io)).toBe(1)
    expect(err).toMatch(/head\.hidden must be an integer 0\.\.8192/)
    const r = openProject(dir)
    expect(r.db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(1) // the refused ones recorded nothing
    r.close()
  })

  it('refuses stage-2 settings out of bounds, naming the field', async () => {
    const p = await demo(70)
    await expect(runTraining(p, { stage2: { fraction: 1.5 } })).rejects.toThrow(/unfrozen fraction must be between 0 and 1 \(got 1.5\)/)
    await expect(runTraining(p, { stage2: { fraction: 0.2, augment: { rotateDeg: 45 } } })).rejects.toThrow(/augmentation rotateDeg must be between 0 and 20 \(got 45\)/)
    expect(p.db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(0)
    p.close()
  })
})
