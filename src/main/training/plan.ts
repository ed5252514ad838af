// What the main process hands the training worker, and what the worker sends back. The worker
// never reads UI state or the project database: everything it needs is in the plan.
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
  embedding: { computed: number; cached: number; imagesPerSecond: number }
  durationMs: number
}

export type TrainerEvent =
  | { type: 'backend'; name: string }
  | { type: 'stageBegin'; stage: number; description: string }
  | { type: 'progress'; phase: 'embedding' | 'training'; done: number; total: number }
  | { type: 'epochEnd'; metrics: EpochMetrics }
  | { type: 'stageEnd'; stage: number }
  | { type: 'runEnd'; status: 'completed' | 'cancelled' | 'failed'; summary?: RunSummary; error?: string }

export type WorkerCommand = { type: 'start'; plan: TrainPlan } | { type: 'cancel' }
