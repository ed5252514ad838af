// Validation splits for a training run. Pure (no I/O) so the trainer, the CLI, the
// dashboard and the tests all get the same answer for the same images and method; the run stores
// the assignment, so a seed only has to reproduce it on this code, not across versions.
//
// Faces make the choice of split matter: the same person in train and validation (or the same
// studio in both) inflates validation accuracy, so besides stratified random there are grouped
// (by subject), held-out environment and user-defined splits, and every result reports its
// composition and plain-language warnings rather than silently producing a lopsided split.
import { mulberry32 } from '../util/random'

export interface SplitItem {
  id: number
  /** Class id. */
  label: number
  subject: string | null
  environment: string | null
  /** The user's own split column, e.g. FER2013's Usage (Training / PublicTest / PrivateTest). */
  splitHint: string | null
}

export type SplitPart = 'train' | 'validation' | 'test'

export type SplitMethod =
  | { kind: 'stratified'; validation: number; seed: number }
  /** Whole subjects go to one part; items without a subject are each their own group. */
  | { kind: 'subject'; validation: number; seed: number }
  /** Every item of these environments validates, the rest trains; '(none)' names items without one. */
  | { kind: 'environment'; validationEnvironments: string[] }
  /** unknownHints: 'error' (default) refuses values it cannot map, 'train' puts them in train. */
  | { kind: 'column'; unknownHints?: 'error' | 'train' }

export interface SplitPartComposition {
  part: SplitPart
  images: number
  /** Every class of the dataset, 0 when the part has none of it. */
  perClass: Record<number, number>
  /** Every environment of the dataset, items without one under NO_ENVIRONMENT. */
  perEnvironment: Record<string, number>
  /** Distinct (non-null) subjects. */
  subjects: number
}

export interface SplitComposition {
  /** train and validation always; test only when the method produced test images. */
  parts: SplitPartComposition[]
  /** Subjects with images in more than one part (0 for a subject split). */
  subjectsInBoth: number
}

export interface SplitResult {
  assignment: Map<number, SplitPart>
  composition: SplitComposition
  warnings: string[]
}

/** The name items without an environment go by; the same one the project's environment counts use. */
export const NO_ENVIRONMENT = '(none)'

/** Above this many groups the pairwise-swap refinement of the subject split is skipped (O(groups^2)). */
const MAX_GROUPS_FOR_SWAPS = 400
const MAX_REFINE_PASSES = 50

const HINTS: Record<string, SplitPart> = {
  train: 'train',
  training: 'train',
  val: 'validation',
  validation: 'validation',
  valid: 'validation',
  publictest: 'validation',
  dev: 'validation',
  test: 'test',
  privatetest: 'test'
}

export function makeSplit(items: SplitItem[], method: SplitMethod): SplitResult {
  checkItems(items)
  // Sorting by id makes the result independent of the order the caller read the images in.
  const sorted = [...items].sort((a, b) => a.id - b.id)
  const warnings: string[] = []
  let assignment: Map<number, SplitPart>
  switch (method.kind) {
    case 'stratified':
      checkShare(method.validation)
      checkSeed(method.seed)
      assignment = stratified(sorted, method.validation, method.seed)
      break
    case 'subject':
      checkShare(method.validation)
      checkSeed(method.seed)
      assignment = bySubject(sorted, method.validation, method.seed)
      break
    case 'environment':
      assignment = byEnvironment(sorted, method.validationEnvironments, warnings)
      break
    case 'column':
      assignment = byColumn(sorted, method.unknownHints ?? 'error', warnings)
      break
    default:
      throw new Error(`Unknown split method: ${JSON.stringify((method as { kind?: unknown }).kind)}`)
  }
  const composition = compose(sorted, assignment)
  warnings.push(...compositionWarnings(sorted, composition))
  return { assignment, composition, warnings }
}

export function describeMethod(method: SplitMethod): string {
  switch (method.kind) {
    case 'stratified':
      return `stratified random, ${percent(method.validation)} validation (seed ${method.seed})`
    case 'subject':
      return `grouped by subject, ${percent(method.validation)} validation (seed ${method.seed})`
    case 'environment': {
      const names = method.validationEnvironments
      return `held-out environment${names.length === 1 ? '' : 's'}: ${names.join(', ') || '(none chosen)'}`
    }
    case 'column':
      return method.unknownHints === 'train'
        ? "user's split column (unrecognised values train)"
        : "user's split column"
    default:
      return 'unknown split method'
  }
}

