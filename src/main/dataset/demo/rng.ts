// Seeded randomness for the demo dataset. Every draw goes through here so that the same seed gives
// the same bytes on every run and machine; Math.random is never used.

/** Folds any number of integers into one 32-bit seed (murmur3-style finaliser per part). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9
  for (const part of parts) {
    // Seeds may exceed 32 bits (CLI users type anything), so both halves take part.
    const lo = part >>> 0
    const hi = Math.floor(part / 4294967296) >>> 0
    h = fmix(h ^ fmix(lo + 0x85ebca6b))
    h = fmix(h ^ fmix(hi + 0xc2b2ae35))
  }
  return h >>> 0
}

function fmix(x: number): number {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** mulberry32: tiny, fast, good enough for pictures and sampling (not for cryptography). */
export class Rng {
  private state: number
  private spare: number | null = null

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296
  }

  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** Standard normal via Box-Muller; the second value of each pair is kept for the next call. */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) {
      const z = this.spare
      this.spare = null
      return mean + sd * z
    }
    const u = 1 - this.next() // (0, 1], so log never sees 0
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return mean + sd * r * Math.cos(2 * Math.PI * v)
  }

  /** Index drawn with probability proportional to weights (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    let total = 0
    for (const w of weights) total += w
    let x = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]
      if (x < 0) return i
    }
    // Rounding can leave x a hair above zero; fall back to the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i
    return weights.length - 1
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i]
      items[i] = items[j]
      items[j] = t
    }
    return items
  }
}

/** Splits n into integer parts proportional to weights, summing exactly to n (largest remainder). */
export function apportion(n: number, weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map((w) => (n * w) / total)
  const counts = exact.map(Math.floor)
  let left = n - counts.reduce((a, b) => a + b, 0)
  // Ties go to the earlier entry, so the result never depends on sort stability quirks.
  const order = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i)
  for (let k = 0; left > 0; k++, left--) counts[order[k % order.length].i]++
  return counts
}

let gaussTable: Float32Array | null = null

/**
 * 65,536 standard-normal values, the same on every run. Sensor noise needs ~50k normals per image;
 * two table look-ups per 32-bit draw are several times cheaper than Box-Muller, and per-pixel noise
 * does not need more than 16 bits of resolution.
 */
export function gaussianTable(): Float32Array {
  if (gaussTable) return gaussTable
  const rng = new Rng(0x5eed)
  const table = new Float32Array(65536)
  for (let i = 0; i < table.length; i++) table[i] = rng.normal()
  gaussTable = table
  return table
}
