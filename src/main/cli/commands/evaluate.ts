// Commands of evaluation, export and prediction (issue 6).
import type { Evaluation, GroupReport, Subset } from '../../../shared/evaluate'
import { libraryFilterSchema } from '../../../shared/library'
import { compareRuns } from '../../evaluate/compare'
import { evaluateRun } from '../../evaluate/evaluate'
import { exportRun, type DatasetFormat } from '../../evaluate/export'
import { predictWithModelDir } from '../../evaluate/predict'
import { latestCompletedRun } from '../../evaluate/runs'
import { openProject } from '../../project/project'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command, type Io } from '../io'
import { cancelOnSigint, progressPrinter } from '../progress'

function runIdOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--run must be a run id (a positive integer), got "${raw}"`)
  return n
}

/** validation | environment:NAME | attribute:NAME=VALUE | filter:JSON (the library filter). */
export function parseSubset(raw: string | undefined): Subset {
  if (raw === undefined || raw === 'validation') return { kind: 'validation' }
  if (raw.startsWith('environment:')) return { kind: 'environment', value: raw.slice('environment:'.length) }
  if (raw.startsWith('attribute:')) {
    const body = raw.slice('attribute:'.length)
    const eq = body.indexOf('=')
    if (eq < 1) throw new UsageError(`--subset attribute: needs NAME=VALUE, e.g. attribute:age=adult (got "${raw}")`)
    return { kind: 'attribute', name: body.slice(0, eq), value: body.slice(eq + 1) }
  }
  if (raw.startsWith('filter:')) {
    let json: unknown
    try {
      json = JSON.parse(raw.slice('filter:'.length))
    } catch (err) {
      throw new UsageError(`--subset filter: is not valid JSON: ${(err as Error).message}`)
    }
    const parsed = libraryFilterSchema.safeParse(json)
    if (!parsed.success) throw new UsageError(`--subset filter: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ')}`)
    return { kind: 'filter', filter: parsed.data }
  }
  throw new UsageError(`--subset must be validation, environment:NAME, attribute:NAME=VALUE or filter:JSON (got "${raw}")`)
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`)
const f3 = (v: number | null) => (v === null ? '—' : v.toFixed(3))
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length))
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s)

function printGroups(io: Io, g: GroupReport): void {
  io.out(`by ${g.name}:`)
  for (const x of g.groups) io.out(`  ${pad(x.group, 16)} ${lpad(String(x.images), 6)} images  acc ${lpad(pct(x.accuracy), 6)}  bal ${lpad(pct(x.balancedAccuracy), 6)}  macro-F1 ${f3(x.macroF1)}`)
  if (g.worst !== null) io.out(`  worst: ${g.worst}, gap to best (${g.best}): ${pct(g.gap)}`)
}

export function printEvaluation(io: Io, ev: Evaluation): void {
  io.out(`run ${ev.runId} on ${ev.subsetDescription}: ${ev.images} images scored${ev.unscored ? `, ${ev.unscored} without a label of this run` : ''}${ev.unreadable.length ? `, ${ev.unreadable.length} unreadable` : ''}`)
  io.out(`predictions: ${ev.source.stored} recorded, ${ev.source.computed} computed now${ev.relabeledSinceRun ? `; ${ev.relabeledSinceRun} images relabeled since the run` : ''}`)
  io.out(`accuracy ${pct(ev.overall.accuracy)}  balanced accuracy ${pct(ev.overall.balancedAccuracy)}  macro-F1 ${f3(ev.overall.macroF1)}  ECE ${f3(ev.calibration.ece)}`)
  const w = Math.max(8, ...ev.classes.map((c) => c.name.length))
  io.out('')
  io.out(`${pad('class', w)}  precision  recall     F1  support`)
  for (const c of ev.perClass) io.out(`${pad(c.name, w)}  ${lpad(pct(c.precision), 9)}  ${lpad(pct(c.recall), 6)}  ${lpad(f3(c.f1), 5)}  ${lpad(String(c.support), 7)}`)
  io.out('')
  io.out(`confusion (rows true, columns predicted): ${ev.classes.map((c) => c.name).join(', ')}`)
  const cw = Math.max(5, ...ev.confusion.flat().map((v) => String(v).length + 2))
  io.out(`${pad('', w)} ${ev.classes.map((c) => lpad(c.name.slice(0, cw - 1), cw)).join('')}`)
  ev.confusion.forEach((row, i) => io.out(`${pad(ev.classes[i].name, w)} ${row.map((v) => lpad(String(v), cw)).join('')}`))
  io.out('')
  printGroups(io, ev.perEnvironment)
  for (const g of ev.perSubgroup) printGroups(io, g)
  for (const u of ev.unreadable) io.out(`unreadable: ${u.error}`)
}

const evaluateCommand: Command = {
  name: 'evaluate',
  summary: "a run's confusion matrix, per-class, per-group and calibration figures",
  usage: 'studio evaluate <project> [--run ID] [--subset validation|environment:E|attribute:NAME=VALUE|filter:JSON] [--compare ID,ID] [--json]',
  help: `Evaluates a completed run (default: the latest) on its validation split or on a subset of the
