// Class weights are hand-computed here so a slip in the formulas (wrong K, wrong normalisation,
// zero-count classes leaking into the sums) shows up as a wrong number, not just a changed one.
import { describe, expect, it } from 'vitest'
import { classWeights, DEFAULT_BETA, effectiveNumber } from '../../../src/main/training/class-weights'

describe('classWeights: inverse', () => {
  it("matches scikit-learn's balanced weights N / (K * n_c)", () => {
    // N = 50, K = 2: 50 / (2 * 10) = 2.5 and 50 / (2 * 40) = 0.625
    const result = classWeights({ 1: 10, 2: 40 }, 'inverse')
    expect(result.mode).toBe('inverse')
    expect(result.weights).toEqual({ 1: 2.5, 2: 0.625 })
    expect(result.counts).toEqual({ 1: 10, 2: 40 })
    expect(result.imbalanceRatio).toBe(4)
  })

  it('gives a balanced set weight 1 everywhere', () => {
    const result = classWeights({ 0: 7, 1: 7, 2: 7 }, 'inverse')
    expect(result.weights).toEqual({ 0: 1, 1: 1, 2: 1 })
    expect(result.imbalanceRatio).toBe(1)
  })

  it('keeps the weighted count of every class equal to N / K', () => {
    const counts = { 0: 3, 1: 120, 2: 45, 3: 9 }
    const { weights } = classWeights(counts, 'inverse')
    // N = 177, K = 4
    for (const [label, n] of Object.entries(counts)) expect(weights[Number(label)] * n).toBeCloseTo(177 / 4, 10)
  })

  it('gives empty classes weight 0 and leaves them out of K and N', () => {
    // Same as {1: 10, 2: 40}: if class 0 counted in K the weights would be 50 / (3 * n).
    const result = classWeights({ 0: 0, 1: 10, 2: 40 }, 'inverse')
    expect(result.weights).toEqual({ 0: 0, 1: 2.5, 2: 0.625 })
    expect(result.imbalanceRatio).toBe(4)
    expect(result.effectiveNumbers[0]).toBe(0)
  })
})

