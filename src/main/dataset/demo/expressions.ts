// Facial expressions as a handful of numbers, loosely after the action units of FACS: brow raiser
// and lowerer, lid tightener, lip corner puller and depressor, jaw drop, nose wrinkler. Each class
// is a target; an image moves from neutral towards it by the subject's expressiveness times a
// per-image intensity, plus jitter, so weak expressers overlap with neutral and look-alike classes
// (fear/surprise, angry/disgust, sad/neutral) overlap with each other as they do in real data.
import type { DemoClass } from './options'
import type { Rng } from './rng'

export interface Expression {
  /** Lip corners up (+, smile) or down (-), in face units. */
  mouthCurve: number
  /** 0 closed .. 1.4 wide open. */
  mouthOpen: number
  /** Relative mouth width (stretched for fear, rounded for surprise). */
  mouthWidth: number
  /** Brows up (+) or down (-). */
  browRaise: number
  /** Inner ends of the brows down (+, angry) or up (-, sad/fear). */
  browTilt: number
  browArch: number
  /** 1 = relaxed; below squints, above widens. */
  eyeOpen: number
  /** 0..1: nose wrinkle and flared nostrils. */
  noseWrinkle: number
  /** One-sided upper-lip raise (disgust sneer). */
  lipRaise: number
  /** 0..1: raised cheeks (genuine smile). */
  cheekRaise: number
  /** 0..1: how much teeth show when the mouth opens. */
  teeth: number
}

const NEUTRAL: Expression = {
  mouthCurve: 0, mouthOpen: 0, mouthWidth: 1, browRaise: 0, browTilt: 0, browArch: 0.6,
  eyeOpen: 1, noseWrinkle: 0, lipRaise: 0, cheekRaise: 0, teeth: 0
}

const TARGETS: Record<DemoClass, Expression> = {
  neutral: NEUTRAL,
  happy: { ...NEUTRAL, mouthCurve: 4.6, mouthOpen: 0.5, mouthWidth: 1.3, browRaise: 0.6, browArch: 0.8, eyeOpen: 0.6, cheekRaise: 1, teeth: 1 },
  sad: { ...NEUTRAL, mouthCurve: -3.6, mouthWidth: 0.92, browRaise: 0.9, browTilt: -3.4, browArch: -0.4, eyeOpen: 0.7 },
  angry: { ...NEUTRAL, mouthCurve: -1.6, mouthOpen: 0.3, mouthWidth: 1.08, browRaise: -2.4, browTilt: 3.8, browArch: -0.2, eyeOpen: 0.9, noseWrinkle: 0.2, teeth: 0.9 },
  fear: { ...NEUTRAL, mouthCurve: -1.8, mouthOpen: 0.55, mouthWidth: 1.32, browRaise: 3.0, browTilt: -2.8, browArch: 0.1, eyeOpen: 1.45, teeth: 0.6 },
  surprise: { ...NEUTRAL, mouthCurve: 0.2, mouthOpen: 1.3, mouthWidth: 0.66, browRaise: 4.8, browTilt: -0.3, browArch: 1.6, eyeOpen: 1.55 },
  disgust: { ...NEUTRAL, mouthCurve: -1.8, mouthOpen: 0.3, mouthWidth: 0.95, browRaise: -1.4, browTilt: 1.3, browArch: -0.1, eyeOpen: 0.55, noseWrinkle: 1, lipRaise: 2.2, cheekRaise: 0.35, teeth: 0.7 }
}

// Per-feature jitter (standard deviation) so no two images of the same person and class match.
const JITTER: Expression = {
  mouthCurve: 0.7, mouthOpen: 0.1, mouthWidth: 0.06, browRaise: 0.7, browTilt: 0.6, browArch: 0.25,
  eyeOpen: 0.08, noseWrinkle: 0.1, lipRaise: 0.3, cheekRaise: 0.1, teeth: 0.15
}

export function expressionFor(label: DemoClass, expressiveness: number, rng: Rng): Expression {
  const target = TARGETS[label]
  const strength = label === 'neutral' ? 0 : expressiveness * rng.range(0.7, 1.15)
  const out = {} as Expression
  for (const key of Object.keys(NEUTRAL) as (keyof Expression)[]) {
    out[key] = NEUTRAL[key] + strength * (target[key] - NEUTRAL[key]) + rng.normal(0, JITTER[key])
  }
  // Angry faces either press the lips together or bare the teeth; both are common.
  if (label === 'angry' && rng.chance(0.5)) out.mouthOpen = Math.min(out.mouthOpen, 0.02)
  out.mouthOpen = Math.max(0, out.mouthOpen)
  out.eyeOpen = Math.max(0.25, out.eyeOpen)
  out.noseWrinkle = Math.max(0, out.noseWrinkle)
  out.cheekRaise = Math.max(0, out.cheekRaise)
  out.teeth = Math.min(1, Math.max(0, out.teeth))
  return out
}
