// What the checklist needs to know about the project's data, read once per evaluation with SQL
// aggregates (no per-image loops), then handed to the ten checks as plain numbers.
import type { Db } from '../../db/connection'
import { NONE } from '../../../shared/insights'
import { untilWrite } from './cache'
import { ACTIVE, activeClasses, labeledCombos, type ActiveClass } from './composition'
import { classCounts, currentScan, latestPredictedRun, runRecall } from './dashboard'

export interface ImageSize {
  width: number
  height: number
  n: number
}

export interface LastRun {
  id: number
  confusionViewedAt: string | null
  /** Validation recall per class; empty when the run stored no validation predictions. */
  recall: { name: string; evaluated: number; recall: number }[]
}

export interface Facts {
  classes: ActiveClass[]
  counts: Record<number, number>
  labeled: number
  /** Labeled images per environment (NONE for none). */
  environments: Record<string, number>
  sizes: ImageSize[]
  /** Labeled images with a subject id. */
  withSubject: number
  /** Subjects with two or more labeled images. */
  repeatedSubjects: number
  /** Groups of labeled images sharing one perceptual hash (near-identical pictures). */
  duplicateGroups: number
  /** Open leakage flags from the review queue (issue 7), if it has raised any. */
  leakageFlags: number
  lastRun: LastRun | null
}

const LABELED = `FROM images i JOIN image_labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id WHERE ${ACTIVE} AND c.deleted_at IS NULL`

/** Facts depend on the data only, not on the config: kept until the next write (cache.ts). */
export const gatherFacts = untilWrite(readFacts)

function readFacts(db: Db): Facts {
  const classes = activeClasses(db)
  // the dashboard's pass, kept current between writes (live.ts); parts of a split are summed away
  const combos = labeledCombos(currentScan(db).rows, classes)
  const counts = classCounts(classes, combos)
  const environments: Record<string, number> = {}
  for (const c of combos) environments[c.environment] = (environments[c.environment] ?? 0) + c.n
  const subjects = db
    .prepare(`SELECT count(*) AS images, count(DISTINCT i.subject_id) AS distinctSubjects ${LABELED} AND i.subject_id IS NOT NULL AND i.subject_id <> ''`)
    .get() as { images: number; distinctSubjects: number }
  const repeated = db
    .prepare(`SELECT count(*) AS n FROM (SELECT i.subject_id ${LABELED} AND i.subject_id IS NOT NULL AND i.subject_id <> '' GROUP BY i.subject_id HAVING count(*) > 1)`)
    .get() as { n: number }
  const dupes = db.prepare(`SELECT count(*) AS n FROM (SELECT i.phash ${LABELED} AND i.phash IS NOT NULL GROUP BY i.phash HAVING count(*) > 1)`).get() as { n: number }
  const leaks = db.prepare(`SELECT count(*) AS n FROM flags WHERE status = 'open' AND stale = 0 AND type LIKE '%leak%'`).get() as { n: number }
  return {
    classes,
    counts,
    labeled: combos.reduce((a, c) => a + c.n, 0),
    environments,
    sizes: db.prepare(`SELECT i.width, i.height, count(*) AS n ${LABELED} GROUP BY i.width, i.height`).all() as ImageSize[],
    withSubject: subjects.images,
    repeatedSubjects: repeated.n,
    duplicateGroups: dupes.n,
    leakageFlags: leaks.n,
    lastRun: lastRun(db)
  }
}

function lastRun(db: Db): LastRun | null {
  const run = db.prepare("SELECT id, confusion_viewed_at AS viewed FROM runs WHERE status = 'completed' ORDER BY id DESC LIMIT 1").get() as
    | { id: number; viewed: string | null }
    | undefined
  if (!run) return null
  const predicted = latestPredictedRun(db)
  const names = predicted?.id === run.id ? ((JSON.parse(predicted.config) as { classes?: { name: string }[] }).classes ?? []).map((c) => c.name) : []
  return { id: run.id, confusionViewedAt: run.viewed, recall: predicted?.id === run.id ? runRecall(db, run.id, names) : [] }
}

/**
 * Subjects whose images would sit on both sides of a split the checklist can predict without
 * running it: a held-out environment (subjects seen in both kinds of environment) or the user's
 * split column (subjects under more than one split value). Null for random splits.
 */
export function crossingSubjects(db: Db, split: { kind: string; validationEnvironments?: string[] }): number | null {
  if (split.kind === 'environment') {
    const held = split.validationEnvironments ?? []
    const marks = held.map(() => '?').join(', ')
    const r = db
      .prepare(
        `SELECT count(*) AS n FROM (SELECT i.subject_id ${LABELED} AND i.subject_id IS NOT NULL AND i.subject_id <> ''
         GROUP BY i.subject_id HAVING count(DISTINCT (coalesce(nullif(i.environment, ''), '${NONE}') IN (${marks || "''"}))) > 1)`
      )
      .get(...held) as { n: number }
    return r.n
  }
  if (split.kind === 'column') {
    const part = `CASE lower(trim(coalesce(i.split_hint, ''))) WHEN 'val' THEN 'v' WHEN 'validation' THEN 'v' WHEN 'valid' THEN 'v'
      WHEN 'publictest' THEN 'v' WHEN 'dev' THEN 'v' WHEN 'test' THEN 't' WHEN 'privatetest' THEN 't' ELSE 'r' END`
    const r = db
      .prepare(`SELECT count(*) AS n FROM (SELECT i.subject_id ${LABELED} AND i.subject_id IS NOT NULL AND i.subject_id <> '' GROUP BY i.subject_id HAVING count(DISTINCT ${part}) > 1)`)
      .get() as { n: number }
    return r.n
  }
  return null
}