// ---- input checks ----

function checkItems(items: SplitItem[]): void {
  if (!Array.isArray(items) || items.length === 0) {
    throw new Error('Cannot split: there are no images to split.')
  }
  const seen = new Set<number>()
  for (const item of items) {
    if (!Number.isFinite(item.id)) throw new Error(`Cannot split: image id ${String(item.id)} is not a number.`)
    if (seen.has(item.id)) throw new Error(`Cannot split: image id ${item.id} appears more than once.`)
    seen.add(item.id)
    if (!Number.isFinite(item.label)) {
      throw new Error(`Cannot split: image ${item.id} has no valid class id (${String(item.label)}).`)
    }
  }
}

function checkShare(share: number): void {
  if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 0.9) {
    throw new Error(`Validation share must be between 0 and 0.9 (got ${String(share)}).`)
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new Error(`Split seed must be an integer (got ${String(seed)}).`)
}

// ---- randomness ----

function shuffle<T>(values: T[], random: () => number): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const tmp = values[i]
    values[i] = values[j]
    values[j] = tmp
  }
  return values
}

// ---- stratified ----

function stratified(items: SplitItem[], share: number, seed: number): Map<number, SplitPart> {
  const random = mulberry32(seed)
  const byClass = groupBy(items, (item) => item.label)
  const labels = [...byClass.keys()].sort((a, b) => a - b)

  // Each class takes floor or ceil of its exact target, so it is never more than one image off;
  // which classes round up is chosen by largest remainder so the total lands on the overall target
  // instead of drifting with many small classes.
  const plans = labels.map((label) => {
    const n = byClass.get(label)!.length
    const exact = share * n
    let low = Math.floor(exact)
    let high = Math.ceil(exact)
    if (share > 0 && n >= 2) {
      // Every part needs each class it can have, or validation cannot measure that class at all.
      low = Math.min(Math.max(low, 1), n - 1)
      high = Math.min(Math.max(high, 1), n - 1)
    } else if (n < 2) {
      // A lone image trains: a class seen only in validation teaches nothing and cannot be predicted.
      low = 0
      high = 0
    }
    return { label, exact, take: low, canRoundUp: high > low, tieBreak: random() }
  })
  let remaining = Math.round(share * items.length) - plans.reduce((sum, p) => sum + p.take, 0)
  const upCandidates = plans
    .filter((p) => p.canRoundUp)
    .sort((a, b) => (b.exact - Math.floor(b.exact)) - (a.exact - Math.floor(a.exact)) || a.tieBreak - b.tieBreak)
  for (const plan of upCandidates) {
    if (remaining <= 0) break
    plan.take++
    remaining--
  }

  const assignment = new Map<number, SplitPart>()
  for (const plan of plans) {
    const members = shuffle([...byClass.get(plan.label)!], random)
    members.forEach((item, index) => assignment.set(item.id, index < plan.take ? 'validation' : 'train'))
  }
  return assignment
}

// ---- grouped by subject ----

interface Group {
  items: SplitItem[]
  /** Images per class index (dense, parallel to the label list). */
  counts: number[]
  size: number
  inValidation: boolean
}

/**
 * Greedy, then local search, on one objective: sum over classes of (v_c - t_c)^2 / n_c, where v_c
 * is the class's validation count and t_c = share * n_c its target. Dividing by n_c weighs every
 * class's share error by its size, so a small class is not sacrificed to a big one, and by
 * Cauchy-Schwarz the overall share error is bounded by it too, so balancing the classes also hits
 * the requested validation share.
 */
