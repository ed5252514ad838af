import { describe, it, expect, beforeAll } from 'vitest'
import sharp from 'sharp'
import {
  DEMO_CLASSES,
  demoTruthCsv,
  generateDemo,
  planDemo,
  validateDemoOptions,
  type DemoImage,
  type DemoOptions
} from '../../../src/main/dataset/demo/generator'

const PAIRS: Record<string, string> = {
  fear: 'surprise', surprise: 'fear', sad: 'neutral', neutral: 'sad', angry: 'disgust', disgust: 'angry'
}

async function collect(opts: DemoOptions, signal?: AbortSignal): Promise<DemoImage[]> {
  const out: DemoImage[] = []
  for await (const image of generateDemo(opts, signal)) out.push(image)
  return out
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1
  return counts
}

/** Grayscale pixels at the image's own size, 0..255. */
async function gray(png: Buffer, side?: number): Promise<Float64Array> {
  let img = sharp(png).grayscale()
  if (side) img = img.resize(side, side, { kernel: 'cubic' })
  const raw = await img.raw().toBuffer()
  return Float64Array.from(raw)
}

describe('demo generator: determinism and decoding', () => {
  const base: DemoOptions = { images: 21, seed: 11, labelNoise: 0.2, imbalance: 2 }

  it('gives byte-identical images and plan for the same seed, different ones for another seed', async () => {
    const a = await collect(base)
    const b = await collect(base)
    expect(a.map((im) => im.index)).toEqual(a.map((_, i) => i))
    expect(b.map(({ png, ...rest }) => rest)).toEqual(a.map(({ png, ...rest }) => rest))
    for (let i = 0; i < a.length; i++) expect(b[i].png.equals(a[i].png)).toBe(true)
    expect(planDemo(base)).toEqual(a.map(({ png, ...rest }) => rest))

    const c = await collect({ ...base, seed: 12 })
    expect(c.map((im) => im.trueLabel)).not.toEqual(a.map((im) => im.trueLabel))
    expect(c.filter((im, i) => im.png.equals(a[i].png))).toHaveLength(0)
  })

  it('writes PNGs at the requested size with three channels', async () => {
    const images = await collect({ ...base, images: 9, size: 96, environments: { studio: 1, webcam: 1, phone: 1 } })
    expect(new Set(images.map((im) => im.environment))).toEqual(new Set(['studio', 'webcam', 'phone']))
    for (const image of images) {
      const meta = await sharp(image.png).metadata()
      expect(meta.format).toBe('png')
      expect([meta.width, meta.height, meta.channels]).toEqual([96, 96, 3])
      expect(image.fileName).toMatch(/^demo_\d{6}\.png$/)
      expect(image.subject).toMatch(/^s\d{3}$/)
      expect(Object.keys(image.attributes)).toEqual(expect.arrayContaining(['age_band', 'gender_presentation']))
    }
  })

  it('stops when the signal aborts', async () => {
    const controller = new AbortController()
    const seen: number[] = []
    for await (const image of generateDemo({ ...base, images: 40 }, controller.signal)) {
      seen.push(image.index)
      if (seen.length === 3) controller.abort()
    }
    expect(seen).toEqual([0, 1, 2])
  })
})

