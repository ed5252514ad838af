import { describe, expect, it } from 'vitest'
import { dashboard } from '../../../../src/main/analysis/insights/dashboard'
import { label } from '../../../../src/main/labeling/actions'
import { NONE } from '../../../../src/shared/insights'
import { Fixture } from './fixture'

const E = (n: number, beta = 0.999) => (1 - beta ** n) / (1 - beta)

describe('dashboard: class balance', () => {
  it('counts labeled active images per class, the imbalance ratio, effective numbers and the weights training would use', () => {
    const f = new Fixture(['happy', 'sad', 'fear'])
    f.add({ cls: 'happy', n: 30 })
    f.add({ cls: 'sad', n: 10 })
    const out = f.add({ cls: 'happy', n: 5 })
    f.db.prepare(`UPDATE images SET excluded = 1 WHERE id IN (${out.join(',')})`).run()
    const gone = f.add({ cls: 'sad', n: 3 })
    f.db.prepare(`UPDATE images SET missing = 1 WHERE id IN (${gone.join(',')})`).run()
    const unlabeled = f.add({ cls: 'sad', n: 4 })
    label(f.db, 'ann', unlabeled, null)

    const d = dashboard(f.db)
    expect(d.totals).toEqual({ images: 44, labeled: 40, unlabeled: 4, excluded: 5, missing: 3 })
    const [happy, sad, fear] = d.classes
    expect([happy.count, sad.count, fear.count]).toEqual([30, 10, 0])
    expect(happy.share).toBeCloseTo(0.75, 10)
    expect(d.imbalanceRatio).toBe(3)
    expect(happy.effectiveNumber).toBeCloseTo(E(30), 9)
    expect(sad.effectiveNumber).toBeCloseTo(E(10), 9)
    // inverse: N / (K n_c) over the 2 classes that have images
    expect(happy.weights.inverse).toBeCloseTo(40 / (2 * 30), 12)
    expect(sad.weights.inverse).toBeCloseTo(40 / (2 * 10), 12)
    expect(fear.weights.inverse).toBe(0)
    // effective: 1/E_n normalised to sum to K
    const raw = [1 / E(30), 1 / E(10)]
    expect(happy.weights.effective).toBeCloseTo((raw[0] / (raw[0] + raw[1])) * 2, 9)
    expect(sad.weights.effective).toBeCloseTo((raw[1] / (raw[0] + raw[1])) * 2, 9)
  })

  it('is empty but well-formed with no labels', () => {
    const f = new Fixture(['a', 'b'])
    const d = dashboard(f.db)
    expect(d.imbalanceRatio).toBeNull()
    expect(d.classes.map((c) => c.count)).toEqual([0, 0])
    expect(d.gaps).toEqual([])
    expect(d.split).toBeNull()
    expect(d.run).toBeNull()
  })
})

describe('dashboard: class x environment and class x subgroup', () => {
  it('fills the heatmaps and calls out cells under 20 images or under 5% of their class, in words', () => {
    const f = new Fixture(['happy', 'sad'])
    f.add({ cls: 'happy', n: 400, env: 'studio', attrs: { age_band: '18-29' } })
    f.add({ cls: 'happy', n: 21, env: 'webcam', attrs: { age_band: '60+' } })
    f.add({ cls: 'sad', n: 25, env: 'studio', attrs: { age_band: '18-29' } })
    f.add({ cls: 'sad', n: 12, env: 'webcam' })

    const d = dashboard(f.db)
    const env = d.classByEnvironment
    expect(env.columns).toEqual(['studio', 'webcam'])
    expect(env.counts).toEqual([
      [400, 21],
      [25, 12]
    ])
    expect(env.columnTotals).toEqual([425, 33])
    const age = d.classBySubgroup.find((m) => m.dimension === 'age_band')!
    expect(age.columns).toEqual(['18-29', '60+', NONE])
    expect(age.counts).toEqual([
      [400, 21, 0],
      [25, 0, 12]
    ])
    const texts = d.gaps.map((g) => g.text)
    // 21 webcam images is over 20 but only 5.0% (21/421 = 4.99%) of "happy": called out by share
    expect(texts).toContain('only 21 "happy" images from "webcam" (5% of the class)')
    expect(texts).toContain('only 12 "sad" images from "webcam" (32% of the class)')
    expect(texts).toContain('no "sad" images with age_band "60+" (0% of the class)')
    // enough images and share: not called out; the "no value" column is never a gap
    expect(texts.some((t) => t.includes('"studio"'))).toBe(false)
    expect(d.gaps.some((g) => g.value === NONE)).toBe(false)
    // fewest first
    expect(d.gaps[0].count).toBe(0)
  })

  it('calls nothing out when a dimension has a single value', () => {
    const f = new Fixture(['a', 'b'])
    f.add({ cls: 'a', n: 3, env: 'studio' })
    f.add({ cls: 'b', n: 2, env: 'studio' })
    expect(dashboard(f.db).gaps).toEqual([])
  })
})

