// Export of a run: the model (one tfjs LayersModel), labels, preprocessing, metrics, the model
// card, optionally the dataset (ImageFolder tree or CSV manifest) and the full annotation history.
// Everything is written into a temporary folder beside the target and renamed into place at the
// end, so a failure or a cancel leaves either the old folder or nothing, never half an export.
import { randomBytes } from 'node:crypto'
import { copyFileSync, cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, extname, join, relative, resolve } from 'node:path'
import { setImmediate } from 'node:timers/promises'
import * as tf from '@tensorflow/tfjs'
import { StudioError } from '../../shared/errors'
import type { Evaluation, ExportReport } from '../../shared/evaluate'
import type { Project } from '../project/project'
import { LABELS_FILE, MODEL_DIR, PREPROCESSING_FILE } from '../training/artifacts'
import { getBackbone } from '../training/backbones'
import type { Normalization } from '../training/preprocess'
import { cardHtml, cardMarkdown, knownLimitations, type CardData } from './card'
import { evaluateRun, type EvaluateHooks } from './evaluate'
import { getRunRecord, loadModelOfRun, requireCompleted, runDir, type RunRecord } from './runs'

export type DatasetFormat = 'imagefolder' | 'csv' | 'none'

export interface ExportOptions extends EvaluateHooks {
  force?: boolean
  dataset?: DatasetFormat
  /** ImageFolder: hard links instead of copies where the file system allows them. */
  link?: boolean
}

function fail(code: 'conflict' | 'io_error' | 'cancelled', message: string, field?: string): never {
  throw new StudioError(code, message, field)
}

/** The target must be absent, an empty folder, or (with force) a folder to replace. */
function checkTarget(out: string, force: boolean): void {
  if (!existsSync(out)) return
  if (!statSync(out).isDirectory()) fail('conflict', `${out} is a file, not a folder`, 'out')
  if (readdirSync(out).length && !force) fail('conflict', `${out} is not empty; choose an empty folder or replace it with --force`, 'out')
}

const tempPrefix = (out: string) => `.${basename(out)}.export-`
/** A temporary folder this old is a crashed export's, not one still being written. */
const STALE_MS = 60 * 60 * 1000

/**
 * What a crashed export to `out` left beside it. A replaced export waiting as `<tmp>.old` (the
 * process died between moving it aside and moving the new one in) goes back to `out` if `out` is
 * missing, so the user's earlier export is never lost; temporary folders over an hour old go.
 * Returns what it did, for the report.
 */
export function sweepExportLeftovers(out: string, now = Date.now()): { restored: string | null; removed: string[] } {
  const parent = dirname(out)
  let names: string[]
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(tempPrefix(out)))
  } catch {
    return { restored: null, removed: [] } // no parent yet: nothing left over
  }
  let restored: string | null = null
  const removed: string[] = []
  // Newest first: if several replaced exports wait, the latest is the one that was in place.
  const mtime = (f: string) => {
    try {
      return statSync(f).mtimeMs
    } catch {
      return 0
    }
  }
  const aside = names.filter((n) => n.endsWith('.tmp.old')).map((n) => join(parent, n)).sort((a, b) => mtime(b) - mtime(a))
  // A leftover that cannot be moved or removed stays: it must not stop the export.
  for (const old of aside) {
    try {
      if (!existsSync(out) && restored === null) {
        renameSync(old, out)
        restored = old
      } else {
        rmSync(old, { recursive: true, force: true })
        removed.push(old)
      }
    } catch {
      // left for the user; the next export tries again
    }
  }
  for (const n of names.filter((n) => n.endsWith('.tmp'))) {
    const tmp = join(parent, n)
    try {
      if (now - statSync(tmp).mtimeMs < STALE_MS) continue // maybe another export still writing
      rmSync(tmp, { recursive: true, force: true })
      removed.push(tmp)
    } catch {
      // as above
    }
  }
  return { restored, removed }
}

