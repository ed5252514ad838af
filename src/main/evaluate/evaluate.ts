// Evaluates a run on its validation split or on any subset of the project. Predictions the
// trainer recorded (run_predictions) are used as they are; images without one are run through the
// saved model (same loadPixels as training) and recorded, part 'other' outside the run's split.
// Truth is each image's current consensus label, so relabeling after a run shows up here.
import { join } from 'node:path'
import { StudioError } from '../../shared/errors'
import type { Evaluation, Mistake, Subset } from '../../shared/evaluate'
import type { Db } from '../db/connection'
import { queryIds } from '../labeling/library'
import type { Project } from '../project/project'
import { argmax, type FilePrediction } from '../training/artifacts'
import { calibration, confidentMistakes, confusionMatrix, groupReport, perClassMetrics, rowNormalize, summarize, type Scored } from './metrics'
import { predictOffThread } from './predict-worker'
import { ensureRunModel, getRunRecord, requireCompleted, type RunRecord } from './runs'

export const MISTAKES_LIMIT = 200
/** Smallest group that can be named worst or best. */
export const MIN_GROUP_IMAGES = 5

export interface EvaluateHooks {
  signal?: AbortSignal
  onProgress?: (done: number, total: number | null, message?: string) => void
}

interface ImageRow {
  id: number
  fileName: string
  sha256: string
  path: string
  environment: string | null
  attributes: string
  classId: number | null
}

interface Stored {
  imageId: number
  part: string
  label: number | null
  predicted: number
  probs: string
}

type Part = 'train' | 'validation' | 'test' | 'other'

export function describeSubset(s: Subset): string {
  switch (s.kind) {
    case 'validation':
      return "the run's validation split"
    case 'environment':
      return `environment "${s.value}"`
    case 'attribute':
      return `subgroup ${s.name} = "${s.value}"`
    case 'filter':
      return `library filter ${JSON.stringify(s.filter)}`
  }
}

function splitParts(db: Db, run: RunRecord): Map<number, Part> {
  if (run.splitId === null) return new Map()
  const rows = db.prepare('SELECT image_id AS id, part FROM split_assignments WHERE split_id = ?').all(run.splitId) as { id: number; part: Part }[]
  return new Map(rows.map((r) => [r.id, r.part]))
}

function subsetIds(db: Db, run: RunRecord, subset: Subset, parts: Map<number, Part>): number[] {
  switch (subset.kind) {
    case 'validation': {
      const stored = db.prepare("SELECT image_id FROM run_predictions WHERE run_id = ? AND part = 'validation'").pluck().all(run.id) as number[]
      const fromSplit = [...parts].filter(([, p]) => p === 'validation').map(([id]) => id)
      return [...new Set([...stored, ...fromSplit])].sort((a, b) => a - b)
    }
    case 'environment':
      return queryIds(db, { environments: [subset.value] }, 'added')
    case 'attribute':
      return queryIds(db, { attributes: { [subset.name]: subset.value } }, 'added')
    case 'filter':
      return queryIds(db, subset.filter, 'added')
  }
}

function imageRows(project: Project, ids: number[]): Map<number, ImageRow> {
  const rows = project.db
    .prepare(
      `SELECT i.id, i.file_name AS fileName, i.sha256, i.source_path AS path, i.stored_path AS stored,
              i.environment, i.attributes, l.class_id AS classId
       FROM json_each(?) j JOIN images i ON i.id = j.value LEFT JOIN image_labels l ON l.image_id = i.id`
    )
    .all(JSON.stringify(ids)) as (ImageRow & { stored: string | null })[]
  // As the trainer reads them: a copy inside the project wins over the original's path.
  return new Map(rows.map((r) => [r.id, { ...r, path: r.stored ? join(project.dir, r.stored) : r.path }]))
}

function storedPredictions(db: Db, runId: number, ids: number[]): Map<number, Stored> {
  const rows = db
    .prepare('SELECT p.image_id AS imageId, p.part, p.label, p.predicted, p.probs FROM json_each(?) j JOIN run_predictions p ON p.image_id = j.value AND p.run_id = ?')
    .all(JSON.stringify(ids), runId) as Stored[]
  return new Map(rows.map((r) => [r.imageId, r]))
}

/** Runs the saved model on images that have no recorded prediction, and records them. */
async function predictMissing(project: Project, run: RunRecord, missing: ImageRow[], parts: Map<number, Part>, index: Map<number, number>, hooks: EvaluateHooks): Promise<{ stored: Stored[]; unreadable: Evaluation['unreadable'] }> {
  if (!missing.length) return { stored: [], unreadable: [] }
  hooks.onProgress?.(0, missing.length, 'loading the model')
  const dir = await ensureRunModel(project, run)
  let preds: FilePrediction[]
  try {
    preds = await predictOffThread(dir, missing.map((m) => m.path), { signal: hooks.signal, onProgress: (done, total) => hooks.onProgress?.(done, total, 'predicting') })
  } catch (err) {
    throw new StudioError('io_error', `run ${run.id}: ${(err as Error).message}`, 'runId')
  }
  const stored: Stored[] = []
  const unreadable: Evaluation['unreadable'] = []
  preds.forEach((p, k) => {
    const img = missing[k]
    if (!p.probs) return void unreadable.push({ imageId: img.id, error: `${img.fileName} (image ${img.id}): ${p.error ?? 'unreadable'}` })
    const label = img.classId === null ? null : (index.get(img.classId) ?? null)
    stored.push({ imageId: img.id, part: parts.get(img.id) ?? 'other', label, predicted: p.predicted, probs: JSON.stringify(p.probs) })
  })
  // Recorded even when cancelled: what was predicted is reused next time.
  const insert = project.db.prepare('INSERT OR IGNORE INTO run_predictions (run_id, image_id, part, label, predicted, probs) VALUES (?, ?, ?, ?, ?, ?)')
  project.db.transaction(() => stored.forEach((r) => insert.run(run.id, r.imageId, r.part, r.label, r.predicted, r.probs)))()
  return { stored, unreadable }
}

