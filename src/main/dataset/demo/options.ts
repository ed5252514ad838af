// Options of the demo generator and their validation. Lives apart from generator.ts so the planner
// and the renderer can share the types without importing each other.

/** FER2013 order, so the demo lines up with the most common real facial-emotion dataset. */
export const DEMO_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const
export type DemoClass = (typeof DEMO_CLASSES)[number]

export const DEMO_ENVIRONMENTS = ['studio', 'webcam', 'phone'] as const
export type DemoEnvironment = (typeof DEMO_ENVIRONMENTS)[number]

export type NoiseKind = 'symmetric' | 'class-conditional' | 'mixed'

export interface DemoOptions {
  images: number
  seed: number
  /** 0..0.9: share of images whose given label is wrong. */
  labelNoise: number
  /** Default 'mixed'. */
  noiseKind?: NoiseKind
  /** >= 1: ratio of the largest to the smallest class count; 1 = balanced. */
  imbalance: number
  /** Pixels, square. Default 112. */
  size?: number
  /** Shares per environment. Default {studio: 0.5, webcam: 0.3, phone: 0.2}. */
  environments?: Record<string, number>
  /** Default max(8, images / 25). */
  subjects?: number
}

/** DemoOptions with every default filled in. */
export type ResolvedDemoOptions = Required<DemoOptions>

export const DEMO_DEFAULTS = {
  images: 1000,
  seed: 42,
  labelNoise: 0.1,
  noiseKind: 'mixed' as NoiseKind,
  imbalance: 4,
  size: 112,
  environments: { studio: 0.5, webcam: 0.3, phone: 0.2 } as Record<string, number>
}

export const DEMO_LIMITS = { maxImages: 200_000, minSize: 32, maxSize: 512, maxImbalance: 100, maxSubjects: 10_000 }

const KNOWN_FIELDS = new Set(['images', 'seed', 'labelNoise', 'noiseKind', 'imbalance', 'size', 'environments', 'subjects'])

function fail(field: string, rule: string, got: unknown): never {
  throw new Error(`${field} ${rule} (got ${describe(got)})`)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  try {
    return JSON.stringify(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function intIn(field: string, value: unknown, lo: number, hi: number): number {
  if (!isNumber(value) || !Number.isInteger(value) || value < lo || value > hi) {
    fail(field, `must be an integer between ${lo} and ${hi}`, value)
  }
  return value
}

/** Fills defaults and checks every field; throws an Error whose message starts with the field name. */
export function validateDemoOptions(opts: Partial<DemoOptions>): ResolvedDemoOptions {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) fail('options', 'must be an object', opts)
  for (const key of Object.keys(opts)) {
    // An absent CLI flag often arrives as an undefined property; only a real value is a mistake.
    if (!KNOWN_FIELDS.has(key) && (opts as Record<string, unknown>)[key] !== undefined) fail(key, `is not a demo option (known: ${[...KNOWN_FIELDS].join(', ')})`, (opts as Record<string, unknown>)[key])
  }

  const images = intIn('images', opts.images ?? DEMO_DEFAULTS.images, DEMO_CLASSES.length, DEMO_LIMITS.maxImages)

  const seed = opts.seed ?? DEMO_DEFAULTS.seed
  if (!isNumber(seed) || !Number.isSafeInteger(seed)) fail('seed', 'must be an integer', seed)

  const labelNoise = opts.labelNoise ?? DEMO_DEFAULTS.labelNoise
  if (!isNumber(labelNoise) || labelNoise < 0 || labelNoise > 0.9) fail('labelNoise', 'must be between 0 and 0.9', labelNoise)

  const noiseKind = opts.noiseKind ?? DEMO_DEFAULTS.noiseKind
  if (noiseKind !== 'symmetric' && noiseKind !== 'class-conditional' && noiseKind !== 'mixed') {
    fail('noiseKind', "must be 'symmetric', 'class-conditional' or 'mixed'", noiseKind)
  }

  const imbalance = opts.imbalance ?? DEMO_DEFAULTS.imbalance
  if (!isNumber(imbalance) || imbalance < 1 || imbalance > DEMO_LIMITS.maxImbalance) {
    fail('imbalance', `must be between 1 and ${DEMO_LIMITS.maxImbalance}`, imbalance)
  }

  const size = intIn('size', opts.size ?? DEMO_DEFAULTS.size, DEMO_LIMITS.minSize, DEMO_LIMITS.maxSize)
  const environments = checkEnvironments(opts.environments ?? DEMO_DEFAULTS.environments)
  const subjects = intIn('subjects', opts.subjects ?? Math.max(8, Math.round(images / 25)), 1, DEMO_LIMITS.maxSubjects)

  return { images, seed, labelNoise, noiseKind, imbalance, size, environments, subjects }
}

function checkEnvironments(value: unknown): Record<string, number> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('environments', 'must be an object of shares', value)
  const entries = Object.entries(value as Record<string, unknown>)
  const known = DEMO_ENVIRONMENTS as readonly string[]
  let total = 0
  for (const [name, share] of entries) {
    if (!known.includes(name)) fail('environments', `may only name ${known.join(', ')}`, name)
    if (!isNumber(share) || share < 0) fail(`environments.${name}`, 'must be a non-negative number', share)
    total += share
  }
  if (total <= 0) fail('environments', 'must have at least one positive share', value)
  // Normalised and in a fixed order, so {webcam, studio} and {studio, webcam} plan identically.
  const shares: Record<string, number> = {}
  for (const name of known) {
    const share = (value as Record<string, number>)[name]
    if (share > 0) shares[name] = share / total
  }
  return shares
}
