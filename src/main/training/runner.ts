// The main-process side of a training run: gathers the labeled images and the split, records
// the run, starts the worker, and persists what it reports. A crash of the worker or of the
// whole process leaves the run marked failed or interrupted, never "running" forever.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { StudioError } from '../../shared/errors'
import { listClasses } from '../db/repos/classes'
import { createRun, finishRun, recordEpoch } from '../db/repos/runs'
import type { Project } from '../project/project'
import { getBackbone } from './backbones'
import { classWeights, type WeightMode } from './class-weights'
import { DEFAULT_HEAD, type HeadConfig } from './head'
import type { PlannedImage, RunSummary, TrainerEvent, TrainPlan } from './plan'
import { describeMethod, makeSplit, type SplitItem, type SplitMethod } from './splits'

export interface TrainOptions {
  backbone?: string
  size?: number
  split?: SplitMethod
  weights?: WeightMode
  head?: Partial<HeadConfig>
  flip?: boolean
  seed?: number
}

export interface RunOutcome {
  runId: number
  status: 'completed' | 'cancelled' | 'failed'
  summary?: RunSummary
  error?: string
  warnings: string[]
}

interface Row {
  id: number
  sha256: string
  source: string | null
  stored: string | null
  environment: string | null
  subject: string | null
  hint: string | null
  classId: number
}

/** Where the worker's entry is: the built file inside the app bundle, else the source via tsx. */
function workerEntry(): URL {
  const here = dirname(fileURLToPath(import.meta.url))
  const built = join(here, 'training-worker.js')
  return existsSync(built) ? new URL(`file://${built}`) : new URL('./worker-boot.mjs', import.meta.url)
}

export function gatherImages(project: Project): { rows: Row[]; warnings: string[] } {
  const rows = project.db
    .prepare(
      `SELECT i.id, i.sha256, i.source_path AS source, i.stored_path AS stored, i.environment, i.subject_id AS subject,
              i.split_hint AS hint, l.class_id AS classId
       FROM images i JOIN image_labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
       WHERE i.excluded = 0 AND i.missing = 0 AND c.deleted_at IS NULL ORDER BY i.id`
    )
    .all() as Row[]
  return { rows, warnings: [] }
}

export function defaultSplit(rows: Row[], seed: number): SplitMethod {
  const withSubject = rows.filter((r) => r.subject).length
  // Several images per person leak identity across a random split: group by subject when known.
  return withSubject > rows.length / 2 ? { kind: 'subject', validation: 0.2, seed } : { kind: 'stratified', validation: 0.2, seed }
}

