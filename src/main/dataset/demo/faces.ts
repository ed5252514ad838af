// SVG drawing of one head in a 100 x 100 box: the subject fixes the look, the expression moves
// brows, lids, mouth and nose. Numbers are printed with one decimal so the SVG text (and with it
// the PNG bytes) depends only on the seed, never on float formatting noise.
import type { Expression } from './expressions'
import type { Rng } from './rng'
import type { Rgb, Subject } from './subjects'

const CX = 50
const CY = 50

export function f(n: number): string {
  return (Math.round(n * 10) / 10).toFixed(1)
}

export function colour(c: Rgb, shade = 1): string {
  const v = c.map((x) => Math.max(0, Math.min(255, Math.round(x * shade))))
  return `rgb(${v[0]},${v[1]},${v[2]})`
}

interface Geometry {
  a: number // face half-width
  b: number // face half-height
  eyeY: number
  eyeDx: number
  noseY: number
  mouthY: number
  outline: [number, number][]
}

function geometry(s: Subject): Geometry {
  const a = 23 * s.faceWidth
  const b = 29 * s.faceLength
  const outline: [number, number][] = []
  const steps = 56
  for (let i = 0; i < steps; i++) {
    const t = (2 * Math.PI * i) / steps
    const c = Math.cos(t)
    const sn = Math.sin(t)
    const p = 2 / s.squareness
    let x = a * Math.sign(c) * Math.pow(Math.abs(c), p)
    const y = b * Math.sign(sn) * Math.pow(Math.abs(sn), p)
    if (sn > 0) x *= 1 - s.jaw * sn * sn // narrower towards the chin
    outline.push([CX + x, CY + y])
  }
  return {
    a, b,
    eyeY: CY - 3 + s.eyeDrop,
    eyeDx: 9.5 * s.eyeSpacing * s.faceWidth,
    noseY: CY + 8 * s.noseLength,
    mouthY: CY + 16.5 * s.faceLength,
    outline
  }
}

function polygon(points: [number, number][]): string {
  return 'M' + points.map(([x, y]) => `${f(x)} ${f(y)}`).join('L') + 'Z'
}

export function drawHead(s: Subject, e: Expression, rng: Rng): string {
  const g = geometry(s)
  const skin = colour(s.skin)
  // Creases and outlines are drawn darker on darker skin so they stay visible; what is left of the
  // contrast gap is the same one real cameras have, and per-subgroup metrics will show it.
  const luminance = 0.3 * s.skin[0] + 0.59 * s.skin[1] + 0.11 * s.skin[2]
  const line = colour(s.skin, luminance > 140 ? 0.62 : luminance > 90 ? 0.5 : 0.38)
  const parts: string[] = []

  parts.push(shoulders(s, g))
  parts.push(backHair(s, g))
  // Ears, then the face over them.
  for (const side of [-1, 1]) {
    parts.push(`<ellipse cx="${f(CX + side * g.a * 0.98)}" cy="${f(g.eyeY + 3)}" rx="3.6" ry="6" fill="${colour(s.skin, 0.93)}"/>`)
  }
  parts.push(`<path d="${polygon(g.outline)}" fill="${skin}"/>`)
  parts.push(wrinkles(s, e, g, line))
  parts.push(eyes(s, e, g, rng, line))
  parts.push(brows(s, e, g))
  parts.push(nose(e, g, line))
  if (s.beard > 0) parts.push(beard(s, g))
  parts.push(mouth(s, e, g))
  parts.push(frontHair(s, g))
  if (s.glasses) parts.push(glasses(g, s))
  return parts.join('')
}

function shoulders(s: Subject, g: Geometry): string {
  const neckTop = CY + g.b * 0.6
  const neckW = g.a * 0.48
  const base = CY + g.b + 7
  return (
    `<path d="M${f(CX - 48)} 101L${f(CX - 44)} ${f(base + 6)}Q${f(CX - 30)} ${f(base - 1)} ${f(CX - neckW)} ${f(base - 2)}` +
    `L${f(CX + neckW)} ${f(base - 2)}Q${f(CX + 30)} ${f(base - 1)} ${f(CX + 44)} ${f(base + 6)}L${f(CX + 48)} 101Z" fill="${colour(s.clothes)}"/>` +
    `<rect x="${f(CX - neckW)}" y="${f(neckTop)}" width="${f(2 * neckW)}" height="${f(base - neckTop)}" fill="${colour(s.skin, 0.88)}"/>`
  )
}