describe('classWeights: effective number (Cui et al. 2019)', () => {
  it('computes E_n = (1 - beta^n) / (1 - beta) for beta 0.9', () => {
    // 1 - 0.9 = 0.1; 1 - 0.81 = 0.19; 1 - 0.729 = 0.271; 1 - 0.9^10 = 1 - 0.3486784401
    expect(effectiveNumber(1, 0.9)).toBeCloseTo(1, 12)
    expect(effectiveNumber(2, 0.9)).toBeCloseTo(1.9, 12)
    expect(effectiveNumber(3, 0.9)).toBeCloseTo(2.71, 12)
    expect(effectiveNumber(10, 0.9)).toBeCloseTo(6.513215599, 9)
    expect(effectiveNumber(0, 0.9)).toBe(0)
  })

  it('weights proportional to 1 / E_n, summing to K, for beta 0.9', () => {
    // 1/E = 1, 10/19, 100/271; their sum is 9759/5149, so w = 3 * (1/E) * 5149/9759:
    // w0 = 15447/9759, w1 = 8130/9759, w2 = 5700/9759 (sum 29277/9759 = 3).
    const result = classWeights({ 0: 1, 1: 2, 2: 3 }, 'effective', 0.9)
    expect(result.weights[0]).toBeCloseTo(15447 / 9759, 12)
    expect(result.weights[1]).toBeCloseTo(8130 / 9759, 12)
    expect(result.weights[2]).toBeCloseTo(5700 / 9759, 12)
    expect(result.effectiveNumbers[1]).toBeCloseTo(1.9, 12)
    expect(result.effectiveNumbers[2]).toBeCloseTo(2.71, 12)
    expect(result.imbalanceRatio).toBe(3)
  })

  it('excludes empty classes from K, so present weights still sum to the number of present classes', () => {
    const result = classWeights({ 0: 1, 1: 2, 2: 3, 5: 0 }, 'effective', 0.9)
    expect(result.weights[5]).toBe(0)
    expect(result.weights[0]).toBeCloseTo(15447 / 9759, 12)
    const sum = Object.values(result.weights).reduce((a, b) => a + b, 0)
    expect(sum).toBeCloseTo(3, 12)
  })

  it('defaults beta to 0.999 and reports the effective numbers at that beta', () => {
    expect(DEFAULT_BETA).toBe(0.999)
    const result = classWeights({ 0: 100, 1: 1000 }, 'effective')
    // (1 - 0.999^100) / 0.001 and (1 - 0.999^1000) / 0.001
    expect(result.effectiveNumbers[0]).toBeCloseTo((1 - 0.999 ** 100) / 0.001, 8)
    expect(result.effectiveNumbers[1]).toBeCloseTo((1 - 0.999 ** 1000) / 0.001, 8)
    // Gentler than inverse frequency: the ratio is well below the 10x of inverse weighting.
    const ratio = result.weights[0] / result.weights[1]
    expect(ratio).toBeGreaterThan(1)
    expect(ratio).toBeLessThan(10)
    expect(ratio).toBeCloseTo(result.effectiveNumbers[1] / result.effectiveNumbers[0], 10)
  })

  it('is no weighting at beta 0 and approaches inverse frequency as beta nears 1', () => {
    expect(classWeights({ 1: 10, 2: 40 }, 'effective', 0).weights).toEqual({ 1: 1, 2: 1 })
    const nearOne = classWeights({ 1: 10, 2: 40 }, 'effective', 0.999999).weights
    expect(nearOne[1] / nearOne[2]).toBeCloseTo(4, 3)
    // Normalised to K, not to N/K, so not identical to inverse's {2.5, 0.625}.
    expect(nearOne[1] + nearOne[2]).toBeCloseTo(2, 12)
  })

  it('keeps precision where 1 - beta^n would cancel', () => {
    // For beta = 1 - 1e-9, E_1 is exactly 1 and E_2 = 1 + beta.
    expect(effectiveNumber(1, 1 - 1e-9)).toBeCloseTo(1, 9)
    expect(effectiveNumber(2, 1 - 1e-9)).toBeCloseTo(2 - 1e-9, 9)
  })
})

describe('classWeights: off and edge cases', () => {
  it('off gives 1 to every class with images and 0 to empty ones, still reporting the numbers', () => {
    const result = classWeights({ 0: 5, 1: 50, 2: 0 }, 'off', 0.9)
    expect(result.weights).toEqual({ 0: 1, 1: 1, 2: 0 })
    expect(result.imbalanceRatio).toBe(10)
    expect(result.effectiveNumbers[0]).toBeCloseTo((1 - 0.9 ** 5) / 0.1, 12)
  })

  it('handles no images at all without dividing by zero', () => {
    for (const mode of ['inverse', 'effective', 'off'] as const) {
      const result = classWeights({ 0: 0, 1: 0 }, mode)
      expect(result.weights).toEqual({ 0: 0, 1: 0 })
      expect(result.imbalanceRatio).toBeNull()
    }
    expect(classWeights({}, 'inverse').weights).toEqual({})
  })

  it('a single class gets weight 1 in every mode', () => {
    for (const mode of ['inverse', 'effective', 'off'] as const) {
      expect(classWeights({ 3: 12 }, mode).weights[3]).toBeCloseTo(1, 12)
    }
  })

  it('rejects a beta outside [0, 1), negative counts and unknown modes', () => {
    expect(() => classWeights({ 0: 1 }, 'effective', 1)).toThrow(/beta/)
    expect(() => classWeights({ 0: 1 }, 'effective', -0.1)).toThrow(/beta/)
    expect(() => classWeights({ 0: 1 }, 'effective', Number.NaN)).toThrow(/beta/)
    expect(() => classWeights({ 0: -3 }, 'inverse')).toThrow(/class 0/)
    expect(() => classWeights({ 0: 1 }, 'sqrt' as never)).toThrow(/mode/)
  })
})
