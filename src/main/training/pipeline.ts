// The work of one training run, as the worker does it: backend, embeddings (cached, both cores),
// stage 1 (head on frozen features), stage 2 (top blocks + head), evaluation, artifacts. It talks
// to the outside only through `emit`. Checkpoints after stage 1 and after every stage-2 epoch let
// a run that died continue (`plan.resume`).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from './backend'
import { getBackbone, loadFeatureExtractor, preprocessSpecFor } from './backbones'
import { BOUNDARY_BUDGET_BYTES, boundaryBytes, computeBoundary } from './boundary'
import { checkpointDir, loadLatestCheckpoint, loadStageCheckpoint, saveCheckpoint } from './checkpoint'
import { embeddingWork, type EmbedWorker } from './embed-workers'
import { embedParallel } from './embeddings'
import { buildHead } from './head'
import type { BatchProgress, PlannedImage, Prediction, RunSummary, Stage2Summary, TrainerEvent, TrainPlan } from './plan'
import { loadPixels } from './preprocess'
import { saveRunModel } from './artifacts'
import { evaluateSet, trainStage1, type EmbeddedSet, type EpochMetrics } from './stage1'
import { BACKBONE_RATE, BackendLost, bottomModel, cachedSource, chooseCut, fullSource, trainStage2, usesCache, type BoundarySource, type Stage2State } from './stage2'

type Emit = (e: TrainerEvent) => void

function toSet(images: PlannedImage[], vectors: Map<string, Float32Array[]>, dim: number, allViews: boolean): EmbeddedSet {
  return {
    views: images.map((i) => (allViews ? vectors.get(i.sha256)! : [vectors.get(i.sha256)![0]])),
    labels: Int32Array.from(images, (i) => i.label),
    dim
  }
}

/** Batch progress at most every 200 ms (stage-1 batches take a millisecond). */
function throttled(emit: Emit): (p: BatchProgress) => void {
  let last = 0
  return (p) => {
    const now = performance.now()
    if (now - last < 200 && p.done < p.total) return
    last = now
    emit({ type: 'batchEnd', progress: p })
  }
}

interface Stage1Outcome {
  head: tf.LayersModel
  history: EpochMetrics[]
  bestEpoch: number
  stoppedEarly: boolean
  cancelled: boolean
}

/** Stage 1, or its checkpoint when resuming a run that got past it. */
async function stage1(plan: TrainPlan, train: EmbeddedSet, val: EmbeddedSet | null, emit: Emit, signal: AbortSignal): Promise<Stage1Outcome> {
  const classes = plan.classes.length
  const saved = plan.resume ? loadStageCheckpoint(plan.runDir, 1) : null
  if (saved) {
    const head = buildHead(train.dim, classes, plan.head)
    head.setWeights(head.weights.map((w, i) => saved.tensors[`head/${i}`]))
    tf.dispose(Object.values(saved.tensors))
    const s = saved.state as unknown as { history: EpochMetrics[]; bestEpoch: number; stoppedEarly: boolean }
    emit({ type: 'stageBegin', stage: 1, description: 'head on the frozen backbone (restored from its checkpoint)' })
    emit({ type: 'stageEnd', stage: 1 })
    return { head, history: s.history, bestEpoch: s.bestEpoch, stoppedEarly: s.stoppedEarly, cancelled: false }
  }
  emit({ type: 'stageBegin', stage: 1, description: 'head on the frozen backbone' })
  const report = throttled(emit)
  const r = await trainStage1(train, val, classes, plan.classWeights, plan.head, {
    signal,
    onEpoch: (metrics) => {
      emit({ type: 'epochEnd', metrics })
      report({ stage: 1, epoch: metrics.epoch, done: train.labels.length, total: train.labels.length, loss: metrics.loss, accuracy: metrics.accuracy, imagesPerSecond: metrics.imagesPerSecond, etaMs: 0 })
    }
  })
  emit({ type: 'stageEnd', stage: 1 })
  if (!r.cancelled) {
    const tensors = Object.fromEntries(r.model.getWeights().map((t, i) => [`head/${i}`, t]))
    await saveCheckpoint(plan.runDir, { stage: 1, epoch: r.history.length, history: r.history, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly }, tensors)
  }
  return { head: r.model, history: r.history, bestEpoch: r.bestEpoch, stoppedEarly: r.stoppedEarly, cancelled: r.cancelled }
}

