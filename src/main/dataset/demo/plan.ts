// The deterministic plan of a demo dataset: who is in each image, what they really express, where
// the photo was taken and which (possibly wrong) label it was given. No pixels here, so the whole
// plan of 100k images is cheap and the renderer can draw any image on its own.
import { DEMO_CLASSES, type DemoClass, type ResolvedDemoOptions } from './options'
import { makeSubjects, type Subject } from './subjects'
import { apportion, mixSeed, Rng } from './rng'

export interface PlannedImage {
  index: number
  fileName: string
  label: string
  trueLabel: string
  noisy: boolean
  environment: string
  subject: string
  attributes: Record<string, string>
}

export interface DemoPlan {
  options: ResolvedDemoOptions
  subjects: Subject[]
  images: PlannedImage[]
}

/** Largest first, as in FER2013 (happy 8989 ... disgust 547). */
export const CLASS_RANK: readonly DemoClass[] = ['happy', 'neutral', 'sad', 'fear', 'angry', 'surprise', 'disgust']

/** The look-alike pairs that human annotators confuse most, used by class-conditional noise. */
export const NOISE_PAIRS: Readonly<Partial<Record<DemoClass, DemoClass>>> = {
  fear: 'surprise', surprise: 'fear', sad: 'neutral', neutral: 'sad', angry: 'disgust', disgust: 'angry'
}

// Deliberate, mild biases so the bias dashboards have something to find. They are invented for
// the demo and mirror the kind of skew reported for in-the-wild emotion datasets (people smile
// for phone photos, fewer frightened faces in front of a webcam, older people photographed less
// often surprised and more often sad, happy skewed to feminine and angry to masculine
// presentation). They are multipliers on an otherwise even chance, not claims about people.
const ENVIRONMENT_BIAS: Record<string, Partial<Record<DemoClass, number>>> = {
  studio: { neutral: 1.25, disgust: 1.15 },
  webcam: { fear: 0.55, surprise: 0.8, neutral: 1.1 },
  phone: { happy: 1.45, surprise: 1.2, disgust: 0.7, sad: 0.8 }
}
const SUBGROUP_BIAS: Record<string, Partial<Record<DemoClass, number>>> = {
  '60+': { sad: 1.5, neutral: 1.2, surprise: 0.6, happy: 0.85 },
  '18-29': { happy: 1.2, surprise: 1.2 },
  feminine: { happy: 1.3, angry: 0.75 },
  masculine: { angry: 1.35, happy: 0.8 }
}

export function buildPlan(options: ResolvedDemoOptions): DemoPlan {
  const { images: n, seed } = options
  const rng = new Rng(mixSeed(seed, 2))
  const subjects = makeSubjects(seed, options.subjects)
  const trueLabels = rng.shuffle(expandCounts(classCounts(n, options.imbalance)))
  const environments = assignEnvironments(rng, trueLabels, options.environments)
  const subjectOf = assignSubjects(rng, trueLabels, subjects)
  const given = applyLabelNoise(rng, trueLabels, options)

  const width = Math.max(6, String(n - 1).length)
  const images = trueLabels.map((trueLabel, index): PlannedImage => {
    const subject = subjects[subjectOf[index]]
    return {
      index,
      fileName: `demo_${String(index).padStart(width, '0')}.png`,
      label: given[index],
      trueLabel,
      noisy: given[index] !== trueLabel,
      environment: environments[index],
      subject: subject.id,
      attributes: { ...subject.attributes }
    }
  })
  return { options, subjects, images }
}

/** Class counts geometric in rank: largest / smallest = imbalance, every class present. */
export function classCounts(n: number, imbalance: number): Record<DemoClass, number> {
  const last = CLASS_RANK.length - 1
  const counts = apportion(n, CLASS_RANK.map((_, rank) => Math.pow(imbalance, -rank / last)))
  // A steep ratio on a small dataset can round the rarest classes to zero; a class with no image
  // at all would break every downstream split, so borrow from the largest.
  for (let k = 0; k < counts.length; k++) {
    if (counts[k] === 0) {
      counts[k] = 1
      counts[counts.indexOf(Math.max(...counts))]--
    }
  }
  const out = {} as Record<DemoClass, number>
  CLASS_RANK.forEach((c, rank) => (out[c] = counts[rank]))
  return out
}

function expandCounts(counts: Record<DemoClass, number>): DemoClass[] {
  return DEMO_CLASSES.flatMap((c) => Array<DemoClass>(counts[c]).fill(c))
}

// Exact environment counts (so shares are what was asked), with the class bias applied by drawing
// each image's environment in proportion to the places still free times the bias.
function assignEnvironments(rng: Rng, labels: DemoClass[], shares: Record<string, number>): string[] {
  const names = Object.keys(shares)
  const left = apportion(labels.length, names.map((e) => shares[e]))
  return labels.map((label) => {
    const k = rng.weighted(names.map((e, i) => left[i] * (ENVIRONMENT_BIAS[e]?.[label] ?? 1)))
    left[k]--
    return names[k]
  })
}

// Subjects get roughly equal numbers of images (a soft cap), tilted by the subgroup bias.
function assignSubjects(rng: Rng, labels: DemoClass[], subjects: Subject[]): number[] {
  const cap = Math.ceil(labels.length / subjects.length) + 1
  const used = new Array<number>(subjects.length).fill(0)
  const affinity = subjects.map((s) => (label: DemoClass) =>
    (SUBGROUP_BIAS[s.attributes.age_band]?.[label] ?? 1) * (SUBGROUP_BIAS[s.attributes.gender_presentation]?.[label] ?? 1)
  )
  return labels.map((label) => {
    const k = rng.weighted(subjects.map((_, i) => Math.max(0, cap - used[i]) * affinity[i](label)))
    used[k]++
    return k
  })
}

// Exactly round(labelNoise * n) wrong labels, so the flagger is scored against a known number.
// Under class-conditional noise annotators mix up look-alikes, and happy is rarely mislabelled,
// so the noisy images are drawn weighted (Efraimidis-Spirakis keys) rather than uniformly.
function applyLabelNoise(rng: Rng, labels: DemoClass[], options: ResolvedDemoOptions): string[] {
  const given: string[] = [...labels]
  const wanted = Math.round(options.labelNoise * labels.length)
  if (wanted === 0) return given
  const weightOf = (c: DemoClass): number => (options.noiseKind !== 'symmetric' && c === 'happy' ? 0.5 : 1)
  const keyed = labels.map((c, i) => ({ i, key: Math.pow(rng.next(), 1 / weightOf(c)) }))
  keyed.sort((a, b) => b.key - a.key || a.i - b.i)
  for (const { i } of keyed.slice(0, wanted)) {
    const truth = labels[i]
    const conditional = options.noiseKind === 'class-conditional' || (options.noiseKind === 'mixed' && rng.chance(0.5))
    given[i] = conditional && NOISE_PAIRS[truth] ? NOISE_PAIRS[truth]! : otherClass(rng, truth)
  }
  return given
}

function otherClass(rng: Rng, truth: DemoClass): DemoClass {
  const others = DEMO_CLASSES.filter((c) => c !== truth)
  return rng.pick(others)
}
