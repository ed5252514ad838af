// Evaluation of a real run: on its validation split it reproduces what the trainer measured, on
// other subsets it predicts with the saved model (recorded as part 'other'), truth follows
// relabeling, and runs that did not complete are refused with the reason.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { evaluateRun, markConfusionViewed } from '../../../src/main/evaluate/evaluate'
import { getRunRecord, listRunBriefs } from '../../../src/main/evaluate/runs'
import { label } from '../../../src/main/labeling/actions'
import { createRun, finishRun } from '../../../src/main/db/repos/runs'
import type { Project } from '../../../src/main/project/project'
import type { RunOutcome } from '../../../src/main/training/runner'
import { trainedProject } from './fixture'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

let project: Project
let run: RunOutcome
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ff-eval-'))
  ;({ project, run } = await trainedProject(dir))
}, 120_000)
afterAll(() => {
  project?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('evaluateRun', () => {
  it('on the validation split matches the trainer: same confusion matrix, same accuracy', async () => {
    const progress: number[] = []
    const ev = await evaluateRun(project, run.runId, { kind: 'validation' }, { onProgress: (d) => progress.push(d) })
    expect(ev.images).toBe(run.summary!.validationImages)
    expect(ev.confusion).toEqual(run.summary!.confusion)
    expect(ev.overall.accuracy).toBeCloseTo(run.summary!.valAccuracy!, 10)
    // the trainer may have recorded them; whatever it did not record was computed now
    expect(ev.source.stored + ev.source.computed).toBe(ev.images)
    if (ev.source.computed) expect(progress.at(-1)).toBe(ev.source.computed)
    // cells hold exactly the counted images
    ev.cells.forEach((row, i) => row.forEach((ids, j) => expect(ids.length).toBe(ev.confusion[i][j])))
    expect(ev.perClass.reduce((a, c) => a + c.support, 0)).toBe(ev.images)
    expect(ev.calibration.bins.reduce((a, b) => a + b.count, 0)).toBe(ev.images)
    expect(ev.perEnvironment.groups.reduce((a, g) => a + g.images, 0)).toBe(ev.images)
    for (const m of ev.mistakes) expect(m.predicted).not.toBe(m.label)
    const confidences = ev.mistakes.map((m) => m.confidence)
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a))
    // recorded: the second time nothing is computed
    const rows = project.db.prepare("SELECT count(*) FROM run_predictions WHERE run_id = ? AND part = 'validation'").pluck().get(run.runId)
    expect(rows).toBe(ev.images)
    const again = await evaluateRun(project, run.runId, { kind: 'validation' })
    expect(again.source).toEqual({ stored: ev.images, computed: 0 })
    expect(again.confusion).toEqual(ev.confusion)
  })

  it('on an environment predicts the images it has not seen and records them as other', async () => {
    const env = project.db.prepare('SELECT environment FROM images GROUP BY environment ORDER BY count(*) DESC LIMIT 1').pluck().get() as string
    const total = project.db.prepare('SELECT count(*) FROM images WHERE environment = ? AND excluded = 0').pluck().get(env) as number
    const ev = await evaluateRun(project, run.runId, { kind: 'environment', value: env })
    expect(ev.images + ev.unscored).toBe(total)
    expect(ev.perEnvironment.groups.map((g) => g.group)).toEqual([env])
    expect(ev.subsetDescription).toBe(`environment "${env}"`)
    // each recorded prediction carries the image's part of the run's split, 'other' outside it
    const splitId = project.db.prepare('SELECT split_id FROM runs WHERE id = ?').pluck().get(run.runId)
    const wrongPart = project.db
      .prepare("SELECT count(*) FROM run_predictions p LEFT JOIN split_assignments a ON a.image_id = p.image_id AND a.split_id = ? WHERE p.run_id = ? AND p.part != coalesce(a.part, 'other')")
      .pluck()
      .get(splitId, run.runId)
    expect(wrongPart).toBe(0)
    expect(ev.perSubgroup.length).toBeGreaterThan(0)
    // training images of that environment had no recorded prediction: the saved model ran
    expect(ev.source.computed).toBeGreaterThan(0)
    expect(existsSync(join(project.dir, 'runs', String(run.runId), 'model', 'model.json'))).toBe(true)
  })

  it('names a corrupt image, scores the rest, and does not record a prediction for it', async () => {
    const env = project.db.prepare("SELECT environment FROM images i WHERE NOT EXISTS (SELECT 1 FROM run_predictions p WHERE p.image_id = i.id AND p.run_id = ?) GROUP BY environment ORDER BY count(*) DESC LIMIT 1").pluck().get(run.runId) as string
    const victim = project.db.prepare("SELECT id, stored_path AS stored, file_name AS name FROM images i WHERE environment = ? AND NOT EXISTS (SELECT 1 FROM run_predictions p WHERE p.image_id = i.id AND p.run_id = ?) LIMIT 1").get(env, run.runId) as { id: number; stored: string; name: string }
    const file = join(project.dir, victim.stored)
    const bytes = readFileSync(file)
    writeFileSync(file, bytes.subarray(0, 40))
    try {
      const ev = await evaluateRun(project, run.runId, { kind: 'environment', value: env })
      expect(ev.unreadable).toHaveLength(1)
      expect(ev.unreadable[0].imageId).toBe(victim.id)
      expect(ev.unreadable[0].error).toMatch(new RegExp(`^${victim.name} \\(image ${victim.id}\\): .*: cannot read the image`))
      expect(ev.images).toBeGreaterThan(0)
      expect(project.db.prepare('SELECT count(*) FROM run_predictions WHERE run_id = ? AND image_id = ?').pluck().get(run.runId, victim.id)).toBe(0)
    } finally {
      writeFileSync(file, bytes)
    }
  })

  it('scores against the current label: relabeling moves an image to another row', async () => {
    const before = await evaluateRun(project, run.runId, { kind: 'validation' })
    const [i, j] = [0, 1]
    const id = before.cells[i].flat()[0]
    const from = before.cells[i].findIndex((c) => c.includes(id))
    label(project.db, 'tester', [id], before.classes[j].id)
    label(project.db, 'demo', [id], before.classes[j].id)
    const after = await evaluateRun(project, run.runId, { kind: 'validation' })
    expect(after.relabeledSinceRun).toBe(1)
    expect(after.confusion[i][from]).toBe(before.confusion[i][from] - 1)
    expect(after.cells[j].some((c) => c.includes(id))).toBe(true)
  })

  it('refuses cancelled and failed runs with the reason, and an empty subset by name', async () => {
    const cancelled = createRun(project.db, { classes: [] })
    finishRun(project.db, cancelled, 'cancelled')
    await expect(evaluateRun(project, cancelled, { kind: 'validation' })).rejects.toThrow(new RegExp(`run ${cancelled} was cancelled before it finished`))
    const failed = createRun(project.db, { classes: [] })
    finishRun(project.db, failed, 'failed', { error: 'out of memory' })
    await expect(evaluateRun(project, failed, { kind: 'validation' })).rejects.toThrow(/failed: out of memory; only completed runs/)
    await expect(evaluateRun(project, 9999, { kind: 'validation' })).rejects.toThrow(/run 9999 does not exist/)
    await expect(evaluateRun(project, run.runId, { kind: 'environment', value: 'mars' })).rejects.toThrow(/no images in environment "mars"/)
  })

  it('records that the confusion matrix was viewed and lists runs with their model', () => {
    expect(getRunRecord(project.db, run.runId).confusionViewedAt).toBeNull()
    const at = markConfusionViewed(project.db, run.runId)
    expect(getRunRecord(project.db, run.runId).confusionViewedAt).toBe(at)
    const brief = listRunBriefs(project).find((r) => r.id === run.runId)!
    expect(brief).toMatchObject({ status: 'completed', hasModel: true, backbone: 'pixels', confusionViewedAt: at })
  })

  it('stops on cancel, keeps what was predicted, and the next evaluation finishes the rest', async () => {
    const count = () => project.db.prepare('SELECT count(*) FROM run_predictions WHERE run_id = ?').pluck().get(run.runId) as number
    const before = count()
    const ctrl = new AbortController()
    await expect(
      evaluateRun(project, run.runId, { kind: 'filter', filter: {} }, { signal: ctrl.signal, onProgress: (done) => done > 0 && ctrl.abort() })
    ).rejects.toThrow(/evaluation cancelled/)
    const partial = count()
    expect(partial).toBeGreaterThan(before)
    const all = await evaluateRun(project, run.runId, { kind: 'filter', filter: {} })
    expect(all.source.stored).toBe(partial)
    expect(all.images + all.unscored).toBe(project.db.prepare('SELECT count(*) FROM images WHERE excluded = 0').pluck().get())
  })
})
