// The main-process side of a training run: gathers the labeled images and the split, records
// the run, starts the worker, and persists what it reports. A crash of the worker or of the
// whole process leaves the run marked failed or interrupted, never "running" forever; such a run
// can be resumed from its last checkpoint (resumeTraining).
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { StudioError } from '../../shared/errors'
import { listClasses } from '../db/repos/classes'
import { createRun, finishRun, getRun, recordEpoch } from '../db/repos/runs'
import type { Project } from '../project/project'
import type { ProbeResult } from '../../shared/probe'
import { backboneStatus, getBackbone, prepareBackbone, type Backbone } from './backbones'
import { classWeights, type WeightMode } from './class-weights'
import { embeddingWork } from './embed-workers'
import { badHeadField, DEFAULT_HEAD, stage1BatchSize, type HeadConfig } from './head'
import { checkAugment, DEFAULT_AUGMENT, type AugmentConfig } from './augment'
import { loadLatestCheckpoint } from './checkpoint'
import type { PlannedImage, Prediction, RunSummary, Stage2Plan, TrainerEvent, TrainPlan } from './plan'
import { probeBackbones, saveProbe, type ProbeProgress } from './probe'
import { defaultUnfreezeFraction } from './stage2'
import { describeMethod, makeSplit, type SplitItem, type SplitMethod } from './splits'

/** `backbone: 'auto'`: linear-probe every ready backbone on the training split first and train the winner. */
export const AUTO_BACKBONE = 'auto'
export const DEFAULT_BACKBONE = 'mobilenetv2-nsfwjs'

export interface TrainOptions {
  /** A backbone id, or 'auto' (probe first); default DEFAULT_BACKBONE. */
  backbone?: string
  /** With 'auto': how the probe samples (default 60 images per class) and which backbones it compares (default every ready one). */
  probe?: { samplePerClass?: number; backbones?: string[] }
  size?: number
  split?: SplitMethod
  weights?: WeightMode
  head?: Partial<HeadConfig>
  flip?: boolean
  seed?: number
  /** Stage 2 (fine-tuning the top of the backbone); every field has a default chosen from the data. */
  stage2?: Stage2Options
  /** Threads computing embeddings (default: one per core). */
  embedWorkers?: number
  /** Fault injection, tests only. */
  faults?: TrainPlan['faults']
}

export interface Stage2Options {
  /** false: the backbone stays frozen. Default: on when the data is large enough. */
  enabled?: boolean
  /** Share of backbone layers to unfreeze (snapped to a block boundary); default from the data size. */
  fraction?: number
  /** Default: the head's learning rate / 10. */
  learningRate?: number
  epochs?: number
  batchSize?: number
  patience?: number
  augment?: Partial<AugmentConfig>
  /** Stop stage 2 after the epoch that passes this much time (benchmarks compare at equal time). */
  maxMs?: number
}

export interface RunOutcome {
  runId: number
  status: 'completed' | 'cancelled' | 'failed'
  summary?: RunSummary
  error?: string
  warnings: string[]
  /** p99 event-loop delay of this (main) process while the run trained, ms. */
  eventLoopDelayP99Ms?: number
  /** With backbone 'auto': the probe that chose the backbone (also in the run's config and <run>/probe.json). */
  probe?: RunProbe
}

/** What a run keeps of the probe that chose its backbone. */
export type RunProbe = Pick<ProbeResult, 'best' | 'ranking' | 'sample' | 'method' | 'seconds' | 'cancelled'>

