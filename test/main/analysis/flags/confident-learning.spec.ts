import { describe, expect, it } from 'vitest'
import {
  calibrateJoint,
  confidenceAndMargin,
  confidentOffDiagonal,
  lowestQuality,
  offDiagonalCount,
  predictedNeqGiven,
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

// A second hand-worked case, where the filters disagree. Two classes, labels [0, 0, 0, 0, 1, 1]:
//   p(1) = [0.1, 0.7, 0.9, 0.8, 0.9, 0.9]
//   t0 = (0.9 + 0.3 + 0.1 + 0.2) / 4 = 0.375, t1 = 0.9
//   confident classes [0, -1, 1, -1, 1, 1]; C = [[1, 1], [0, 2]]
//   Q = [[2, 2], [0, 2]] / 6, so round(6 * Q[0][1]) = 2 examples labeled 0 are pruned: the two
//   with the largest p(1) - p(0), ex2 (0.8) and ex3 (0.6); only ex2 is confidently off-diagonal.
describe('issue filters on a hand-worked case', () => {
  const l2 = Int32Array.from([0, 0, 0, 0, 1, 1])
  const p2 = { data: Float64Array.from([0.9, 0.1, 0.3, 0.7, 0.1, 0.9, 0.2, 0.8, 0.1, 0.9, 0.1, 0.9]), n: 6, m: 2 }
  const issues = (opts: Parameters<typeof confidentLearning>[3], rankBy: Parameters<typeof confidentLearning>[2] = 'self_confidence') =>
    Array.from(confidentLearning(p2, l2, rankBy, opts).issues)

  it('the steps: off-diagonal membership and count, predicted != given', () => {
    expect(Array.from(confidentOffDiagonal(l2, Int32Array.from([0, -1, 1, -1, 1, 1])))).toEqual([0, 0, 1, 0, 0, 0])
    expect(offDiagonalCount(Float64Array.from([1, 1, 0, 2]), 2)).toBe(1)
    expect(offDiagonalCount(Float64Array.from([2, 1, 0, 0, 1, 0, 0, 3, 1]), 3)).toBe(4)
    expect(Array.from(predictedNeqGiven(p2, l2))).toEqual([0, 1, 1, 1, 0, 0])
  })

  it('each filter flags what the hand count says', () => {
    expect(issues({ filterBy: 'prune_by_noise_rate' })).toEqual([0, 0, 1, 1, 0, 0])
    expect(issues({ filterBy: 'confident_learning' })).toEqual([0, 0, 1, 0, 0, 0])
    expect(issues({ filterBy: 'both' })).toEqual([0, 0, 1, 0, 0, 0])
    expect(issues({ filterBy: 'predicted_neq_given' })).toEqual([0, 1, 1, 1, 0, 0])
    // round(0.75 * 1) = 1 lowest self-confidence: ex2 (0.1); with scale 3, ex2, ex3 (0.2), ex1 (0.3).
    expect(issues({ filterBy: 'lowest_quality' })).toEqual([0, 0, 1, 0, 0, 0])
    expect(issues({ filterBy: 'lowest_quality', countScale: 3 })).toEqual([0, 1, 1, 1, 0, 0])
    const r = confidentLearning(p2, l2)
    expect(r.estimatedNoisy).toBe(2)
    expect(r.offDiagonal).toBe(1)
  })

  it('the default filter is lowest_quality with three quarters of the off-diagonal count', () => {
    expect(issues({})).toEqual(issues({ filterBy: 'lowest_quality', countScale: 0.75 }))
    // countScale 1.4 keeps round(1.4) = 1 here; 1.6 takes two, and ex3 (0.2) is the next lowest.
    expect(issues({ countScale: 1.6 })).toEqual([0, 0, 1, 1, 0, 0])
  })

  it('lowest_quality never flags an example its most probable class agrees with', () => {
    // Scale 5: k = 5, but ex0, ex4 and ex5 are predicted as their label.
    expect(issues({ filterBy: 'lowest_quality', countScale: 5 })).toEqual([0, 1, 1, 1, 0, 0])
  })

  it('confidence and margin is the mean of the two rankings; lowestQuality breaks ties by order', () => {
    // first case: self-confidence [0.8, 0.6, 0.1, 0.7, 0.5, 0.7], margin [0.85, 0.65, 0.15, 0.75, 0.6, 0.75]
    close(confidenceAndMargin(probs, labels), [0.825, 0.625, 0.125, 0.725, 0.55, 0.725])
    expect(Array.from(lowestQuality(Float64Array.from([0.825, 0.625, 0.125, 0.725, 0.55, 0.725]), 2))).toEqual([0, 0, 1, 0, 1, 0])
    expect(Array.from(lowestQuality(Float64Array.from([0.5, 0.2, 0.2]), 1))).toEqual([0, 1, 0])
    expect(Array.from(lowestQuality(Float64Array.from([0.5, 0.2]), 5))).toEqual([1, 1])
  })
})
