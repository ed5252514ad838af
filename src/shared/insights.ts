// Dashboards and the preflight checklist as the renderer, the CLI and the HTML report see them;
// computed by src/main/analysis/insights/.

/** The column of images with no environment (or no value of an attribute). */
export const NONE = '(none)'

/** A cell is under-represented when it has fewer images than this... */
export const GAP_MIN_IMAGES = 20
/** ...or less than this share of its class (issue 8). */
export const GAP_MIN_SHARE = 0.05

export interface ClassBalance {
  id: number
  name: string
  colour: string
  count: number
  share: number
  /** Cui et al.'s effective number of samples at beta (src/main/training/class-weights.ts). */
  effectiveNumber: number
  /** The loss weight training would give the class, per weight mode. */
  weights: { inverse: number; effective: number }
}

/** Rows are classes (in `classIds` order), columns the values of one dimension. */
export interface Heatmap {
  dimension: string
  classIds: number[]
  columns: string[]
  counts: number[][]
  columnTotals: number[]
}

/** An under-represented (class, dimension value) cell, said in words. */
export interface Gap {
  classId: number
  className: string
  dimension: string
  value: string
  count: number
  shareOfClass: number
  text: string
}

export interface SplitPartInsight {
  part: 'train' | 'validation' | 'test'
  images: number
  subjects: number
  perClass: Record<number, number>
  perEnvironment: Record<string, number>
  /** attribute -> value -> images. */
  perSubgroup: Record<string, Record<string, number>>
}

export interface SplitInsight {
  runId: number
  splitId: number
  description: string
  parts: SplitPartInsight[]
  /** Subjects with images in more than one part: identity leaking across the split. */
  sharedSubjects: number
}

export interface AnnotatorInsight {
  /** Labels each annotator gave, later changes included. */
  annotators: { name: string; labels: number }[]
  /** Images labeled by two or more annotators. */
  multiRated: number
  /** Krippendorff's alpha over those images, overall and per class; null when undefined. */
  alpha: number | null
  perClass: { classId: number; alpha: number | null }[]
}

export interface AccuracyCell {
  value: string
  /** Validation images of this group the run predicted. */
  evaluated: number
  correct: number
  accuracy: number
  /** Training images of this group in the run's split: the data beside the accuracy. */
  trainImages: number
}

export interface RunInsight {
  runId: number
  evaluated: number
  accuracy: number
  perClass: { name: string; evaluated: number; recall: number }[]
  perEnvironment: AccuracyCell[]
  perSubgroup: { attribute: string; cells: AccuracyCell[] }[]
}

export interface DashboardData {
  totals: { images: number; labeled: number; unlabeled: number; excluded: number; missing: number }
  classes: ClassBalance[]
  /** Largest over smallest non-empty class; null with no labeled images. */
  imbalanceRatio: number | null
  beta: number
  classByEnvironment: Heatmap
  classBySubgroup: Heatmap[]
  gaps: Gap[]
  split: SplitInsight | null
  annotators: AnnotatorInsight
  run: RunInsight | null
  /** How long the queries took, for the 200 ms budget, in all and per part. */
  ms: number
  timings: Record<string, number>
}

// ---- the preflight checklist ----

export type Verdict = 'pass' | 'warn' | 'fail'

/** The ten checks of the practice note, in its order (issue 8). */
export const CHECKS = [
  { id: 'input-resolution', title: 'Input resolution fixed' },
  { id: 'normalization', title: "Normalisation matches the backbone's pretraining" },
  { id: 'class-imbalance', title: 'Class imbalance handled' },
  { id: 'augmentation', title: 'Augmentation not excessive' },
  { id: 'head-size', title: 'Head parameters within budget' },
  { id: 'frozen-first-stage', title: 'Backbone frozen in the first stage' },
  { id: 'fine-tune-lr', title: "Fine-tuning learning rate lower than the head's" },
  { id: 'validation-split', title: 'Validation split explicit, without leakage' },
  { id: 'confusion-matrix', title: 'Confusion matrix reviewed' },
  { id: 'production-environment', title: 'Production environment tested' }
] as const

export type CheckId = (typeof CHECKS)[number]['id']
export const CHECK_IDS = CHECKS.map((c) => c.id) as [CheckId, ...CheckId[]]

export type SplitProposal =
  | { kind: 'stratified' | 'subject'; validation: number; seed: number }
  | { kind: 'environment'; validationEnvironments: string[] }
  | { kind: 'column' }

export interface AugmentationProposal {
  flip?: boolean
  verticalFlip?: boolean
  /** Largest rotation, degrees either way. */
  rotation?: number
  /** Largest share of each side a random crop removes. */
  crop?: number
  /** Largest brightness / contrast / saturation change, as a fraction either way. */
  brightness?: number
  contrast?: number
  saturation?: number
  /** Largest hue shift, degrees. */
  hue?: number
}

export interface StageProposal {
  /** Share of the backbone's blocks trainable in this stage, from the top; 0 = frozen. */
  unfreeze: number
  learningRate: number
  epochs?: number
}

/**
 * A training config the checklist judges: the options of `training.start` plus what the
 * trainer's own options hold (head, stages, augmentation). Missing fields take the trainer's defaults.
 */
/** training.start's stage-2 options (src/main/training/runner.ts Stage2Options). */
export interface Stage2Proposal {
  enabled?: boolean
  fraction?: number
  learningRate?: number
  epochs?: number
  batchSize?: number
  augment?: { flip?: boolean; rotateDeg?: number; brightness?: number; contrast?: number; minCrop?: number }
}

export interface ProposedConfig {
  backbone?: string
  size?: number
  split?: SplitProposal
  weights?: 'inverse' | 'effective' | 'off'
  epochs?: number
  seed?: number
  flip?: boolean
  normalization?: 'minus1to1' | 'zero1' | 'imagenet'
  head?: { hidden?: number; dropout?: number; learningRate?: number }
  stage2?: Stage2Proposal
  /** Every stage spelled out (stage 1 first); when given it replaces what stage2 would plan. */
  stages?: StageProposal[]
  augmentation?: AugmentationProposal
}

export type CheckFix =
  /** Change the proposed config; `applies` is false when training.start cannot take that field yet. */
  | { kind: 'config'; label: string; patch: ProposedConfig; applies: boolean }
  /** Go somewhere in the app (e.g. the Evaluate view) to do it. */
  | { kind: 'navigate'; label: string; route: string }

export interface ChecklistOverride {
  checkId: CheckId
  reason: string
  annotator: string | null
  createdAt: string
}

export interface CheckResult {
  id: CheckId
  number: number
  title: string
  verdict: Verdict
  /** One line, in words, with the numbers that decided it. */
  explanation: string
  fix: CheckFix | null
  override: ChecklistOverride | null
}

export interface ChecklistReport {
  /** The config as judged, with the trainer's defaults filled in. */
  config: Required<Pick<ProposedConfig, 'backbone' | 'size' | 'weights' | 'flip'>> & {
    split: SplitProposal
    splitDescription: string
    head: { hidden: number; dropout: number; learningRate: number }
    stages: StageProposal[]
  }
  checks: CheckResult[]
  counts: Record<Verdict, number>
  /** Warnings and failures without an override. */
  open: number
}

/** What a run's config carries: the verdicts when it started and the overrides standing then. */
export interface ChecklistSnapshot {
  checks: { id: CheckId; verdict: Verdict; explanation: string }[]
  overrides: ChecklistOverride[]
}
