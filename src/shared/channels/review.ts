// Channels of label-noise flags and the review queue (issue 7). Spread into the one contract in src/shared/contract.ts.
import { z } from 'zod'
import type { FlaggingReport, FlagItem, ReviewDecisionResult, ReviewItem, ReviewStatus, ReviewUndoResult } from '../review'
import { FLAG_TYPES } from '../review'
import type { JobStarted } from '../domain'
import { annotator, channel, empty, id } from './base'

const flagType = z.enum(FLAG_TYPES)

export const reviewChannels = {
  /** Runs flagging as a job ('flags'); the result arrives in job.end. */
  'review.run': channel<JobStarted>()(
    z
      .object({
        types: z.array(flagType).min(1).max(FLAG_TYPES.length).optional(),
        folds: z.number().int().min(2).max(20).optional(),
        backbone: z.string().max(100).optional(),
        size: z.number().int().min(16).max(512).optional(),
        hamming: z.number().int().min(0).max(15).optional(),
        seed: z.number().int().min(0).max(2 ** 31).optional()
      })
      .strict()
  ),
  'review.status': channel<ReviewStatus>()(empty),
  /** Open, current flags, highest score first. */
  'review.queue': channel<{ flags: FlagItem[] }>()(z.object({ types: z.array(flagType).max(FLAG_TYPES.length).optional() }).strict()),
  'review.item': channel<ReviewItem>()(z.object({ flagId: id }).strict()),
  'review.decide': channel<ReviewDecisionResult>()(
    z
      .object({ flagId: id, decision: z.enum(['accept', 'keep', 'relabel', 'exclude']), classId: id.optional(), annotator })
      .strict()
  ),
  'review.undo': channel<ReviewUndoResult>()(z.object({ annotator }).strict()),
  'review.canUndo': channel<{ canUndo: boolean }>()(z.object({ annotator }).strict())
} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface ReviewJobResults {
  flags: FlaggingReport
}
