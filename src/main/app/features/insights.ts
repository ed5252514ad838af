// Handlers for dashboards and the preflight checklist (issue 8).
import type { insightsChannels } from '../../../shared/channels/insights'
import { clearOverride, runChecklist, setOverride } from '../../analysis/insights/checklist'
import { dashboard } from '../../analysis/insights/dashboard'
import { dashboardReport } from '../../analysis/insights/report'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function insightsHandlers(session: Session): Pick<Handlers, keyof typeof insightsChannels> {
  const db = () => session.requireProject().db
  return {
    'insights.dashboard': () => dashboard(db()),
    'insights.report': () => dashboardReport(session.requireProject()),
    'insights.checklist': (req) => runChecklist(db(), req.config ?? {}),
    'insights.override': (req) => setOverride(db(), req.checkId, req.reason, req.annotator ?? null),
    'insights.clearOverride': (req) => clearOverride(db(), req.checkId)
  }
}
