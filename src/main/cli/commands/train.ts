import type { SplitMethod } from '../../training/splits'
import { AUTO_BACKBONE, describeProbeProgress, resumeTraining, runTraining, type RunOutcome, type RunProbe, type Stage2Options } from '../../training/runner'
import type { ProbeProgress } from '../../training/probe'
import type { TrainerEvent } from '../../training/plan'
import { openProject } from '../../project/project'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command } from '../io'
import { cancelOnSigint } from '../progress'

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${raw}")`)
  return n
}

/** --split stratified | subject | column | environment:webcam[,phone] */
function splitOf(raw: string | undefined, validation: number, seed: number): SplitMethod | undefined {
  if (raw === undefined) return undefined
  if (raw === 'stratified' || raw === 'subject') return { kind: raw, validation, seed }
  if (raw === 'column') return { kind: 'column' }
  if (raw.startsWith('environment:')) {
    const envs = raw.slice('environment:'.length).split(',').map((e) => e.trim()).filter(Boolean)
    if (!envs.length) throw new UsageError('--split environment: needs at least one environment, e.g. environment:webcam')
    return { kind: 'environment', validationEnvironments: envs }
  }
  throw new UsageError(`--split must be stratified, subject, column or environment:<names> (got "${raw}")`)
}

const AUGMENTS = { flip: {}, rotate: { rotateDeg: 10 }, color: { brightness: 0.1, contrast: 0.1 }, crop: { minCrop: 0.88 } } as const

function stage2Of(values: Record<string, string | boolean | undefined>): Stage2Options | undefined {
  const str = (k: string) => values[k] as string | undefined
  if (values['no-stage2']) return { enabled: false }
  const fraction = num('unfreeze', str('unfreeze'))
  if (fraction !== undefined && (fraction < 0 || fraction > 1)) throw new UsageError(`--unfreeze must be between 0 and 1 (got ${fraction})`)
  const out: Stage2Options = { fraction, learningRate: num('stage2-lr', str('stage2-lr')), epochs: num('stage2-epochs', str('stage2-epochs')), batchSize: num('batch', str('batch')) }
  const augment = str('augment')
  if (augment !== undefined) {
    const names = augment === 'none' ? [] : augment.split(',').map((a) => a.trim())
    for (const n of names) if (!(n in AUGMENTS)) throw new UsageError(`--augment takes none or a list of ${Object.keys(AUGMENTS).join(', ')} (got "${n}")`)
    out.augment = Object.assign({ flip: names.includes('flip') }, ...names.map((n) => AUGMENTS[n as keyof typeof AUGMENTS]))
  }
  return out
}

function printEvent(io: { out(line: string): void }, e: TrainerEvent): void {
  if (e.type === 'backend') io.out(`backend: ${e.name}`)
  if (e.type === 'stageBegin') io.out(`stage ${e.stage}: ${e.description}`)
  if (e.type === 'epochEnd') {
    const m = e.metrics
    io.out(
      `  stage ${m.stage} epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(1)}%` +
        (m.valLoss !== null ? `  val loss ${m.valLoss.toFixed(4)} val acc ${((m.valAccuracy ?? 0) * 100).toFixed(1)}%` : '') +
        `  ${m.imagesPerSecond.toFixed(0)} img/s`
    )
  }
}

/** One line each time the probe moves to another backbone or phase (not one per image). */
function probePrinter(io: { out(line: string): void }): (p: ProbeProgress) => void {
  let last = ''
  return (p) => {
    const key = `${p.backbone} ${p.phase}`
    if (key === last) return
    last = key
    io.out(describeProbeProgress(p).replace(/ \d+\/\d+$/, ''))
  }
}

