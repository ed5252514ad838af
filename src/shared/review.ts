// Label-noise flags and the review queue: the types the core, the contract, the CLI and the
// renderer share (issue 7).
import type { ImageCard } from './library'

export const FLAG_TYPES = ['mislabeled', 'disagreement', 'duplicate', 'leakage', 'outlier'] as const
export type FlagType = (typeof FLAG_TYPES)[number]

export const FLAG_TYPE_LABELS: Record<FlagType, string> = {
  mislabeled: 'Likely mislabeled',
  disagreement: 'Annotators disagree',
  duplicate: 'Near-duplicate, different label',
  leakage: 'Leaks across train/validation',
  outlier: 'Outlier'
}

export type FlagStatus = 'open' | 'accepted' | 'kept' | 'relabeled' | 'excluded'
export type ReviewDecisionKind = 'accept' | 'keep' | 'relabel' | 'exclude'

/** What a flag carries to explain itself; each type fills its own fields. */
export interface FlagEvidence {
  /** The consensus label when the flag was raised (staleness compares against it). */
  givenClassId: number | null
  /** mislabeled: out-of-fold probabilities by class id, self-confidence and margin. */
  probs?: { classId: number; p: number }[]
  selfConfidence?: number
  margin?: number
  /** disagreement: each annotator's current label, and the entropy in bits. */
  labels?: { annotator: string; classId: number }[]
  entropy?: number
  /** duplicate / leakage: the other image, its label and the perceptual-hash distance (bits of 64). */
  otherImageId?: number
  otherClassId?: number | null
  distance?: number
  /** leakage: which parts, and the shared subject when that is the reason. */
  part?: string
  otherPart?: string
  subject?: string
  runId?: number
  /** outlier: cosine distance to the nearest class centroid, its robust z-score, that class. */
  centroidDistance?: number
  z?: number
  nearestClassId?: number
  /** One sentence for people. */
  summary: string
}

export interface FlagItem {
  id: number
  imageId: number
  type: FlagType
  /** 0..1, higher = more worth a look; the queue walks it descending. */
  score: number
  suggestedClassId: number | null
  evidence: FlagEvidence
  status: FlagStatus
  stale: boolean
  runId: number | null
  createdAt: string
}

export interface Neighbour {
  imageId: number
  sha256: string
  fileName: string
  classId: number | null
  /** Cosine similarity of the embeddings, -1..1. */
  similarity: number
}

export interface ReviewItem {
  flag: FlagItem
  card: ImageCard
  /** The image's other open flags. */
  otherFlags: { id: number; type: FlagType; score: number }[]
  neighbours: Neighbour[]
  /** Why there are no neighbours, when there are none. */
  neighboursNote: string | null
}

export interface NoiseEstimate {
  classes: { id: number; name: string }[]
  /** p(given = row class | true = column class). */
  noise: number[][]
  /** The confident joint: counts of (given row, confidently column). */
  joint: number[][]
  thresholds: number[]
  estimatedNoisy: number
  folds: number
  foldNote: string | null
  images: number
}

export interface FlagRunInfo {
  id: number
  type: FlagType
  createdAt: string
  sourceVersion: string
  params: Record<string, unknown>
  flagged: number
  /** Labels or images changed since this run; its estimates are out of date. */
  stale: boolean
  warnings: string[]
}

export interface ReviewStatus {
  runs: FlagRunInfo[]
  counts: { type: FlagType; open: number; decided: number; stale: number }[]
  /** Current (not stale) flags: how many, how many decided. */
  total: number
  decided: number
  noise: NoiseEstimate | null
  /** Whether the data changed since the last run (or there is none): run flagging again. */
  needsRun: boolean
}

export interface FlaggingReport {
  runs: { type: FlagType; runId: number; flagged: number; skippedKept: number }[]
  warnings: string[]
  images: number
  durationMs: number
  cancelled: boolean
}

export interface ReviewDecisionResult {
  flag: FlagItem
  canUndo: boolean
}

export interface ReviewUndoResult {
  flag: FlagItem
  /** The decision undone. */
  decision: ReviewDecisionKind
  canUndo: boolean
}