describe('demo plan: label noise, imbalance, environments, bias', () => {
  it('makes exactly round(p * N) labels wrong, and pairs look-alikes under class-conditional noise', () => {
    for (const noiseKind of ['symmetric', 'class-conditional', 'mixed'] as const) {
      const plan = planDemo({ images: 500, seed: 3, labelNoise: 0.2, imbalance: 3, noiseKind })
      const noisy = plan.filter((im) => im.noisy)
      expect(noisy).toHaveLength(100)
      expect(plan.every((im) => im.noisy === (im.label !== im.trueLabel))).toBe(true)
      const paired = noisy.filter((im) => PAIRS[im.trueLabel])
      const toPartner = paired.filter((im) => im.label === PAIRS[im.trueLabel]).length
      if (noiseKind === 'class-conditional') expect(toPartner).toBe(paired.length)
      // Symmetric noise lands on the partner about 1 time in 6; mixed about 7 in 12.
      if (noiseKind === 'symmetric') expect(toPartner / paired.length).toBeLessThan(0.35)
      if (noiseKind === 'mixed') expect(toPartner / paired.length).toBeGreaterThan(0.4)
      if (noiseKind === 'mixed') expect(toPartner).toBeLessThan(paired.length)
    }
    const odd = planDemo({ images: 333, seed: 3, labelNoise: 0.13, imbalance: 1 })
    expect(odd.filter((im) => im.noisy)).toHaveLength(Math.round(0.13 * 333))
    expect(planDemo({ images: 200, seed: 3, labelNoise: 0, imbalance: 1 }).some((im) => im.noisy)).toBe(false)
  })

  it('lists the noisy images with their true labels for scoring', () => {
    const plan = planDemo({ images: 100, seed: 5, labelNoise: 0.1, imbalance: 1 })
    const lines = demoTruthCsv(plan).trim().split('\n')
    expect(lines).toHaveLength(11)
    const first = plan.find((im) => im.noisy)!
    expect(lines[1]).toBe(`${first.fileName},${first.label},${first.trueLabel},${first.environment},${first.subject}`)
  })

  it('sets the largest/smallest class ratio to the requested imbalance', () => {
    for (const imbalance of [2, 5, 10]) {
      const counts = Object.values(countBy(planDemo({ images: 2000, seed: 8, labelNoise: 0, imbalance }), (im) => im.trueLabel))
      expect(counts).toHaveLength(7)
      const ratio = Math.max(...counts) / Math.min(...counts)
      expect(Math.abs(ratio - imbalance) / imbalance).toBeLessThan(0.1)
    }
    const skewed = countBy(planDemo({ images: 2000, seed: 8, labelNoise: 0, imbalance: 6 }), (im) => im.trueLabel)
    expect(Math.max(...Object.values(skewed))).toBe(skewed.happy)
    expect(Math.min(...Object.values(skewed))).toBe(skewed.disgust)
    for (const n of [700, 701, 706]) {
      const even = Object.values(countBy(planDemo({ images: n, seed: 8, labelNoise: 0.3, imbalance: 1 }), (im) => im.trueLabel))
      expect(Math.max(...even) - Math.min(...even)).toBeLessThanOrEqual(1)
    }
    // Even a steep ratio on a tiny dataset keeps every class.
    expect(Object.keys(countBy(planDemo({ images: 7, seed: 1, labelNoise: 0, imbalance: 50 }), (im) => im.trueLabel))).toHaveLength(7)
  })

  it('keeps environment shares and leaves mild class x environment and class x subgroup skews', () => {
    const plan = planDemo({ images: 4000, seed: 21, labelNoise: 0, imbalance: 1 })
    const envs = countBy(plan, (im) => im.environment)
    expect(envs.studio / 4000).toBeCloseTo(0.5, 2)
    expect(envs.webcam / 4000).toBeCloseTo(0.3, 2)
    expect(envs.phone / 4000).toBeCloseTo(0.2, 2)
    const custom = countBy(planDemo({ images: 300, seed: 1, labelNoise: 0, imbalance: 1, environments: { phone: 1, studio: 2 } }), (im) => im.environment)
    expect(custom).toEqual({ studio: 200, phone: 100 })

    const share = (label: string, keep: (im: (typeof plan)[number]) => boolean): number => {
      const group = plan.filter(keep)
      return group.filter((im) => im.trueLabel === label).length / group.length
    }
    expect(share('fear', (im) => im.environment === 'webcam')).toBeLessThan(share('fear', (im) => im.environment === 'studio') * 0.8)
    expect(share('happy', (im) => im.environment === 'phone')).toBeGreaterThan(share('happy', (im) => im.environment === 'studio') * 1.15)
    expect(share('sad', (im) => im.attributes.age_band === '60+')).toBeGreaterThan(share('sad', (im) => im.attributes.age_band !== '60+') * 1.15)

    // Subjects: the default count, each used, none hogging the dataset.
    const perSubject = Object.values(countBy(plan, (im) => im.subject))
    expect(perSubject).toHaveLength(160)
    expect(Math.max(...perSubject)).toBeLessThanOrEqual(Math.ceil(4000 / 160) + 1)
  })
})