project's images. Predictions the trainer recorded are used; other images are run through the
run's saved model and recorded. Truth is each image's current label.
  --run ID          the run (default: the latest completed run)
  --subset S        validation (default), environment:NAME, attribute:NAME=VALUE, or
                    filter:JSON with the library's filter fields, e.g. filter:{"classIds":[1,2]}
  --compare A,B     compare runs side by side (config differences and validation metrics)
  --json            print the evaluation as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, { run: { type: 'string' }, subset: { type: 'string' }, compare: { type: 'string' }, json: { type: 'boolean' } })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const subset = parseSubset(values.subset)
    const compare = values.compare?.split(',').map((s) => runIdOf(s.trim())!)
    if (compare && compare.length < 2) throw new UsageError('--compare needs at least two run ids, e.g. --compare 3,5')
    const project = openProject(positionals[0])
    const cancel = cancelOnSigint()
    const meter = progressPrinter(io, 'predicting')
    try {
      if (compare) {
        const c = await compareRuns(project, compare, { signal: cancel.signal, onProgress: meter.update })
        meter.end()
        if (values.json) return printJson(io, c), EXIT_OK
        io.out(`${pad('', 40)}${c.runIds.map((id) => lpad(`run ${id}`, 22)).join('')}`)
        for (const d of c.config) io.out(`${pad(d.key, 40)}${d.values.map((v) => lpad(String(v ?? '—').slice(0, 21), 22)).join('')}`)
        for (const m of c.metrics) io.out(`${pad(m.metric, 40)}${m.values.map((v) => lpad(v === null ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(4), 22)).join('')}`)
        for (const m of c.missing) io.out(`run ${m.runId}: ${m.reason}`)
        return EXIT_OK
      }
      const runId = runIdOf(values.run) ?? latestCompletedRun(project.db)
      const ev = await evaluateRun(project, runId, subset, { signal: cancel.signal, onProgress: meter.update })
      meter.end()
      if (values.json) printJson(io, ev)
      else printEvaluation(io, ev)
      return EXIT_OK
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}

const exportCommand: Command = {
  name: 'export',
  summary: 'export a run: model, labels, preprocessing, metrics, model card, dataset',
  usage: 'studio export <project> --run ID --out DIR [--force] [--dataset imagefolder|csv|none] [--link] [--json]',
  help: `Writes a completed run's model (one TensorFlow.js LayersModel: model/model.json + weights),
labels.json, preprocessing.json, metrics.json, model-card.md and model-card.html, the annotation
history (annotations.json) and optionally the dataset. Everything is written into a temporary
folder beside DIR and renamed into place at the end.
  --run ID          the run to export (required)
  --out DIR         the export folder; must be empty or absent unless --force
  --force           replace a non-empty DIR
  --dataset F       imagefolder (dataset/<split>/<class>/ copies), csv (dataset/manifest.csv
                    with splits) or none (default)
  --link            imagefolder: hard links instead of copies where possible
  --json            print the export report as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      run: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      dataset: { type: 'string' },
      link: { type: 'boolean' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const runId = runIdOf(values.run)
    if (runId === undefined) throw new UsageError('--run ID is required (see studio info or studio evaluate for run ids)')
    if (!values.out) throw new UsageError('--out DIR is required')
    const dataset = (values.dataset ?? 'none') as DatasetFormat
    if (!['imagefolder', 'csv', 'none'].includes(dataset)) throw new UsageError(`--dataset must be imagefolder, csv or none (got "${values.dataset}")`)
    const project = openProject(positionals[0])
    const cancel = cancelOnSigint()
    const meter = progressPrinter(io, 'exporting')
    try {
      const report = await exportRun(project, runId, values.out, { force: values.force, dataset, link: values.link, signal: cancel.signal, onProgress: meter.update })
      meter.end()
      if (values.json) printJson(io, report)
      else {
        io.out(`exported run ${report.runId} to ${report.out}`)
        for (const f of report.files) io.out(`  ${f.path}${f.bytes ? ` (${f.bytes} bytes)` : ''}`)
        io.out(`dataset: ${report.dataset.format}${report.dataset.format !== 'none' ? `, ${report.dataset.images} images` : ''}; annotation history: ${report.annotations} rows`)
        for (const s of report.dataset.skipped) io.out(`  skipped image ${s.imageId}: ${s.reason}`)
        io.out(`SavedModel: ${report.savedModel.reason}`)
      }
      return EXIT_OK
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}

const predictCommand: Command = {
  name: 'predict',
  summary: 'class probabilities from an exported model, no project needed',
  usage: 'studio predict <model-dir> <image-or-folder>... [--json]',
  help: `Loads an export (or a run folder): model/model.json, labels.json and preprocessing.json,
prepares each image exactly as the studio did when training, and prints the class probabilities.
Folders are searched for images. An unreadable image is reported and the exit code is 1.
  --json            print [{ path, predicted, probs: { class: p } }] as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } })
    if (positionals.length < 2) throw new UsageError('expected a model folder and at least one image or folder')
    const cancel = cancelOnSigint()
    const meter = progressPrinter(io, 'predicting')
    try {
      const { classes, rows } = await predictWithModelDir(positionals[0], positionals.slice(1), { signal: cancel.signal, onProgress: meter.update })
      meter.end()
      if (values.json) printJson(io, rows)
      else
        for (const r of rows) {
          if (!r.probs) io.out(`${r.path}: error: ${r.error}`)
          else io.out(`${r.path}: ${r.predicted} (${classes.map((c) => `${c} ${r.probs![c].toFixed(4)}`).join(', ')})`)
        }
      const bad = rows.filter((r) => r.error)
      for (const b of bad) if (values.json) io.err(`studio predict: ${b.error}`)
      if (!values.json && bad.length) io.err(`studio predict: ${bad.length} of ${rows.length} images could not be read`)
      return bad.length ? EXIT_FAILED : EXIT_OK
    } finally {
      cancel.dispose()
    }
  }
}

export const evaluateCommands: Command[] = [evaluateCommand, exportCommand, predictCommand]
