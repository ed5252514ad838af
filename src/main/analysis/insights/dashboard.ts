// The dashboard's figures: class balance and the weights training would use, class x environment
// and class x subgroup, the latest run's split, annotators, and the latest run's accuracy per
// group beside the data it trained on. Every figure is an SQL aggregate (see composition.ts).
import type { Db } from '../../db/connection'
import { classWeights, DEFAULT_BETA } from '../../training/class-weights'
import { alphaFromSums, alphaLabels } from '../agreement'
import { NONE, type AccuracyCell, type AnnotatorInsight, type ClassBalance, type DashboardData, type RunInsight, type SplitInsight, type SplitPartInsight } from '../../../shared/insights'
import { untilWrite } from './cache'
import { activeClasses, attributeNames, findGaps, heatmap, labeledCombos, parseAttributes, type ActiveClass, type Combo, type ScanRow } from './composition'
import { liveAgreement, liveScan, perVersion, warmAgreement, warmScan } from './live'

interface LatestSplit {
  runId: number
  splitId: number
  config: string
}

/** The newest run's split: the one the dashboard shows and counts images against. */
export function latestSplit(db: Db): LatestSplit | undefined {
  return db.prepare('SELECT id AS runId, split_id AS splitId, config FROM runs WHERE split_id IS NOT NULL ORDER BY id DESC LIMIT 1').get() as LatestSplit | undefined
}

/** Every image once, grouped by part of the latest split, label, environment, attributes, state. */
export function currentScan(db: Db): { latest: LatestSplit | undefined; rows: ScanRow[] } {
  const latest = latestSplit(db)
  return { latest, rows: liveScan(db, latest?.splitId ?? null) }
}

/** The figures, recomputed only after something wrote to the database (cache.ts). */
export const dashboard = untilWrite(computeDashboard)

/**
 * Reads in the background what the dashboard's first look would (after a project opens), in
 * steps of a few tens of milliseconds with the event loop free in between: the grouped pass in
 * slices of `slice` images, then agreement, the split's subjects and the latest run. The look
 * then finds them kept and only adds what changed since (live.ts). Stops when the database closes.
 */
export async function warmDashboard(db: Db, opts: { slice?: number; pause?: () => Promise<void> } = {}): Promise<void> {
  const pause = async () => {
    await (opts.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve))))()
    return db.open
  }
  const latest = latestSplit(db)
  const splitId = latest?.splitId ?? null
  await warmScan(db, splitId, pause, opts.slice)
  if (!(await pause())) return
  warmAgreement(db)
  if (latest) {
    if (!(await pause())) return
    subjectParts(db, String(latest.splitId), () => partsOfSubjects(db, latest.splitId))
  }
  if (!(await pause())) return
  runQueries(db, String(splitId), () => readRunQueries(db, splitId))
}

export function computeDashboard(db: Db): DashboardData {
  const timings: Record<string, number> = {}
  const timed = <T>(name: string, work: () => T): T => {
    const t = performance.now()
    const out = work()
    timings[name] = performance.now() - t
    return out
  }
  const started = performance.now()
  const classes = activeClasses(db)
  const { latest, rows } = timed('scan', () => currentScan(db))
  const combos = labeledCombos(rows, classes)
  const byEnv = heatmap('environment', classes, combos, (c) => c.environment)
  const bySubgroup = attributeNames(combos).map((name) => heatmap(name, classes, combos, (c) => c.attributes[name] ?? NONE))
  const counts = classCounts(classes, combos)
  const gaps = [byEnv, ...bySubgroup].flatMap((m) => findGaps(m, classes))
  return {
    totals: totals(rows, combos),
    ...balance(classes, counts),
    beta: DEFAULT_BETA,
    classByEnvironment: byEnv,
    classBySubgroup: bySubgroup,
    gaps: gaps.sort((a, b) => a.count - b.count || a.shareOfClass - b.shareOfClass),
    split: latest ? timed('split', () => splitInsight(db, latest, rows)) : null,
    annotators: timed('annotators', () => annotators(db, classes)),
    run: timed('run', () => latestRunAccuracy(db, latest ? { splitId: latest.splitId, rows } : null)),
    ms: performance.now() - started,
    timings
  }
}

export function classCounts(classes: ActiveClass[], combos: Combo[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const c of classes) counts[c.id] = 0
  for (const c of combos) counts[c.classId] = (counts[c.classId] ?? 0) + c.n
  return counts
}

