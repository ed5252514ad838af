// Where a photo was taken changes the picture, not the face: background, head pose and framing
// (drawn in the SVG), then light, colour, blur and sensor noise (applied to the raw pixels). The
// webcam is deliberately hostile (dim, cast, soft, noisy) so a model trained on studio images
// only drops clearly on it; the phone changes geometry (tilt, crop, skew) more than light.
import { colour, f } from './faces'
import { gaussianTable, type Rng } from './rng'
import type { Rgb } from './subjects'

export interface Photometry {
  gain: number
  contrast: number
  cast: [number, number, number]
  /** Linear light falloff across the frame (side lighting), per unit of x and y. */
  rampX: number
  rampY: number
  vignette: number
  /** Sensor noise, standard deviation in 0..255 units. */
  noise: number
}

export interface Scene {
  background: string
  /** SVG transform applied to the whole head (pose and framing). */
  transform: string
  /** Gaussian blur sigma in pixels at 112 px (scaled with the size); 0 = sharp. */
  blur: number
  photo: Photometry
}

const STUDIO_BACKDROPS: Rgb[] = [[222, 226, 231], [231, 227, 219], [212, 220, 230], [206, 214, 207]]
const ROOM_WALLS: Rgb[] = [[196, 182, 160], [170, 172, 178], [160, 176, 160], [214, 206, 192], [150, 130, 120]]
const CASTS: [number, number, number][] = [[1.14, 0.98, 0.72], [0.84, 0.96, 1.18], [0.9, 1.1, 0.86], [1.1, 0.9, 1.0]]

export function sceneFor(environment: string, rng: Rng): Scene {
  if (environment === 'webcam') return webcam(rng)
  if (environment === 'phone') return phone(rng)
  return studio(rng)
}

// Emotion datasets are tight face crops (FER2013, RAF-DB): the face, not the shoulders, fills the
// frame, so the head drawn in a 100-unit box is zoomed in before the pose is applied.
const FRAMING_ZOOM = 1.32

function pose(rotate: number, dx: number, dy: number, scale: number, skewX = 0, skewY = 0): string {
  // Rotate and scale about the middle of the face, then move the whole head.
  const zoom = (scale * FRAMING_ZOOM).toFixed(3)
  return `translate(${f(dx)} ${f(dy)}) translate(50 52) rotate(${f(rotate)}) scale(${zoom}) skewX(${f(skewX)}) skewY(${f(skewY)}) translate(-50 -50)`
}

function studio(rng: Rng): Scene {
  return {
    background: `<rect width="100" height="100" fill="${colour(rng.pick(STUDIO_BACKDROPS))}"/>`,
    transform: pose(rng.normal(0, 2), rng.normal(0, 1), rng.normal(0, 1), rng.range(0.97, 1.03)),
    blur: 0,
    photo: { gain: rng.range(0.98, 1.04), contrast: 1, cast: [1, 1, 1], rampX: 0, rampY: 0, vignette: 0, noise: 0 }
  }
}

function webcam(rng: Rng): Scene {
  const wall = rng.pick(ROOM_WALLS)
  let bg = `<rect width="100" height="100" fill="${colour(wall)}"/>`
  // A room behind the person: a door or shelf, a picture, sometimes a bright window.
  const things = 1 + rng.int(3)
  for (let i = 0; i < things; i++) {
    const x = rng.range(-10, 85)
    const y = rng.range(-10, 50)
    const w = rng.range(12, 35)
    const h = rng.range(15, 60)
    const fill = rng.chance(0.3) ? 'rgb(245,245,235)' : colour(wall, rng.range(0.45, 0.8))
    bg += `<rect x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}" fill="${fill}"/>`
  }
  const side = rng.chance(0.5) ? 1 : -1
  const cast = rng.pick(CASTS)
  const amount = rng.range(0.5, 1)
  return {
    background: bg,
    // Laptop cameras sit low and far: a smaller face, often off-centre.
    transform: pose(rng.normal(0, 4), rng.normal(0, 4), rng.range(0, 6), rng.range(0.84, 0.98)),
    blur: rng.range(0.7, 1.5),
    photo: {
      gain: rng.range(0.5, 0.8),
      contrast: rng.range(0.72, 0.92),
      cast: cast.map((c) => 1 + (c - 1) * amount) as [number, number, number],
      rampX: side * rng.range(0.2, 0.6),
      rampY: rng.range(-0.2, 0.1),
      vignette: rng.range(0.15, 0.4),
      noise: rng.range(5, 12)
    }
  }
}