const pctOrNa = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`)

function printProbe(io: { out(line: string): void }, probe: RunProbe): void {
  io.out(`backbone probe (${probe.sample.images} training images, ${probe.sample.folds}-fold, ${probe.seconds.toFixed(1)} s)${probe.cancelled ? ', cancelled' : ''}:`)
  for (const e of probe.ranking) {
    io.out(`  ${e.backbone === probe.best ? '*' : ' '} ${e.backbone.padEnd(26)} balanced acc ${pctOrNa(e.balancedAccuracy).padStart(6)}  acc ${pctOrNa(e.accuracy).padStart(6)}  ${e.seconds.toFixed(1)} s${e.error ? `  (${e.error})` : ''}`)
  }
  if (probe.best) io.out(`chosen backbone: ${probe.best}`)
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a classifier on the labeled images (head on the frozen backbone, then the top blocks fine-tuned)',
  usage:
    'studio train <project> [--backbone auto|ID] [--probe-sample N] [--probe-backbones A,B] [--size PX] [--split stratified|subject|column|environment:E] [--validation 0.2] [--weights inverse|effective|off] [--epochs N] [--hidden N] [--dropout P] [--lr LR] [--seed S] [--no-flip] ' +
    '[--no-stage2] [--unfreeze F] [--stage2-lr LR] [--stage2-epochs N] [--batch N] [--augment LIST] [--workers N] [--resume RUN] [--json]',
  help: `Runs a training run in a worker thread and records it in the project: features from a
