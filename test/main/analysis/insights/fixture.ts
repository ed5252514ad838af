// Small hand-made projects for the dashboard and checklist tests: rows straight into SQLite,
// labels through the labeling actions (so consensus is kept the way the app keeps it).
import { join } from 'node:path'
import { createRun, finishRun } from '../../../../src/main/db/repos/runs'
import { label } from '../../../../src/main/labeling/actions'
import { createProject, type Project } from '../../../../src/main/project/project'
import { seedImages } from '../../../helpers/seed'
import { tempDir } from '../../../helpers/tmp'

export interface Group {
  cls: string
  n: number
  env?: string | null
  subject?: (k: number) => string | null
  attrs?: Record<string, string>
  size?: [number, number]
  annotator?: string
}

export class Fixture {
  readonly p: Project
  private next = 0
  constructor(classes: string[]) {
    this.p = createProject(join(tempDir(), 'p'), { classes })
  }

  get db() {
    return this.p.db
  }

  classId(name: string): number {
    return (this.db.prepare('SELECT id FROM classes WHERE name = ?').get(name) as { id: number }).id
  }

  /** n images of one class; returns their ids. */
  add(g: Group): number[] {
    const start = this.next
    this.next += g.n
    const ids = seedImages(this.db, g.n, { environment: () => g.env ?? null, subject: (i) => g.subject?.(i - start) ?? null, attributes: () => g.attrs ?? {} }, start)
    if (g.size) this.db.prepare(`UPDATE images SET width = ?, height = ? WHERE id IN (${ids.join(',')})`).run(g.size[0], g.size[1])
    label(this.db, g.annotator ?? 'ann', ids, this.classId(g.cls))
    return ids
  }

  /** A finished run over a stored split: `parts` maps image id to its part; predictions optional. */
  run(parts: Map<number, 'train' | 'validation'>, classes: string[], predictions: { imageId: number; label: number; predicted: number }[] = [], status: 'completed' | 'failed' = 'completed'): number {
    const splitId = Number(this.db.prepare("INSERT INTO splits (name, method, params, created_at) VALUES ('t', 'stratified', '{}', ?)").run(new Date().toISOString()).lastInsertRowid)
    const assign = this.db.prepare('INSERT INTO split_assignments (split_id, image_id, part) VALUES (?, ?, ?)')
    for (const [id, part] of parts) assign.run(splitId, id, part)
    const runId = createRun(this.db, { classes: classes.map((name) => ({ id: this.classId(name), name })), split: { description: 'test split' } }, { backbone: 'pixels', splitId })
    const insert = this.db.prepare("INSERT INTO run_predictions (run_id, image_id, part, label, predicted, probs) VALUES (?, ?, 'validation', ?, ?, '[]')")
    for (const p of predictions) insert.run(runId, p.imageId, p.label, p.predicted)
    finishRun(this.db, runId, status, {})
    return runId
  }
}
