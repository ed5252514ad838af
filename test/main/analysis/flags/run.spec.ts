import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFlagging } from '../../../../src/main/analysis/flags/run'
import { listFlags, reviewStatus } from '../../../../src/main/analysis/flags/store'
import { main } from '../../../../src/main/cli/main'
import type { Io } from '../../../../src/main/cli/io'
import { importDemo } from '../../../../src/main/dataset/demo-import'
import { listClasses } from '../../../../src/main/db/repos/classes'
import { label } from '../../../../src/main/labeling/actions'
import { createProject, openProject, type Project } from '../../../../src/main/project/project'
import { tempDir } from '../../../helpers/tmp'

async function demo(images = 84, dir = tempDir()): Promise<Project> {
  const p = createProject(join(dir, 'p'))
  await importDemo(p, { images, seed: 4, labelNoise: 0.15, imbalance: 1, environments: { studio: 1 } })
  return p
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  return { code: await main(argv, io), out, err }
}

describe('flagging a demo project (raw-pixel features, fast)', () => {
  let p: Project
  // One project for the whole block (tempDir() would be removed after the first test).
  const dir = mkdtempSync(join(tmpdir(), 'ff-flags-'))
  beforeAll(async () => {
    p = await demo(84, dir)
  }, 60_000)
  afterAll(() => {
    p.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('stores likely-mislabeled flags with evidence and the noise matrix, and outliers', async () => {
    const steps: string[] = []
    const report = await runFlagging(p, { types: ['mislabeled', 'outlier'], backbone: 'pixels' }, { onProgress: (_d, _t, m) => steps.push(m) })
    expect(report.cancelled).toBe(false)
    expect(report.runs.map((r) => r.type)).toEqual(['mislabeled', 'outlier'])
    expect(steps.some((m) => m.startsWith('embedding images'))).toBe(true)
    expect(steps).toContain('cross-validating: fold 5 of 5 done')
    const flags = listFlags(p.db, { types: ['mislabeled'] })
    expect(flags.length).toBe(report.runs[0].flagged)
    expect(flags.length).toBeGreaterThan(0)
    for (const f of flags) {
      expect(f.suggestedClassId).not.toBe(f.evidence.givenClassId)
      expect(f.evidence.probs![0].classId).toBe(f.suggestedClassId)
      // Default ranking: the mean of self-confidence and normalised margin (margin + 1) / 2.
      expect(f.score).toBeCloseTo(1 - (f.evidence.selfConfidence! + (f.evidence.margin! + 1) / 2) / 2, 3)
    }
    const noise = reviewStatus(p.db).noise!
    expect(noise.classes).toHaveLength(7)
    expect(noise.folds).toBe(5)
    for (let j = 0; j < 7; j++) expect(noise.noise.reduce((a, row) => a + row[j], 0)).toBeCloseTo(1, 2)
  }, 60_000)

  it('uses fewer folds when a class is small, and says so', async () => {
    const sad = listClasses(p.db).find((c) => c.name === 'sad')!.id
    const sadIds = p.db.prepare('SELECT image_id FROM image_labels WHERE class_id = ?').pluck().all(sad) as number[]
    p.db.prepare(`UPDATE images SET excluded = 1 WHERE id IN (${sadIds.slice(3).join(',')})`).run()
    try {
      const report = await runFlagging(p, { types: ['mislabeled'], backbone: 'pixels' })
      expect(report.warnings).toContain('likely mislabeled: 3 folds instead of 5: class "sad" has only 3 labeled images')
      expect(reviewStatus(p.db).noise!.folds).toBe(3)
    } finally {
      p.db.prepare('UPDATE images SET excluded = 0').run()
    }
  }, 60_000)

  it('leaves out a class with no labeled images, and says so', async () => {
    const sad = listClasses(p.db).find((c) => c.name === 'sad')!.id
    p.db.prepare('UPDATE images SET excluded = 1 WHERE id IN (SELECT image_id FROM image_labels WHERE class_id = ?)').run(sad)
    try {
      const report = await runFlagging(p, { types: ['mislabeled'], backbone: 'pixels' })
      expect(report.warnings).toContain('likely mislabeled: class "sad" has no labeled images; it is left out')
      expect(reviewStatus(p.db).noise!.classes.map((c) => c.name)).not.toContain('sad')
    } finally {
      p.db.prepare('UPDATE images SET excluded = 0').run()
    }
  }, 60_000)

  it('leaves out images whose label changed while it ran, and says so', async () => {
    const [first] = p.db.prepare('SELECT image_id FROM image_labels ORDER BY image_id LIMIT 1').pluck().all() as number[]
    const other = listClasses(p.db).find((c) => c.id !== (p.db.prepare('SELECT class_id FROM image_labels WHERE image_id = ?').pluck().get(first) as number))!
    let changed = false
    const report = await runFlagging(
      p,
      { types: ['mislabeled'], backbone: 'pixels' },
      {
        onProgress: (_d, _t, m) => {
          if (!changed && m.startsWith('cross-validating')) {
            changed = true
            label(p.db, 'someone', [first], other.id)
            label(p.db, 'someone-else', [first], other.id)
          }
        }
      }
    )
    expect(changed).toBe(true)
    expect(report.warnings).toContain('1 image changed label or left the data while flagging ran; they were not flagged this time (run again to include them)')
    expect(listFlags(p.db).some((f) => f.imageId === first)).toBe(false)
    expect(reviewStatus(p.db).needsRun).toBe(true)
  }, 60_000)

  it('cancels cleanly, keeping the flags from before', async () => {
    const before = listFlags(p.db).map((f) => f.id)
    const ctrl = new AbortController()
    const report = await runFlagging(
      p,
      { types: ['mislabeled'], backbone: 'pixels' },
      { signal: ctrl.signal, onProgress: (_d, _t, m) => m.startsWith('cross-validating') || m.startsWith('embedding') ? ctrl.abort() : undefined }
    )
    expect(report.cancelled).toBe(true)
    expect(listFlags(p.db).map((f) => f.id)).toEqual(before)
  }, 60_000)

  it('honours a cancel that comes with the last fold, after the last check inside the work', async () => {
    const before = listFlags(p.db).map((f) => f.id)
    const ctrl = new AbortController()
    const seen: string[] = []
    const report = await runFlagging(
      p,
      { types: ['mislabeled'], backbone: 'pixels', folds: 3 },
      { signal: ctrl.signal, onProgress: (_d, _t, m) => (seen.push(m), m.startsWith('cross-validating: fold 3 of 3') ? ctrl.abort() : undefined) }
    )
    expect(seen.some((m) => m.startsWith('cross-validating: fold 3 of 3'))).toBe(true)
    expect(report.cancelled).toBe(true)
    expect(listFlags(p.db).map((f) => f.id)).toEqual(before)
  }, 60_000)
})

describe('studio flags', () => {
  it('computes flags when there are none, reuses current ones, recomputes when labels change', async () => {
    const p = await demo(70)
    const dir = p.dir
    p.close()
    const first = await cli('flags', dir, '--backbone', 'pixels', '--json')
    expect(first.code).toBe(0)
    const doc = JSON.parse(first.out)
    expect(doc.computed).toBe(true)
    expect(doc.report.runs.map((r: { type: string }) => r.type)).toEqual(['mislabeled', 'outlier', 'disagreement', 'duplicate', 'leakage'])
    expect(doc.flags.length).toBe(doc.status.counts.reduce((a: number, c: { open: number }) => a + c.open, 0))
    const again = await cli('flags', dir, '--backbone', 'pixels', '--type', 'mislabeled')
    expect(again.out).toContain('flags are current (use --refresh to compute them again)')
    expect(again.out).toContain('estimated noise matrix p(given label | true label)')
    const refreshed = await cli('flags', dir, '--backbone', 'pixels', '--type', 'mislabeled', '--refresh', '--json')
    expect(JSON.parse(refreshed.out).computed).toBe(true)
    const reopened = openProject(dir)
    const [image] = reopened.db.prepare('SELECT image_id FROM image_labels LIMIT 1').pluck().all() as number[]
    label(reopened.db, 'demo', [image], null)
    reopened.close()
    const changed = await cli('flags', dir, '--backbone', 'pixels', '--type', 'mislabeled')
    expect(changed.out).toContain('labels or images changed since the flags were computed: computing them again')
  }, 120_000)

  it('rejects an unknown type with the list of types (exit 2)', async () => {
    const r = await cli('flags', tempDir(), '--type', 'mislabled')
    expect(r.code).toBe(2)
    expect(r.err).toContain('--type must be one of mislabeled, disagreement, duplicate, leakage, outlier (got "mislabled")')
  })
})