function totals(rows: ScanRow[], combos: Combo[]): DashboardData['totals'] {
  let excluded = 0
  let missing = 0
  let active = 0
  for (const r of rows) {
    if (r.excluded) excluded += r.n
    if (r.missing) missing += r.n
    if (!r.excluded && !r.missing) active += r.n
  }
  const labeled = combos.reduce((a, c) => a + c.n, 0)
  return { images: active, labeled, unlabeled: active - labeled, excluded, missing }
}

function balance(classes: ActiveClass[], counts: Record<number, number>): Pick<DashboardData, 'classes' | 'imbalanceRatio'> {
  const inverse = classWeights(counts, 'inverse')
  const effective = classWeights(counts, 'effective')
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  const list: ClassBalance[] = classes.map((c) => ({
    id: c.id,
    name: c.name,
    colour: c.colour,
    count: counts[c.id],
    share: total ? counts[c.id] / total : 0,
    effectiveNumber: inverse.effectiveNumbers[c.id],
    weights: { inverse: inverse.weights[c.id], effective: effective.weights[c.id] }
  }))
  return { classes: list, imbalanceRatio: inverse.imbalanceRatio }
}

// ---- the latest run's split ----

function splitInsight(db: Db, latest: LatestSplit, rows: ScanRow[]): SplitInsight {
  const parts = new Map<string, SplitPartInsight>()
  for (const r of rows) {
    if (r.part === null) continue
    let p = parts.get(r.part)
    if (!p) parts.set(r.part, (p = { part: r.part, images: 0, subjects: 0, perClass: {}, perEnvironment: {}, perSubgroup: {} }))
    p.images += r.n
    if (r.classId !== null) p.perClass[r.classId] = (p.perClass[r.classId] ?? 0) + r.n
    const env = r.environment || NONE
    p.perEnvironment[env] = (p.perEnvironment[env] ?? 0) + r.n
    for (const [k, v] of Object.entries(parseAttributes(r.attributes))) {
      const group = (p.perSubgroup[k] ??= {})
      group[v] = (group[v] ?? 0) + r.n
    }
  }
  const subjects = subjectParts(db, String(latest.splitId), () => partsOfSubjects(db, latest.splitId))
  let shared = 0
  for (const list of subjects) {
    const names = list.split(',')
    if (names.length > 1) shared++
    for (const name of names) {
      const p = parts.get(name)
      if (p) p.subjects++
    }
  }
  const order = ['train', 'validation', 'test']
  const config = JSON.parse(latest.config) as { split?: { description?: string } }
  return {
    runId: latest.runId,
    splitId: latest.splitId,
    description: config.split?.description ?? 'split of run ' + latest.runId,
    parts: [...parts.values()].sort((a, b) => order.indexOf(a.part) - order.indexOf(b.part)),
    sharedSubjects: shared
  }
}

const subjectParts = perVersion<string[]>('subjects')

/**
 * One row per subject with the parts of the split it appears in: subjects per part and those in
 * several. Walking images_subject (covering: subject and rowid) hands SQLite the rows already
 * grouped. Labels do not change it, so it is kept until an image, subject or the split changes.
 */
function partsOfSubjects(db: Db, splitId: number): string[] {
  return db
    .prepare(
      `SELECT group_concat(DISTINCT a.part) AS parts FROM images i INDEXED BY images_subject
       JOIN split_assignments a ON a.split_id = ? AND a.image_id = i.id
       WHERE i.subject_id IS NOT NULL AND i.subject_id <> '' GROUP BY i.subject_id`
    )
    .pluck()
    .all(splitId) as string[]
}

// ---- annotators ----

function annotators(db: Db, classes: ActiveClass[]): AnnotatorInsight {
  // Both kept current between writes by live.ts: the images two or more annotators labeled with
  // Krippendorff's sums over them, and the labels each annotator gave.
  const { multiRated, sums, annotators } = liveAgreement(db)
  const alpha = multiRated ? alphaFromSums(sums, alphaLabels(sums)) : null
  const perClass = new Map((alpha?.perClass ?? []).map((p) => [p.label, p.value]))
  return {
    annotators,
    multiRated,
    alpha: alpha?.alpha ?? null,
    perClass: classes.map((c) => ({ classId: c.id, alpha: perClass.has(c.id) ? perClass.get(c.id)! : null }))
  }
}

// ---- after a run ----

export function latestPredictedRun(db: Db): { id: number; config: string; splitId: number | null } | undefined {
  return db
    .prepare(
      `SELECT r.id, r.config, r.split_id AS splitId FROM runs r
       WHERE r.id = (SELECT run_id FROM run_predictions WHERE part = 'validation' ORDER BY run_id DESC LIMIT 1)`
    )
    .get() as { id: number; config: string; splitId: number | null } | undefined
}