interface Item extends Scored {
  imageId: number
  fileName: string
  sha256: string
  environment: string
  attributes: Record<string, string>
}

export async function evaluateRun(project: Project, runId: number, subset: Subset, hooks: EvaluateHooks = {}): Promise<Evaluation> {
  const db = project.db
  const run = getRunRecord(db, runId)
  requireCompleted(run)
  if (run.classes.length < 2) throw new StudioError('conflict', `run ${runId} records fewer than two classes in its config; it cannot be evaluated`)
  const index = new Map(run.classes.map((c, i) => [c.id, i]))
  const parts = splitParts(db, run)
  const ids = subsetIds(db, run, subset, parts)
  if (!ids.length) throw new StudioError('not_found', `no images in ${describeSubset(subset)}`, 'subset')
  const images = imageRows(project, ids)
  const stored = storedPredictions(db, runId, ids)
  const missing = ids.filter((id) => !stored.has(id) && images.has(id)).map((id) => images.get(id)!)
  const computed = await predictMissing(project, run, missing, parts, index, hooks)
  if (hooks.signal?.aborted) throw new StudioError('cancelled', 'evaluation cancelled')
  const sourceStored = stored.size
  for (const s of computed.stored) stored.set(s.imageId, s)

  const items: Item[] = []
  let unscored = 0
  let relabeled = 0
  for (const id of ids) {
    const img = images.get(id)
    const pred = stored.get(id)
    if (!img || !pred) continue
    const label = img.classId === null ? undefined : index.get(img.classId)
    if (label === undefined) {
      unscored++
      continue
    }
    if (pred.label !== null && pred.label !== label) relabeled++
    const probs = JSON.parse(pred.probs) as number[]
    if (probs.length !== run.classes.length) throw new StudioError('corrupt_project', `run ${runId}: the recorded prediction for image ${id} has ${probs.length} probabilities for ${run.classes.length} classes`)
    items.push({ imageId: id, fileName: img.fileName, sha256: img.sha256, label, predicted: argmax(probs), probs, environment: img.environment ?? '(none)', attributes: JSON.parse(img.attributes) as Record<string, string> })
  }
  return buildEvaluation(run, subset, items, { unscored, relabeled, unreadable: computed.unreadable, stored: sourceStored, computed: computed.stored.length })
}

function buildEvaluation(
  run: RunRecord,
  subset: Subset,
  items: Item[],
  extra: { unscored: number; relabeled: number; unreadable: Evaluation['unreadable']; stored: number; computed: number }
): Evaluation {
  const k = run.classes.length
  const confusion = confusionMatrix(items, k)
  const cells = Array.from({ length: k }, () => Array.from({ length: k }, () => [] as number[]))
  for (const it of items) cells[it.label][it.predicted].push(it.imageId)
  const attributeNames = [...new Set(items.flatMap((it) => Object.keys(it.attributes)))].sort()
  const mistakes: Mistake[] = confidentMistakes(items, MISTAKES_LIMIT).map((it) => ({
    imageId: it.imageId,
    fileName: it.fileName,
    sha256: it.sha256,
    label: it.label,
    predicted: it.predicted,
    confidence: it.probs[it.predicted],
    trueProbability: it.probs[it.label]
  }))
  return {
    runId: run.id,
    subset,
    subsetDescription: describeSubset(subset),
    classes: run.classes.map((c, index) => ({ index, id: c.id, name: c.name })),
    images: items.length,
    unscored: extra.unscored,
    unreadable: extra.unreadable,
    source: { stored: extra.stored, computed: extra.computed },
    relabeledSinceRun: extra.relabeled,
    confusion,
    confusionNormalized: rowNormalize(confusion),
    cells,
    perClass: perClassMetrics(confusion, run.classes),
    overall: summarize(confusion),
    perEnvironment: groupReport('environment', 'environment', items, (it) => it.environment, k, MIN_GROUP_IMAGES),
    perSubgroup: attributeNames.map((name) => groupReport('attribute', name, items, (it) => it.attributes[name] ?? '(none)', k, MIN_GROUP_IMAGES)),
    calibration: calibration(items),
    mistakes
  }
}

/** The Evaluate view has shown this run's confusion matrix (the preflight checklist reads it). */
export function markConfusionViewed(db: Db, runId: number): string {
  getRunRecord(db, runId)
  const at = new Date().toISOString()
  db.prepare('UPDATE runs SET confusion_viewed_at = ? WHERE id = ?').run(at, runId)
  return at
}