describe('demo pixels: environments and learnability', () => {
  // One rendered set serves both checks: studio and webcam only, balanced, clean labels.
  let images: DemoImage[] = []
  beforeAll(async () => {
    images = await collect({ images: 700, seed: 2024, labelNoise: 0, imbalance: 1, environments: { studio: 0.6, webcam: 0.4 } })
  }, 60_000)

  it('makes webcam images darker and noisier than studio ones', async () => {
    const stats = async (env: string): Promise<{ brightness: number; highFrequency: number }> => {
      const sample = images.filter((im) => im.environment === env).slice(0, 40)
      let brightness = 0
      let highFrequency = 0
      for (const im of sample) {
        const px = await gray(im.png)
        const side = Math.sqrt(px.length)
        let sum = 0
        let hf = 0
        for (let y = 1; y < side - 1; y++) {
          for (let x = 1; x < side - 1; x++) {
            const i = y * side + x
            sum += px[i]
            // Laplacian: flat studio areas give 0, sensor noise does not.
            hf += Math.abs(4 * px[i] - px[i - 1] - px[i + 1] - px[i - side] - px[i + side])
          }
        }
        brightness += sum / (side - 2) ** 2 / sample.length
        highFrequency += hf / (side - 2) ** 2 / sample.length
      }
      return { brightness, highFrequency }
    }
    const studio = await stats('studio')
    const webcam = await stats('webcam')
    console.log(`mean brightness studio ${studio.brightness.toFixed(1)}, webcam ${webcam.brightness.toFixed(1)}; mean |Laplacian| studio ${studio.highFrequency.toFixed(1)}, webcam ${webcam.highFrequency.toFixed(1)}`)
    expect(webcam.brightness).toBeLessThan(studio.brightness * 0.8)
    expect(webcam.highFrequency).toBeGreaterThan(studio.highFrequency * 1.5)
  })

  it('is learnable from studio pixels but not trivially, and the webcam shift hurts', async () => {
    const features = await Promise.all(images.map((im) => gray(im.png, 24).then(standardise)))
    const y = images.map((im) => DEMO_CLASSES.indexOf(im.trueLabel as (typeof DEMO_CLASSES)[number]))
    const studio = images.map((_, i) => i).filter((i) => images[i].environment === 'studio')
    const webcam = images.map((_, i) => i).filter((i) => images[i].environment === 'webcam')
    const train = studio.slice(0, 300)
    const heldOut = studio.slice(300)
    const model = ridge(train.map((i) => features[i]), train.map((i) => y[i]), DEMO_CLASSES.length, 10)
    const accuracy = (idx: number[]): number => idx.filter((i) => predict(model, features[i]) === y[i]).length / idx.length
    const studioAcc = accuracy(heldOut)
    const webcamAcc = accuracy(webcam)
    console.log(`studio-trained ridge on 24x24 gray: held-out studio ${studioAcc.toFixed(3)}, webcam ${webcamAcc.toFixed(3)} (chance 0.143)`)
    expect(studioAcc).toBeGreaterThan(0.35)
    expect(studioAcc).toBeLessThan(0.95)
    expect(webcamAcc).toBeLessThan(studioAcc - 0.15)
  })
})