/** Why stage 2 will not run, or null when it will. */
function stage2Blocker(plan: TrainPlan, trainCount: number): string | null {
  const backbone = getBackbone(plan.backbone)
  if (!plan.stage2 || plan.stage2.fraction <= 0) return 'stage 2 is off (too few images to unfreeze safely, or turned off)'
  if (!backbone.fineTunable) return `${backbone.name} cannot be fine-tuned`
  if (trainCount < 2) return 'fewer than two training images'
  return null
}

const BATCH_HINT = 'batch-size.json'

function batchHint(runDir: string): number | null {
  const file = join(checkpointDir(runDir), BATCH_HINT)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { batchSize: number }).batchSize : null
}

interface Stage2Outcome {
  summary: Stage2Summary
  history: EpochMetrics[]
  cancelled: boolean
  valProbs: Float32Array
  valLoss: number | null
  valAccuracy: number | null
  backbone: tf.LayersModel
}

async function stage2(
  plan: TrainPlan,
  head: tf.LayersModel,
  train: PlannedImage[],
  val: PlannedImage[],
  stage1Val: { loss: number | null; accuracy: number | null },
  emit: Emit,
  signal: AbortSignal
): Promise<Stage2Outcome | null> {
  const cfg = plan.stage2!
  const backbone = getBackbone(plan.backbone)
  const extractor = await loadFeatureExtractor(plan.backbone, plan.size)
  const model = extractor.model
  if (!model) {
    extractor.dispose()
    throw new Error(`${backbone.name} is not built as a layers model here, so it cannot be fine-tuned; turn stage 2 off`)
  }
  const cut = chooseCut(model, backbone, cfg.fraction)
  const bottom = bottomModel(model, cut)
  const spec = preprocessSpecFor(plan.backbone, plan.size)
  const views = cfg.augment.flip ? 2 : 1
  const fits = boundaryBytes(cut.shape, train.length, views) + boundaryBytes(cut.shape, val.length, 1) <= BOUNDARY_BUDGET_BYTES
  const cached = usesCache(cfg.augment) && fits
  const how = cached
    ? `boundary activations after ${cut.boundary} cached, only the top runs`
    : `whole backbone every batch (${fits ? 'augmentation beyond flips' : 'activations too large to cache'})`
  emit({ type: 'stageBegin', stage: 2, description: `fine-tuning the top ${cut.blocks} blocks (${Math.round(cut.fraction * 100)}% of layers) + head at lr ${cfg.learningRate} (the blocks at ${cfg.learningRate * BACKBONE_RATE}); ${how}` })
  const started = performance.now()
  const progress = (phase: 'boundary', total: number) => (done: number) => emit({ type: 'progress', phase, done, total })
  const total = (cached ? train.length : 0) + val.length
  const valActs = await computeBoundary(bottom, val.map((i) => i.path), spec, { flip: false, signal, onProgress: progress('boundary', total) })
  let source: BoundarySource
  if (cached) {
    const trainActs = await computeBoundary(bottom, train.map((i) => i.path), spec, { flip: cfg.augment.flip, signal, onProgress: (d) => progress('boundary', total)(val.length + d) })
    if (!trainActs || !valActs) return cancelledStage2(model)
    source = cachedSource(cut, trainActs, valActs)
  } else {
    if (!valActs) return cancelledStage2(model)
    source = fullSource(bottom, { size: plan.size, normalization: spec.normalization, load: (i) => loadPixels(train[i].path, spec) }, train.length, cfg.augment, valActs, cut)
  }
  const boundarySeconds = cached ? (performance.now() - started) / 1000 : 0

  const latest = plan.resume ? loadLatestCheckpoint(plan.runDir) : null
  const resume = latest && latest.state.stage === 2 ? { state: latest.state as unknown as Stage2State, tensors: latest.tensors } : undefined
  if (latest && !resume) tf.dispose(Object.values(latest.tensors))
  const hint = plan.resume ? batchHint(plan.runDir) : null
  if (resume && hint) resume.state.batchSize = Math.min(resume.state.batchSize, hint)
  const report = throttled(emit)
  const r = await trainStage2(
    cut,
    head,
    source,
    Int32Array.from(train, (i) => i.label),
    Int32Array.from(val, (i) => i.label),
    plan.classes.length,
    plan.classWeights,
    { ...cfg, batchSize: hint ?? cfg.batchSize, minBatchSize: 2, seed: plan.head.seed },
    { valLoss: stage1Val.loss },
    {
      signal,
      resume,
      failBatchAbove: plan.faults?.failBatchAbove,
      exhaustMemoryAbove: plan.faults?.exhaustMemoryAbove,
      loseBackendAbove: plan.faults?.loseBackendAbove,
      onEpoch: (metrics) => emit({ type: 'epochEnd', metrics }),
      onBatch: (p) => report({ stage: 2, ...p }),
      onBatchSize: (batchSize) => writeFileSync(join(checkpointDir(plan.runDir), BATCH_HINT), JSON.stringify({ batchSize })),
      onCheckpoint: async (state, tensors) => {
        await saveCheckpoint(plan.runDir, { ...state, stage: 2 }, tensors)
      }
    }
  )
  if (resume) tf.dispose(Object.values(resume.tensors))
  emit({ type: 'stageEnd', stage: 2 })
  return {
    summary: {
      path: source.path,
      boundary: cut.boundary,
      blocks: cut.blocks,
      fraction: cut.fraction,
      trainableParams: cut.trainableParams,
      learningRate: cfg.learningRate,
      bestEpoch: r.bestEpoch,
      stoppedEarly: r.stoppedEarly,
      batchSize: r.batchSize,
      stage1ValAccuracy: stage1Val.accuracy,
      boundarySeconds
    },
    history: r.history,
    cancelled: r.cancelled,
    valProbs: r.valProbs,
    valLoss: r.valLoss,
    valAccuracy: r.valAccuracy,
    backbone: model
  }
}