/** Per true class of a run's validation predictions: how many, and the share predicted right. */
export function runRecall(db: Db, runId: number, classNames: string[]): RunInsight['perClass'] {
  const rows = db
    .prepare(
      `SELECT label, count(*) AS n, sum(predicted = label) AS hit FROM run_predictions
       WHERE run_id = ? AND part = 'validation' AND label IS NOT NULL GROUP BY label ORDER BY label`
    )
    .all(runId) as { label: number; n: number; hit: number }[]
  return rows.map((r) => ({ name: classNames[r.label] ?? `class ${r.label}`, evaluated: r.n, recall: r.hit / r.n }))
}

interface RunQueries {
  run: { id: number; config: string; splitId: number | null }
  rows: { environment: string | null; attributes: string; n: number; hit: number }[]
  /** The run's training images per group, when its split is not the one scanned. */
  train: { environment: string | null; attributes: string; n: number }[] | null
  classNames: string[]
  perClass: RunInsight['perClass']
}

const runQueries = perVersion<RunQueries | null>('runs')

/** What the run part reads from SQL; kept until a run, a prediction or an image's groups change. */
function readRunQueries(db: Db, scannedSplitId: number | null): RunQueries | null {
  const run = latestPredictedRun(db)
  if (!run) return null
  const rows = db
    .prepare(
      `SELECT i.environment AS environment, i.attributes AS attributes, count(*) AS n, sum(p.predicted = p.label) AS hit
       FROM run_predictions p JOIN images i ON i.id = p.image_id
       WHERE p.run_id = ? AND p.part = 'validation' AND p.label IS NOT NULL GROUP BY i.environment, i.attributes`
    )
    .all(run.id) as RunQueries['rows']
  const train =
    run.splitId === null
      ? []
      : run.splitId === scannedSplitId
      ? null
      : (db
          .prepare(
            `SELECT i.environment AS environment, i.attributes AS attributes, count(*) AS n
             FROM split_assignments a JOIN images i ON i.id = a.image_id WHERE a.split_id = ? AND a.part = 'train'
             GROUP BY i.environment, i.attributes`
          )
          .all(run.splitId) as { environment: string | null; attributes: string; n: number }[])
  const classNames = ((JSON.parse(run.config) as { classes?: { name: string }[] }).classes ?? []).map((c) => c.name)
  return { run, rows, train, classNames, perClass: runRecall(db, run.id, classNames) }
}

function latestRunAccuracy(db: Db, scanned: { splitId: number; rows: ScanRow[] } | null): RunInsight | null {
  const q = runQueries(db, String(scanned?.splitId ?? null), () => readRunQueries(db, scanned?.splitId ?? null))
  if (!q) return null
  const { run, rows, classNames } = q
  // The run's training images per group; when its split is the one just scanned, already counted.
  const train = q.train ?? scanned!.rows.filter((r) => r.part === 'train')
  const evaluated = rows.reduce((a, r) => a + r.n, 0)
  const correct = rows.reduce((a, r) => a + r.hit, 0)
  const cells = (valueOf: (env: string | null, attrs: Record<string, string>) => string | undefined): AccuracyCell[] => {
    const by = new Map<string, AccuracyCell>()
    const cell = (v: string) => by.get(v) ?? by.set(v, { value: v, evaluated: 0, correct: 0, accuracy: 0, trainImages: 0 }).get(v)!
    for (const r of rows) {
      const v = valueOf(r.environment, parseAttributes(r.attributes))
      if (v === undefined) continue
      const c = cell(v)
      c.evaluated += r.n
      c.correct += r.hit
    }
    for (const r of train) {
      const v = valueOf(r.environment, parseAttributes(r.attributes))
      if (v !== undefined) cell(v).trainImages += r.n
    }
    return [...by.values()].map((c) => ({ ...c, accuracy: c.evaluated ? c.correct / c.evaluated : 0 })).sort((a, b) => b.trainImages - a.trainImages || a.value.localeCompare(b.value))
  }
  const attrs = attributeNames([...rows, ...train].map((r) => ({ attributes: parseAttributes(r.attributes) })))
  return {
    runId: run.id,
    evaluated,
    accuracy: evaluated ? correct / evaluated : 0,
    perClass: q.perClass,
    perEnvironment: cells((env) => env || NONE),
    perSubgroup: attrs.map((a) => ({ attribute: a, cells: cells((_, at) => at[a]) }))
  }
}
