// Backbones from the command line: which there are and whether they need a download, fetching
// one, adding or removing a folder of your own, and the probe that ranks them on a project.
import { resolve } from 'node:path'
import { openProject } from '../../project/project'
import { listBackbones, prepareBackbone, registerFolderBackbone, unregisterFolderBackbone } from '../../training/backbones'
import type { Normalization } from '../../training/preprocess'
import { probeProject } from '../../training/probe-inputs'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command, type Io } from '../io'
import { cancelOnSigint, progressPrinter } from '../progress'

const NORMALIZATIONS: Normalization[] = ['zero1', 'minus1to1', 'imagenet']

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got "${raw}")`)
  return n
}

function list(io: Io, values: { project?: string; json?: boolean }): number {
  const all = listBackbones(values.project ? resolve(values.project) : null)
  if (values.json) {
    printJson(io, all.map((b) => ({ id: b.id, name: b.name, status: b.status, source: b.source?.kind ?? 'bundled', sizes: b.sizes, defaultSize: b.defaultSize, featureDim: b.featureDim, fineTunable: b.fineTunable, provenance: b.provenance })))
    return EXIT_OK
  }
  for (const b of all) io.out(`${b.id.padEnd(32)} ${b.status.padEnd(15)} ${String(b.featureDim).padStart(5)}-d  ${b.sizes.join('/')} px  ${b.fineTunable ? 'fine-tunable' : 'frozen'}  ${b.name}`)
  return EXIT_OK
}

async function download(io: Io, id: string | undefined): Promise<number> {
  if (!id) throw new UsageError('expected the id of a backbone to download')
  const meter = progressPrinter(io, `downloading ${id}`)
  const sigint = cancelOnSigint()
  try {
    await prepareBackbone(id, { signal: sigint.signal, onProgress: (p) => meter.update(p.filesDone, p.filesTotal) })
  } finally {
    meter.end()
    sigint.dispose()
  }
  io.out(`${id}: ready`)
  return EXIT_OK
}

async function add(io: Io, folder: string | undefined, values: Record<string, string | boolean | undefined>): Promise<number> {
  if (!folder) throw new UsageError('expected a folder holding model.json and its weight shards')
  const normalization = values.normalization as Normalization | undefined
  if (normalization && !NORMALIZATIONS.includes(normalization)) throw new UsageError(`--normalization must be one of ${NORMALIZATIONS.join(', ')} (got "${normalization}")`)
  const entry = await registerFolderBackbone(folder, {
    featureLayer: values.layer as string | undefined,
    size: positiveInt('size', values.size as string | undefined),
    name: values.name as string | undefined,
    project: values.project as string | undefined,
    normalization
  })
  if (values.json) printJson(io, entry)
  else io.out(`added ${entry.id}: ${entry.featureDim}-d features from ${entry.source?.kind === 'folder' ? entry.source.sourceLayer : entry.featureLayer}, ${entry.defaultSize} px, ${entry.blocks.length} blocks`)
  return EXIT_OK
}

export const backbonesCommand: Command = {
  name: 'backbones',
  summary: 'list backbones and their status; download one; add or remove your own model folder',
  usage: 'studio backbones [list] [--project <dir>] [--json] | download <id> | add <folder> [--layer <name>] [--size <px>] [--name <text>] [--normalization zero1|minus1to1|imagenet] [--project <dir>] | remove <id>',
  help: `list (default): every backbone with its status: ready, needs download (ImageNet weights fetched from
           their published URL on first use; set FREEZEFRAME_MODEL_MIRROR to fetch from a local copy) or
           missing (a registered folder that is gone). --project adds folders registered for that project.
  download <id>: fetch and sha256-record a backbone's weights into the model cache (Ctrl+C cancels).
  add <folder>: register a tfjs LayersModel folder (model.json + shards) as a backbone, for every project
           or (--project) one. Features come from --layer, else its last pooled/flattened layer, else its
           last convolutional map, globally average-pooled. --normalization says how its inputs are scaled
           (default zero1: pixel / 255).
  remove <id>: forget a registered folder (the folder itself is left alone).`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      json: { type: 'boolean' },
      project: { type: 'string' },
      layer: { type: 'string' },
      size: { type: 'string' },
      name: { type: 'string' },
      normalization: { type: 'string' }
    })
    const [action = 'list', target, ...rest] = positionals
    if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
    if (action === 'list') return list(io, values)
    if (action === 'download') return download(io, target)
    if (action === 'add') return add(io, target, values)
    if (action === 'remove') {
      if (!target) throw new UsageError('expected the id of a registered folder backbone')
      if (!unregisterFolderBackbone(target)) {
        io.err(`studio backbones: no registered folder backbone "${target}"`)
        return EXIT_FAILED
      }
      io.out(`removed ${target}`)
      return EXIT_OK
    }
    throw new UsageError(`unknown action "${action}"; expected list, download, add or remove`)
  }
}

export const probeCommand: Command = {
  name: 'probe',
  summary: 'rank the backbones on a project by a quick linear probe',
  usage: 'studio probe <dir> [--per-class <n>] [--backbones <id,id>] [--folds <k>] [--seed <n>] [--download] [--json]',
  help: `Embeds a stratified sample of the labeled images with each ready backbone (cached, so the training run
reuses them), scores a ridge classifier by K-fold cross-validation, and ranks by balanced accuracy.
  --per-class <n>     images sampled per class at most (default 60)
  --backbones <ids>   comma-separated ids (default: every ready backbone)
  --folds <k>         cross-validation folds (default 5)
  --download          fetch listed backbones that need a download (default: report them as not probed)
  --json              print the report (ranking, best, sample, method, classes) as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      json: { type: 'boolean' },
      'per-class': { type: 'string' },
      backbones: { type: 'string' },
      folds: { type: 'string' },
      seed: { type: 'string' },
      download: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const project = openProject(positionals[0])
    const meter = progressPrinter(io, 'probing')
    const sigint = cancelOnSigint()
    try {
      const report = await probeProject(
        project,
        {
          samplePerClass: positiveInt('per-class', values['per-class']),
          backbones: values.backbones?.split(',').map((b) => b.trim()).filter(Boolean),
          folds: positiveInt('folds', values.folds),
          seed: positiveInt('seed', values.seed),
          download: values.download
        },
        { signal: sigint.signal, progress: (done, total) => meter.update(done, total) }
      )
      meter.end()
      if (values.json) printJson(io, report)
      else {
        for (const [i, e] of report.ranking.entries()) {
          const pct = (v: number | null) => (v === null ? '   -  ' : `${(v * 100).toFixed(1).padStart(5)}%`)
          io.out(`${i + 1}. ${e.backbone.padEnd(32)} balanced ${pct(e.balancedAccuracy)}  accuracy ${pct(e.accuracy)}  ${e.seconds.toFixed(1)} s${e.error ? `  (${e.error})` : ''}`)
        }
        io.out(`best: ${report.best ?? 'none'}; ${report.sample.images} images sampled (${report.sample.perClass.join('/')} per class of ${report.classes.join(', ')}); ${report.method}${report.cancelled ? '; CANCELLED' : ''}`)
      }
      return report.best ? EXIT_OK : EXIT_FAILED
    } finally {
      meter.end()
      sigint.dispose()
      project.close()
    }
  }
}

export const backbonesCommands: Command[] = [backbonesCommand, probeCommand]