function backHair(s: Subject, g: Geometry): string {
  const hair = colour(s.hair)
  if (s.hairStyle === 'long' || s.hairStyle === 'bob') {
    const bottom = s.hairStyle === 'long' ? CY + g.b * 1.05 : CY + g.b * 0.45
    const w = g.a * 1.2
    return `<path d="M${f(CX - w)} ${f(bottom)}L${f(CX - w)} ${f(CY - g.b * 0.3)}Q${f(CX - w)} ${f(CY - g.b * 1.25)} ${f(CX)} ${f(CY - g.b * 1.22)}Q${f(CX + w)} ${f(CY - g.b * 1.25)} ${f(CX + w)} ${f(CY - g.b * 0.3)}L${f(CX + w)} ${f(bottom)}Z" fill="${colour(s.hair, 0.8)}"/>`
  }
  if (s.hairStyle === 'bun') return `<circle cx="${CX}" cy="${f(CY - g.b - 5)}" r="8" fill="${hair}"/>`
  return ''
}

function frontHair(s: Subject, g: Geometry): string {
  const hair = colour(s.hair)
  if (s.hairStyle === 'bald') {
    // Only a fringe of hair above the ears.
    return [-1, 1].map((side) => `<ellipse cx="${f(CX + side * g.a * 0.95)}" cy="${f(g.eyeY - 5)}" rx="3" ry="6" fill="${hair}"/>`).join('')
  }
  // The cap follows the top of the outline, a little outside it, down to a hairline.
  const hairline = s.hairStyle === 'fringe' ? CY - g.b * 0.42 : CY - g.b * 0.6
  const top = g.outline.filter(([, y]) => y < CY - g.b * 0.25).map(([x, y]): [number, number] => [CX + (x - CX) * 1.08, CY + (y - CY) * 1.09])
  top.sort((p, q) => p[0] - q[0])
  const left = top[0]
  const right = top[top.length - 1]
  let d = `M${f(left[0])} ${f(left[1] + 6)}` + top.map(([x, y]) => `L${f(x)} ${f(y)}`).join('') + `L${f(right[0])} ${f(right[1] + 6)}`
  d += `Q${f(CX + g.a * 0.7)} ${f(hairline - 3)} ${f(CX)} ${f(hairline)}Q${f(CX - g.a * 0.7)} ${f(hairline - 3)} ${f(left[0])} ${f(left[1] + 6)}Z`
  let out = `<path d="${d}" fill="${hair}"/>`
  if (s.hairStyle === 'curly') {
    for (let i = 0; i < 9; i++) {
      const t = Math.PI * (1.05 + (0.9 * i) / 8)
      out += `<circle cx="${f(CX + Math.cos(t) * g.a * 1.08)}" cy="${f(CY - 2 + Math.sin(t) * g.b * 1.06)}" r="5" fill="${hair}"/>`
    }
  }
  return out
}

function eyes(s: Subject, e: Expression, g: Geometry, rng: Rng, line: string): string {
  const ew = 5 * s.eyeSize
  const eh = Math.max(0.5, Math.min(4.6, 2.6 * s.eyeSize * e.eyeOpen))
  const gaze = rng.normal(0, 0.6)
  let out = ''
  for (const side of [-1, 1]) {
    const ex = CX + side * g.eyeDx
    const id = side < 0 ? 'eyeL' : 'eyeR'
    out += `<clipPath id="${id}"><ellipse cx="${f(ex)}" cy="${f(g.eyeY)}" rx="${f(ew)}" ry="${f(eh)}"/></clipPath>`
    out += `<ellipse cx="${f(ex)}" cy="${f(g.eyeY)}" rx="${f(ew)}" ry="${f(eh)}" fill="#f4f1ec"/>`
    out += `<g clip-path="url(#${id})"><circle cx="${f(ex + gaze)}" cy="${f(g.eyeY)}" r="${f(2.4 * s.eyeSize)}" fill="${colour(s.iris)}"/>` +
      `<circle cx="${f(ex + gaze)}" cy="${f(g.eyeY)}" r="${f(1.1 * s.eyeSize)}" fill="#111"/></g>`
    // Upper lid line, heavier than the lower one, like lashes.
    out += `<path d="M${f(ex - ew)} ${f(g.eyeY)}Q${f(ex)} ${f(g.eyeY - 2 * eh)} ${f(ex + ew)} ${f(g.eyeY)}" fill="none" stroke="#2a1d18" stroke-width="1"/>`
    out += `<path d="M${f(ex - ew)} ${f(g.eyeY)}Q${f(ex)} ${f(g.eyeY + 2 * eh)} ${f(ex + ew)} ${f(g.eyeY)}" fill="none" stroke="${line}" stroke-width="0.5"/>`
    if (e.cheekRaise > 0.3) {
      // Raised cheeks push a crease up under the eye (the Duchenne marker).
      out += `<path d="M${f(ex - ew)} ${f(g.eyeY + eh + 2)}Q${f(ex)} ${f(g.eyeY + eh + 0.2 - e.cheekRaise)} ${f(ex + ew)} ${f(g.eyeY + eh + 2)}" fill="none" stroke="${line}" stroke-width="${f(0.5 + 0.4 * e.cheekRaise)}"/>`
    }
  }
  return out
}

