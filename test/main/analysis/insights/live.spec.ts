import { describe, expect, it } from 'vitest'
import { computeDashboard, dashboard, warmDashboard } from '../../../../src/main/analysis/insights/dashboard'
import { scanImages } from '../../../../src/main/analysis/insights/composition'
import { freshLook, liveScan } from '../../../../src/main/analysis/insights/live'
import type { Db } from '../../../../src/main/db/connection'
import { label } from '../../../../src/main/labeling/actions'
import type { DashboardData } from '../../../../src/shared/insights'
import { seedImages } from '../../../helpers/seed'
import { Fixture } from './fixture'

/** The figures without their timings. */
const figures = (d: DashboardData) => ({ ...d, ms: 0, timings: {} })
const sorted = (rows: { n: number }[]) => rows.map((r) => JSON.stringify(r)).sort()

/** Small deterministic generator, so a failure names the step that broke it. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function ids(db: Db): number[] {
  return db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as number[]
}

/** A project with a split, a run, two annotators, and every kind of write it can take. */
function project(seed: number) {
  const f = new Fixture(['happy', 'sad', 'fear'])
  const a = f.add({ cls: 'happy', n: 30, env: 'studio', subject: (k) => `s${k % 5}`, attrs: { age: 'young' } })
  const b = f.add({ cls: 'sad', n: 20, env: 'webcam', subject: (k) => `s${k % 7}`, attrs: { age: 'old' } })
  const parts = new Map<number, 'train' | 'validation'>()
  ;[...a, ...b].forEach((id, i) => parts.set(id, i % 4 === 0 ? 'validation' : 'train'))
  f.run(parts, ['happy', 'sad', 'fear'], [...parts].filter(([, p]) => p === 'validation').map(([imageId], i) => ({ imageId, label: 0, predicted: i % 2 })))
  const random = rng(seed)
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]
  const some = (n: number) => Array.from({ length: n }, () => pick(ids(f.db)))
  const classIds = ['happy', 'sad', 'fear'].map((c) => f.classId(c))
  let next = 1000
  const writes: [string, () => void][] = [
    ['relabel a few', () => label(f.db, pick(['ann', 'bo']), some(3), pick(classIds))],
    ['clear a label', () => label(f.db, 'ann', some(1), null)],
    ['label everything (a full pass)', () => label(f.db, 'cy', ids(f.db), pick(classIds))],
    ['exclude', () => f.db.prepare('UPDATE images SET excluded = 1 - excluded WHERE id = ?').run(pick(ids(f.db)))],
    ['mark missing', () => f.db.prepare('UPDATE images SET missing = 1 WHERE id = ?').run(pick(ids(f.db)))],
    ['change environment', () => f.db.prepare('UPDATE images SET environment = ? WHERE id = ?').run(pick(['phone', 'studio', null]), pick(ids(f.db)))],
    ['change attributes', () => f.db.prepare('UPDATE images SET attributes = ? WHERE id = ?').run(pick(['{}', '{"age":"mid"}', '{"age":"old","glasses":"yes"}']), pick(ids(f.db)))],
    ['change subject', () => f.db.prepare('UPDATE images SET subject_id = ? WHERE id = ?').run(pick(['s1', 's99', null]), pick(ids(f.db)))],
    ['add images', () => { const added = seedImages(f.db, 3, { environment: () => 'phone', subject: () => 's3' }, next); next += 3; label(f.db, 'ann', added.slice(0, 2), pick(classIds)) }],
    ['delete an image', () => f.db.prepare('DELETE FROM images WHERE id = ?').run(pick(ids(f.db)))],
    ['move an image to the other part', () => f.db.prepare("UPDATE split_assignments SET part = CASE part WHEN 'train' THEN 'validation' ELSE 'train' END WHERE image_id = ?").run(pick(ids(f.db)))],
    ['take an image out of the split', () => f.db.prepare('DELETE FROM split_assignments WHERE image_id = ?').run(pick(ids(f.db)))],
    ['a write rolled back', () => {
      expect(() => f.db.transaction(() => { label(f.db, 'ann', some(4), pick(classIds)); f.db.prepare('UPDATE images SET environment = ?').run('lost'); throw new Error('rolled back') })()).toThrow('rolled back')
    }],
    ['a new run with its own split', () => {
      const split = new Map<number, 'train' | 'validation'>()
      ids(f.db).forEach((id, i) => split.set(id, i % 3 === 0 ? 'validation' : 'train'))
      f.run(split, ['happy', 'sad', 'fear'], [...split].filter(([, p]) => p === 'validation').map(([imageId]) => ({ imageId, label: 1, predicted: 1 })))
    }]
  ]
  return { f, writes, pick, random }
}