function bySubject(items: SplitItem[], share: number, seed: number): Map<number, SplitPart> {
  const random = mulberry32(seed)
  const labels = [...new Set(items.map((item) => item.label))].sort((a, b) => a - b)
  const labelIndex = new Map(labels.map((label, index) => [label, index]))
  const totals = labels.map(() => 0)
  for (const item of items) totals[labelIndex.get(item.label)!]++
  const targets = totals.map((n) => share * n)

  const keyed = new Map<string, SplitItem[]>()
  for (const item of items) {
    const subject = normaliseSubject(item.subject)
    // A prefix that a real subject string cannot collide with keeps subject-less items apart.
    const key = subject === null ? `\u0000item:${item.id}` : `subject:${subject}`
    const list = keyed.get(key)
    if (list) list.push(item)
    else keyed.set(key, [item])
  }
  const groupKeys = [...keyed.keys()].sort()
  const groups: Group[] = groupKeys.map((key) => {
    const members = keyed.get(key)!
    const counts = labels.map(() => 0)
    for (const item of members) counts[labelIndex.get(item.label)!]++
    return { items: members, counts, size: members.length, inValidation: false }
  })

  // The seed decides the order among groups of equal size (often all of them); largest first
  // places the hardest-to-fit groups while there is still room to balance around them.
  shuffle(groups, random)
  groups.sort((a, b) => b.size - a.size)

  const deviation = targets.map((t) => -t) // v_c - t_c with nothing in validation yet
  const moveCost = (group: Group, sign: 1 | -1): number => {
    let delta = 0
    for (let c = 0; c < labels.length; c++) {
      const g = group.counts[c]
      if (g === 0) continue
      const moved = deviation[c] + sign * g
      delta += (moved * moved - deviation[c] * deviation[c]) / totals[c]
    }
    return delta
  }
  const apply = (group: Group, toValidation: boolean): void => {
    const sign = toValidation ? 1 : -1
    for (let c = 0; c < labels.length; c++) deviation[c] += sign * group.counts[c]
    group.inValidation = toValidation
  }

  if (share > 0) {
    const EPS = 1e-12
    for (const group of groups) {
      if (moveCost(group, 1) < -EPS) apply(group, true)
    }
    // Greedy placement can strand a large group on the wrong side; single moves and swaps fix most
    // of that. Swaps matter when all groups are the same size, where no single move can help.
    for (let pass = 0; pass < MAX_REFINE_PASSES; pass++) {
      let improved = false
      for (const group of groups) {
        if (moveCost(group, group.inValidation ? -1 : 1) < -EPS) {
          apply(group, !group.inValidation)
          improved = true
        }
      }
      if (groups.length <= MAX_GROUPS_FOR_SWAPS) {
        for (const out of groups) {
          if (!out.inValidation) continue
          for (const into of groups) {
            if (into.inValidation) continue
            if (swapCost(out, into, deviation, totals) < -EPS) {
              apply(out, false)
              apply(into, true)
              improved = true
              break
            }
          }
        }
      }
      if (!improved) break
    }
  }

  const assignment = new Map<number, SplitPart>()
  for (const group of groups) {
    for (const item of group.items) assignment.set(item.id, group.inValidation ? 'validation' : 'train')
  }
  return assignment
}

/** Change of the objective when `out` leaves validation and `into` joins it. */
function swapCost(out: Group, into: Group, deviation: number[], totals: number[]): number {
  let delta = 0
  for (let c = 0; c < deviation.length; c++) {
    const change = into.counts[c] - out.counts[c]
    if (change === 0) continue
    const moved = deviation[c] + change
    delta += (moved * moved - deviation[c] * deviation[c]) / totals[c]
  }
  return delta
}

function normaliseSubject(subject: string | null): string | null {
  // A blank cell in a manifest means "unknown", not one shared subject called "".
  if (subject === null || subject === undefined) return null
  const trimmed = String(subject).trim()
  return trimmed === '' ? null : trimmed
}

// ---- held-out environments ----

function byEnvironment(items: SplitItem[], names: string[], warnings: string[]): Map<number, SplitPart> {
  if (!Array.isArray(names) || names.length === 0) {
    throw new Error('Choose at least one environment to hold out for validation.')
  }
  const held = new Set(names)
  const present = new Set(items.map((item) => environmentName(item.environment)))
  for (const name of held) {
    if (!present.has(name)) {
      const known = [...present].sort().join(', ')
      warnings.push(`Held-out environment "${name}" does not exist in this dataset (it has: ${known}).`)
    }
  }
  const assignment = new Map<number, SplitPart>()
  for (const item of items) {
    assignment.set(item.id, held.has(environmentName(item.environment)) ? 'validation' : 'train')
  }
  return assignment
}

function environmentName(environment: string | null): string {
  return environment === null || environment === undefined || environment === '' ? NO_ENVIRONMENT : environment
}

// ---- the user's split column ----