/** The bottom model shares the backbone's layers: disposing the backbone frees both. */
function cancelledStage2(model: tf.LayersModel): null {
  model.dispose()
  return null
}

/** Confusion matrix, per-environment accuracy and per-image predictions from validation probabilities. */
function scoreValidation(val: PlannedImage[], probs: Float32Array, classes: number): { confusion: number[][]; perEnvironment: RunSummary['perEnvironment']; predictions: Prediction[] } {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  const envs = new Map<string, { n: number; hit: number }>()
  const predictions: Prediction[] = []
  val.forEach((img, k) => {
    const row = probs.subarray(k * classes, (k + 1) * classes)
    let arg = 0
    for (let c = 1; c < classes; c++) if (row[c] > row[arg]) arg = c
    confusion[img.label][arg]++
    const key = img.environment ?? '(none)'
    const e = envs.get(key) ?? { n: 0, hit: 0 }
    e.n++
    if (arg === img.label) e.hit++
    envs.set(key, e)
    predictions.push({ imageId: img.id, label: img.label, predicted: arg, probs: Array.from(row, (p) => Math.round(p * 1e6) / 1e6) })
  })
  const perEnvironment = [...envs].map(([environment, e]) => ({ environment, images: e.n, accuracy: e.hit / e.n }))
  return { confusion, perEnvironment, predictions }
}

/** Backbone (fine-tuned, or loaded as shipped when it stayed frozen) + head as the run's one model. */
async function saveModel(plan: TrainPlan, head: tf.LayersModel, tuned: tf.LayersModel | null): Promise<void> {
  const frozen = tuned || getBackbone(plan.backbone).featureLayer === null ? null : await loadFeatureExtractor(plan.backbone, plan.size)
  try {
    const backbone = tuned ?? frozen?.model ?? null
    await saveRunModel(plan.runDir, { backbone, head, spec: preprocessSpecFor(plan.backbone, plan.size), backboneId: plan.backbone, classes: plan.classes })
  } finally {
    frozen?.dispose()
  }
}

