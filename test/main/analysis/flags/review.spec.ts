import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canUndoReview, decide, undoDecision } from '../../../../src/main/analysis/flags/review'
import { runFlagging } from '../../../../src/main/analysis/flags/run'
import { createFlagRun, dataVersion, getFlag, imageSetVersion, listFlags, replaceFlags, reviewStatus } from '../../../../src/main/analysis/flags/store'
import { consensusLabel } from '../../../../src/main/db/repos/annotations'
import { listClasses } from '../../../../src/main/db/repos/classes'
import { label } from '../../../../src/main/labeling/actions'
import { createProject, type Project } from '../../../../src/main/project/project'
import { seedImages } from '../../../helpers/seed'
import { tempDir } from '../../../helpers/tmp'

function project(n = 6): { p: Project; ids: number[]; cls: number[] } {
  const p = createProject(join(tempDir(), 'p'), { classes: ['happy', 'sad', 'angry'] })
  const ids = seedImages(p.db, n)
  const cls = listClasses(p.db).map((c) => c.id)
  ids.forEach((id, i) => label(p.db, 'demo', [id], cls[i % 2]))
  return { p, ids, cls }
}

/** A mislabeled run with one flag per given image, suggesting `to`. */
function flagRun(p: Project, flags: { imageId: number; to: number | null }[]): number {
  const v = { dataVersion: dataVersion(p.db), imageSet: imageSetVersion(p.db) }
  const runId = createFlagRun(p.db, 'mislabeled', 'test', {}, v)
  replaceFlags(
    p.db,
    'mislabeled',
    runId,
    flags.map((f, i) => ({ imageId: f.imageId, score: 0.9 - i * 0.1, suggestedClassId: f.to, evidence: { givenClassId: consensusLabel(p.db, f.imageId), summary: 'test' } })),
    'test'
  )
  return runId
}

describe('review decisions', () => {
  it('accept relabels through the label history (reviewer differs from annotator), keep and exclude record, undo reverses in order', () => {
    const { p, ids, cls } = project()
    flagRun(p, [
      { imageId: ids[0], to: cls[1] },
      { imageId: ids[1], to: cls[0] },
      { imageId: ids[2], to: cls[2] },
      { imageId: ids[3], to: null }
    ])
    const [f0, f1, f2, f3] = listFlags(p.db)
    expect(f0.imageId).toBe(ids[0])
    decide(p.db, { flagId: f0.id, decision: 'accept', annotator: 'me' })
    // "me" says sad, "demo" said happy: the review's label settles the tie.
    expect(consensusLabel(p.db, ids[0])).toBe(cls[1])
    decide(p.db, { flagId: f1.id, decision: 'relabel', classId: cls[2], annotator: 'me' })
    expect(consensusLabel(p.db, ids[1])).toBe(cls[2])
    decide(p.db, { flagId: f2.id, decision: 'keep', annotator: 'me' })
    decide(p.db, { flagId: f3.id, decision: 'exclude', annotator: 'me' })
    expect(p.db.prepare('SELECT excluded FROM images WHERE id = ?').pluck().get(ids[3])).toBe(1)
    expect(listFlags(p.db)).toEqual([])
    const rows = p.db.prepare('SELECT decision, from_class AS "from", to_class AS "to" FROM review_decisions ORDER BY id').all()
    expect(rows).toEqual([
      { decision: 'accept', from: cls[0], to: cls[1] },
      { decision: 'relabel', from: cls[1], to: cls[2] },
      { decision: 'keep', from: cls[0], to: null },
      { decision: 'exclude', from: cls[1], to: null }
    ])
    // The run is still current: fixes made from the flags do not stale it.
    expect(reviewStatus(p.db).needsRun).toBe(false)

    expect(undoDecision(p.db, 'me').decision).toBe('exclude')
    expect(p.db.prepare('SELECT excluded FROM images WHERE id = ?').pluck().get(ids[3])).toBe(0)
    expect(undoDecision(p.db, 'me').decision).toBe('keep')
    expect(undoDecision(p.db, 'me').decision).toBe('relabel')
    expect(consensusLabel(p.db, ids[1])).toBe(cls[1])
    const last = undoDecision(p.db, 'me')
    expect(last.flag).toMatchObject({ id: f0.id, status: 'open', stale: false })
    expect(consensusLabel(p.db, ids[0])).toBe(cls[0])
    expect(canUndoReview(p.db, 'me')).toBe(false)
    expect(listFlags(p.db).map((f) => f.id)).toEqual([f0.id, f1.id, f2.id, f3.id])
    expect(() => undoDecision(p.db, 'me')).toThrow('no review decision of me to undo')
  })

  it('refuses what cannot be done, with a reason', () => {
    const { p, ids, cls } = project()
    flagRun(p, [
      { imageId: ids[0], to: null },
      { imageId: ids[1], to: cls[0] }
    ])
    const [f0, f1] = listFlags(p.db)
    expect(() => decide(p.db, { flagId: f0.id, decision: 'accept', annotator: 'me' })).toThrow('has no suggested label to accept')
    expect(() => decide(p.db, { flagId: f0.id, decision: 'relabel', annotator: 'me' })).toThrow('relabel needs a classId')
    expect(() => decide(p.db, { flagId: 999, decision: 'keep', annotator: 'me' })).toThrow('flag 999 does not exist')
    decide(p.db, { flagId: f1.id, decision: 'accept', annotator: 'me' })
    expect(() => decide(p.db, { flagId: f1.id, decision: 'keep', annotator: 'me' })).toThrow('already decided (accepted)')
    // A label edit after the decision is not undone by surprise.
    label(p.db, 'me', [ids[5]], cls[2])
    expect(() => undoDecision(p.db, 'me')).toThrow('has edited labels since this review decision')
  })

  it('kept images are never flagged again for that type; flags go stale when their label changes elsewhere', () => {
    const { p, ids, cls } = project()
    flagRun(p, [
      { imageId: ids[0], to: cls[1] },
      { imageId: ids[1], to: cls[0] }
    ])
    const [f0] = listFlags(p.db)
    decide(p.db, { flagId: f0.id, decision: 'keep', annotator: 'me' })
    flagRun(p, [
      { imageId: ids[0], to: cls[1] },
      { imageId: ids[1], to: cls[0] }
    ])
    expect(listFlags(p.db).map((f) => f.imageId)).toEqual([ids[1]])
    label(p.db, 'demo', [ids[1]], cls[2])
    const status = reviewStatus(p.db)
    expect(listFlags(p.db)).toEqual([])
    expect(status.counts.find((c) => c.type === 'mislabeled')).toMatchObject({ open: 0, stale: 1 })
    expect(status.needsRun).toBe(true)
  })
})

