// The people of the demo dataset. Each subject keeps its look across all its images, so a model can
// learn "who" instead of "what expression" and subject-wise splits matter; each also has its own
// expressiveness, so some people's sad and neutral really are hard to tell apart.
import { mixSeed, Rng } from './rng'

export const AGE_BANDS = ['18-29', '30-44', '45-59', '60+'] as const
export const GENDER_PRESENTATIONS = ['feminine', 'masculine', 'androgynous'] as const
export type HairStyle = 'short' | 'long' | 'bob' | 'bun' | 'curly' | 'fringe' | 'bald'

export interface Subject {
  id: string
  attributes: { age_band: string; gender_presentation: string; skin_tone: string }
  faceWidth: number
  faceLength: number
  /** How much the face narrows towards the chin (0 = oval, 0.3 = heart-shaped). */
  jaw: number
  /** Superellipse exponent of the face outline: 2 is an ellipse, higher is squarer. */
  squareness: number
  skin: Rgb
  hair: Rgb
  hairStyle: HairStyle
  iris: Rgb
  lips: Rgb
  clothes: Rgb
  eyeSpacing: number
  eyeSize: number
  eyeDrop: number
  browWeight: number
  mouthWidth: number
  noseLength: number
  /** Opacity of facial hair: 0 none, ~0.3 stubble, ~0.85 full beard. */
  beard: number
  glasses: boolean
  wrinkles: number
  /** Scales every expression of this person: 0.4 barely moves, 1.1 exaggerates. */
  expressiveness: number
}

export type Rgb = readonly [number, number, number]

// Six skin tones from very light to very dark, grouped into three reported bands.
const SKIN_TONES: { rgb: Rgb; band: string }[] = [
  { rgb: [246, 215, 195], band: 'light' },
  { rgb: [234, 193, 160], band: 'light' },
  { rgb: [217, 164, 124], band: 'medium' },
  { rgb: [185, 127, 87], band: 'medium' },
  { rgb: [141, 90, 58], band: 'dark' },
  { rgb: [92, 58, 38], band: 'dark' }
]
const HAIR_COLOURS: Rgb[] = [
  [30, 24, 20], [58, 40, 28], [96, 64, 38], [150, 110, 66], [200, 165, 110], [128, 52, 28]
]
const IRIS_COLOURS: Rgb[] = [[72, 46, 28], [40, 28, 20], [70, 110, 150], [84, 110, 70], [110, 90, 60]]
const CLOTHES_COLOURS: Rgb[] = [
  [40, 60, 110], [140, 40, 50], [60, 110, 70], [200, 200, 205], [50, 50, 55], [190, 150, 60], [110, 80, 140], [230, 120, 60]
]

export function makeSubjects(seed: number, count: number): Subject[] {
  const width = Math.max(3, String(count - 1).length)
  return Array.from({ length: count }, (_, i) => makeSubject(new Rng(mixSeed(seed, 1, i)), 's' + String(i).padStart(width, '0')))
}

function makeSubject(rng: Rng, id: string): Subject {
  const age = AGE_BANDS[rng.weighted([0.32, 0.3, 0.22, 0.16])]
  const gender = GENDER_PRESENTATIONS[rng.weighted([0.46, 0.44, 0.1])]
  const tone = SKIN_TONES[rng.int(SKIN_TONES.length)]
  const feminine = gender === 'feminine'
  const masculine = gender === 'masculine'
  const older = age === '60+' ? 1 : age === '45-59' ? 0.45 : 0

  const hairStyle: HairStyle = feminine
    ? (['long', 'long', 'bob', 'bun', 'curly', 'fringe'] as const)[rng.int(6)]
    : masculine
      ? (['short', 'short', 'curly', 'bald', 'fringe'] as const)[rng.int(older > 0 ? 5 : 4)]
      : (['short', 'bob', 'curly', 'fringe', 'long'] as const)[rng.int(5)]
  // Grey creeps in with age: blend the natural colour towards grey.
  const natural = rng.pick(HAIR_COLOURS)
  const grey = older * rng.range(0.4, 0.95)
  const hair = natural.map((c) => Math.round(c + (175 - c) * grey)) as unknown as Rgb

  return {
    id,
    attributes: { age_band: age, gender_presentation: gender, skin_tone: tone.band },
    faceWidth: rng.range(0.86, 1.06) + (masculine ? 0.03 : 0),
    faceLength: rng.range(0.92, 1.07),
    jaw: rng.range(0, 0.28) + (feminine ? 0.06 : 0),
    squareness: rng.range(2, 2.7) + (masculine ? 0.25 : 0),
    skin: tone.rgb.map((c) => clamp(Math.round(c + rng.normal(0, 6)))) as unknown as Rgb,
    hair,
    hairStyle,
    iris: rng.pick(IRIS_COLOURS),
    lips: tone.rgb.map((c, k) => clamp(Math.round(c * (tone.band === 'dark' ? [0.7, 0.42, 0.45][k] : [0.82, 0.58, 0.58][k]) + (feminine ? [30, -6, 0][k] : 0)))) as unknown as Rgb,
    clothes: rng.pick(CLOTHES_COLOURS),
    eyeSpacing: rng.range(0.9, 1.1),
    eyeSize: rng.range(0.88, 1.14),
    eyeDrop: rng.range(-1.5, 1.5),
    browWeight: rng.range(1.5, 2.5) + (masculine ? 0.4 : 0),
    mouthWidth: rng.range(0.86, 1.14),
    noseLength: rng.range(0.85, 1.2),
    beard: masculine && rng.chance(age === '18-29' ? 0.2 : 0.45) ? rng.pick([0.3, 0.6, 0.85]) : 0,
    glasses: rng.chance(0.08 + older * 0.25),
    wrinkles: older,
    expressiveness: rng.range(0.45, 1.1)
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v
}
