import { describe, expect, it } from 'vitest'
import { confidentLearning } from '../../../../src/main/analysis/flags/confident-learning'
import { outOfFoldProbs, stratifiedFolds } from '../../../../src/main/analysis/flags/folds'
import { CancelledError, standardize } from '../../../../src/main/analysis/flags/softmax'
import { mulberry32 } from '../../../../src/main/util/random'

/** Well-separated Gaussian clusters in d dimensions, one per class, with some labels flipped. */
function clusters(n: number, m: number, d: number, flip: number, seed = 7) {
  const rand = mulberry32(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand())
  const centres = Array.from({ length: m }, () => Array.from({ length: d }, () => gauss() * 2))
  const data = new Float32Array(n * d)
  const truth = new Int32Array(n)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    truth[i] = i % m
    for (let k = 0; k < d; k++) data[i * d + k] = centres[truth[i]][k] + gauss()
    labels[i] = truth[i]
    if (i % Math.round(1 / flip) === 3) labels[i] = (truth[i] + 1) % m
  }
  return { x: { data, n, d }, truth, labels }
}

describe('stratified folds', () => {
  it('puts about 1/k of every class in each fold', () => {
    const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : 1))
    const plan = stratifiedFolds(labels, 2, 5, 1)
    expect(plan.folds).toBe(5)
    expect(plan.note).toBeNull()
    for (let f = 0; f < 5; f++) {
      const inFold = [...plan.fold.keys()].filter((i) => plan.fold[i] === f)
      expect(inFold.filter((i) => labels[i] === 0).length).toBe(12)
      expect(inFold.filter((i) => labels[i] === 1).length).toBe(8)
    }
  })

  it('uses fewer folds, and says why, when a class is smaller than k', () => {
    const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1])
    const plan = stratifiedFolds(labels, 2, 5, 1, ['happy', 'sad'])
    expect(plan.folds).toBe(3)
    expect(plan.note).toBe('3 folds instead of 5: class "sad" has only 3 labeled images')
  })

  it('refuses a class with a single image, naming it', () => {
    expect(() => stratifiedFolds(Int32Array.from([0, 0, 0, 1]), 2, 5, 1, ['happy', 'sad'])).toThrow('class "sad" has only 1 labeled image')
  })
})

describe('out-of-fold probabilities and confident learning', () => {
  it('standardize makes columns mean 0, sd 1, and constant columns 0', () => {
    const x = { data: Float32Array.from([1, 5, 3, 5, 5, 5]), n: 3, d: 2 }
    standardize(x)
    expect(x.data[0]).toBeCloseTo(-1.2247, 3)
    expect(x.data[2]).toBeCloseTo(0, 5)
    expect(x.data[4]).toBeCloseTo(1.2247, 3)
    expect([x.data[1], x.data[3], x.data[5]]).toEqual([0, 0, 0])
  })

  it('finds most flipped labels in separable clusters, and few clean ones (prune by noise rate; the default flags fewer)', async () => {
    const { x, truth, labels } = clusters(600, 3, 20, 0.1)
    standardize(x)
    const oof = await outOfFoldProbs(x, labels, 3, { folds: 5 })
    expect(oof.folds).toBe(5)
    const cl = confidentLearning({ data: oof.probs, n: 600, m: 3 }, labels, 'self_confidence', { filterBy: 'prune_by_noise_rate' })
    const noisy = [...truth.keys()].filter((i) => truth[i] !== labels[i])
    const flagged = [...cl.issues.keys()].filter((i) => cl.issues[i])
    const hits = flagged.filter((i) => truth[i] !== labels[i]).length
    expect(noisy.length).toBe(60)
    expect(hits / noisy.length).toBeGreaterThan(0.9)
    expect(hits / flagged.length).toBeGreaterThan(0.85)
    // The noise matrix sees 10% of each class's labels moved to the next class.
    expect(cl.noise[1 * 3 + 0]).toBeGreaterThan(0.05)
    expect(cl.noise[2 * 3 + 0]).toBeLessThan(0.03)
    // With a head this good the confident joint's off-diagonal count is below the true 60 (some
    // flipped labels reach no threshold), so the default's shrunk count flags fewer, all of them right.
    const shrunk = confidentLearning({ data: oof.probs, n: 600, m: 3 }, labels, 'confidence_and_margin')
    const few = [...shrunk.issues.keys()].filter((i) => shrunk.issues[i])
    expect(shrunk.offDiagonal).toBeLessThan(60)
    expect(few.length).toBe(Math.round(0.75 * shrunk.offDiagonal))
    expect(few.length).toBeLessThan(flagged.length)
    expect(few.every((i) => truth[i] !== labels[i])).toBe(true)
  })

  it('stops with CancelledError when the signal aborts', async () => {
    const { x, labels } = clusters(3000, 3, 64, 0.1)
    const ctrl = new AbortController()
    setTimeout(() => ctrl.abort(), 20)
    await expect(outOfFoldProbs(x, labels, 3, { signal: ctrl.signal, head: { epochs: 50 } })).rejects.toBeInstanceOf(CancelledError)
  })
})
