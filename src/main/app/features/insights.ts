// Handlers for dashboards and the preflight checklist (issue 8).
import type { insightsChannels } from '../../../shared/channels/insights'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function insightsHandlers(session: Session): Pick<Handlers, keyof typeof insightsChannels> {
  void session
  return {}
}