function brows(s: Subject, e: Expression, g: Geometry): string {
  const ew = 5 * s.eyeSize
  const colourBrow = colour(s.hair, s.wrinkles > 0.5 ? 0.75 : 0.55)
  let out = ''
  for (const side of [-1, 1]) {
    const ex = CX + side * g.eyeDx
    const base = g.eyeY - 6 * s.eyeSize - e.browRaise
    const inner: [number, number] = [ex - side * ew * 0.95, base + e.browTilt * 0.5]
    const outer: [number, number] = [ex + side * ew * 1.15, base - e.browTilt * 0.5 + 0.5]
    const mid: [number, number] = [(inner[0] + outer[0]) / 2, (inner[1] + outer[1]) / 2 - e.browArch * 1.6]
    out += `<path d="M${f(inner[0])} ${f(inner[1])}Q${f(mid[0])} ${f(mid[1])} ${f(outer[0])} ${f(outer[1])}" fill="none" stroke="${colourBrow}" stroke-width="${f(s.browWeight)}" stroke-linecap="round"/>`
  }
  // Lowered, pulled-together brows leave vertical creases between them.
  if (e.browTilt > 1.5) {
    for (const side of [-1, 1]) {
      const x = CX + side * 1.6
      out += `<path d="M${f(x)} ${f(g.eyeY - 6)}L${f(x + side * 0.4)} ${f(g.eyeY - 2.5)}" stroke="${colour(s.skin, 0.6)}" stroke-width="0.6"/>`
    }
  }
  return out
}

function nose(e: Expression, g: Geometry, line: string): string {
  const tip = g.noseY
  const flare = 2.2 + 0.9 * e.noseWrinkle
  let out = `<path d="M${f(CX + 0.8)} ${f(g.eyeY + 4.5)}Q${f(CX + 2.6)} ${f(tip - 2)} ${f(CX + 2)} ${f(tip)}Q${f(CX)} ${f(tip + 1.4)} ${f(CX - 2.2)} ${f(tip + 0.4)}" fill="none" stroke="${line}" stroke-width="0.8"/>`
  for (const side of [-1, 1]) {
    out += `<ellipse cx="${f(CX + side * flare)}" cy="${f(tip + 0.6)}" rx="${f(0.9 + 0.3 * e.noseWrinkle)}" ry="0.6" fill="${line}"/>`
  }
  if (e.noseWrinkle > 0.35) {
    // Wrinkled bridge: short horizontal creases across the top of the nose.
    const n = e.noseWrinkle > 0.75 ? 3 : 2
    for (let i = 0; i < n; i++) {
      const y = g.eyeY + 2.5 + i * 1.6
      out += `<path d="M${f(CX - 2.4)} ${f(y)}Q${f(CX)} ${f(y - 0.9)} ${f(CX + 2.4)} ${f(y)}" fill="none" stroke="${line}" stroke-width="0.6"/>`
    }
  }
  return out
}