/** `prestarted`: embedding workers the training worker started alongside its own start-up; all are ended here. */
export async function runPipeline(plan: TrainPlan, emit: Emit, signal: AbortSignal, prestarted: EmbedWorker[] = []): Promise<void> {
  const started = performance.now()
  const disposables: tf.LayersModel[] = []
  try {
    const backend = await initBackend()
    emit({ type: 'backend', name: backend.name })
    const workers = plan.embedWorkers ?? availableParallelism()
    emit({ type: 'stageBegin', stage: 0, description: `features from ${plan.backbone} at ${plan.size} px (cached; ${workers} thread${workers > 1 ? 's' : ''})` })
    const work = embeddingWork(plan)
    const emb = await embedParallel(
      work.cacheDir,
      plan.images.map((i) => ({ sha256: i.sha256, path: i.path })),
      {
        ...work.opts,
        signal,
        workers,
        // This is the training worker: it may compute too, from the first second.
        useCallingThread: true,
        prestarted,
        onProgress: (done, total) => emit({ type: 'progress', phase: 'embedding', done, total })
      }
    )
    if (signal.aborted || emb.cancelled) return emit({ type: 'runEnd', status: 'cancelled' })
    const train = plan.images.filter((i) => i.part === 'train')
    const val = plan.images.filter((i) => i.part === 'validation')
    const trainSet = toSet(train, emb.vectors, emb.dim, true)
    const valSet = toSet(val, emb.vectors, emb.dim, false)
    const classes = plan.classes.length

    const s1 = await stage1(plan, trainSet, val.length ? valSet : null, emit, signal)
    disposables.push(s1.head)
    if (s1.cancelled) return emit({ type: 'runEnd', status: 'cancelled' })
    const ev1 = val.length ? evaluateSet(s1.head, valSet, classes) : null

    const blocker = stage2Blocker(plan, train.length)
    const s2 = blocker ? null : await stage2(plan, s1.head, train, val, { loss: ev1?.loss ?? null, accuracy: ev1?.accuracy ?? null }, emit, signal)
    if (s2) disposables.push(s2.backbone)
    if (!blocker && (!s2 || s2.cancelled)) return emit({ type: 'runEnd', status: 'cancelled' })

    const probs = s2 ? s2.valProbs : ev1?.probs ?? new Float32Array(0)
    const scored = val.length ? scoreValidation(val, probs, classes) : null
    mkdirSync(plan.runDir, { recursive: true })
    await saveModel(plan, s1.head, s2?.backbone ?? null)
    const summary: RunSummary = {
      backend: backend.name,
      backbone: plan.backbone,
      size: plan.size,
      trainImages: train.length,
      validationImages: val.length,
      bestEpoch: s2 ? s2.summary.bestEpoch : s1.bestEpoch,
      stoppedEarly: s2 ? s2.summary.stoppedEarly : s1.stoppedEarly,
      valAccuracy: s2 ? s2.valAccuracy : ev1?.accuracy ?? null,
      valLoss: s2 ? s2.valLoss : ev1?.loss ?? null,
      confusion: scored?.confusion ?? null,
      perEnvironment: scored?.perEnvironment ?? [],
      embedding: { computed: emb.computed, cached: emb.cached, imagesPerSecond: emb.imagesPerSecond, workers, startedAhead: emb.startedAhead ?? 0 },
      stage2: s2?.summary ?? null,
      stage2Skipped: blocker,
      resumed: plan.resume,
      durationMs: performance.now() - started
    }
    const history = [...s1.history, ...(s2?.history ?? [])]
    writeFileSync(join(plan.runDir, 'metrics.json'), JSON.stringify({ summary, history, classes: plan.classes }, null, 2))
    emit({ type: 'runEnd', status: 'completed', summary, predictions: scored?.predictions ?? [] })
  } catch (err) {
    emit({ type: 'runEnd', status: 'failed', error: err instanceof Error ? err.message : String(err), ...(err instanceof BackendLost ? { restartAtBatch: err.batchSize } : {}) })
  } finally {
    // embedParallel ends the ones it was given; this covers a run that failed before embedding.
    for (const w of prestarted) void w.worker.terminate()
    for (const m of disposables) {
      try {
        m.dispose()
      } catch {
        // a backend that died of memory cannot free anything; the worker ends with it
      }
    }
  }
}
