// Per-class loss weights for imbalanced data (an emotion dataset rarely has as many "disgust" faces
// as "happy" ones). The trainer multiplies each example's loss by its class weight; the dashboard
// shows the same numbers, with the imbalance ratio and effective numbers, before anyone trains.
//
// inverse:   w_c = N / (K * n_c), scikit-learn's 'balanced': a perfectly balanced set gets all 1s.
// effective: Cui et al. 2019, "Class-Balanced Loss Based on Effective Number of Samples":
//            E_n = (1 - beta^n) / (1 - beta), w_c proportional to 1 / E_{n_c}, scaled to sum to K.
//            Extra images of a class add less and less (near-duplicates, augmentation), so it
//            reweights more gently than inverse frequency; beta -> 0 is no weighting, beta -> 1
//            approaches inverse frequency.
// off:       every class 1.
// K and N count only classes that have images; a class with none gets weight 0 in every mode,
// since no example of it contributes to the loss and a weight for it would only skew the sum.

export type WeightMode = 'inverse' | 'effective' | 'off'

export interface ClassWeights {
  mode: WeightMode
  weights: Record<number, number>
  counts: Record<number, number>
  /** Largest over smallest non-zero count; null when no class has images. */
  imbalanceRatio: number | null
  /** E_n for every class at the beta used (0 for an empty class), whatever the mode. */
  effectiveNumbers: Record<number, number>
}

export const DEFAULT_BETA = 0.999

export function classWeights(counts: Record<number, number>, mode: WeightMode, beta: number = DEFAULT_BETA): ClassWeights {
  if (mode !== 'inverse' && mode !== 'effective' && mode !== 'off') {
    throw new Error(`Class weight mode must be 'inverse', 'effective' or 'off' (got ${JSON.stringify(mode)}).`)
  }
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0 || beta >= 1) {
    throw new Error(`beta must be at least 0 and below 1 (got ${String(beta)}).`)
  }
  // Record keys are strings at run time; sort numerically so every output lists classes in order.
  const entries = Object.entries(counts)
    .map(([key, n]) => {
      const label = Number(key)
      if (!Number.isFinite(label)) throw new Error(`Class id ${JSON.stringify(key)} is not a number.`)
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
        throw new Error(`Image count of class ${key} must be a non-negative number (got ${String(n)}).`)
      }
      return [label, n] as const
    })
    .sort((a, b) => a[0] - b[0])

  const present = entries.filter(([, n]) => n > 0)
  const k = present.length
  const total = present.reduce((sum, [, n]) => sum + n, 0)

  const cleanCounts: Record<number, number> = {}
  const effectiveNumbers: Record<number, number> = {}
  for (const [label, n] of entries) {
    cleanCounts[label] = n
    effectiveNumbers[label] = effectiveNumber(n, beta)
  }

  const weights: Record<number, number> = {}
  for (const [label] of entries) weights[label] = 0
  if (mode === 'off') {
    for (const [label] of present) weights[label] = 1
  } else if (mode === 'inverse') {
    for (const [label, n] of present) weights[label] = total / (k * n)
  } else {
    const raw = present.map(([label]) => [label, 1 / effectiveNumbers[label]] as const)
    const sum = raw.reduce((acc, [, w]) => acc + w, 0)
    for (const [label, w] of raw) weights[label] = (w / sum) * k
  }

  const nonZero = present.map(([, n]) => n)
  const imbalanceRatio = nonZero.length === 0 ? null : Math.max(...nonZero) / Math.min(...nonZero)
  return { mode, weights, counts: cleanCounts, imbalanceRatio, effectiveNumbers }
}

/** E_n = (1 - beta^n) / (1 - beta), computed so beta near 1 and large n keep their precision. */
export function effectiveNumber(n: number, beta: number): number {
  if (n <= 0) return 0
  if (beta === 0) return 1
  // 1 - beta^n straight would cancel catastrophically for beta = 0.9999; expm1/log1p do not.
  return -Math.expm1(n * Math.log1p(beta - 1)) / (1 - beta)
}