pretrained backbone (computed once and cached), then the head (Dense 256 relu, Dropout 0.5,
softmax) trained with early stopping on validation loss (stage 1), then the top blocks of the
backbone fine-tuned together with the head at a lower learning rate, BatchNorm kept frozen
(stage 2). Every choice has a default taken from the data.
  --backbone ID     auto (default): linear-probe every ready backbone on a stratified sample of
                    the training split (cached embeddings reused) and train the best; or a
                    backbone id (see studio backbones), which skips the probe
  --probe-sample N  images per class the probe samples (default 60)
  --probe-backbones A,B  the backbones the probe compares (default every ready one)
  --size PX         backbone input size
  --split M         stratified, subject (default when most images have a subject), column
                    (the import's split hints) or environment:<names> (those validate)
  --validation P    validation share for stratified/subject splits (default 0.2)
  --weights M       class weights: inverse (default), effective or off
  --epochs N        most epochs of the head (default 40)
  --hidden N        units of the head's hidden Dense layer (default 256; 0: softmax only)
  --dropout P       the head's dropout, 0..0.95 (default 0.5)
  --lr LR           the head's learning rate (default 0.001)
  --seed S          seed for the split, initialisation and shuffling (default 1)
  --no-flip         no horizontally flipped views
  --no-stage2       keep the backbone frozen (stage 1 only)
  --unfreeze F      share of backbone layers to fine-tune, 0..1, cut at a block boundary
                    (default from the data: none under 300 training images, then 0.1 to 0.3)
  --stage2-lr LR    stage-2 learning rate (default: the head's / 10)
  --stage2-epochs N most stage-2 epochs (default 12; early stopping on validation loss)
  --batch N         stage-2 batch size (default 32; halved automatically when memory runs out)
  --augment LIST    flip (default), or any of flip,rotate,color,crop; none. Anything beyond flip
                    runs the whole backbone every batch instead of the cached boundary activations
  --workers N       threads computing embeddings (default: one per core)
  --resume RUN      continue run RUN (interrupted, failed or cancelled) from its last checkpoint
  --json            print the run id, status and summary as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      backbone: { type: 'string' },
      'probe-sample': { type: 'string' },
      'probe-backbones': { type: 'string' },
      size: { type: 'string' },
      split: { type: 'string' },
      validation: { type: 'string' },
      weights: { type: 'string' },
      epochs: { type: 'string' },
      hidden: { type: 'string' },
      dropout: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      'no-flip': { type: 'boolean' },
      'no-stage2': { type: 'boolean' },
      unfreeze: { type: 'string' },
      'stage2-lr': { type: 'string' },
      'stage2-epochs': { type: 'string' },
      batch: { type: 'string' },
      augment: { type: 'string' },
      workers: { type: 'string' },
      resume: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const seed = num('seed', values.seed) ?? 1
    const validation = num('validation', values.validation) ?? 0.2
    if (values.weights !== undefined && !['inverse', 'effective', 'off'].includes(values.weights)) throw new UsageError('--weights must be inverse, effective or off')
    const epochs = num('epochs', values.epochs)
    const headOptions = Object.entries({ epochs, hidden: num('hidden', values.hidden), dropout: num('dropout', values.dropout), learningRate: num('lr', values.lr) }).filter(([, v]) => v !== undefined)
    const stage2 = stage2Of(values)
    const workers = num('workers', values.workers)
    const resume = num('resume', values.resume)
    const project = openProject(positionals[0])
    const cancel = cancelOnSigint()
    try {
      const hooks = { signal: cancel.signal, onEvent: values.json ? undefined : (e: TrainerEvent) => printEvent(io, e), onProbe: values.json ? undefined : probePrinter(io) }
      const probeSample = num('probe-sample', values['probe-sample'])
      const probeBackbones = values['probe-backbones']?.split(',').map((b) => b.trim()).filter(Boolean)
      const probe = probeSample !== undefined || probeBackbones?.length ? { samplePerClass: probeSample, backbones: probeBackbones?.length ? probeBackbones : undefined } : undefined
      const outcome: RunOutcome =
        resume !== undefined
          ? await resumeTraining(project, resume, hooks, { embedWorkers: workers })
          : await runTraining(
              project,
              {
                backbone: values.backbone ?? AUTO_BACKBONE,
                probe,
                size: num('size', values.size),
                split: splitOf(values.split, validation, seed),
                weights: values.weights as 'inverse' | 'effective' | 'off' | undefined,
                head: headOptions.length ? Object.fromEntries(headOptions) : undefined,
                flip: !values['no-flip'],
                seed,
                stage2,
                embedWorkers: workers
              },
              hooks
            )
      if (values.json) printJson(io, outcome)
      else {
        if (outcome.probe) printProbe(io, outcome.probe)
        for (const w of outcome.warnings) io.out(`warning: ${w}`)
        const s = outcome.summary
        io.out(
          `run ${outcome.runId} ${outcome.status}` +
            (s ? `: validation accuracy ${s.valAccuracy === null ? 'n/a' : (s.valAccuracy * 100).toFixed(1) + '%'} (${s.validationImages} images), best epoch ${s.bestEpoch}, ${(s.durationMs / 1000).toFixed(1)} s on ${s.backend}` : '') +
            (outcome.error ? `: ${outcome.error}` : '')
        )
        if (s?.stage2) {
          const st = s.stage2
          io.out(`  stage 2: top ${st.blocks} blocks after ${st.boundary} (${(st.fraction * 100).toFixed(0)}% of layers), ${st.path === 'cached' ? 'cached boundary activations' : 'whole backbone per batch'}; stage 1 alone: ${st.stage1ValAccuracy === null ? 'n/a' : (st.stage1ValAccuracy * 100).toFixed(1) + '%'}`)
        } else if (s?.stage2Skipped) io.out(`  stage 2 skipped: ${s.stage2Skipped}`)
        for (const e of s?.perEnvironment ?? []) io.out(`  ${e.environment}: ${(e.accuracy * 100).toFixed(1)}% of ${e.images}`)
        if (outcome.eventLoopDelayP99Ms !== undefined) io.out(`  main thread event-loop delay while training: p99 ${outcome.eventLoopDelayP99Ms.toFixed(1)} ms`)
      }
      if (outcome.status === 'failed' && !values.json) io.err(`studio train: ${outcome.error}`)
      return outcome.status === 'completed' ? EXIT_OK : EXIT_FAILED
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}
