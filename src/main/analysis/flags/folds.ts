// Stratified K-fold assignment and the out-of-fold probabilities confident learning needs: every
// example is predicted by a head that never saw it.
import { mulberry32 } from '../../util/random'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../../training/backend'
import { predictRows, trainSoftmax, Yielder, DEFAULT_SOFTMAX, type Matrix, type SoftmaxOptions } from './softmax'

export interface FoldPlan {
  folds: number
  /** Fold of each example, 0..folds-1. */
  fold: Int32Array
  /** Why fewer folds than asked, or null. */
  note: string | null
}

/**
 * Deals each class's examples, shuffled, round-robin into the folds, so every fold holds about
 * 1/k of every class. With a class smaller than k, k drops to that class's size (each fold must
 * leave at least one example of each class to train on, and hold one to predict); a class with a
 * single example cannot be cross-validated at all and is an error the caller must handle first.
 */
export function stratifiedFolds(labels: Int32Array, m: number, wanted: number, seed: number, classNames?: string[]): FoldPlan {
  if (!Number.isInteger(wanted) || wanted < 2) throw new Error(`folds must be an integer of at least 2 (got ${wanted})`)
  const byClass: number[][] = Array.from({ length: m }, () => [])
  labels.forEach((s, i) => byClass[s].push(i))
  const sizes = byClass.map((c) => c.length).filter((n) => n > 0)
  const smallest = Math.min(...sizes)
  if (smallest < 2) {
    const j = byClass.findIndex((c) => c.length === 1)
    throw new Error(`class "${classNames?.[j] ?? j}" has only 1 labeled image; cross-validation needs at least 2 per class`)
  }
  const folds = Math.min(wanted, smallest)
  let note: string | null = null
  if (folds < wanted) {
    const j = byClass.findIndex((c) => c.length === smallest)
    note = `${folds} folds instead of ${wanted}: class "${classNames?.[j] ?? j}" has only ${smallest} labeled images`
  }
  const rand = mulberry32(seed)
  const fold = new Int32Array(labels.length)
  let offset = 0
  for (const members of byClass) {
    const shuffled = members.slice()
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
    }
    // Continue the deal where the last class ended, so small classes do not all land in fold 0.
    shuffled.forEach((ex, r) => (fold[ex] = (offset + r) % folds))
    offset = (offset + shuffled.length) % folds
  }
  return { folds, fold, note }
}

export interface OofOptions {
  folds?: number
  seed?: number
  head?: Partial<SoftmaxOptions>
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  classNames?: string[]
}

export interface OofResult {
  /** n x m out-of-fold probabilities. */
  probs: Float64Array
  folds: number
  note: string | null
}

/** Trains one head per fold on the other folds and predicts the held-out fold. x must be standardised. */
export async function outOfFoldProbs(x: Matrix, labels: Int32Array, m: number, opts: OofOptions = {}): Promise<OofResult> {
  const seed = opts.seed ?? 1
  const plan = stratifiedFolds(labels, m, opts.folds ?? 5, seed, opts.classNames)
  const head: SoftmaxOptions = { ...DEFAULT_SOFTMAX, seed, ...opts.head }
  const yielder = new Yielder(opts.signal)
  const probs = new Float64Array(x.n * m)
  // Keep a fast backend someone already chose (the trainer's); otherwise pick the best one here.
  if (!['tensorflow', 'wasm'].includes(tf.getBackend())) await initBackend()
  for (let f = 0; f < plan.folds; f++) {
    const train: number[] = []
    const test: number[] = []
    plan.fold.forEach((g, i) => (g === f ? test : train).push(i))
    const model = await trainSoftmax(x, labels, Int32Array.from(train), m, { ...head, seed: seed + f }, yielder)
    const p = await predictRows(model, x, Int32Array.from(test), yielder)
    test.forEach((i, r) => probs.set(p.subarray(r * m, (r + 1) * m), i * m))
    opts.onProgress?.(f + 1, plan.folds)
  }
  return { probs, folds: plan.folds, note: plan.note }
}
