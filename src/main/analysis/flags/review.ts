// The review queue's decisions. Label changes go through labeling/actions.ts, so the label undo
// history and the consensus stay right; every decision is also appended to review_decisions for
// later analysis (an undo appends an 'undo' row naming the decision it reverses).
import { StudioError } from '../../../shared/errors'
import type { FlagItem, ReviewDecisionKind } from '../../../shared/review'
import type { Db } from '../../db/connection'
import { consensusLabel } from '../../db/repos/annotations'
import { label, setField, undo, type ActionSummary } from '../../labeling/actions'
import { carryVersions, getFlag, setFlagStatus, versions } from './store'

/** Annotations written by the queue carry this source: they settle the image's label (see consensus.ts). */
export const REVIEW_SOURCE = 'review'

const STATUS: Record<ReviewDecisionKind, FlagItem['status']> = { accept: 'accepted', keep: 'kept', relabel: 'relabeled', exclude: 'excluded' }
const UNDO_TAG = 'undo-of:'

export interface Decision {
  flagId: number
  decision: ReviewDecisionKind
  annotator: string
  /** For relabel: the class to give. */
  classId?: number
}

function openFlag(db: Db, flagId: number): FlagItem {
  const flag = getFlag(db, flagId)
  if (!flag) throw new StudioError('not_found', `flag ${flagId} does not exist (flagging was run again meanwhile?)`, 'flagId')
  if (flag.status !== 'open') throw new StudioError('conflict', `flag ${flagId} was already decided (${flag.status})`, 'flagId')
  return flag
}

function apply(db: Db, flag: FlagItem, d: Decision): { action: ActionSummary | null; to: number | null } {
  if (d.decision === 'accept') {
    if (flag.suggestedClassId === null) throw new StudioError('invalid_payload', `flag ${flag.id} (${flag.type}) has no suggested label to accept; relabel, keep or exclude it`, 'decision')
    return { action: label(db, d.annotator, [flag.imageId], flag.suggestedClassId, REVIEW_SOURCE), to: flag.suggestedClassId }
  }
  if (d.decision === 'relabel') {
    if (d.classId === undefined) throw new StudioError('invalid_payload', 'relabel needs a classId', 'classId')
    return { action: label(db, d.annotator, [flag.imageId], d.classId, REVIEW_SOURCE), to: d.classId }
  }
  if (d.decision === 'exclude') return { action: setField(db, d.annotator, [flag.imageId], { kind: 'exclude' }, true), to: null }
  return { action: null, to: null }
}

/** Applies a decision to an open flag and records it; returns the label action, if any, for undo. */
export function decide(db: Db, d: Decision): { flag: FlagItem; action: ActionSummary | null } {
  return db.transaction(() => {
    const flag = openFlag(db, d.flagId)
    const before = versions(db)
    const from = consensusLabel(db, flag.imageId)
    const { action, to } = apply(db, flag, d)
    setFlagStatus(db, flag.id, STATUS[d.decision])
    db.prepare(
      'INSERT INTO review_decisions (flag_id, image_id, decision, from_class, to_class, annotator, action_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'
    ).run(flag.id, flag.imageId, d.decision, from, to, d.annotator, action?.id ?? null, new Date().toISOString())
    carryVersions(db, before)
    return { flag: getFlag(db, flag.id)!, action }
  })()
}

interface DecisionRow {
  id: number
  flag_id: number | null
  image_id: number
  decision: ReviewDecisionKind
  action_id: string | null
}

function lastUndoable(db: Db, annotator: string): DecisionRow | undefined {
  return db
    .prepare(
      `SELECT id, flag_id, image_id, decision, action_id FROM review_decisions d
       WHERE annotator = ? AND decision != 'undo' AND flag_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM review_decisions u WHERE u.decision = 'undo' AND u.action_id = '${UNDO_TAG}' || d.id)
       ORDER BY id DESC LIMIT 1`
    )
    .get(annotator) as DecisionRow | undefined
}

export function canUndoReview(db: Db, annotator: string): boolean {
  return lastUndoable(db, annotator) !== undefined
}

/**
 * Reverses this annotator's latest review decision: its label or exclusion is undone through the
 * label history (only if it is still their latest edit, so nothing else is undone by surprise)
 * and the flag opens again.
 */
export function undoDecision(db: Db, annotator: string): { flag: FlagItem; decision: ReviewDecisionKind; action: ActionSummary | null } {
  return db.transaction(() => {
    const row = lastUndoable(db, annotator)
    if (!row) throw new StudioError('conflict', `no review decision of ${annotator} to undo`)
    let action: ActionSummary | null = null
    const before = versions(db)
    if (row.action_id) {
      const latest = db.prepare("SELECT id FROM actions WHERE annotator = ? AND state = 'done' ORDER BY seq DESC LIMIT 1").pluck().get(annotator)
      if (latest !== row.action_id) {
        throw new StudioError('conflict', `${annotator} has edited labels since this review decision (or undid it elsewhere); undo those edits first in Label or Library`)
      }
      action = undo(db, annotator)
    }
    setFlagStatus(db, row.flag_id!, 'open')
    // The image's label is back to the flagged one, so the flag is current again.
    db.prepare('UPDATE flags SET stale = 0 WHERE id = ?').run(row.flag_id)
    db.prepare(
      "INSERT INTO review_decisions (flag_id, image_id, decision, from_class, to_class, annotator, action_id, created_at) VALUES (?, ?, 'undo', NULL, NULL, ?, ?, ?)"
    ).run(row.flag_id, row.image_id, annotator, `${UNDO_TAG}${row.id}`, new Date().toISOString())
    carryVersions(db, before)
    return { flag: getFlag(db, row.flag_id!)!, decision: row.decision, action }
  })()
}