describe('data fingerprints', () => {
  it('change when two images swap labels, when an image is excluded, and not otherwise', () => {
    const { p, ids, cls } = project(4)
    const v0 = dataVersion(p.db)
    const s0 = imageSetVersion(p.db)
    expect(dataVersion(p.db)).toBe(v0)
    // ids[0] is happy and ids[1] sad: swap them.
    label(p.db, 'demo', [ids[0]], cls[1])
    label(p.db, 'demo', [ids[1]], cls[0])
    expect(dataVersion(p.db)).not.toBe(v0)
    expect(imageSetVersion(p.db)).toBe(s0)
    label(p.db, 'demo', [ids[0]], cls[0])
    label(p.db, 'demo', [ids[1]], cls[1])
    expect(dataVersion(p.db)).toBe(v0)
    p.db.prepare('UPDATE images SET excluded = 1 WHERE id = ?').run(ids[2])
    expect(imageSetVersion(p.db)).not.toBe(s0)
    expect(dataVersion(p.db)).not.toBe(v0)
  })
})

describe('runFlagging without embeddings', () => {
  it('flags disagreement with the majority as suggestion and near-duplicates with different labels', async () => {
    const { p, ids, cls } = project(6)
    label(p.db, 'ann', [ids[0]], cls[1])
    label(p.db, 'bob', [ids[0]], cls[1])
    // ids[2] (happy) and ids[3] (sad) get near-identical hashes.
    p.db.prepare('UPDATE images SET phash = ? WHERE id = ?').run('ffff0000ffff0000', ids[2])
    p.db.prepare('UPDATE images SET phash = ? WHERE id = ?').run('ffff0000ffff0001', ids[3])
    const report = await runFlagging(p, { types: ['disagreement', 'duplicate', 'leakage'] })
    expect(report.runs.map((r) => [r.type, r.flagged])).toEqual([
      ['disagreement', 1],
      ['duplicate', 2],
      ['leakage', 0]
    ])
    expect(report.warnings).toContain('leakage: no training run yet, so there is no train/validation split to check')
    const dis = listFlags(p.db, { types: ['disagreement'] })[0]
    expect(dis).toMatchObject({ imageId: ids[0], suggestedClassId: cls[1] })
    expect(dis.evidence.labels).toHaveLength(3)
    const dup = listFlags(p.db, { types: ['duplicate'] }).find((f) => f.imageId === ids[2])!
    expect(dup).toMatchObject({ suggestedClassId: cls[1], evidence: { otherImageId: ids[3], distance: 1 } })
    expect(getFlag(p.db, dup.id)!.score).toBeCloseTo(1 - 1 / 64, 4)
  })

  it('likely mislabeled needs two classes with labels, and says so', async () => {
    const p = createProject(join(tempDir(), 'p'), { classes: ['happy', 'sad'] })
    const ids = seedImages(p.db, 3)
    label(p.db, 'demo', ids, listClasses(p.db)[0].id)
    await expect(runFlagging(p, { types: ['mislabeled'], backbone: 'pixels' })).rejects.toThrow(
      'likely mislabeled needs at least two classes with at least 2 labeled images each (found 1)'
    )
  })
})