export async function runTraining(project: Project, opts: TrainOptions = {}, hooks: { onEvent?: (e: TrainerEvent) => void; signal?: AbortSignal } = {}): Promise<RunOutcome> {
  const seed = opts.seed ?? 1
  const backbone = getBackbone(opts.backbone ?? 'mobilenetv2-nsfwjs')
  const size = opts.size ?? backbone.defaultSize
  if (!backbone.sizes.includes(size)) throw new StudioError('invalid_payload', `${backbone.id} takes input sizes ${backbone.sizes.join(', ')} (got ${size})`, 'size')
  const { rows } = gatherImages(project)
  const warnings: string[] = []
  const active = listClasses(project.db)
  const counts = new Map<number, number>()
  for (const r of rows) counts.set(r.classId, (counts.get(r.classId) ?? 0) + 1)
  const used = active.filter((c) => (counts.get(c.id) ?? 0) > 0)
  for (const c of active) if (!counts.get(c.id)) warnings.push(`class "${c.name}" has no labeled images and is left out of this model`)
  if (used.length < 2) {
    throw new StudioError('conflict', `training needs at least two classes with labeled images (found ${used.length}); label more images or include excluded ones`)
  }
  const index = new Map(used.map((c, i) => [c.id, i]))
  const method = opts.split ?? defaultSplit(rows, seed)
  const items: SplitItem[] = rows.map((r) => ({ id: r.id, label: r.classId, subject: r.subject, environment: r.environment, splitHint: r.hint }))
  let split
  try {
    split = makeSplit(items, method)
  } catch (err) {
    throw new StudioError('invalid_payload', `cannot split the data: ${(err as Error).message}`, 'split')
  }
  warnings.push(...split.warnings)
  const trainCounts: Record<number, number> = {}
  for (const r of rows) if (split.assignment.get(r.id) === 'train') trainCounts[r.classId] = (trainCounts[r.classId] ?? 0) + 1
  const weights = classWeights(trainCounts, opts.weights ?? 'inverse')
  const head: HeadConfig = { ...DEFAULT_HEAD, seed, ...opts.head }
  const config = {
    backbone: backbone.id,
    size,
    split: { method, description: describeMethod(method) },
    composition: split.composition,
    classWeights: weights,
    head,
    flip: opts.flip ?? true,
    classes: used.map((c) => ({ id: c.id, name: c.name })),
    warnings
  }

  const runId = project.db.transaction(() => {
    const splitId = Number(
      project.db
        .prepare('INSERT INTO splits (name, method, params, created_at) VALUES (?, ?, ?, ?)')
        .run(describeMethod(method), method.kind, JSON.stringify(method), new Date().toISOString()).lastInsertRowid
    )
    const assign = project.db.prepare('INSERT INTO split_assignments (split_id, image_id, part) VALUES (?, ?, ?)')
    for (const [imageId, part] of split.assignment) assign.run(splitId, imageId, part)
    return createRun(project.db, config, { backbone: backbone.id, splitId })
  })()

  const images: PlannedImage[] = rows
    .filter((r) => split.assignment.has(r.id))
    .map((r) => ({
      id: r.id,
      sha256: r.sha256,
      path: r.stored ? join(project.dir, r.stored) : r.source!,
      label: index.get(r.classId)!,
      part: split.assignment.get(r.id)!,
      environment: r.environment
    }))
  const plan: TrainPlan = {
    runId,
    runDir: project.path('runs', String(runId)),
    cacheDir: project.path('cache'),
    images,
    classes: config.classes,
    backbone: backbone.id,
    size,
    head,
    classWeights: used.map((c) => weights.weights[c.id] ?? 1),
    flip: config.flip
  }

  return new Promise<RunOutcome>((resolve) => {
    let ended = false
    const worker = new Worker(workerEntry())
    const finish = (outcome: Omit<RunOutcome, 'runId' | 'warnings'>) => {
      if (ended) return
      ended = true
      finishRun(project.db, runId, outcome.status, { error: outcome.error, summary: outcome.summary })
      resolve({ runId, warnings, ...outcome })
    }
    const onAbort = () => worker.postMessage({ type: 'cancel' })
    hooks.signal?.addEventListener('abort', onAbort)
    worker.on('message', (e: TrainerEvent) => {
      if (e.type === 'backend') project.db.prepare('UPDATE runs SET backend = ? WHERE id = ?').run(e.name, runId)
      if (e.type === 'epochEnd') {
        const m = e.metrics
        recordEpoch(project.db, runId, { stage: m.stage, epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, valLoss: m.valLoss, valAccuracy: m.valAccuracy, imagesPerSecond: m.imagesPerSecond, durationMs: m.ms })
      }
      hooks.onEvent?.(e)
      if (e.type === 'runEnd') finish({ status: e.status, summary: e.summary, error: e.error })
    })
    worker.on('error', (err) => finish({ status: 'failed', error: `the training worker crashed: ${err.message}` }))
    worker.on('exit', (code) => {
      hooks.signal?.removeEventListener('abort', onAbort)
      finish({ status: 'failed', error: `the training worker stopped (exit code ${code}) before finishing` })
    })
    if (hooks.signal?.aborted) onAbort()
    worker.postMessage({ type: 'start', plan })
  })
}