describe('validateDemoOptions', () => {
  it('fills defaults', () => {
    const opts = validateDemoOptions({ images: 50, seed: 1, labelNoise: 0, imbalance: 1 })
    expect(opts).toMatchObject({ size: 112, noiseKind: 'mixed', subjects: 8, environments: { studio: 0.5, webcam: 0.3, phone: 0.2 } })
  })

  it('names the bad field', () => {
    const bad: [Partial<DemoOptions>, RegExp][] = [
      [{ labelNoise: 2 }, /^labelNoise must be between 0 and 0\.9 \(got 2\)/],
      [{ labelNoise: -0.1 }, /^labelNoise/],
      [{ images: 0 }, /^images must be an integer/],
      [{ images: 12.5 }, /^images/],
      [{ seed: 1.5 }, /^seed must be an integer/],
      [{ imbalance: 0.5 }, /^imbalance must be between 1/],
      [{ noiseKind: 'weird' as never }, /^noiseKind/],
      [{ size: 8 }, /^size must be an integer/],
      [{ subjects: 0 }, /^subjects/],
      [{ environments: { office: 1 } }, /^environments may only name studio, webcam, phone \(got "office"\)/],
      [{ environments: { studio: -1 } }, /^environments\.studio/],
      [{ environments: { studio: 0 } }, /^environments must have at least one positive share/],
      [{ colour: 'red' } as Partial<DemoOptions>, /^colour is not a demo option/]
    ]
    for (const [opts, message] of bad) {
      expect(() => validateDemoOptions({ images: 100, seed: 1, labelNoise: 0.1, imbalance: 2, ...opts })).toThrow(message)
    }
    expect(() => validateDemoOptions({ images: 100, seed: 1, labelNoise: 0.1, imbalance: 2, size: 8 })).toThrow(/got 8/)
  })
})

// A tiny classifier written out here so the test depends on nothing but the pixels: one-vs-all
// ridge regression on per-image standardised 24 x 24 grayscale, solved in closed form.
function standardise(px: Float64Array): Float64Array {
  let mean = 0
  for (const v of px) mean += v / px.length
  let variance = 0
  for (const v of px) variance += (v - mean) ** 2 / px.length
  const sd = Math.sqrt(variance) || 1
  const out = new Float64Array(px.length + 1)
  px.forEach((v, i) => (out[i] = (v - mean) / sd))
  out[px.length] = 1 // bias term
  return out
}

function ridge(x: Float64Array[], labels: number[], classes: number, lambda: number): Float64Array[] {
  const d = x[0].length
  const a = new Float64Array(d * d)
  const b = Array.from({ length: classes }, () => new Float64Array(d))
  for (let n = 0; n < x.length; n++) {
    const row = x[n]
    for (let i = 0; i < d; i++) {
      const ri = row[i]
      for (let j = i; j < d; j++) a[i * d + j] += ri * row[j]
      b[labels[n]][i] += ri
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) a[i * d + j] = a[j * d + i]
    a[i * d + i] += lambda
  }
  const l = cholesky(a, d)
  return b.map((rhs) => choleskySolve(l, d, rhs))
}

function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d)
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]
    for (let k = 0; k < j; k++) s -= l[j * d + k] ** 2
    l[j * d + j] = Math.sqrt(s)
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]
      for (let k = 0; k < j; k++) t -= l[i * d + k] * l[j * d + k]
      l[i * d + j] = t / l[j * d + j]
    }
  }
  return l
}

function choleskySolve(l: Float64Array, d: number, rhs: Float64Array): Float64Array {
  const z = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    let s = rhs[i]
    for (let k = 0; k < i; k++) s -= l[i * d + k] * z[k]
    z[i] = s / l[i * d + i]
  }
  const w = new Float64Array(d)
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * w[k]
    w[i] = s / l[i * d + i]
  }
  return w
}

function predict(weights: Float64Array[], x: Float64Array): number {
  let best = 0
  let bestScore = -Infinity
  weights.forEach((w, c) => {
    let s = 0
    for (let i = 0; i < x.length; i++) s += w[i] * x[i]
    if (s > bestScore) [best, bestScore] = [c, s]
  })
  return best
}
