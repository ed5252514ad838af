// The flag types besides confident learning: annotator disagreement (label entropy), near-duplicate
// pairs with different labels and near-duplicates or shared subjects across train and validation
// (perceptual hashes), and outliers far from every class centroid in embedding space. Pure
// functions over plain rows, so tests feed them hand-made cases.
import { hammingDistance } from '../../dataset/phash'
import { Yielder } from './softmax'

/** Shannon entropy in bits of a list of labels. */
export function labelEntropy(labels: number[]): number {
  const counts = new Map<number, number>()
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1)
  let h = 0
  for (const c of counts.values()) {
    const p = c / labels.length
    h -= p * Math.log2(p)
  }
  return h
}

export interface Disagreement {
  imageId: number
  entropy: number
  /** Entropy over its maximum for that many annotators (all different), 0..1. */
  score: number
  majority: number | null
}

/** Images whose current labels disagree, scored by normalised entropy; the majority (if unique) is the suggestion. */
export function disagreements(ratings: { imageId: number; classId: number }[]): Disagreement[] {
  const byImage = new Map<number, number[]>()
  for (const r of ratings) {
    const list = byImage.get(r.imageId) ?? []
    list.push(r.classId)
    byImage.set(r.imageId, list)
  }
  const out: Disagreement[] = []
  for (const [imageId, labels] of byImage) {
    const distinct = new Set(labels).size
    if (distinct < 2) continue
    const entropy = labelEntropy(labels)
    const counts = new Map<number, number>()
    for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1)
    const top = Math.max(...counts.values())
    const leaders = [...counts].filter(([, n]) => n === top)
    out.push({ imageId, entropy, score: entropy / Math.log2(labels.length), majority: leaders.length === 1 ? leaders[0][0] : null })
  }
  return out
}

export interface HashedImage {
  id: number
  phash: string
}

/**
 * Pairs of images whose 64-bit perceptual hashes differ in at most `threshold` bits. Splits each
 * hash into threshold + 1 bands: by the pigeonhole principle two hashes that close agree exactly
 * on at least one band, so only images sharing a band are compared (not all n^2 pairs).
 */
export function nearDuplicatePairs(images: HashedImage[], threshold: number): { a: number; b: number; distance: number }[] {
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 15) throw new Error(`the Hamming threshold must be an integer 0..15 (got ${threshold})`)
  const bands = threshold + 1
  const bits = 64
  const valid = images.filter((im) => /^[0-9a-f]{16}$/i.test(im.phash))
  const seen = new Set<string>()
  const out: { a: number; b: number; distance: number }[] = []
  for (let band = 0; band < bands; band++) {
    const from = Math.floor((band * bits) / bands)
    const to = Math.floor(((band + 1) * bits) / bands)
    const buckets = new Map<string, HashedImage[]>()
    for (const im of valid) {
      const key = bandBits(im.phash, from, to)
      const list = buckets.get(key) ?? []
      list.push(im)
      buckets.set(key, list)
    }
    for (const list of buckets.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const [a, b] = list[i].id < list[j].id ? [list[i], list[j]] : [list[j], list[i]]
          const key = `${a.id}:${b.id}`
          if (seen.has(key)) continue
          seen.add(key)
          const distance = hammingDistance(a.phash, b.phash)
          if (distance <= threshold) out.push({ a: a.id, b: b.id, distance })
        }
      }
    }
  }
  return out
}

function bandBits(hex: string, from: number, to: number): string {
  let s = ''
  for (let i = 0; i < 16; i++) s += parseInt(hex[i], 16).toString(2).padStart(4, '0')
  return s.slice(from, to)
}

export interface OutlierResult {
  index: number
  distance: number
  z: number
  nearestClass: number
}

/** Median of a copy of the values. */
export function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b)
  if (!s.length) return NaN
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * Outliers in embedding space: each vector's cosine distance to the nearest class centroid (the
 * mean of that class's unit vectors), then the modified z-score 0.6745 (d - median) / MAD of
 * Iglewicz and Hoaglin (1993); above `zThreshold` (they suggest 3.5) is an outlier. Yields to the
 * event loop as it goes (10,000 x 1,280 is over a second of arithmetic).
 */
export async function centroidOutliers(
  vectors: Float32Array[],
  labels: Int32Array,
  m: number,
  zThreshold = 3.5,
  yielder = new Yielder()
): Promise<{ outliers: OutlierResult[]; distances: Float64Array }> {
  const d = vectors[0]?.length ?? 0
  const unit: Float32Array[] = []
  for (const v of vectors) {
    let norm = 0
    for (let k = 0; k < d; k++) norm += v[k] * v[k]
    norm = Math.sqrt(norm) || 1
    unit.push(v.map((x) => x / norm))
    await yielder.maybe()
  }
  const centroids = Array.from({ length: m }, () => new Float64Array(d))
  const counts = new Float64Array(m)
  unit.forEach((u, i) => {
    counts[labels[i]]++
    for (let k = 0; k < d; k++) centroids[labels[i]][k] += u[k]
  })
  for (const c of centroids) {
    let norm = 0
    for (let k = 0; k < d; k++) norm += c[k] * c[k]
    norm = Math.sqrt(norm) || 1
    for (let k = 0; k < d; k++) c[k] /= norm
  }
  const distances = new Float64Array(unit.length)
  const nearest = new Int32Array(unit.length)
  for (let i = 0; i < unit.length; i++) {
    const u = unit[i]
    let best = -Infinity
    for (let c = 0; c < m; c++) {
      if (!counts[c]) continue
      let dot = 0
      for (let k = 0; k < d; k++) dot += u[k] * centroids[c][k]
      if (dot > best) {
        best = dot
        nearest[i] = c
      }
    }
    distances[i] = 1 - best
    await yielder.maybe()
  }
  const med = median(distances)
  const mad = median(distances.map((x) => Math.abs(x - med)))
  const outliers: OutlierResult[] = []
  if (mad > 0) {
    distances.forEach((dist, i) => {
      const z = (0.6745 * (dist - med)) / mad
      if (z > zThreshold) outliers.push({ index: i, distance: dist, z, nearestClass: nearest[i] })
    })
  }
  return { outliers, distances }
}
