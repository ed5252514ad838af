// Handlers for label-noise flags and the review queue (issue 7).
import type { reviewChannels } from '../../../shared/channels/review'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function reviewHandlers(session: Session): Pick<Handlers, keyof typeof reviewChannels> {
  void session
  return {}
}