function phone(rng: Rng): Scene {
  let bg: string
  if (rng.chance(0.6)) {
    // Outdoors: sky over a horizon, maybe a building.
    const sky = colour([rng.range(120, 190), rng.range(170, 215), rng.range(220, 250)])
    const ground = colour(rng.pick<Rgb>([[90, 130, 70], [120, 120, 115], [170, 150, 110]]))
    const horizon = rng.range(55, 80)
    bg = `<rect width="100" height="100" fill="${sky}"/><rect y="${f(horizon)}" width="100" height="${f(100 - horizon)}" fill="${ground}"/>`
    if (rng.chance(0.5)) bg += `<rect x="${f(rng.range(-20, 70))}" y="${f(rng.range(10, 40))}" width="${f(rng.range(20, 40))}" height="80" fill="${colour([rng.range(140, 200), rng.range(120, 170), rng.range(100, 150)])}"/>`
  } else {
    // Indoors with out-of-focus lights behind.
    bg = `<rect width="100" height="100" fill="${colour([rng.range(90, 160), rng.range(70, 130), rng.range(60, 110)])}"/>`
    for (let i = 0; i < 5; i++) {
      bg += `<circle cx="${f(rng.range(0, 100))}" cy="${f(rng.range(0, 60))}" r="${f(rng.range(3, 9))}" fill="rgb(255,${Math.round(rng.range(200, 240))},170)" opacity="0.6"/>`
    }
  }
  const tilt = (rng.chance(0.5) ? 1 : -1) * rng.range(5, 16)
  return {
    background: bg,
    // Held at arm's length: close, tilted, off-centre, slightly foreshortened; parts get cropped.
    transform: pose(tilt, rng.range(-12, 12), rng.range(-10, 10), rng.range(1.05, 1.3), rng.range(-7, 7), rng.range(-4, 4)),
    blur: rng.chance(0.5) ? 0 : rng.range(0.4, 0.8),
    photo: {
      gain: rng.range(0.95, 1.15),
      contrast: rng.range(1.08, 1.25),
      cast: [1 + rng.range(0, 0.08), 1, 1 - rng.range(0, 0.1)],
      rampX: rng.range(-0.15, 0.15),
      rampY: rng.range(-0.15, 0.15),
      vignette: 0,
      noise: rng.range(2, 5)
    }
  }
}

/**
 * Applies light, colour and sensor noise to raw pixels (3 or 4 channels in, alpha ignored) and
 * returns 3-channel pixels. Runs on the main thread for every image, so it is kept lean.
 */
export function applyPhotometry(src: Buffer, channels: number, size: number, p: Photometry, rng: Rng): Buffer {
  const out = Buffer.allocUnsafe(size * size * 3)
  const gauss = gaussianTable()
  const lumNoise = p.noise * 0.8
  const chromaNoise = p.noise * 0.45
  // Contrast about mid-grey folded into one multiply-add per channel: v * scale[ch] + offset[ch].
  const scale = p.cast.map((c) => p.contrast * c)
  const offset = p.cast.map((c) => (0.5 - 0.5 * p.contrast) * 255 * c)
  for (let y = 0; y < size; y++) {
    const v = y / size - 0.5
    for (let x = 0; x < size; x++) {
      const u = x / size - 0.5
      const light = p.gain * (1 + p.rampX * u + p.rampY * v) * (1 - p.vignette * (u * u + v * v) * 2)
      const a = rng.uint32()
      const b = rng.uint32()
      const shared = gauss[a & 0xffff] * lumNoise
      const i = (y * size + x) * channels
      const o = (y * size + x) * 3
      const r = (src[i] * scale[0] + offset[0]) * light + shared + gauss[a >>> 16] * chromaNoise
      const g = (src[i + 1] * scale[1] + offset[1]) * light + shared + gauss[b & 0xffff] * chromaNoise
      const bl = (src[i + 2] * scale[2] + offset[2]) * light + shared + gauss[b >>> 16] * chromaNoise
      out[o] = r < 0 ? 0 : r > 255 ? 255 : Math.round(r)
      out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : Math.round(g)
      out[o + 2] = bl < 0 ? 0 : bl > 255 ? 255 : Math.round(bl)
    }
  }
  return out
}
