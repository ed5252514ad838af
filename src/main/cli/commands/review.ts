// Commands of label-noise flags and the review queue (issue 7).
import { FLAG_TYPE_LABELS, FLAG_TYPES, type FlaggingReport, type FlagItem, type FlagType, type NoiseEstimate } from '../../../shared/review'
import { listClasses } from '../../db/repos/classes'
import { runFlagging } from '../../analysis/flags/run'
import { listFlags, reviewStatus } from '../../analysis/flags/store'
import { openProject, type Project } from '../../project/project'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command, type Io } from '../io'
import { cancelOnSigint, progressPrinter } from '../progress'

function intOption(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer ${min}..${max} (got "${raw}")`)
  return n
}

function typesOf(raw: string[] | undefined): FlagType[] | undefined {
  if (!raw?.length) return undefined
  const types = raw.flatMap((r) => r.split(',')).map((t) => t.trim()).filter(Boolean)
  for (const t of types) if (!(FLAG_TYPES as readonly string[]).includes(t)) throw new UsageError(`--type must be one of ${FLAG_TYPES.join(', ')} (got "${t}")`)
  return types as FlagType[]
}

function printNoise(io: Io, noise: NoiseEstimate): void {
  io.out(`estimated noise matrix p(given label | true label), ${noise.images} images, ${noise.folds} folds; about ${noise.estimatedNoisy} wrong labels:`)
  const w = Math.max(8, ...noise.classes.map((c) => c.name.length)) + 1
  io.out(`${'given\\true'.padEnd(w)}${noise.classes.map((c) => c.name.slice(0, 8).padStart(9)).join('')}`)
  noise.noise.forEach((row, i) => io.out(`${noise.classes[i].name.padEnd(w)}${row.map((v) => v.toFixed(2).padStart(9)).join('')}`))
}

function printFlags(io: Io, project: Project, flags: FlagItem[], limit: number): void {
  const names = new Map(listClasses(project.db).map((c) => [c.id, c.name]))
  const name = (id: number | null) => (id === null ? '-' : (names.get(id) ?? `#${id}`))
  const files = project.db.prepare('SELECT file_name FROM images WHERE id = ?').pluck()
  for (const f of flags.slice(0, limit)) {
    io.out(`${f.score.toFixed(3)}  ${f.type.padEnd(12)} image ${String(f.imageId).padEnd(6)} ${String(files.get(f.imageId)).padEnd(28)} ${name(f.evidence.givenClassId).padEnd(10)} -> ${name(f.suggestedClassId).padEnd(10)} ${f.evidence.summary}`)
  }
  if (flags.length > limit) io.out(`... and ${flags.length - limit} more (--limit N, or --json for all)`)
}

function printReport(io: Io, report: FlaggingReport): void {
  for (const r of report.runs) io.out(`${FLAG_TYPE_LABELS[r.type]}: ${r.flagged} flagged${r.skippedKept ? ` (${r.skippedKept} left out: kept as they are earlier)` : ''}`)
  for (const w of report.warnings) io.out(`warning: ${w}`)
  io.out(`flagging took ${(report.durationMs / 1000).toFixed(1)} s over ${report.images} images`)
}

export const flagsCommand: Command = {
  name: 'flags',
  summary: 'find likely wrong labels, disagreements, near-duplicates, leakage and outliers',
  usage: 'studio flags <project> [--type T[,T]] [--refresh] [--folds K] [--backbone ID] [--hamming B] [--limit N] [--json]',
  help: `Prints the open flags of the project, highest score first. Computes them first when there are
none yet or the labels or images changed since they were computed (or always, with --refresh).
Types: mislabeled (K-fold cross-validated head on cached embeddings + confident learning),
disagreement (label entropy across annotators), duplicate (near-duplicates with different labels),
leakage (near-duplicates or the same subject across the latest run's train/validation split),
outlier (far from every class centroid in embedding space).
  --type T          only these types (comma-separated or repeated)
  --refresh         compute again even if the flags are current
  --folds K         cross-validation folds (default 5; fewer when a class is smaller)
  --backbone ID     mobilenetv2-nsfwjs (default) or pixels
  --hamming B       most differing hash bits of 64 for near-duplicates (default 3)
  --limit N         flags to print (default 30)
  --json            print { computed, report, status, flags } as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      type: { type: 'string', multiple: true },
      refresh: { type: 'boolean' },
      folds: { type: 'string' },
      backbone: { type: 'string' },
      hamming: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const types = typesOf(values.type)
    const folds = intOption('folds', values.folds, 2, 20)
    const hamming = intOption('hamming', values.hamming, 0, 15)
    const limit = intOption('limit', values.limit, 1, 1_000_000) ?? 30
    const project = openProject(positionals[0])
    const cancel = cancelOnSigint()
    const meter = progressPrinter(io, 'flagging')
    try {
      const before = reviewStatus(project.db)
      const wanted = types ?? [...FLAG_TYPES]
      const missing = wanted.some((t) => !before.runs.some((r) => r.type === t))
      const stale = before.runs.some((r) => wanted.includes(r.type) && r.stale)
      let report: FlaggingReport | null = null
      if (values.refresh || missing || stale) {
        if (!values.json) io.out(values.refresh ? 'computing flags (--refresh)' : missing ? 'no flags yet: computing them' : 'labels or images changed since the flags were computed: computing them again')
        report = await runFlagging(project, { types: wanted, folds, backbone: values.backbone, hamming }, { signal: cancel.signal, onProgress: (d, t) => meter.update(d, t) })
        meter.end()
        if (report.cancelled) {
          io.err('studio flags: cancelled; the flags stored before are unchanged')
          return EXIT_FAILED
        }
      }
      const status = reviewStatus(project.db)
      const flags = listFlags(project.db, { types })
      if (values.json) {
        printJson(io, { computed: report !== null, report, status, flags })
        return EXIT_OK
      }
      if (report) printReport(io, report)
      else io.out('flags are current (use --refresh to compute them again)')
      if (status.noise && wanted.includes('mislabeled')) printNoise(io, status.noise)
      io.out(`${flags.length} open flag${flags.length === 1 ? '' : 's'}${status.decided ? `, ${status.decided} decided` : ''}:`)
      printFlags(io, project, flags, limit)
      return EXIT_OK
    } finally {
      meter.end()
      cancel.dispose()
      project.close()
    }
  }
}

export const reviewCommands: Command[] = [flagsCommand]
