import type { RunEpoch, RunInfo } from '../../../shared/domain'
import type { Db } from '../connection'

export type RunStatus = RunInfo['status']

/** One epoch's numbers, as the renderer gets them too. */
export type EpochMetrics = RunEpoch

export function createRun(db: Db, config: unknown, opts: { backend?: string; backbone?: string; splitId?: number } = {}): number {
  const info = db
    .prepare('INSERT INTO runs (status, config, backend, backbone, split_id, started_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run('running', JSON.stringify(config), opts.backend ?? null, opts.backbone ?? null, opts.splitId ?? null, new Date().toISOString())
  return Number(info.lastInsertRowid)
}

export function recordEpoch(db: Db, runId: number, m: EpochMetrics): void {
  db.prepare(
    `INSERT OR REPLACE INTO run_epochs (run_id, stage, epoch, loss, accuracy, val_loss, val_accuracy, images_per_second, duration_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
  ).run(runId, m.stage, m.epoch, m.loss, m.accuracy, m.valLoss, m.valAccuracy, m.imagesPerSecond, m.durationMs)
}

export function finishRun(db: Db, runId: number, status: RunStatus, opts: { error?: string; summary?: unknown } = {}): void {
  db.prepare('UPDATE runs SET status = ?, ended_at = ?, error = ?, summary = ? WHERE id = ?').run(
    status,
    new Date().toISOString(),
    opts.error ?? null,
    opts.summary === undefined ? null : JSON.stringify(opts.summary),
    runId
  )
}

export function runEpochs(db: Db, runId: number): EpochMetrics[] {
  return db
    .prepare(
      `SELECT stage, epoch, loss, accuracy, val_loss AS valLoss, val_accuracy AS valAccuracy,
        images_per_second AS imagesPerSecond, duration_ms AS durationMs
       FROM run_epochs WHERE run_id = ? ORDER BY stage, epoch`
    )
    .all(runId) as EpochMetrics[]
}

/** A run still marked running when a project is opened was cut short by a crash. */
export function markInterruptedRuns(db: Db): number {
  return db
    .prepare("UPDATE runs SET status = 'interrupted', ended_at = ? WHERE status IN ('running', 'queued')")
    .run(new Date().toISOString()).changes
}

export function getRun(db: Db, runId: number): { id: number; status: RunStatus; config: unknown; error: string | null } | undefined {
  const r = db.prepare('SELECT id, status, config, error FROM runs WHERE id = ?').get(runId) as
    | { id: number; status: RunStatus; config: string; error: string | null }
    | undefined
  return r && { ...r, config: JSON.parse(r.config) }
}

export function listRuns(db: Db): RunRow[] {
  return (
    db.prepare('SELECT id, status, backbone, backend, started_at AS startedAt, ended_at AS endedAt, error, config, summary FROM runs ORDER BY id DESC').all() as (Omit<RunRow, 'config' | 'summary'> & {
      config: string
      summary: string | null
    })[]
  ).map((r) => ({ ...r, config: JSON.parse(r.config) as Record<string, unknown>, summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null }))
}

export type RunRow = RunInfo
