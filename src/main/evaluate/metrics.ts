// The numbers of an evaluation, as pure functions of (true class, predicted class, probabilities).
// Conventions follow scikit-learn's defaults so figures can be checked elsewhere: a class never
// predicted has no precision, one with no images has no recall, F1 counts an undefined side as 0,
// macro-F1 averages over classes that occur in the labels or the predictions, and balanced
// accuracy is the mean recall over classes that occur in the labels.
import type { Calibration, ClassMetrics, GroupMetrics, GroupReport, Summary } from '../../shared/evaluate'

export interface Scored {
  label: number
  predicted: number
  /** Probabilities over all classes, in the run's class order. */
  probs: number[]
}

export function confusionMatrix(items: Pick<Scored, 'label' | 'predicted'>[], classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (const it of items) m[it.label][it.predicted]++
  return m
}

export function rowNormalize(m: number[][]): number[][] {
  return m.map((row) => {
    const sum = row.reduce((a, b) => a + b, 0)
    return row.map((v) => (sum ? v / sum : 0))
  })
}

const rowSum = (m: number[][], i: number) => m[i].reduce((a, b) => a + b, 0)
const colSum = (m: number[][], j: number) => m.reduce((a, row) => a + row[j], 0)

export function perClassMetrics(m: number[][], classes: { id: number; name: string }[]): ClassMetrics[] {
  return classes.map((c, i) => {
    const tp = m[i][i]
    const support = rowSum(m, i)
    const predicted = colSum(m, i)
    const precision = predicted ? tp / predicted : null
    const recall = support ? tp / support : null
    let f1: number | null = null
    if (precision !== null || recall !== null) {
      const p = precision ?? 0
      const r = recall ?? 0
      f1 = p + r > 0 ? (2 * p * r) / (p + r) : 0
    }
    return { index: i, classId: c.id, name: c.name, precision, recall, f1, support, predicted }
  })
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null)

export function summarize(m: number[][]): Summary {
  const n = m.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0)
  const trace = m.reduce((a, row, i) => a + row[i], 0)
  const pc = perClassMetrics(m, m.map((_, i) => ({ id: i, name: String(i) })))
  return {
    images: n,
    accuracy: n ? trace / n : null,
    balancedAccuracy: mean(pc.filter((c) => c.support > 0).map((c) => c.recall!)),
    macroF1: mean(pc.filter((c) => c.f1 !== null).map((c) => c.f1!))
  }
}

/** Metrics per group, and the worst and best group by balanced accuracy. */
export function groupReport<T extends Pick<Scored, 'label' | 'predicted'>>(
  kind: GroupReport['kind'],
  name: string,
  items: T[],
  groupOf: (item: T) => string,
  classes: number,
  minImages = 1
): GroupReport {
  const byGroup = new Map<string, T[]>()
  for (const it of items) {
    const g = groupOf(it)
    const list = byGroup.get(g)
    if (list) list.push(it)
    else byGroup.set(g, [it])
  }
  const groups: GroupMetrics[] = [...byGroup.entries()]
    .map(([group, list]) => ({ group, ...summarize(confusionMatrix(list, classes)) }))
    .sort((a, b) => a.group.localeCompare(b.group))
  const ranked = groups.filter((g) => g.balancedAccuracy !== null && g.images >= minImages).sort((a, b) => a.balancedAccuracy! - b.balancedAccuracy! || a.group.localeCompare(b.group))
  const two = ranked.length >= 2
  return {
    kind,
    name,
    groups,
    worst: two ? ranked[0].group : null,
    best: two ? ranked[ranked.length - 1].group : null,
    gap: two ? ranked[ranked.length - 1].balancedAccuracy! - ranked[0].balancedAccuracy! : null,
    measure: 'balancedAccuracy',
    minImages
  }
}

export const ECE_BINS = 15

/**
 * Expected calibration error over equal-width bins of the top-class probability (Guo et al.,
 * "On Calibration of Modern Neural Networks", ICML 2017): bin b holds confidences in
 * (b/B, (b+1)/B], the first bin also 0; ECE = sum_b |B_b|/n * |accuracy(B_b) - confidence(B_b)|.
 */
export function calibration(items: Scored[], bins = ECE_BINS): Calibration {
  const count = new Array<number>(bins).fill(0)
  const conf = new Array<number>(bins).fill(0)
  const hits = new Array<number>(bins).fill(0)
  for (const it of items) {
    const c = it.probs[it.predicted]
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1))
    count[b]++
    conf[b] += c
    if (it.predicted === it.label) hits[b]++
  }
  const n = items.length
  let ece = 0
  const out = count.map((k, b) => {
    const confidence = k ? conf[b] / k : null
    const accuracy = k ? hits[b] / k : null
    if (k) ece += (k / n) * Math.abs(accuracy! - confidence!)
    return { lo: b / bins, hi: (b + 1) / bins, count: k, confidence, accuracy }
  })
  return { ece: n ? ece : null, bins: out }
}

/** Wrong predictions, the most confident first (ties: lower true-class probability first). */
export function confidentMistakes<T extends Scored>(items: T[], limit: number): T[] {
  return items
    .filter((it) => it.predicted !== it.label)
    .sort((a, b) => b.probs[b.predicted] - a.probs[a.predicted] || a.probs[a.label] - b.probs[b.label])
    .slice(0, limit)
}

