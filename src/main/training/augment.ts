// Bounded augmentation of prepared pixels (HWC float32, already normalised): horizontal flip, a
// small rotation, a crop (zoom into the centre region, then back to full size), brightness and
// contrast. One affine resampling does flip + rotation + crop, bilinear, edges clamped. Seeded:
// the same generator state gives the same picture. Only flip is something the boundary cache can
// hold (both views are cached); anything else needs the full backbone every batch.
import type { Normalization } from './preprocess'

export interface AugmentConfig {
  flip: boolean
  /** Largest rotation either way, degrees (0..20). */
  rotateDeg: number
  /** Largest brightness shift, as a fraction of the pixel range (0..0.3). */
  brightness: number
  /** Largest contrast change, as a fraction (0..0.3): contrast scales by 1 +- this. */
  contrast: number
  /** Smallest side of the crop, as a fraction of the image (0.7..1; 1 = no crop). */
  minCrop: number
}

export const DEFAULT_AUGMENT: AugmentConfig = { flip: true, rotateDeg: 0, brightness: 0, contrast: 0, minCrop: 1 }
/** What the advanced panel's "more augmentation" turns on: small and face-safe. */
export const RICH_AUGMENT: AugmentConfig = { flip: true, rotateDeg: 10, brightness: 0.1, contrast: 0.1, minCrop: 0.88 }

const BOUNDS = { rotateDeg: [0, 20], brightness: [0, 0.3], contrast: [0, 0.3], minCrop: [0.7, 1] } as const

/** Throws naming the field when a setting is outside its bounds. */
export function checkAugment(cfg: AugmentConfig): AugmentConfig {
  for (const [field, [lo, hi]] of Object.entries(BOUNDS) as [keyof typeof BOUNDS, readonly [number, number]][]) {
    const v = cfg[field]
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new Error(`augmentation ${field} must be between ${lo} and ${hi} (got ${v})`)
  }
  return cfg
}

/** True when the boundary-activation cache (original + flipped views) covers every variation. */
export function cacheCovers(cfg: AugmentConfig): boolean {
  return cfg.rotateDeg === 0 && cfg.brightness === 0 && cfg.contrast === 0 && cfg.minCrop >= 1
}

function range(n: Normalization): [number, number] {
  return n === 'minus1to1' ? [-1, 1] : n === 'imagenet' ? [-3, 3] : [0, 1]
}

/** A new augmented copy of one image; `random` is the caller's seeded generator. */
export function augmentPixels(pixels: Float32Array, size: number, cfg: AugmentConfig, random: () => number, norm: Normalization = 'zero1'): Float32Array {
  const flip = cfg.flip && random() < 0.5
  const angle = ((random() * 2 - 1) * cfg.rotateDeg * Math.PI) / 180
  const scale = cfg.minCrop + random() * (1 - cfg.minCrop)
  // The crop's centre may wander as far as the crop leaves room for.
  const room = (1 - scale) * size * 0.5
  const dx = (random() * 2 - 1) * room
  const dy = (random() * 2 - 1) * room
  const bright = (random() * 2 - 1) * cfg.brightness
  const contrast = 1 + (random() * 2 - 1) * cfg.contrast
  const [lo, hi] = range(norm)
  const span = hi - lo
  const out = new Float32Array(pixels.length)
  const c = (size - 1) / 2
  const cos = Math.cos(angle) * scale
  const sin = Math.sin(angle) * scale
  let mean = 0
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Output pixel -> source position: centre, mirror, rotate + scale, shift back.
      const u = (flip ? c - x : x - c)
      const v = y - c
      const sx = Math.min(size - 1, Math.max(0, cos * u - sin * v + c + dx))
      const sy = Math.min(size - 1, Math.max(0, sin * u + cos * v + c + dy))
      const x0 = Math.floor(sx)
      const y0 = Math.floor(sy)
      const x1 = Math.min(size - 1, x0 + 1)
      const y1 = Math.min(size - 1, y0 + 1)
      const fx = sx - x0
      const fy = sy - y0
      const o = (y * size + x) * 3
      for (let ch = 0; ch < 3; ch++) {
        const p00 = pixels[(y0 * size + x0) * 3 + ch]
        const p01 = pixels[(y0 * size + x1) * 3 + ch]
        const p10 = pixels[(y1 * size + x0) * 3 + ch]
        const p11 = pixels[(y1 * size + x1) * 3 + ch]
        const value = (p00 * (1 - fx) + p01 * fx) * (1 - fy) + (p10 * (1 - fx) + p11 * fx) * fy
        out[o + ch] = value
        mean += value
      }
    }
  }
  mean /= out.length
  for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, (out[i] - mean) * contrast + mean + bright * span))
  return out
}
