// Handlers for evaluation, export and prediction (issue 6).
import type { evaluateChannels } from '../../../shared/channels/evaluate'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function evaluateHandlers(session: Session): Pick<Handlers, keyof typeof evaluateChannels> {
  void session
  return {}
}
