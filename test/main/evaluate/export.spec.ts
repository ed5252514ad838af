// Export of a real run and `studio predict` on the export: the exported model reproduces the
// studio's recorded predictions to 1e-5, loads with plain @tensorflow/tfjs, and every refusal
// (cancelled run, non-empty or unwritable folder, missing shard, corrupt image) leaves nothing.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { createRun, finishRun } from '../../../src/main/db/repos/runs'
import { evaluateRun } from '../../../src/main/evaluate/evaluate'
import { exportRun } from '../../../src/main/evaluate/export'
import { openProject, type Project } from '../../../src/main/project/project'
import type { RunOutcome } from '../../../src/main/training/runner'
import { put } from '../../helpers/images'
import { trainedProject } from './fixture'

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  const code = await main(argv, io)
  return { code, out, err }
}

let dir: string
let projectDir: string
let run: RunOutcome
/** image path -> the studio's recorded probabilities (run_predictions) */
let recorded: Map<string, number[]>

function withProject<T>(f: (p: Project) => T): T {
  const p = openProject(projectDir)
  try {
    return f(p)
  } finally {
    p.close()
  }
}

async function withProjectAsync<T>(f: (p: Project) => Promise<T>): Promise<T> {
  const p = openProject(projectDir)
  try {
    return await f(p)
  } finally {
    p.close()
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ff-export-'))
  const t = await trainedProject(dir, 140)
  run = t.run
  projectDir = t.project.dir
  await evaluateRun(t.project, run.runId, { kind: 'validation' })
  const rows = t.project.db
    .prepare("SELECT i.stored_path AS stored, p.probs FROM run_predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = ? AND p.part = 'validation' ORDER BY i.id LIMIT 12")
    .all(run.runId) as { stored: string; probs: string }[]
  recorded = new Map(rows.map((r) => [join(projectDir, r.stored), JSON.parse(r.probs) as number[]]))
  t.project.close()
}, 120_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('studio export', () => {
  it('writes model, labels, preprocessing, metrics, card, dataset and history; predict reproduces the studio to 1e-5', async () => {
    const out = join(dir, 'export1')
    const res = await cli('export', projectDir, '--run', String(run.runId), '--out', out, '--dataset', 'imagefolder', '--json')
    expect(res.err).toBe('')
    expect(res.code).toBe(0)
    const report = JSON.parse(res.out)
    expect(report.savedModel.written).toBe(false)
    expect(report.savedModel.reason).toMatch(/no native TensorFlow backend/)
    expect(readdirSync(out).sort()).toEqual(['annotations.json', 'dataset', 'export.json', 'labels.json', 'metrics.json', 'model', 'model-card.html', 'model-card.md', 'preprocessing.json'])
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([])
    // the dataset tree holds every labeled image once, under its split and class
    const parts = readdirSync(join(out, 'dataset')).sort()
    expect(parts).toEqual(['train', 'validation'])
    const count = parts.flatMap((p) => readdirSync(join(out, 'dataset', p)).flatMap((c) => readdirSync(join(out, 'dataset', p, c)))).length
    expect(count).toBe(report.dataset.images)
    expect(count).toBe(withProject((p) => p.db.prepare('SELECT count(*) FROM image_labels l JOIN images i ON i.id = l.image_id WHERE l.class_id IS NOT NULL AND i.excluded = 0').pluck().get()))
    const history = JSON.parse(readFileSync(join(out, 'annotations.json'), 'utf8'))
    expect(history.annotations.length).toBe(withProject((p) => p.db.prepare('SELECT count(*) FROM annotations').pluck().get()))
    expect(history.annotations[0]).toHaveProperty('className')
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'))
    expect(metrics.evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(metrics.evaluation.images)
    expect(metrics.evaluation.calibration.bins).toHaveLength(15)
    const md = readFileSync(join(out, 'model-card.md'), 'utf8')
    for (const heading of ['## Data', '### Class balance', '## Splits', '## Results', '### By environment', '## Calibration', '## Preflight checklist', '## Known limitations']) expect(md).toContain(heading)
    expect(md).toContain('No weights: the image downsampled to 24x24') // backbone provenance
    expect(md).toContain('stratified random, 30% validation')
    // the checklist outcome the trainer stored with the run, overrides included when there are any
    expect(md).toMatch(/\| check \| verdict \| explanation \|\n\|[^\n]+\n\| \S+ \| (pass|warn|fail)/)
    expect(md).not.toContain('No checklist outcome was recorded')
    const html = readFileSync(join(out, 'model-card.html'), 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('aria-label="confusion matrix"')
    expect(html).toContain('aria-label="reliability diagram"')
    expect(html).not.toMatch(/<script|src="http/)

    // predict on the export reproduces the recorded predictions
    const images = [...recorded.keys()]
    const pred = await cli('predict', out, ...images, '--json')
    expect(pred.code).toBe(0)
    const rows = JSON.parse(pred.out) as { path: string; probs: Record<string, number> }[]
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')).classes as { name: string }[]
    let worst = 0
    for (const r of rows) {
      const want = recorded.get(r.path)!
      labels.forEach((c, i) => (worst = Math.max(worst, Math.abs(r.probs[c.name] - want[i]))))
    }
    expect(rows).toHaveLength(images.length)
    expect(worst).toBeLessThan(1e-5)

    // plain @tensorflow/tfjs loads the exported model.json (shards read by hand)
    const json = JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8'))
    const shards = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(out, 'model', p))))
    const bin = Buffer.concat(shards)
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }))
    expect(model.outputs[0].shape).toEqual([null, labels.length])
    model.dispose()

    // human output of predict names the class
    const human = await cli('predict', out, images[0])
    expect(human.out).toMatch(new RegExp(`${images[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\w+ \\(`))
  })

  it('writes a CSV manifest with splits', async () => {
    const out = join(dir, 'export-csv')
    const res = await cli('export', projectDir, '--run', String(run.runId), '--out', out, '--dataset', 'csv')
    expect(res.code).toBe(0)
    const lines = readFileSync(join(out, 'dataset', 'manifest.csv'), 'utf8').trim().split('\n')
    expect(lines[0]).toBe('image_id,path,file_name,sha256,label,split,environment,subject,attributes')
    const splits = new Set(lines.slice(1).map((l) => l.split(',')[5]))
    expect([...splits].sort()).toEqual(['train', 'validation'])
    expect(res.out).toContain('SavedModel: not written')
  })

  it('refuses a non-empty folder unless --force, and replaces it with --force', async () => {
    const out = join(dir, 'busy')
    put(join(out, 'keep.txt'), 'mine')
    const refused = await cli('export', projectDir, '--run', String(run.runId), '--out', out)
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/busy is not empty; choose an empty folder or replace it with --force/)
    expect(readdirSync(out)).toEqual(['keep.txt'])
    const forced = await cli('export', projectDir, '--run', String(run.runId), '--out', out, '--force')
    expect(forced.code).toBe(0)
    expect(existsSync(join(out, 'keep.txt'))).toBe(false)
    expect(existsSync(join(out, 'model', 'model.json'))).toBe(true)
  })

  it('refuses cancelled runs and unwritable folders with the reason, writing nothing', async () => {
    const cancelled = withProject((p) => {
      const id = createRun(p.db, { classes: [] })
      finishRun(p.db, id, 'cancelled')
      return id
    })
    const out = join(dir, 'never')
    const r1 = await cli('export', projectDir, '--run', String(cancelled), '--out', out)
    expect(r1.code).toBe(1)
    expect(r1.err).toMatch(new RegExp(`run ${cancelled} was cancelled before it finished`))
    expect(existsSync(out)).toBe(false)
    const fileParent = put(join(dir, 'a-file'), 'x')
    const r2 = await cli('export', projectDir, '--run', String(run.runId), '--out', join(fileParent, 'sub'))
    expect(r2.code).toBe(1)
    expect(r2.err).toMatch(/cannot write in .*a-file: (ENOTDIR|EEXIST)/)
  })

  it('names a missing weight shard and writes nothing; predict names a corrupt image and exits 1', async () => {
    const out = join(dir, 'export-shard')
    const good = join(dir, 'export1')
    const bin = join(projectDir, 'runs', String(run.runId), 'model', 'weights.bin')
    const bytes = readFileSync(bin)
    rmSync(bin)
    try {
      const r = await cli('export', projectDir, '--run', String(run.runId), '--out', out)
      expect(r.code).toBe(1)
      expect(r.err).toMatch(/missing the weight shard weights\.bin/)
      expect(existsSync(out)).toBe(false)
    } finally {
      writeFileSync(bin, bytes)
    }
    const broken = put(join(dir, 'imgs', 'broken.png'), Buffer.from('not an image'))
    const img = [...recorded.keys()][0]
    const p = await cli('predict', good, img, broken)
    expect(p.code).toBe(1)
    expect(p.out).toMatch(/broken\.png: error: .*broken\.png: cannot read the image/)
    expect(p.err).toMatch(/1 of 2 images could not be read/)
    mkdirSync(join(dir, 'empty-model'))
    const m = await cli('predict', join(dir, 'empty-model'), img)
    expect(m.code).toBe(1)
    expect(m.err).toMatch(/holds no model/)
    const u = await cli('predict', good)
    expect(u.code).toBe(2)
  })

  it('gives back an export a crash left aside, and clears stale temporary folders', async () => {
    const out = join(dir, 'crashed')
    // What a crash leaves beside the target: a temporary folder being written (hours ago), one
    // still being written by someone (now), and the previous export moved aside just before the
    // new one would have been moved in.
    const stale = put(join(dir, '.crashed.export-0000aaaa.tmp', 'model', 'weights.bin'), 'half')
    const staleDir = join(dir, '.crashed.export-0000aaaa.tmp')
    const hoursAgo = new Date(Date.now() - 3 * 3600_000)
    utimesSync(staleDir, hoursAgo, hoursAgo)
    const freshDir = join(dir, '.crashed.export-1111bbbb.tmp')
    put(join(freshDir, 'labels.json'), '[]')
    const asideDir = join(dir, '.crashed.export-2222cccc.tmp.old')
    put(join(asideDir, 'model-card.md'), 'the earlier export')
    const r = await cli('export', projectDir, '--run', String(run.runId), '--out', out)
    // The earlier export is back in place, so the target is not empty: nothing is overwritten unasked.
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/crashed is not empty/)
    expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toBe('the earlier export')
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(staleDir)).toBe(false)
    expect(existsSync(asideDir)).toBe(false)
    expect(existsSync(join(freshDir, 'labels.json'))).toBe(true)
    const forced = await cli('export', projectDir, '--run', String(run.runId), '--out', out, '--force')
    expect(forced.code).toBe(0)
    expect(readFileSync(join(out, 'model-card.md'), 'utf8')).toMatch(/^# /)
    rmSync(freshDir, { recursive: true })
  })

  it('stops on cancel and leaves nothing behind', async () => {
    const out = join(dir, 'export-cancelled')
    const ctrl = new AbortController()
    await expect(
      withProjectAsync((p) => exportRun(p, run.runId, out, { dataset: 'imagefolder', signal: ctrl.signal, onProgress: () => ctrl.abort() }))
    ).rejects.toThrow(/cancelled/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes('export-cancelled'))).toEqual([])
  })
})
