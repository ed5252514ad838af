// The preflight checklist: the ten checks on a proposed config, the user's standing overrides
// (checklist_overrides), and the snapshot a run keeps in its config for the model card.
import type { Db } from '../../db/connection'
import type { Project } from '../../project/project'
import { StudioError } from '../../../shared/errors'
import { CHECKS, type CheckId, type ChecklistOverride, type ChecklistReport, type ChecklistSnapshot, type ProposedConfig, type Verdict } from '../../../shared/insights'
import { CHECK_FUNCTIONS } from './checks'
import { crossingSubjects, gatherFacts } from './facts'
import { parseProposal, resolveProposal } from './proposal'

export function listOverrides(db: Db): ChecklistOverride[] {
  return db
    .prepare('SELECT check_id AS checkId, reason, annotator, created_at AS createdAt FROM checklist_overrides ORDER BY check_id')
    .all() as ChecklistOverride[]
}

/** Records (or replaces) the user's reason for going ahead despite a check; audited. */
export function setOverride(db: Db, checkId: CheckId, reason: string, annotator: string | null): ChecklistOverride[] {
  const text = reason.trim()
  if (text.length < 3) throw new StudioError('invalid_payload', 'reason: say why you override this check (at least 3 characters)', 'reason')
  if (!CHECKS.some((c) => c.id === checkId)) throw new StudioError('invalid_payload', `checkId: unknown check "${checkId}"`, 'checkId')
  const now = new Date().toISOString()
  db.transaction(() => {
    db.prepare(
      `INSERT INTO checklist_overrides (check_id, reason, annotator, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(check_id) DO UPDATE SET reason = excluded.reason, annotator = excluded.annotator, created_at = excluded.created_at`
    ).run(checkId, text, annotator, now)
    db.prepare("INSERT INTO audit_log (at, actor, action, details) VALUES (?, ?, 'checklist.override', ?)").run(now, annotator, JSON.stringify({ checkId, reason: text }))
  })()
  return listOverrides(db)
}

export function clearOverride(db: Db, checkId: CheckId, annotator: string | null = null): ChecklistOverride[] {
  db.transaction(() => {
    const removed = db.prepare('DELETE FROM checklist_overrides WHERE check_id = ?').run(checkId).changes
    if (removed) db.prepare("INSERT INTO audit_log (at, actor, action, details) VALUES (?, ?, 'checklist.clearOverride', ?)").run(new Date().toISOString(), annotator, JSON.stringify({ checkId }))
  })()
  return listOverrides(db)
}

/** Judges a proposed config (raw, as it arrives from a channel or the CLI) against the project's data. */
export function runChecklist(db: Db, raw: unknown = {}): ChecklistReport {
  const proposal = parseProposal(raw)
  const facts = gatherFacts(db)
  const config = resolveProposal(proposal, facts)
  const crossing = crossingSubjects(db, config.split)
  const overrides = new Map(listOverrides(db).map((o) => [o.checkId, o]))
  const checks = CHECKS.map((c, i) => {
    const j = CHECK_FUNCTIONS[c.id]({ config, facts, crossing })
    // An override only speaks for a check that is not passing; a pass shows no stale reason.
    const override = j.verdict === 'pass' ? null : (overrides.get(c.id) ?? null)
    return { id: c.id, number: i + 1, title: c.title, verdict: j.verdict, explanation: j.explanation, fix: j.fix ?? null, override }
  })
  const counts: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0 }
  for (const c of checks) counts[c.verdict]++
  const { backbone, size, weights, flip, split, splitDescription, head, stages } = config
  return { config: { backbone, size, weights, flip, split, splitDescription, head, stages }, checks, counts, open: checks.filter((c) => c.verdict !== 'pass' && !c.override).length }
}

/** The stage-2 options training.start knows (the runner also takes e.g. patience). */
function stage2Options(s: NonNullable<ProposedConfig['stage2']>): ProposedConfig['stage2'] {
  const { enabled, fraction, learningRate, epochs, batchSize, augment } = s
  return { enabled, fraction, learningRate, epochs, batchSize, augment }
}

/**
 * What a run keeps: the verdicts on its own options and the overrides standing when it started.
 * Never stops a run: a checklist that cannot be evaluated is recorded as such.
 */
export function checklistSnapshot(project: Project, options: ProposedConfig): ChecklistSnapshot & { error?: string } {
  const overrides = listOverrides(project.db)
  try {
    const report = runChecklist(project.db, {
      backbone: options.backbone,
      size: options.size,
      // The trainer's column split may carry an option training.start does not; the criterion is what counts.
      split: options.split?.kind === 'column' ? { kind: 'column' } : options.split,
      weights: options.weights,
      seed: options.seed,
      flip: options.flip,
      ...(options.stage2 ? { stage2: stage2Options(options.stage2) } : {}),
      ...(options.head ? { head: { hidden: options.head.hidden, dropout: options.head.dropout, learningRate: options.head.learningRate } } : {})
    })
    return { checks: report.checks.map((c) => ({ id: c.id, verdict: c.verdict, explanation: c.explanation })), overrides }
  } catch (err) {
    return { checks: [], overrides, error: (err as Error).message }
  }
}