function byColumn(items: SplitItem[], unknown: 'error' | 'train', warnings: string[]): Map<number, SplitPart> {
  const assignment = new Map<number, SplitPart>()
  const unmapped = new Map<string, number>()
  for (const item of items) {
    const hint = item.splitHint === null || item.splitHint === undefined ? '' : String(item.splitHint).trim()
    const part = hint === '' ? undefined : HINTS[hint.toLowerCase()]
    if (part) {
      assignment.set(item.id, part)
    } else {
      unmapped.set(hint, (unmapped.get(hint) ?? 0) + 1)
      assignment.set(item.id, 'train')
    }
  }
  if (unmapped.size > 0) {
    const listed = [...unmapped.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([hint, count]) => `${hint === '' ? 'no value' : JSON.stringify(hint)} (${count} image${count === 1 ? '' : 's'})`)
    const shown = listed.length > 10 ? [...listed.slice(0, 10), `and ${listed.length - 10} more`] : listed
    if (unknown === 'error') {
      throw new Error(
        `The split column has values that are not train, validation or test: ${shown.join(', ')}. ` +
          'Fix them, or choose to put them in train.'
      )
    }
    const count = [...unmapped.values()].reduce((a, b) => a + b, 0)
    warnings.push(`${count} image${count === 1 ? '' : 's'} with an unrecognised split value went to train: ${shown.join(', ')}.`)
  }
  return assignment
}

// ---- composition and warnings ----

function compose(items: SplitItem[], assignment: Map<number, SplitPart>): SplitComposition {
  const labels = [...new Set(items.map((item) => item.label))].sort((a, b) => a - b)
  const environments = [...new Set(items.map((item) => environmentName(item.environment)))].sort()
  const partNames: SplitPart[] = ['train', 'validation', 'test']
  const parts = new Map(
    partNames.map((part) => {
      const perClass: Record<number, number> = {}
      for (const label of labels) perClass[label] = 0
      const perEnvironment: Record<string, number> = {}
      for (const env of environments) perEnvironment[env] = 0
      return [part, { part, images: 0, perClass, perEnvironment, subjectSet: new Set<string>() }]
    })
  )
  const partsOfSubject = new Map<string, Set<SplitPart>>()
  for (const item of items) {
    const partName = assignment.get(item.id)!
    const part = parts.get(partName)!
    part.images++
    part.perClass[item.label]++
    part.perEnvironment[environmentName(item.environment)]++
    const subject = normaliseSubject(item.subject)
    if (subject !== null) {
      part.subjectSet.add(subject)
      const seen = partsOfSubject.get(subject)
      if (seen) seen.add(partName)
      else partsOfSubject.set(subject, new Set([partName]))
    }
  }
  const result = [...parts.values()]
    .filter((part) => part.part !== 'test' || part.images > 0)
    .map(({ part, images, perClass, perEnvironment, subjectSet }) => ({
      part,
      images,
      perClass,
      perEnvironment,
      subjects: subjectSet.size
    }))
  const subjectsInBoth = [...partsOfSubject.values()].filter((set) => set.size > 1).length
  return { parts: result, subjectsInBoth }
}

function compositionWarnings(items: SplitItem[], composition: SplitComposition): string[] {
  const warnings: string[] = []
  const part = (name: SplitPart) => composition.parts.find((p) => p.part === name)
  const train = part('train')!
  const validation = part('validation')!
  if (train.images === 0) warnings.push('The training part is empty: every image is in validation or test.')
  if (validation.images === 0) {
    // Per-class "no validation images" lines would only repeat this one.
    warnings.push('The validation part is empty, so validation metrics cannot be computed.')
    return warnings
  }
  const labels = [...new Set(items.map((item) => item.label))].sort((a, b) => a - b)
  const missing = labels.filter((label) => validation.perClass[label] === 0)
  for (const label of missing) {
    const total = composition.parts.reduce((sum, p) => sum + p.perClass[label], 0)
    warnings.push(`Class ${label} has no validation images (${total} image${total === 1 ? '' : 's'} in total).`)
  }
  if (train.images > 0) {
    for (const label of labels) {
      if (train.perClass[label] === 0 && validation.perClass[label] > 0) {
        const count = validation.perClass[label]
        warnings.push(
          `Class ${label} appears only in validation (${count} image${count === 1 ? '' : 's'}); the model never trains on it.`
        )
      }
    }
  }
  return warnings
}

// ---- helpers ----

function groupBy<K, T>(values: T[], key: (value: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>()
  for (const value of values) {
    const k = key(value)
    const list = out.get(k)
    if (list) list.push(value)
    else out.set(k, [value])
  }
  return out
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`
}
