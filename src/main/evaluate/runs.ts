// A run as evaluation and export see it: its record, whether it may be used, and its saved model.
// Runs from before the trainer saved the whole model (a head in runs/<id>/head/ and a frozen
// backbone) get their model composed once from those two, the same way saveRunModel composes it.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { StudioError } from '../../shared/errors'
import type { RunBrief } from '../../shared/evaluate'
import type { Db } from '../db/connection'
import type { Project } from '../project/project'
import { fileModelHandler, loadRunModel, MODEL_DIR, saveRunModel, type LoadedRunModel } from '../training/artifacts'
import { initBackend } from '../training/backend'
import { loadFeatureExtractor, preprocessSpecFor } from '../training/backbones'

export interface RunClass {
  id: number
  name: string
}

export interface RunRecord {
  id: number
  status: string
  config: Record<string, unknown>
  summary: Record<string, unknown> | null
  error: string | null
  backbone: string | null
  splitId: number | null
  startedAt: string
  endedAt: string | null
  confusionViewedAt: string | null
  classes: RunClass[]
}

type RunRow = Omit<RunRecord, 'config' | 'summary' | 'classes'> & { config: string; summary: string | null }

const SELECT = `SELECT id, status, config, summary, error, backbone, split_id AS splitId, started_at AS startedAt,
  ended_at AS endedAt, confusion_viewed_at AS confusionViewedAt FROM runs`

function toRecord(r: RunRow): RunRecord {
  const config = JSON.parse(r.config) as Record<string, unknown>
  const classes = Array.isArray(config.classes) ? (config.classes as RunClass[]) : []
  return { ...r, config, summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null, classes }
}

export function getRunRecord(db: Db, runId: number): RunRecord {
  const row = db.prepare(`${SELECT} WHERE id = ?`).get(runId) as RunRow | undefined
  if (!row) throw new StudioError('not_found', `run ${runId} does not exist in this project`, 'runId')
  return toRecord(row)
}

export function latestCompletedRun(db: Db): number {
  const id = db.prepare("SELECT id FROM runs WHERE status = 'completed' ORDER BY id DESC LIMIT 1").pluck().get() as number | undefined
  if (id === undefined) throw new StudioError('not_found', 'this project has no completed training run yet; train one first')
  return id
}

export function runDir(project: Project, runId: number): string {
  return project.path('runs', String(runId))
}

/** A cancelled, failed or unfinished run has no trustworthy model: refused with the reason. */
export function requireCompleted(run: RunRecord): void {
  if (run.status === 'completed') return
  const why =
    run.status === 'cancelled'
      ? 'was cancelled before it finished'
      : run.status === 'failed'
        ? `failed${run.error ? `: ${run.error}` : ''}`
        : run.status === 'interrupted'
          ? 'was interrupted (the studio stopped while it trained)'
          : `is still ${run.status}`
  throw new StudioError('conflict', `run ${run.id} ${why}; only completed runs can be evaluated or exported`, 'runId')
}

export function listRunBriefs(project: Project): RunBrief[] {
  const rows = project.db.prepare(`${SELECT} ORDER BY id DESC`).all() as RunRow[]
  return rows.map((row) => {
    const r = toRecord(row)
    const dir = runDir(project, r.id)
    const val = r.summary?.valAccuracy
    return {
      id: r.id,
      status: r.status,
      backbone: r.backbone,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      error: r.error,
      valAccuracy: typeof val === 'number' ? val : null,
      hasModel: existsSync(join(dir, MODEL_DIR, 'model.json')) || canComposeFromHead(r, dir),
      confusionViewedAt: r.confusionViewedAt
    }
  })
}

let backend: Promise<unknown> | null = null

/** The tfjs backend, started once per process (the trainer's worker starts its own). */
export function ensureBackend(): Promise<unknown> {
  backend ??= initBackend()
  return backend
}

/** A stage-1 run (backbone frozen) whose head was saved alone: its model can be composed exactly. */
function canComposeFromHead(run: RunRecord, dir: string): boolean {
  const stage2 = Object.keys(run.config).some((k) => /fine|stage2|unfreeze/i.test(k) && run.config[k])
  return !stage2 && typeof run.config.backbone === 'string' && existsSync(join(dir, 'head', 'model.json'))
}

async function composeFromHead(run: RunRecord, dir: string): Promise<void> {
  const backboneId = run.config.backbone as string
  const size = Number(run.config.size)
  const head = await tf.loadLayersModel(fileModelHandler(join(dir, 'head')))
  const extractor = await loadFeatureExtractor(backboneId, size)
  try {
    await saveRunModel(dir, { backbone: extractor.model, head, spec: preprocessSpecFor(backboneId, size), backboneId, classes: run.classes })
  } finally {
    extractor.dispose()
    head.dispose()
  }
}

/** The run's folder, with its model composed first for a run that only saved its head. */
export async function ensureRunModel(project: Project, run: RunRecord): Promise<string> {
  requireCompleted(run)
  const dir = runDir(project, run.id)
  if (!existsSync(join(dir, MODEL_DIR, 'model.json'))) {
    if (!canComposeFromHead(run, dir)) throw new StudioError('not_found', `run ${run.id} has no saved model in ${join(dir, MODEL_DIR)}`, 'runId')
    await ensureBackend()
    await composeFromHead(run, dir)
  }
  return dir
}

/** Loads the run's saved model (composing it first if needed); a broken model is an io_error naming the file. */
export async function loadModelOfRun(project: Project, run: RunRecord): Promise<LoadedRunModel> {
  const dir = await ensureRunModel(project, run)
  await ensureBackend()
  try {
    return await loadRunModel(dir)
  } catch (err) {
    throw new StudioError('io_error', (err as Error).message, join(dir, MODEL_DIR))
  }
}
