// Channels of dashboards and the preflight checklist (issue 8). Spread into the one contract in src/shared/contract.ts.
import { z } from 'zod'
import { CHECK_IDS, type ChecklistOverride, type ChecklistReport, type DashboardData } from '../insights'
import { annotator, channel, empty } from './base'

/**
 * The proposed training config. Its fields are checked in the core against training.start's own
 * schema plus the trainer's extra options (src/main/analysis/insights/proposal.ts), so this map
 * need not restate them and a field training.start gains later is judged with no change here.
 */
const config = z.record(z.string(), z.unknown()).optional()

export const insightsChannels = {
  'insights.dashboard': channel<DashboardData>()(empty),
  /** The dashboard as one standalone HTML page (data and charts inline, works offline). */
  'insights.report': channel<{ html: string; fileName: string }>()(empty),
  'insights.checklist': channel<ChecklistReport>()(z.object({ config }).strict()),
  'insights.override': channel<ChecklistOverride[]>()(
    z
      .object({
        checkId: z.enum(CHECK_IDS),
        reason: z.string().trim().min(3, 'say why you override this check (at least 3 characters)').max(500, 'keep the reason under 500 characters'),
        annotator: annotator.optional()
      })
      .strict()
  ),
  'insights.clearOverride': channel<ChecklistOverride[]>()(z.object({ checkId: z.enum(CHECK_IDS) }).strict())
} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface InsightsJobResults {}
