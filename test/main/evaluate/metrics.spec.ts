// Evaluation metrics against values worked out by hand (see the comments for the arithmetic).
import { describe, expect, it } from 'vitest'
import { calibration, confidentMistakes, confusionMatrix, groupReport, perClassMetrics, rowNormalize, summarize } from '../../../src/main/evaluate/metrics'

// 4 classes; class 3 is never a true label but is predicted once.
//   true 0 -> predicted 0,0,0,1   true 1 -> 1,1,2   true 2 -> 2,0,3
const pairs: [number, number][] = [
  [0, 0], [0, 0], [0, 0], [0, 1],
  [1, 1], [1, 1], [1, 2],
  [2, 2], [2, 0], [2, 3]
]
const items = pairs.map(([label, predicted]) => ({ label, predicted }))
const classes = ['a', 'b', 'c', 'd'].map((name, i) => ({ id: 10 + i, name }))

describe('confusion matrix and per-class metrics', () => {
  const m = confusionMatrix(items, 4)

  it('counts and row-normalises', () => {
    expect(m).toEqual([
      [3, 1, 0, 0],
      [0, 2, 1, 0],
      [1, 0, 1, 1],
      [0, 0, 0, 0]
    ])
    const n = rowNormalize(m)
    expect(n[0]).toEqual([0.75, 0.25, 0, 0])
    expect(n[2].map((v) => +v.toFixed(6))).toEqual([0.333333, 0, 0.333333, 0.333333])
    expect(n[3]).toEqual([0, 0, 0, 0])
  })

  it('precision = tp / column, recall = tp / row, F1 with an undefined side as 0', () => {
    const pc = perClassMetrics(m, classes)
    // column sums 4, 3, 2, 1
    expect(pc.map((c) => c.precision)).toEqual([0.75, 2 / 3, 0.5, 0])
    expect(pc.map((c) => c.recall)).toEqual([0.75, 2 / 3, 1 / 3, null])
    // f1(c) = 2pr/(p+r): 0.75; 2/3; 2*(1/2)(1/3)/(5/6) = 0.4; class d: p = 0, r undefined -> 0
    expect(pc.map((c) => +c.f1!.toFixed(6))).toEqual([0.75, 0.666667, 0.4, 0])
    expect(pc.map((c) => c.support)).toEqual([4, 3, 3, 0])
    expect(pc.map((c) => c.predicted)).toEqual([4, 3, 2, 1])
    expect(pc[2]).toMatchObject({ classId: 12, name: 'c', index: 2 })
  })

  it('accuracy, balanced accuracy (mean recall of present classes), macro-F1 (labels or predictions)', () => {
    const s = summarize(m)
    expect(s.images).toBe(10)
    expect(s.accuracy).toBe(0.6)
    // (0.75 + 2/3 + 1/3) / 3
    expect(s.balancedAccuracy).toBeCloseTo(1.75 / 3, 12)
    // (0.75 + 2/3 + 0.4 + 0) / 4
    expect(s.macroF1).toBeCloseTo((0.75 + 2 / 3 + 0.4) / 4, 12)
  })

  it('has no numbers for no images rather than zeros', () => {
    expect(summarize(confusionMatrix([], 3))).toEqual({ images: 0, accuracy: null, balancedAccuracy: null, macroF1: null })
  })
})

describe('groups', () => {
  it('names the worst group by balanced accuracy and the gap to the best', () => {
    // studio: all 4 right (bal 1); webcam: 0->0, 0->1, 1->1 (recalls 0.5, 1 -> 0.75); phone: 0->1, 1->0 (0)
    const env = ['studio', 'studio', 'studio', 'studio', 'webcam', 'webcam', 'webcam', 'phone', 'phone']
    const data: [number, number][] = [[0, 0], [1, 1], [0, 0], [1, 1], [0, 0], [0, 1], [1, 1], [0, 1], [1, 0]]
    const its = data.map(([label, predicted], i) => ({ label, predicted, env: env[i] }))
    const r = groupReport('environment', 'environment', its, (x) => x.env, 2)
    expect(r.groups.map((g) => [g.group, g.images, g.balancedAccuracy])).toEqual([
      ['phone', 2, 0],
      ['studio', 4, 1],
      ['webcam', 3, 0.75]
    ])
    expect(r.groups.find((g) => g.group === 'webcam')!.accuracy).toBeCloseTo(2 / 3, 12)
    expect(r).toMatchObject({ worst: 'phone', best: 'studio', gap: 1 })
    // groups below the minimum are listed but not ranked: phone (2 images) drops out
    const big = groupReport('environment', 'environment', its, (x) => x.env, 2, 3)
    expect(big.groups).toHaveLength(3)
    expect(big).toMatchObject({ worst: 'webcam', best: 'studio', gap: 0.25, minImages: 3 })
  })

  it('has no worst or gap with a single group', () => {
    const r = groupReport('attribute', 'age', [{ label: 0, predicted: 0 }], () => 'adult', 2)
    expect(r).toMatchObject({ worst: null, best: null, gap: null })
  })
})

describe('calibration', () => {
  it('computes ECE over 15 equal-width bins of the top probability', () => {
    const its = [
      { label: 0, predicted: 0, probs: [0.95, 0.05] }, // bin 14 (0.933, 1]
      { label: 0, predicted: 0, probs: [0.9, 0.1] }, // bin 13 (0.867, 0.933]
      { label: 1, predicted: 0, probs: [0.92, 0.08] }, // bin 13, wrong
      { label: 1, predicted: 1, probs: [0.5, 0.5] } // bin 7 (0.467, 0.533]
    ]
    const c = calibration(its)
    expect(c.bins).toHaveLength(15)
    expect(c.bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 1])
    expect(c.bins[13].confidence).toBeCloseTo(0.91, 12)
    expect(c.bins[13].accuracy).toBe(0.5)
    expect(c.bins[0]).toMatchObject({ lo: 0, count: 0, confidence: null, accuracy: null })
    expect(c.bins[14].hi).toBe(1)
    // 2/4 * |0.5 - 0.91| + 1/4 * |1 - 0.95| + 1/4 * |1 - 0.5| = 0.205 + 0.0125 + 0.125
    expect(c.ece).toBeCloseTo(0.3425, 12)
  })

  it('puts confidence 1 in the last bin and is perfect when confidence equals accuracy', () => {
    const c = calibration([{ label: 0, predicted: 0, probs: [1, 0] }])
    expect(c.bins[14].count).toBe(1)
    expect(c.ece).toBe(0)
    expect(calibration([]).ece).toBeNull()
  })
})

describe('most confident mistakes', () => {
  it('lists only wrong predictions, most confident first', () => {
    const its = [
      { id: 1, label: 0, predicted: 1, probs: [0.3, 0.7] },
      { id: 2, label: 0, predicted: 0, probs: [0.99, 0.01] },
      { id: 3, label: 1, predicted: 0, probs: [0.9, 0.1] },
      { id: 4, label: 1, predicted: 0, probs: [0.9, 0.05, 0.05] }
    ]
    expect(confidentMistakes(its, 10).map((x) => x.id)).toEqual([4, 3, 1])
    expect(confidentMistakes(its, 1).map((x) => x.id)).toEqual([4])
  })
})