describe('dashboard kept current between writes (live.ts)', () => {
  it('gives after every kind of write the same figures as a fresh pass', () => {
    const { f, writes, pick } = project(7)
    dashboard(f.db) // the first look installs the notes
    for (let step = 0; step < 120; step++) {
      const [name, write] = step < writes.length ? writes[step] : pick(writes)
      write()
      const kept = figures(dashboard(f.db))
      const fresh = figures(freshLook(f.db, () => computeDashboard(f.db)))
      expect(kept, `step ${step}: ${name}`).toEqual(fresh)
    }
  })

  it('warms up slice by slice with writes in between, and the first look then equals a fresh pass', async () => {
    for (const seed of [1, 2, 3]) {
      const { f, writes, pick } = project(seed)
      let pauses = 0
      // every pause lets a write in, as the app's event loop would between slices of 7 images
      await warmDashboard(f.db, { slice: 7, pause: async () => void (pauses++ % 2 === 0 && pick(writes.slice(0, -1))[1]()) })
      expect(pauses).toBeGreaterThan(8)
      const before = performance.now()
      const kept = figures(dashboard(f.db))
      expect(performance.now() - before).toBeLessThan(1000)
      expect(kept, `seed ${seed}`).toEqual(figures(freshLook(f.db, () => computeDashboard(f.db))))
      for (let step = 0; step < 10; step++) {
        pick(writes)[1]()
        expect(figures(dashboard(f.db)), `seed ${seed}, step ${step}`).toEqual(figures(freshLook(f.db, () => computeDashboard(f.db))))
      }
    }
  })

  it('lets a look that comes during the warm-up finish the pass itself, and the warm-up then stops', async () => {
    const { f, writes } = project(4)
    let looked: DashboardData | null = null
    let pauses = 0
    await warmDashboard(f.db, {
      slice: 5,
      pause: async () => {
        pauses++
        if (pauses === 4) {
          writes[0][1]()
          looked = dashboard(f.db)
        }
      }
    })
    expect(looked).not.toBeNull()
    expect(figures(looked!)).toEqual(figures(freshLook(f.db, () => computeDashboard(f.db))))
    writes[3][1]()
    expect(figures(dashboard(f.db))).toEqual(figures(freshLook(f.db, () => computeDashboard(f.db))))
  })

  it('keeps the same groups as the full scan for a split and for none, and follows a change of split', () => {
    const f = new Fixture(['happy', 'sad'])
    const a = f.add({ cls: 'happy', n: 10, env: 'studio' })
    const parts = new Map<number, 'train' | 'validation'>(a.map((id, i) => [id, i < 7 ? 'train' : 'validation']))
    f.run(parts, ['happy', 'sad'])
    const splitId = f.db.prepare('SELECT max(split_id) FROM runs').pluck().get() as number
    expect(sorted(liveScan(f.db, splitId))).toEqual(sorted(scanImages(f.db, splitId)))
    label(f.db, 'ann', a.slice(0, 3), f.classId('sad'))
    const live = liveScan(f.db, splitId)
    expect(sorted(live)).toEqual(sorted(scanImages(f.db, splitId)))
    expect(live.find((r) => r.part === 'train' && r.classId === f.classId('sad'))?.n).toBe(3)
    // the same connection asked without a split: a full pass, parts gone
    const none = liveScan(f.db, null)
    expect(none.every((r) => r.part === null)).toBe(true)
    expect(sorted(none)).toEqual(sorted(scanImages(f.db, null)))
  })

  it('does not recompute the subjects of the split or the run queries when only a label changes', () => {
    const f = new Fixture(['happy', 'sad'])
    const a = f.add({ cls: 'happy', n: 8, env: 'studio', subject: (k) => `s${k % 2}` })
    f.run(new Map(a.map((id, i) => [id, i % 2 ? 'train' : 'validation'])), ['happy', 'sad'], [{ imageId: a[0], label: 0, predicted: 0 }])
    const first = dashboard(f.db)
    label(f.db, 'ann', [a[1]], f.classId('sad'))
    const second = dashboard(f.db)
    expect(second).not.toBe(first)
    expect(second.classes.map((c) => c.count)).toEqual([7, 1])
    // the cached query results are the same objects
    expect(second.run!.perClass).toBe(first.run!.perClass)
    expect(second.split!.parts.map((p) => p.subjects)).toEqual([1, 1]) // train s1, validation s0
    f.db.prepare('UPDATE images SET subject_id = ? WHERE id = ?').run('s9', a[1])
    const third = dashboard(f.db)
    expect(third.split!.parts.map((p) => p.subjects)).toEqual([2, 1]) // train s1 and s9
    f.db.prepare("INSERT INTO run_predictions (run_id, image_id, part, label, predicted, probs) VALUES (?, ?, 'validation', 0, 1, '[]')").run(third.run!.runId, a[2])
    const fourth = dashboard(f.db)
    expect(fourth.run!.perClass).not.toBe(third.run!.perClass)
    expect(fourth.run!.evaluated).toBe(2)
  })
})
