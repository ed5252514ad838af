// Handlers for evaluation, export and prediction (issue 6).
import type { evaluateChannels } from '../../../shared/channels/evaluate'
import { compareRuns } from '../../evaluate/compare'
import { evaluateRun, markConfusionViewed } from '../../evaluate/evaluate'
import { exportRun } from '../../evaluate/export'
import { listRunBriefs } from '../../evaluate/runs'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function evaluateHandlers(session: Session): Pick<Handlers, keyof typeof evaluateChannels> {
  return {
    'evaluate.runs': () => listRunBriefs(session.requireProject()),
    'evaluate.run': (req) => session.startJob('evaluate', (project, ctx) => evaluateRun(project, req.runId, req.subset, { signal: ctx.signal, onProgress: ctx.progress })),
    'evaluate.markViewed': (req) => ({ confusionViewedAt: markConfusionViewed(session.requireProject().db, req.runId) }),
    'evaluate.compare': (req) => session.startJob('compare', (project, ctx) => compareRuns(project, req.runIds, { signal: ctx.signal, onProgress: ctx.progress })),
    'export.defaultFolder': (req) => ({ path: session.requireProject().path('exports', `run-${req.runId}`) }),
    'export.start': (req) =>
      session.startJob('export', (project, ctx) =>
        exportRun(project, req.runId, req.out, { force: req.force, dataset: req.dataset, link: req.link, signal: ctx.signal, onProgress: ctx.progress })
      )
  }
}
