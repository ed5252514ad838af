// Handlers for label-noise flags and the review queue (issue 7).
import type { reviewChannels } from '../../../shared/channels/review'
import { StudioError } from '../../../shared/errors'
import { cardsByIds } from '../../labeling/library'
import { nearestNeighbours } from '../../analysis/flags/neighbours'
import { canUndoReview, decide, undoDecision } from '../../analysis/flags/review'
import { runFlagging } from '../../analysis/flags/run'
import { flagsOfImage, getFlag, listFlags, refreshStale, reviewStatus } from '../../analysis/flags/store'
import type { ActionSummary } from '../../labeling/actions'
import type { Handlers } from '../handlers'
import type { Session } from '../session'

export function reviewHandlers(session: Session): Pick<Handlers, keyof typeof reviewChannels> {
  const project = () => session.requireProject()
  const db = () => project().db
  /** Other views and tabs refresh the images a decision touched. */
  const changed = (action: ActionSummary | null) => {
    if (action) session.emit('images.changed', { imageIds: action.images, annotator: action.annotator, kind: action.kind })
    if (action) session.changed()
  }
  /** One flagging pass at a time: a second would compute the same thing and race to store it. */
  let flagging = false
  return {
    'review.run': (req) => {
      if (flagging) throw new StudioError('conflict', 'flagging is already running; wait for it or cancel it first')
      flagging = true
      return session.startJob('flags', async (p, ctx) => {
        try {
          return await runFlagging(p, req, { signal: ctx.signal, onProgress: (done, total, message) => ctx.progress(done, total, message) })
        } finally {
          flagging = false
        }
      })
    },
    'review.status': () => reviewStatus(db()),
    'review.queue': (req) => {
      refreshStale(db())
      return { flags: listFlags(db(), { types: req.types }) }
    },
    'review.item': async (req) => {
      const flag = getFlag(db(), req.flagId)
      if (!flag) throw new StudioError('not_found', `flag ${req.flagId} does not exist (flagging was run again meanwhile?)`, 'flagId')
      const [card] = cardsByIds(db(), [flag.imageId])
      const { neighbours, note } = await nearestNeighbours(project(), flag.imageId)
      return { flag, card, otherFlags: flagsOfImage(db(), flag.imageId, flag.id), neighbours, neighboursNote: note }
    },
    'review.decide': (req) => {
      const { flag, action } = decide(db(), req)
      changed(action)
      return { flag, canUndo: canUndoReview(db(), req.annotator) }
    },
    'review.undo': (req) => {
      const { flag, decision, action } = undoDecision(db(), req.annotator)
      changed(action)
      return { flag, decision, canUndo: canUndoReview(db(), req.annotator) }
    },
    'review.canUndo': (req) => ({ canUndo: canUndoReview(db(), req.annotator) })
  }
}