function mouth(s: Subject, e: Expression, g: Geometry): string {
  const mw = 7.6 * s.mouthWidth * e.mouthWidth
  const my = g.mouthY
  const c = e.mouthCurve
  const lips = colour(s.lips)
  // Corners move up for a smile; the disgust sneer lifts one corner and the upper lip on that side.
  const left: [number, number] = [CX - mw, my - c]
  const right: [number, number] = [CX + mw, my - c - e.lipRaise * 1.1]
  if (e.mouthOpen < 0.08) {
    return `<path d="M${f(left[0])} ${f(left[1])}Q${f(CX)} ${f(my + c - e.lipRaise * 0.5)} ${f(right[0])} ${f(right[1])}" fill="none" stroke="${lips}" stroke-width="1.7" stroke-linecap="round"/>` +
      `<path d="M${f(CX - mw * 0.5)} ${f(my + 2.6 + Math.max(0, c) * 0.3)}Q${f(CX)} ${f(my + 3.4)} ${f(CX + mw * 0.5)} ${f(my + 2.6 + Math.max(0, c) * 0.3)}" fill="none" stroke="${colour(s.skin, 0.78)}" stroke-width="0.7"/>`
  }
  const upper = my + c - e.mouthOpen * 2.5 - e.lipRaise
  const lower = my + c + e.mouthOpen * 8
  const shape = `M${f(left[0])} ${f(left[1])}Q${f(CX + e.lipRaise * 1.5)} ${f(upper)} ${f(right[0])} ${f(right[1])}Q${f(CX)} ${f(lower)} ${f(left[0])} ${f(left[1])}Z`
  let out = `<clipPath id="mouth"><path d="${shape}"/></clipPath><path d="${shape}" fill="#4a1518"/>`
  if (e.teeth > 0.2) {
    const teethTop = (left[1] + right[1]) / 2 + (upper - (left[1] + right[1]) / 2) / 2
    out += `<rect clip-path="url(#mouth)" x="${f(CX - mw)}" y="${f(teethTop - 3)}" width="${f(2 * mw)}" height="${f(3 + 2.5 * e.teeth)}" fill="#f2efe6"/>`
  }
  out += `<path d="${shape}" fill="none" stroke="${lips}" stroke-width="1.3" stroke-linejoin="round"/>`
  return out
}

function wrinkles(s: Subject, e: Expression, g: Geometry, line: string): string {
  let out = ''
  // Forehead lines come with age and with raised brows.
  const lines = Math.round(s.wrinkles * 2 + (e.browRaise > 2.5 ? 2 : e.browRaise > 1.5 ? 1 : 0))
  for (let i = 0; i < Math.min(3, lines); i++) {
    const y = CY - g.b * 0.52 + i * 2.6
    out += `<path d="M${f(CX - g.a * 0.45)} ${f(y)}Q${f(CX)} ${f(y - 1.4)} ${f(CX + g.a * 0.45)} ${f(y)}" fill="none" stroke="${line}" stroke-width="0.5" opacity="0.8"/>`
  }
  // Nasolabial folds deepen with age and with smiling.
  // The disgust sneer deepens only the fold on the lifted side.
  for (const side of [-1, 1]) {
    const fold = s.wrinkles * 0.5 + e.cheekRaise * 0.6 + (side > 0 ? Math.max(0, e.lipRaise) * 0.4 : 0)
    if (fold <= 0.3) continue
    out += `<path d="M${f(CX + side * 4.5)} ${f(g.noseY - 1)}Q${f(CX + side * 9)} ${f(g.noseY + 4)} ${f(CX + side * 9.5)} ${f(g.mouthY + 1)}" fill="none" stroke="${line}" stroke-width="${f(Math.min(1.4, 0.4 + 0.4 * fold))}"/>`
  }
  return out
}

function beard(s: Subject, g: Geometry): string {
  // The lower outline is a function of x, so sorting by x traces the jaw from ear to ear; the
  // closing curve runs under the lower lip, then a moustache sits over the upper lip.
  const jaw = g.outline.filter(([, y]) => y > g.mouthY - 5).sort((p, q) => p[0] - q[0])
  const hair = colour(s.hair, 0.9)
  const chin = 'M' + jaw.map(([x, y]) => `${f(x)} ${f(y)}`).join('L') + `Q${f(CX)} ${f(g.mouthY + 1)} ${f(jaw[0][0])} ${f(jaw[0][1])}Z`
  const moustache = `M${f(CX - 7)} ${f(g.mouthY - 1.5)}Q${f(CX)} ${f(g.mouthY - 6)} ${f(CX + 7)} ${f(g.mouthY - 1.5)}`
  return `<g opacity="${s.beard}"><path d="${chin}" fill="${hair}"/><path d="${moustache}" fill="none" stroke="${hair}" stroke-width="2.2" stroke-linecap="round"/></g>`
}

function glasses(g: Geometry, s: Subject): string {
  const r = 6.2 * s.eyeSize
  return [-1, 1].map((side) => `<circle cx="${f(CX + side * g.eyeDx)}" cy="${f(g.eyeY)}" r="${f(r)}" fill="none" stroke="#222" stroke-width="1"/>`).join('') +
    `<path d="M${f(CX - g.eyeDx + r)} ${f(g.eyeY)}L${f(CX + g.eyeDx - r)} ${f(g.eyeY)}" stroke="#222" stroke-width="0.9"/>`
}