function makeTemp(out: string): string {
  const parent = dirname(out)
  const tmp = join(parent, `${tempPrefix(out)}${randomBytes(4).toString('hex')}.tmp`)
  try {
    mkdirSync(parent, { recursive: true })
    mkdirSync(tmp)
  } catch (err) {
    fail('io_error', `cannot write in ${parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'out')
  }
  return tmp
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n')
}

const safeName = (s: string) => s.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_').replace(/^\.+/, '_').trim() || '_'

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v)
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

interface DatasetRow {
  id: number
  fileName: string
  sha256: string
  source: string | null
  stored: string | null
  environment: string | null
  subject: string | null
  attributes: string
  className: string
  part: string | null
}

function datasetRows(project: Project, run: RunRecord): DatasetRow[] {
  return project.db
    .prepare(
      `SELECT i.id, i.file_name AS fileName, i.sha256, i.source_path AS source, i.stored_path AS stored, i.environment,
              i.subject_id AS subject, i.attributes, c.name AS className, a.part
       FROM images i JOIN image_labels l ON l.image_id = i.id JOIN classes c ON c.id = l.class_id
       LEFT JOIN split_assignments a ON a.image_id = i.id AND a.split_id = ?
       WHERE i.excluded = 0 AND c.deleted_at IS NULL ORDER BY i.id`
    )
    .all(run.splitId) as DatasetRow[]
}

async function writeDataset(project: Project, run: RunRecord, tmp: string, format: DatasetFormat, link: boolean, hooks: EvaluateHooks): Promise<ExportReport['dataset']> {
  if (format === 'none') return { format, images: 0, skipped: [] }
  const rows = datasetRows(project, run)
  const skipped: ExportReport['dataset']['skipped'] = []
  const pathOf = (r: DatasetRow) => (r.stored ? join(project.dir, r.stored) : r.source!)
  if (format === 'csv') {
    const head = ['image_id', 'path', 'file_name', 'sha256', 'label', 'split', 'environment', 'subject', 'attributes']
    const lines = rows.map((r) => [r.id, pathOf(r), r.fileName, r.sha256, r.className, r.part ?? 'unassigned', r.environment, r.subject, r.attributes].map(csvCell).join(','))
    writeFileSync(join(tmp, 'dataset', 'manifest.csv'), [head.join(','), ...lines].join('\n') + '\n', { flag: 'w' })
    return { format, images: rows.length, skipped }
  }
  let done = 0
  for (const r of rows) {
    if (hooks.signal?.aborted) fail('cancelled', 'export cancelled')
    const from = pathOf(r)
    const ext = extname(r.fileName)
    const to = join(tmp, 'dataset', r.part ?? 'unassigned', safeName(r.className), `${r.id}_${safeName(basename(r.fileName, ext))}${ext}`)
    mkdirSync(dirname(to), { recursive: true })
    try {
      if (!link) copyFileSync(from, to)
      else {
        try {
          linkSync(from, to)
        } catch {
          copyFileSync(from, to) // another device or a file system without hard links
        }
      }
    } catch (err) {
      skipped.push({ imageId: r.id, reason: `${from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` })
    }
    if (++done % 200 === 0) {
      hooks.onProgress?.(done, rows.length, 'copying images')
      await setImmediate()
    }
  }
  return { format, images: rows.length - skipped.length, skipped }
}

function annotationHistory(project: Project): unknown[] {
  return project.db
    .prepare(
      `SELECT a.id, a.image_id AS imageId, i.sha256, i.file_name AS fileName, a.class_id AS classId, c.name AS className,
              a.annotator, a.source, a.action_id AS actionId, a.created_at AS createdAt
       FROM annotations a JOIN images i ON i.id = a.image_id LEFT JOIN classes c ON c.id = a.class_id ORDER BY a.id`
    )
    .all()
}

function cardData(project: Project, run: RunRecord, ev: Evaluation): CardData {
  const db = project.db
  const backboneId = String(run.config.backbone ?? run.backbone)
  const b = backboneFacts(backboneId)
  const size = Number(run.config.size)
  const head = run.config.head as { hidden?: number; dropout?: number; learningRate?: number } | undefined
  const epochs = db.prepare('SELECT count(*) FROM run_epochs WHERE run_id = ?').pluck().get(run.id) as number
  const count = (sql: string) => db.prepare(sql).pluck().get() as number
  const parts = db.prepare('SELECT part, count(*) AS images FROM split_assignments WHERE split_id = ? GROUP BY part ORDER BY part DESC').all(run.splitId) as { part: string; images: number }[]
  const balance = db
    .prepare(
      `SELECT c.name, coalesce(a.part, 'other') AS part, count(*) AS n FROM image_labels l JOIN images i ON i.id = l.image_id JOIN classes c ON c.id = l.class_id
       LEFT JOIN split_assignments a ON a.image_id = i.id AND a.split_id = ? WHERE i.excluded = 0 GROUP BY c.id, part`
    )
    .all(run.splitId) as { name: string; part: 'train' | 'validation' | 'test' | 'other'; n: number }[]
  const composition = (run.config.composition ?? null) as { subjectsInBoth?: number } | null
  const split = run.config.split as { description?: string } | undefined
  const summary = run.summary ?? {}
  const base: Omit<CardData, 'limitations'> = {
    title: `Freezeframe model: run ${run.id} (${ev.classes.map((c) => c.name).join(', ')})`,
    createdAt: new Date().toISOString(),
    runId: run.id,
    backbone: { id: b.id, name: b.name, provenance: b.provenance },
    size,
    preprocessing: preprocessingText(project, run.id),
    trainedAt: { started: run.startedAt, ended: run.endedAt },
    training: {
      bestEpoch: typeof summary.bestEpoch === 'number' ? summary.bestEpoch : null,
      epochs,
      backend: typeof summary.backend === 'string' ? summary.backend : null,
      head: head ? `Dense ${head.hidden ?? '?'} relu, dropout ${head.dropout ?? '?'}, softmax; Adam, learning rate ${head.learningRate ?? '?'}` : 'not recorded'
    },
    data: {
      images: count('SELECT count(*) FROM images'),
      labeled: count('SELECT count(*) FROM image_labels l JOIN images i ON i.id = l.image_id WHERE l.class_id IS NOT NULL AND i.excluded = 0'),
      excluded: count('SELECT count(*) FROM images WHERE excluded = 1'),
      environments: db.prepare("SELECT coalesce(environment, '(none)') AS name, count(*) AS count FROM images WHERE excluded = 0 GROUP BY 1 ORDER BY 2 DESC").all() as { name: string; count: number }[]
    },
    classBalance: ev.classes.map((c) => {
      const of = (part: string) => balance.find((x) => x.name === c.name && x.part === part)?.n ?? 0
      return { name: c.name, train: of('train'), validation: of('validation'), test: of('test'), other: of('other') }
    }),
    split: { description: split?.description ?? 'not recorded', parts, subjectsInBoth: typeof composition?.subjectsInBoth === 'number' ? composition.subjectsInBoth : null },
    evaluation: ev,
    checklist: checklistOf(run.config.checklist)
  }
  return { ...base, limitations: knownLimitations(base) }
}

/** The registry's entry; a backbone no longer registered here (a removed folder) still gets a card. */
function backboneFacts(id: string): { id: string; name: string; provenance: string; normalization: Normalization } {
  try {
    return getBackbone(id)
  } catch {
    return { id, name: id, provenance: 'not known to this studio any more (its registration was removed); see preprocessing.json for how inputs were prepared', normalization: 'zero1' }
  }
}

/** What the run's own preprocessing.json says: the card must describe the spec the model was saved with. */
function preprocessingText(project: Project, runId: number): string {
  const file = join(runDir(project, runId), PREPROCESSING_FILE)
  return (JSON.parse(readFileSync(file, 'utf8')) as { description?: string }).description ?? 'see preprocessing.json'
}

function checklistOf(raw: unknown): CardData['checklist'] {
  if (!raw || typeof raw !== 'object') return null
  const c = raw as { checks?: unknown; overrides?: unknown }
  if (!Array.isArray(c.checks)) return null
  return {
    checks: (c.checks as Record<string, unknown>[]).map((x) => ({ id: String(x.id), verdict: String(x.verdict), explanation: String(x.explanation ?? '') })),
    overrides: Array.isArray(c.overrides) ? (c.overrides as Record<string, unknown>[]).map((o) => ({ checkId: String(o.checkId), reason: String(o.reason ?? ''), annotator: (o.annotator as string | null) ?? null })) : []
  }
}

const CONVERT =
  'To get one, convert model/model.json with the TensorFlow.js converter: tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras_saved_model model/model.json saved_model'

/** Why no SavedModel is written, in the terms of the backend that is active. */
export function savedModelReason(backend: string): string {
  return backend === 'tensorflow'
    ? `not written: the native TensorFlow backend is active, but @tensorflow/tfjs-node can load SavedModels, not write them. ${CONVERT}`
    : `not written: no native TensorFlow backend is active here (TensorFlow.js runs on ${backend}), and even @tensorflow/tfjs-node can load SavedModels but not write them. ${CONVERT}`
}

function listFiles(dir: string, base = dir): ExportReport['files'] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) return name === 'dataset' ? [{ path: relative(base, p) + '/', bytes: 0 }] : listFiles(p, base)
    return [{ path: relative(base, p), bytes: st.size }]
  })
}

/** Replaces `out` with the finished temporary folder; the old content goes only once the new is in place. */
function commit(tmp: string, out: string): void {
  let old: string | null = null
  if (existsSync(out)) {
    old = `${tmp}.old`
    renameSync(out, old)
  }
  try {
    renameSync(tmp, out)
  } catch (err) {
    if (old) renameSync(old, out)
    throw err
  }
  if (old) rmSync(old, { recursive: true, force: true })
}

export async function exportRun(project: Project, runId: number, outIn: string, opts: ExportOptions = {}): Promise<ExportReport> {
  const out = resolve(outIn)
  const run = getRunRecord(project.db, runId)
  requireCompleted(run)
  if (out === resolve(project.dir) || resolve(project.dir).startsWith(out + '/')) fail('conflict', `${out} holds the project itself; choose another folder`, 'out')
  sweepExportLeftovers(out)
  checkTarget(out, opts.force ?? false)
  // Before anything is written: the model must load (a missing shard is named here).
  const loaded = await loadModelOfRun(project, run)
  loaded.dispose()
  const tmp = makeTemp(out)
  try {
    opts.onProgress?.(0, null, 'evaluating the validation split')
    const ev = await evaluateRun(project, runId, { kind: 'validation' }, opts)
    const src = runDir(project, runId)
    cpSync(join(src, MODEL_DIR), join(tmp, MODEL_DIR), { recursive: true })
    cpSync(join(src, LABELS_FILE), join(tmp, LABELS_FILE))
    cpSync(join(src, PREPROCESSING_FILE), join(tmp, PREPROCESSING_FILE))
    const history = project.db.prepare('SELECT stage, epoch, loss, accuracy, val_loss AS valLoss, val_accuracy AS valAccuracy FROM run_epochs WHERE run_id = ? ORDER BY stage, epoch').all(runId)
    const { cells: _cells, ...metrics } = ev
    writeJson(join(tmp, 'metrics.json'), { format: 'freezeframe-metrics', version: 1, run: { id: run.id, config: run.config, summary: run.summary }, evaluation: metrics, history })
    const card = cardData(project, run, ev)
    writeFileSync(join(tmp, 'model-card.md'), cardMarkdown(card))
    writeFileSync(join(tmp, 'model-card.html'), cardHtml(card))
    if (opts.signal?.aborted) fail('cancelled', 'export cancelled')
    mkdirSync(join(tmp, 'dataset'), { recursive: true })
    const dataset = await writeDataset(project, run, tmp, opts.dataset ?? 'none', opts.link ?? false, opts)
    if ((opts.dataset ?? 'none') === 'none') rmSync(join(tmp, 'dataset'), { recursive: true })
    const annotations = annotationHistory(project)
    writeJson(join(tmp, 'annotations.json'), { format: 'freezeframe-annotations', version: 1, annotations })
    const savedModel = { written: false, reason: savedModelReason(tf.getBackend()) }
    const files = listFiles(tmp)
    writeJson(join(tmp, 'export.json'), { format: 'freezeframe-export', version: 1, runId, createdAt: new Date().toISOString(), savedModel, dataset, files })
    if (opts.signal?.aborted) fail('cancelled', 'export cancelled')
    commit(tmp, out)
    return { runId, out, files: listFiles(out), savedModel, dataset, annotations: annotations.length }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    if (err instanceof StudioError) throw err
    const e = err as NodeJS.ErrnoException
    throw new StudioError('io_error', `export to ${out} failed, nothing was written: ${e.code ? `${e.code} ${e.path ?? ''}`.trim() : e.message}`, 'out')
  }
}
