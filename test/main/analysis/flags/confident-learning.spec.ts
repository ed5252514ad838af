import { describe, expect, it } from 'vitest'
import {
  calibrateJoint,
  confidentClasses,
  confidentJoint,
  confidentLearning,
  labelCounts,
  noiseMatrix,
  normalizedMargin,
  perClassThresholds,
  pruneByNoiseRate,
  selfConfidence
} from '../../../../src/main/analysis/flags/confident-learning'

// Six examples, three classes, worked by hand:
//   labels      [0, 0, 0, 1, 1, 2]
//   ex2 is labeled 0 but the model is sure it is 1; ex4 reaches no threshold.
const labels = Int32Array.from([0, 0, 0, 1, 1, 2])
const probs = {
  data: Float64Array.from([0.8, 0.1, 0.1, 0.6, 0.3, 0.1, 0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.3, 0.5, 0.2, 0.1, 0.2, 0.7]),
  n: 6,
  m: 3
}
const close = (actual: ArrayLike<number>, expected: number[]) => Array.from(actual).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 10))

describe('confident learning, step by step on a hand-worked case', () => {
  it('thresholds are the mean self-probability per given label', () => {
    // t0 = (0.8 + 0.6 + 0.1) / 3, t1 = (0.7 + 0.5) / 2, t2 = 0.7
    close(perClassThresholds(probs, labels), [0.5, 0.6, 0.7])
  })

  it('each example counts as the most probable class that reaches its threshold, or none', () => {
    const t = perClassThresholds(probs, labels)
    expect(Array.from(confidentClasses(probs, t))).toEqual([0, 0, 1, 1, -1, 2])
  })

  it('the confident joint counts (given, confident) pairs', () => {
    const c = confidentJoint(labels, Int32Array.from([0, 0, 1, 1, -1, 2]), 3)
    expect(Array.from(c)).toEqual([2, 1, 0, 0, 1, 0, 0, 0, 1])
  })

  it('calibration rescales rows to the label counts and normalises to a joint distribution', () => {
    const q = calibrateJoint(Float64Array.from([2, 1, 0, 0, 1, 0, 0, 0, 1]), labelCounts(labels, 3))
    // rows become [2,1,0], [0,2,0], [0,0,1]; total 6
    close(q, [2 / 6, 1 / 6, 0, 0, 2 / 6, 0, 0, 0, 1 / 6])
    expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })

  it('a label with no confident example keeps its mass on the diagonal', () => {
    close(calibrateJoint(Float64Array.from([0, 0, 1, 1]), Float64Array.from([2, 2])), [0.5, 0, 0.25, 0.25])
  })

  it('the noise matrix is p(given | true): columns of Q normalised', () => {
    const q = Float64Array.from([2 / 6, 1 / 6, 0, 0, 2 / 6, 0, 0, 0, 1 / 6])
    close(noiseMatrix(q, 3), [1, 1 / 3, 0, 0, 2 / 3, 0, 0, 0, 1])
  })

  it('pruning by noise rate removes round(n * Q[i][j]) examples of label i with the largest margin p(j) - p(i)', () => {
    const q = Float64Array.from([2 / 6, 1 / 6, 0, 0, 2 / 6, 0, 0, 0, 1 / 6])
    expect(Array.from(pruneByNoiseRate(probs, labels, q))).toEqual([0, 0, 1, 0, 0, 0])
  })

  it('never flags an example whose most probable class is its label', () => {
    // Q says one "0" is truly 1, but every example labeled 0 is predicted 0.
    const p = { data: Float64Array.from([0.9, 0.1, 0.6, 0.4, 0.2, 0.8]), n: 3, m: 2 }
    const l = Int32Array.from([0, 0, 1])
    expect(Array.from(pruneByNoiseRate(p, l, Float64Array.from([1 / 3, 1 / 3, 0, 1 / 3])))).toEqual([0, 0, 0])
  })

  it('keeps at least minKeepPerClass examples of each label', () => {
    const p = { data: Float64Array.from([0.1, 0.9, 0.2, 0.8, 0.1, 0.9]), n: 3, m: 2 }
    const l = Int32Array.from([0, 0, 1])
    const q = Float64Array.from([0, 2 / 3, 0, 1 / 3])
    expect(Array.from(pruneByNoiseRate(p, l, q)).filter(Boolean).length).toBe(1)
    expect(Array.from(pruneByNoiseRate(p, l, q, { minKeepPerClass: 0 }))).toEqual([1, 1, 0])
  })

  it('ranks by self-confidence or by normalised margin', () => {
    close(selfConfidence(probs, labels), [0.8, 0.6, 0.1, 0.7, 0.5, 0.7])
    // ex2: (0.1 - 0.8 + 1) / 2; ex4: (0.5 - 0.3 + 1) / 2
    const margin = normalizedMargin(probs, labels)
    expect(margin[2]).toBeCloseTo(0.15, 10)
    expect(margin[4]).toBeCloseTo(0.6, 10)
  })

  it('the whole method finds the one wrong label and estimates one noisy example', () => {
    const r = confidentLearning(probs, labels)
    expect(Array.from(r.issues)).toEqual([0, 0, 1, 0, 0, 0])
    expect(r.estimatedNoisy).toBe(1)
    expect(r.noise[0 * 3 + 1]).toBeCloseTo(1 / 3, 10)
    const byMargin = confidentLearning(probs, labels, 'normalized_margin')
    expect(byMargin.quality[2]).toBeCloseTo(0.15, 10)
  })
})
