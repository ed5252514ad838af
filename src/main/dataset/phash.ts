// A 64-bit DCT perceptual hash: near-identical pictures (re-encoded, resized, slightly
// brightened) land within a few bits of each other, so near-duplicates can be found by
// Hamming distance. Standard recipe: 32x32 grey, 2-D DCT, keep the 8x8 lowest frequencies,
// threshold at their median.

const N = 32
const COS: Float64Array = (() => {
  const t = new Float64Array(N * N)
  for (let k = 0; k < N; k++) for (let n = 0; n < N; n++) t[k * N + n] = Math.cos((Math.PI * (2 * n + 1) * k) / (2 * N))
  return t
})()

/** `grey` holds 32x32 luminance bytes, row-major. Returns 16 hex digits. */
export function phashFromGrey32(grey: Uint8Array): string {
  if (grey.length !== N * N) throw new Error(`phash needs ${N * N} grey pixels, got ${grey.length}`)
  // Only the 8 lowest frequencies of each axis are needed: rows first, then columns.
  const rows = new Float64Array(N * 8)
  for (let y = 0; y < N; y++) {
    for (let k = 0; k < 8; k++) {
      let s = 0
      for (let x = 0; x < N; x++) s += grey[y * N + x] * COS[k * N + x]
      rows[y * 8 + k] = s
    }
  }
  const coeffs = new Float64Array(64)
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0
      for (let y = 0; y < N; y++) s += rows[y * 8 + u] * COS[v * N + y]
      coeffs[v * 8 + u] = s
    }
  }
  // The DC term says only how bright the image is; leave it out of the median.
  const ac = Array.from(coeffs.subarray(1)).sort((a, b) => a - b)
  const median = (ac[31] + ac[32]) / 2
  let hex = ''
  for (let nibble = 0; nibble < 16; nibble++) {
    let bits = 0
    for (let b = 0; b < 4; b++) bits = (bits << 1) | (coeffs[nibble * 4 + b] > median ? 1 : 0)
    hex += bits.toString(16)
  }
  return hex
}

export function hammingDistance(a: string, b: string): number {
  let d = 0
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0
    while (x) {
      x &= x - 1
      d++
    }
  }
  return d
}