describe('dashboard: split, annotators and accuracy after a run', () => {
  function splitProject() {
    const f = new Fixture(['happy', 'sad'])
    const a = f.add({ cls: 'happy', n: 6, env: 'studio', subject: (k) => `s${k % 3}`, attrs: { gender: 'f' } })
    const b = f.add({ cls: 'sad', n: 4, env: 'webcam', subject: (k) => `s${k % 2}`, attrs: { gender: 'm' } })
    const parts = new Map<number, 'train' | 'validation'>()
    // happy: 4 train (subjects s0 s1 s2 s0), 2 validation (s1 s2); sad: 2 train (s0 s1), 2 validation (s0 s1)
    a.forEach((id, i) => parts.set(id, i < 4 ? 'train' : 'validation'))
    b.forEach((id, i) => parts.set(id, i < 2 ? 'train' : 'validation'))
    return { f, a, b, parts }
  }

  it('shows the latest run split per part: images, subjects, classes, environments, subgroups, and shared subjects', () => {
    const { f, parts } = splitProject()
    f.run(parts, ['happy', 'sad'])
    const s = dashboard(f.db).split!
    expect(s.description).toBe('test split')
    const [train, val] = s.parts
    expect(train.part).toBe('train')
    expect(train.images).toBe(6)
    expect(train.perClass).toEqual({ [f.classId('happy')]: 4, [f.classId('sad')]: 2 })
    expect(train.perEnvironment).toEqual({ studio: 4, webcam: 2 })
    expect(train.perSubgroup).toEqual({ gender: { f: 4, m: 2 } })
    expect(train.subjects).toBe(3) // s0, s1, s2
    expect(val.images).toBe(4)
    expect(val.subjects).toBe(3) // s1, s2 (happy) and s0, s1 (sad)
    expect(s.sharedSubjects).toBe(3)
  })

  it('counts labels per annotator and agreement per class over images two annotators labeled', () => {
    const f = new Fixture(['happy', 'sad'])
    const ids = f.add({ cls: 'happy', n: 6, annotator: 'ana' })
    const sad = f.add({ cls: 'sad', n: 4, annotator: 'ana' })
    label(f.db, 'bo', ids.slice(0, 4), f.classId('happy'))
    label(f.db, 'bo', sad.slice(0, 2), f.classId('sad'))
    let a = dashboard(f.db).annotators
    expect(a.annotators).toEqual([
      { name: 'ana', labels: 10 },
      { name: 'bo', labels: 6 }
    ])
    expect(a.multiRated).toBe(6)
    expect(a.alpha).toBe(1)
    expect(a.perClass.map((p) => p.alpha)).toEqual([1, 1])

    label(f.db, 'bo', [sad[0]], f.classId('happy')) // one disagreement
    a = dashboard(f.db).annotators
    expect(a.annotators[1]).toEqual({ name: 'bo', labels: 7 }) // every label given, the change included
    expect(a.alpha).toBeLessThan(1)
    expect(a.perClass[1].alpha!).toBeLessThan(1)
  })

  it('puts validation accuracy per environment and subgroup beside the training images of the group', () => {
    const { f, a, b, parts } = splitProject()
    // happy (index 0) validation a[4], a[5]: both right; sad (index 1) validation b[2], b[3]: one right
    const runId = f.run(parts, ['happy', 'sad'], [
      { imageId: a[4], label: 0, predicted: 0 },
      { imageId: a[5], label: 0, predicted: 0 },
      { imageId: b[2], label: 1, predicted: 1 },
      { imageId: b[3], label: 1, predicted: 0 }
    ])
    const r = dashboard(f.db).run!
    expect(r.runId).toBe(runId)
    expect(r.evaluated).toBe(4)
    expect(r.accuracy).toBe(0.75)
    expect(r.perEnvironment).toEqual([
      { value: 'studio', evaluated: 2, correct: 2, accuracy: 1, trainImages: 4 },
      { value: 'webcam', evaluated: 2, correct: 1, accuracy: 0.5, trainImages: 2 }
    ])
    expect(r.perSubgroup).toEqual([
      {
        attribute: 'gender',
        cells: [
          { value: 'f', evaluated: 2, correct: 2, accuracy: 1, trainImages: 4 },
          { value: 'm', evaluated: 2, correct: 1, accuracy: 0.5, trainImages: 2 }
        ]
      }
    ])
    expect(r.perClass).toEqual([
      { name: 'happy', evaluated: 2, recall: 1 },
      { name: 'sad', evaluated: 2, recall: 0.5 }
    ])
  })
})

describe('dashboard cache', () => {
  it('answers a repeated look from cache, and recomputes after any write', () => {
    const f = new Fixture(['happy', 'sad'])
    const ids = f.add({ cls: 'happy', n: 3 })
    const first = dashboard(f.db)
    expect(dashboard(f.db)).toBe(first)
    label(f.db, 'ann', [ids[0]], f.classId('sad'))
    const second = dashboard(f.db)
    expect(second).not.toBe(first)
    expect(second.classes.map((c) => c.count)).toEqual([2, 1])
    f.db.prepare('UPDATE images SET environment = ? WHERE id = ?').run('webcam', ids[1])
    expect(dashboard(f.db).classByEnvironment.columns).toEqual(['webcam', NONE])
  })
})