/** One line for a probe's progress: which backbone of how many, doing what. */
export function describeProbeProgress(p: ProbeProgress): string {
  return `probing backbones: ${p.backbone} (${p.index + 1} of ${p.count}), ${p.phase} ${p.done}/${p.total}`
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

/** Stage 2 as planned from the options and the data (null: stays frozen). */
export function planStage2(opts: Stage2Options | undefined, trainImages: number, head: HeadConfig, fineTunable: boolean): Stage2Plan | null {
  if (opts?.enabled === false || !fineTunable) return null
  const fraction = opts?.fraction ?? defaultUnfreezeFraction(trainImages)
  if (!(fraction >= 0 && fraction <= 1)) throw new StudioError('invalid_payload', `the unfrozen fraction must be between 0 and 1 (got ${fraction})`, 'stage2.fraction')
  if (fraction === 0) return null
  let augment: AugmentConfig
  try {
    augment = checkAugment({ ...DEFAULT_AUGMENT, ...opts?.augment })
  } catch (err) {
    throw new StudioError('invalid_payload', (err as Error).message, 'stage2.augment')
  }
  return {
    fraction,
    learningRate: opts?.learningRate ?? head.learningRate / 10,
    epochs: opts?.epochs ?? 12,
    batchSize: opts?.batchSize ?? 32,
    patience: opts?.patience ?? 4,
    augment,
    ...(opts?.maxMs !== undefined ? { maxMs: opts.maxMs } : {})
  }
}

function checkClasses(project: Project, rows: Row[], warnings: string[]): { id: number; name: string }[] {
  const active = listClasses(project.db)
  const counts = new Map<number, number>()
  for (const r of rows) counts.set(r.classId, (counts.get(r.classId) ?? 0) + 1)
  const used = active.filter((c) => (counts.get(c.id) ?? 0) > 0)
  for (const c of active) if (!counts.get(c.id)) warnings.push(`class "${c.name}" has no labeled images and is left out of this model`)
  for (const c of used) if (counts.get(c.id) === 1) warnings.push(`class "${c.name}" has a single labeled image: it can be in training or validation, not both, so its scores mean little`)
  if (used.length < 2) {
    throw new StudioError('conflict', `training needs at least two classes with labeled images (found ${used.length}); label more images or include excluded ones`)
  }
  return used.map((c) => ({ id: c.id, name: c.name }))
}

function sizeFor(backbone: Backbone, asked: number | undefined, strict: boolean): number {
  if (asked === undefined) return backbone.defaultSize
  if (backbone.sizes.includes(asked)) return asked
  if (!strict) return backbone.defaultSize // 'auto' picked a backbone that does not take the asked size
  throw new StudioError('invalid_payload', `${backbone.id} takes input sizes ${backbone.sizes.join(', ')} (got ${asked})`, 'size')
}

export async function runTraining(project: Project, opts: TrainOptions = {}, hooks: RunHooks = {}): Promise<RunOutcome> {
  const seed = opts.seed ?? 1
  const auto = opts.backbone === AUTO_BACKBONE
  const fixed = auto ? null : getBackbone(opts.backbone ?? DEFAULT_BACKBONE)
  if (fixed) sizeFor(fixed, opts.size, true)
  const { rows } = gatherImages(project)
  const warnings: string[] = []
  const classes = checkClasses(project, rows, warnings)
  const index = new Map(classes.map((c, i) => [c.id, i]))
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
  const trainTotal = Object.values(trainCounts).reduce((a, b) => a + b, 0)
  if (!trainTotal) throw new StudioError('conflict', 'the split leaves no images for training: every labeled image is in validation; choose another split')
  const weights = classWeights(trainCounts, opts.weights ?? 'inverse')
  const head: HeadConfig = { ...DEFAULT_HEAD, seed, batchSize: stage1BatchSize(trainTotal), ...opts.head }
  const bad = badHeadField(head)
  if (bad) throw new StudioError('invalid_payload', `head.${bad[0]} must be ${bad[1]} (got ${head[bad[0]]})`, `head.${bad[0]}`)
  planStage2(opts.stage2, trainTotal, head, true) // bad stage-2 options fail before any run is recorded
  const base = { split: { method, description: describeMethod(method) }, composition: split.composition, classWeights: weights, head, flip: opts.flip ?? true, classes, warnings }

  // The run is recorded first (its backbone 'auto' until the probe chose one), so a probe that is
  // cancelled or fails ends a run marked so, with nothing half made.
  const runId = project.db.transaction(() => {
    const splitId = Number(
      project.db
        .prepare('INSERT INTO splits (name, method, params, created_at) VALUES (?, ?, ?, ?)')
        .run(describeMethod(method), method.kind, JSON.stringify(method), new Date().toISOString()).lastInsertRowid
    )
    const assign = project.db.prepare('INSERT INTO split_assignments (split_id, image_id, part) VALUES (?, ?, ?)')
    for (const [imageId, part] of split.assignment) assign.run(splitId, imageId, part)
    return createRun(project.db, { ...base, backbone: fixed?.id ?? AUTO_BACKBONE }, { backbone: fixed?.id ?? AUTO_BACKBONE, splitId })
  })()
  const runDir = project.path('runs', String(runId))

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
  const chosen = await chooseBackbone(project, runId, fixed, images, classes.length, opts, hooks)
  if ('outcome' in chosen) return { ...chosen.outcome, warnings }
  const { backbone, probe } = chosen
  const size = sizeFor(backbone, opts.size, !auto)
  const stage2 = planStage2(opts.stage2, trainTotal, head, backbone.fineTunable)
  const config = {
    ...base,
    backbone: backbone.id,
    size,
    stage2,
    ...(probe ? { probe: { best: probe.best, ranking: probe.ranking, sample: probe.sample, seconds: probe.seconds } } : {}),
    // The preflight checklist's verdicts on these options (the backbone the run trains) and the overrides standing now (for the model card).
    checklist: (await import('../analysis/insights/checklist')).checklistSnapshot(project, { ...opts, backbone: backbone.id, size })
  }
  project.db.prepare('UPDATE runs SET config = ?, backbone = ? WHERE id = ?').run(JSON.stringify(config), backbone.id, runId)

  const plan: TrainPlan = {
    runId,
    runDir,
    cacheDir: project.path('cache'),
    images,
    classes,
    backbone: backbone.id,
    size,
    head,
    classWeights: classes.map((c) => weights.weights[c.id] ?? 1),
    flip: config.flip,
    stage2,
    resume: false,
    embedWorkers: opts.embedWorkers,
    faults: opts.faults
  }
  const outcome = await launch(project, plan, warnings, hooks)
  return probe ? { ...outcome, probe } : outcome
}

type Chosen = { backbone: Backbone; probe?: RunProbe } | { outcome: Omit<RunOutcome, 'warnings'> }

/** Ends a run that never reached the worker. */
function endEarly(project: Project, runId: number, status: 'cancelled' | 'failed', error?: string, probe?: RunProbe): Chosen {
  project.db.transaction(() => {
    // What the probe measured before it stopped stays visible with the run.
    if (probe) project.db.prepare("UPDATE runs SET config = json_set(config, '$.probe', json(?)) WHERE id = ?").run(JSON.stringify(probe), runId)
    finishRun(project.db, runId, status, { error })
  })()
  return { outcome: { runId, status, ...(error ? { error } : {}), ...(probe ? { probe } : {}) } }
}

/**
 * The backbone a run trains: the fixed one (its weights downloaded first when needed), or with
 * 'auto' the winner of a linear probe of the training split (validation images never influence
 * it), kept in <run>/probe.json. Cancelled or failed here, the run ends before the worker starts.
 */
async function chooseBackbone(project: Project, runId: number, fixed: Backbone | null, images: PlannedImage[], classes: number, opts: TrainOptions, hooks: RunHooks): Promise<Chosen> {
  const signal = hooks.signal
  const onProgress = (p: ProbeProgress) => hooks.onProbe?.(p)
  if (fixed) {
    if (backboneStatus(fixed.id) === 'ready') return { backbone: fixed }
    try {
      await prepareBackbone(fixed.id, { signal, onProgress: (p) => onProgress({ backbone: fixed.id, index: 0, count: 1, phase: 'download', done: p.filesDone, total: p.filesTotal ?? p.filesDone + 1 }) })
    } catch (err) {
      return endEarly(project, runId, signal?.aborted ? 'cancelled' : 'failed', signal?.aborted ? undefined : `cannot prepare backbone ${fixed.id}: ${(err as Error).message}`)
    }
    return signal?.aborted ? endEarly(project, runId, 'cancelled') : { backbone: fixed }
  }
  const train = images.filter((i) => i.part === 'train').map((i) => ({ sha256: i.sha256, path: i.path, label: i.label }))
  let result: ProbeResult
  try {
    result = await probeBackbones(train, classes, {
      cacheDir: project.path('cache'),
      projectDir: project.dir,
      seed: opts.seed ?? 1,
      workers: opts.embedWorkers,
      samplePerClass: opts.probe?.samplePerClass,
      backbones: opts.probe?.backbones,
      signal,
      onProgress
    })
  } catch (err) {
    return endEarly(project, runId, 'failed', `the backbone probe failed: ${(err as Error).message}`)
  }
  const { best, ranking, sample, method, seconds, cancelled } = result
  const probe: RunProbe = { best, ranking, sample, method, seconds, cancelled }
  saveProbe(project.path('runs', String(runId)), result)
  if (cancelled || signal?.aborted) return endEarly(project, runId, 'cancelled', undefined, probe)
  if (!best) return endEarly(project, runId, 'failed', `no backbone could be probed: ${ranking.map((e) => `${e.backbone}: ${e.error}`).join('; ')}`, probe)
  return { backbone: getBackbone(best), probe }
}

type StoredConfig = { backbone: string; size: number; head: HeadConfig; flip: boolean; stage2: Stage2Plan | null; classes: { id: number; name: string }[]; classWeights: { weights: Record<number, number> }; warnings: string[] }

/**
 * Continues a run that did not finish (interrupted by a crash, failed, or cancelled) from its last
 * checkpoint: same split, same settings, the epochs already recorded kept.
 */
export async function resumeTraining(project: Project, runId: number, hooks: RunHooks = {}, overrides: Pick<TrainOptions, 'embedWorkers' | 'faults'> = {}): Promise<RunOutcome> {
  const run = getRun(project.db, runId)
  if (!run) throw new StudioError('not_found', `there is no run ${runId} in this project`, 'runId')
  if (run.status === 'completed' || run.status === 'running') throw new StudioError('conflict', `run ${runId} is ${run.status}; only an interrupted, failed or cancelled run can be resumed`, 'runId')
  const runDir = project.path('runs', String(runId))
  const checkpoint = loadLatestCheckpoint(runDir)
  if (!checkpoint) throw new StudioError('conflict', `run ${runId} stopped before its first checkpoint; start a new run instead`, 'runId')
  for (const t of Object.values(checkpoint.tensors)) t.dispose()
  const config = run.config as StoredConfig
  const splitId = project.db.prepare('SELECT split_id FROM runs WHERE id = ?').pluck().get(runId) as number
  const index = new Map(config.classes.map((c, i) => [c.id, i]))
  const rows = project.db
    .prepare(
      `SELECT i.id, i.sha256, i.source_path AS source, i.stored_path AS stored, i.environment, l.class_id AS classId, a.part
       FROM split_assignments a JOIN images i ON i.id = a.image_id JOIN image_labels l ON l.image_id = i.id
       WHERE a.split_id = ? AND i.missing = 0 ORDER BY i.id`
    )
    .all(splitId) as { id: number; sha256: string; source: string | null; stored: string | null; environment: string | null; classId: number; part: PlannedImage['part'] }[]
  const images: PlannedImage[] = rows
    .filter((r) => index.has(r.classId))
    .map((r) => ({ id: r.id, sha256: r.sha256, path: r.stored ? join(project.dir, r.stored) : r.source!, label: index.get(r.classId)!, part: r.part, environment: r.environment }))
  const warnings = [...(config.warnings ?? [])]
  if (images.length < rows.length) warnings.push(`${rows.length - images.length} images changed to a class this run does not know since it started, and are left out`)
  project.db.prepare("UPDATE runs SET status = 'running', ended_at = NULL, error = NULL WHERE id = ?").run(runId)
  const plan: TrainPlan = {
    runId,
    runDir,
    cacheDir: project.path('cache'),
    images,
    classes: config.classes,
    backbone: config.backbone,
    size: config.size,
    head: config.head,
    classWeights: config.classes.map((c) => config.classWeights.weights[c.id] ?? 1),
    flip: config.flip,
    stage2: config.stage2,
    resume: true,
    embedWorkers: overrides.embedWorkers,
    faults: overrides.faults
  }
  return launch(project, plan, warnings, hooks)
}

export interface RunHooks {
  onEvent?: (e: TrainerEvent) => void
  /** With backbone 'auto' (or one whose weights must be downloaded): progress before the worker starts. */
  onProbe?: (p: ProbeProgress) => void
  signal?: AbortSignal
  /** Gets the worker once started (tests use it to crash a run). */
  onWorker?: (worker: Worker) => void
}

function savePredictions(project: Project, runId: number, images: PlannedImage[], predictions: Prediction[]): void {
  const part = new Map(images.map((i) => [i.id, i.part]))
  const insert = project.db.prepare('INSERT OR REPLACE INTO run_predictions (run_id, image_id, part, label, predicted, probs) VALUES (?, ?, ?, ?, ?, ?)')
  for (const p of predictions) insert.run(runId, p.imageId, part.get(p.imageId) ?? 'other', p.label, p.predicted, JSON.stringify(p.probs))
}

/** Image views from which a run starts its embedding workers with the training worker (a few batches' worth). */
const PRESTART_FROM = 256

/** Fresh workers a run may be given after its backend died of memory (each halves the batch). */
const MAX_MEMORY_RESTARTS = 5

/**
 * Starts the worker on a plan and records what it reports until the run ends, one way or another.
 * A wasm module that runs out of memory aborts and cannot be used again; such a run continues in a
 * fresh worker from its last checkpoint at the halved batch size, instead of failing.
 */
function launch(project: Project, plan: TrainPlan, warnings: string[], hooks: RunHooks, restarts = 0): Promise<RunOutcome> {
  const { runId } = plan
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  return new Promise<RunOutcome>((resolve) => {
    let ended = false
    // One embedding worker per other core starts with the training worker, so their start-ups
    // overlap (pipeline.ts hands it to embedParallel). Not for a resumed run: its features are cached.
    const others = (plan.embedWorkers ?? availableParallelism()) - 1
    const images = plan.images.length * (plan.flip ? 2 : 1)
    const embed = !plan.resume && others > 0 && images >= PRESTART_FROM ? { count: others, ...embeddingWork(plan) } : undefined
    const worker = new Worker(workerEntry(), { workerData: { embed } })
    hooks.onWorker?.(worker)
    const finish = (outcome: Omit<RunOutcome, 'runId' | 'warnings'>, predictions: Prediction[] = []) => {
      if (ended) return
      ended = true
      delay.disable()
      const eventLoopDelayP99Ms = delay.percentile(99) / 1e6
      const summary = outcome.summary ? { ...outcome.summary, eventLoopDelayP99Ms } : undefined
      // The predictions and the run's end are one fact: both are written, or neither.
      project.db.transaction(() => {
        if (outcome.status === 'completed') savePredictions(project, runId, plan.images, predictions)
        finishRun(project.db, runId, outcome.status, { error: outcome.error, summary })
      })()
      resolve({ runId, warnings, ...outcome, summary, eventLoopDelayP99Ms })
    }
    const onAbort = () => worker.postMessage({ type: 'cancel' })
    hooks.signal?.addEventListener('abort', onAbort)
    worker.on('message', (e: TrainerEvent) => {
      if (e.type === 'backend') project.db.prepare('UPDATE runs SET backend = ? WHERE id = ?').run(e.name, runId)
      if (e.type === 'epochEnd') {
        const m = e.metrics
        recordEpoch(project.db, runId, { stage: m.stage, epoch: m.epoch, loss: m.loss, accuracy: m.accuracy, valLoss: m.valLoss, valAccuracy: m.valAccuracy, imagesPerSecond: m.imagesPerSecond, durationMs: m.ms })
      }
      if (e.type === 'runEnd' && e.status === 'failed' && e.restartAtBatch !== undefined && restarts < MAX_MEMORY_RESTARTS && !hooks.signal?.aborted) {
        ended = true
        delay.disable()
        hooks.signal?.removeEventListener('abort', onAbort)
        const note = `the training backend ran out of memory; the run went on in a fresh worker from its last checkpoint with batch size ${e.restartAtBatch}`
        hooks.onEvent?.({ type: 'stageBegin', stage: 2, description: note })
        void worker.terminate().then(() => resolve(launch(project, { ...plan, resume: true }, [...warnings, note], hooks, restarts + 1)))
        return
      }
      hooks.onEvent?.(e)
      if (e.type === 'runEnd') finish({ status: e.status, summary: e.summary, error: e.error }, e.predictions)
    })
    worker.on('error', (err) => finish({ status: 'failed', error: `the training worker crashed: ${err.message}` }))
    worker.on('exit', (code) => {
      hooks.signal?.removeEventListener('abort', onAbort)
      finish({ status: 'failed', error: `the training worker stopped (exit code ${code}) before finishing; resume the run to continue from its last checkpoint` })
    })
    if (hooks.signal?.aborted) onAbort()
    worker.postMessage({ type: 'start', plan })
  })
}
