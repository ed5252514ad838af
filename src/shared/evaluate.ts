// What evaluation, comparison and export return: shared by the core, the contract, the CLI's
// --json output and the renderer's Evaluate and Export views.
import { z } from 'zod'
import { libraryFilterSchema } from './library'

/** Which images a run is evaluated on. */
export const subsetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('validation') }).strict(),
  z.object({ kind: z.literal('environment'), value: z.string().max(200) }).strict(),
  z.object({ kind: z.literal('attribute'), name: z.string().min(1).max(100), value: z.string().max(200) }).strict(),
  z.object({ kind: z.literal('filter'), filter: libraryFilterSchema }).strict()
])
export type Subset = z.infer<typeof subsetSchema>

export interface ClassMetrics {
  index: number
  classId: number
  name: string
  precision: number | null
  recall: number | null
  f1: number | null
  /** Images whose true class this is. */
  support: number
  /** Images predicted as this class. */
  predicted: number
}

export interface Summary {
  images: number
  accuracy: number | null
  balancedAccuracy: number | null
  macroF1: number | null
}

export interface GroupMetrics extends Summary {
  group: string
}

/** Metrics per value of one grouping (environment or a subgroup attribute), worst and best named. */
export interface GroupReport {
  kind: 'environment' | 'attribute'
  name: string
  groups: GroupMetrics[]
  /** Group with the lowest balanced accuracy (accuracy when a group lacks classes); null below two groups. */
  worst: string | null
  best: string | null
  /** best - worst, on the same measure; null below two groups. */
  gap: number | null
  measure: 'balancedAccuracy'
  /** Groups with fewer images are listed but not ranked: one or two images make a noisy worst. */
  minImages: number
}

export interface ReliabilityBin {
  lo: number
  hi: number
  count: number
  /** Mean top-class probability of the images in the bin; null when empty. */
  confidence: number | null
  accuracy: number | null
}

export interface Calibration {
  /** Expected calibration error: sum over bins of count/n * |accuracy - confidence|. */
  ece: number | null
  bins: ReliabilityBin[]
}

export interface Mistake {
  imageId: number
  fileName: string
  sha256: string
  label: number
  predicted: number
  /** Probability of the predicted class. */
  confidence: number
  /** Probability the model gave the true class. */
  trueProbability: number
}

export interface Evaluation {
  runId: number
  subset: Subset
  subsetDescription: string
  classes: { index: number; id: number; name: string }[]
  /** Images scored (their current label is one of the run's classes). */
  images: number
  /** Images in the subset left out: unlabeled, or labeled with a class the run did not train on. */
  unscored: number
  /** Images that could not be read when predicting. */
  unreadable: { imageId: number; error: string }[]
  /** Where the predictions came from: recorded by the trainer, or computed now with the saved model. */
  source: { stored: number; computed: number }
  /** Scored images whose current label differs from the one the run trained/validated with. */
  relabeledSinceRun: number
  confusion: number[][]
  /** Each row divided by its sum (recall per true class); rows with no images are zeros. */
  confusionNormalized: number[][]
  /** Image ids per cell [true][predicted], for opening them in the grid. */
  cells: number[][][]
  perClass: ClassMetrics[]
  overall: Summary
  perEnvironment: GroupReport
  perSubgroup: GroupReport[]
  calibration: Calibration
  /** Wrong predictions, most confident first. */
  mistakes: Mistake[]
}

export interface RunBrief {
  id: number
  status: string
  backbone: string | null
  startedAt: string
  endedAt: string | null
  error: string | null
  valAccuracy: number | null
  hasModel: boolean
  confusionViewedAt: string | null
}

export interface ConfigDifference {
  key: string
  values: (string | null)[]
}

export interface MetricRow {
  metric: string
  values: (number | null)[]
}

export interface RunComparison {
  runIds: number[]
  config: ConfigDifference[]
  metrics: MetricRow[]
  /** Runs whose validation predictions were not available (never evaluated, or no model). */
  missing: { runId: number; reason: string }[]
}

export interface ExportReport {
  runId: number
  out: string
  files: { path: string; bytes: number }[]
  savedModel: { written: boolean; reason: string }
  dataset: { format: 'imagefolder' | 'csv' | 'none'; images: number; skipped: { imageId: number; reason: string }[] }
  annotations: number
}

export interface PredictionRow {
  path: string
  predicted: string | null
  probs: Record<string, number> | null
  error?: string
}
