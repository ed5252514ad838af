// What the main process hands the training worker, and what the worker sends back. The worker
// never reads UI state or the project database: everything it needs is in the plan.
import type { AugmentConfig } from './augment'
import type { TrainingBatch } from '../../shared/domain'
import type { HeadConfig } from './head'
import type { EpochMetrics } from './stage1'

export interface PlannedImage {
  id: number
  sha256: string
  /** An absolute path the worker can read. */
  path: string
  /** Index into `classes`. */
  label: number
  part: 'train' | 'validation' | 'test'
  environment: string | null
}

/** Stage 2 as planned: fraction 0 means the backbone stays frozen. */
export interface Stage2Plan {
  fraction: number
  learningRate: number
  epochs: number
  batchSize: number
  patience: number
  augment: AugmentConfig
  /** Stop stage 2 after the epoch that passes this much time (for equal-time comparisons). */
  maxMs?: number
}

export interface TrainPlan {
  runId: number
  runDir: string
  cacheDir: string
  images: PlannedImage[]
  classes: { id: number; name: string }[]
  backbone: string
  size: number
  head: HeadConfig
  /** One weight per class index. */
  classWeights: number[]
  /** Cache and train on horizontally flipped views too. */
  flip: boolean
  stage2: Stage2Plan | null
  /** Continue from the run's last checkpoint instead of starting over. */
  resume: boolean
  /** Threads that compute embeddings (default: one per core). */
  embedWorkers?: number
  /** Fault injection for tests only. */
  faults?: { failBatchAbove?: number; exhaustMemoryAbove?: number; loseBackendAbove?: number }
}

export interface Stage2Summary {
  /** 'cached': boundary activations computed once; 'full': the whole backbone ran every batch. */
  path: 'cached' | 'full'
  boundary: string
  blocks: number
  fraction: number
  trainableParams: number
  learningRate: number
  bestEpoch: number
  stoppedEarly: boolean
  batchSize: number
  /** Validation accuracy after stage 1 alone, for comparison. */
  stage1ValAccuracy: number | null
  /** Seconds spent computing boundary activations (0 on the full path). */
  boundarySeconds: number
}

export interface RunSummary {
  backend: string
  backbone: string
  size: number
  trainImages: number
  validationImages: number
  bestEpoch: number
  stoppedEarly: boolean
  valAccuracy: number | null
  valLoss: number | null
  /** Rows: true class index, columns: predicted. */
  confusion: number[][] | null
  perEnvironment: { environment: string; images: number; accuracy: number }[]
  /** `startedAhead`: workers that started with the training worker and computed here (runner.ts). */
  embedding: { computed: number; cached: number; imagesPerSecond: number; workers: number; startedAhead: number }
  /** Null when stage 2 did not run, with the reason in stage2Skipped. */
  stage2: Stage2Summary | null
  stage2Skipped: string | null
  resumed: boolean
  durationMs: number
}

export interface Prediction {
  imageId: number
  label: number
  predicted: number
  probs: number[]
}

/** A batch's progress, as the worker reports it and the UI shows it. */
export type BatchProgress = TrainingBatch

export type TrainerEvent =
  | { type: 'backend'; name: string }
  | { type: 'stageBegin'; stage: number; description: string }
  | { type: 'progress'; phase: 'embedding' | 'boundary' | 'training'; done: number; total: number }
  | { type: 'batchEnd'; progress: BatchProgress }
  | { type: 'epochEnd'; metrics: EpochMetrics }
  | { type: 'stageEnd'; stage: number }
  | { type: 'runEnd'; status: 'completed' | 'cancelled' | 'failed'; summary?: RunSummary; error?: string; predictions?: Prediction[]; /** The backend died of memory: a fresh worker can resume at this batch size. */ restartAtBatch?: number }

export type WorkerCommand = { type: 'start'; plan: TrainPlan } | { type: 'cancel' }
