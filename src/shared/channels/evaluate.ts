// Channels of evaluation, export and prediction (issue 6). Spread into the one contract in src/shared/contract.ts.
import { z } from 'zod'
import type { JobStarted } from '../domain'
import type { Evaluation, ExportReport, RunBrief, RunComparison } from '../evaluate'
import { subsetSchema } from '../evaluate'
import { channel, empty, id } from './base'

const folder = z.string().trim().min(1, 'choose a folder').max(4096)

export const evaluateChannels = {
  /** Every run, newest first, with whether it has a model to evaluate. */
  'evaluate.runs': channel<RunBrief[]>()(empty),
  /** Evaluates a run on a subset as a job ('evaluate'); the Evaluation arrives in job.end. */
  'evaluate.run': channel<JobStarted>()(z.object({ runId: id, subset: subsetSchema }).strict()),
  /** The confusion matrix of this run has been shown (the preflight checklist reads it). */
  'evaluate.markViewed': channel<{ confusionViewedAt: string }>()(z.object({ runId: id }).strict()),
  /** Runs side by side, as a job ('compare'). */
  'evaluate.compare': channel<JobStarted>()(z.object({ runIds: z.array(id).min(2, 'choose at least two runs').max(4, 'compare at most four runs') }).strict()),
  /** The folder an export of this run goes to by default: <project>/exports/run-<id>. */
  'export.defaultFolder': channel<{ path: string }>()(z.object({ runId: id }).strict()),
  /** Exports a run as a job ('export'). */
  'export.start': channel<JobStarted>()(
    z
      .object({
        runId: id,
        out: folder,
        force: z.boolean().optional(),
        dataset: z.enum(['imagefolder', 'csv', 'none']).optional(),
        link: z.boolean().optional()
      })
      .strict()
  )
} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface EvaluateJobResults {
  evaluate: Evaluation
  compare: RunComparison
  export: ExportReport
}
