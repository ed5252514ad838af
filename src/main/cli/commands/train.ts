import type { SplitMethod } from '../../training/splits'
import { runTraining } from '../../training/runner'
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

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a classifier on the labeled images (backbone frozen, head trained)',
  usage: 'studio train <project> [--backbone ID] [--size PX] [--split stratified|subject|column|environment:E] [--validation 0.2] [--weights inverse|effective|off] [--epochs N] [--seed S] [--no-flip] [--json]',
  help: `Runs a training run in a worker thread and records it in the project: features from a
pretrained backbone (computed once and cached), then the head (Dense 256 relu, Dropout 0.5,
softmax) trained with early stopping on validation loss.
  --backbone ID     mobilenetv2-nsfwjs (default) or pixels
  --size PX         backbone input size
  --split M         stratified, subject (default when most images have a subject), column
                    (the import's split hints) or environment:<names> (those validate)
  --validation P    validation share for stratified/subject splits (default 0.2)
  --weights M       class weights: inverse (default), effective or off
  --epochs N        most epochs of the head (default 40)
  --seed S          seed for the split, initialisation and shuffling (default 1)
  --no-flip         no horizontally flipped views
  --json            print the run id, status and summary as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      backbone: { type: 'string' },
      size: { type: 'string' },
      split: { type: 'string' },
      validation: { type: 'string' },
      weights: { type: 'string' },
      epochs: { type: 'string' },
      seed: { type: 'string' },
      'no-flip': { type: 'boolean' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const seed = num('seed', values.seed) ?? 1
    const validation = num('validation', values.validation) ?? 0.2
    if (values.weights !== undefined && !['inverse', 'effective', 'off'].includes(values.weights)) throw new UsageError('--weights must be inverse, effective or off')
    const epochs = num('epochs', values.epochs)
    const project = openProject(positionals[0])
    const cancel = cancelOnSigint()
    try {
      const outcome = await runTraining(
        project,
        {
          backbone: values.backbone,
          size: num('size', values.size),
          split: splitOf(values.split, validation, seed),
          weights: values.weights as 'inverse' | 'effective' | 'off' | undefined,
          head: epochs !== undefined ? { epochs } : undefined,
          flip: !values['no-flip'],
          seed
        },
        {
          signal: cancel.signal,
          onEvent: (e) => {
            if (values.json) return
            if (e.type === 'backend') io.out(`backend: ${e.name}`)
            if (e.type === 'stageBegin') io.out(`stage ${e.stage}: ${e.description}`)
            if (e.type === 'epochEnd') {
              const m = e.metrics
              io.out(
                `  epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(1)}%` +
                  (m.valLoss !== null ? `  val loss ${m.valLoss.toFixed(4)} val acc ${((m.valAccuracy ?? 0) * 100).toFixed(1)}%` : '') +
                  `  ${m.imagesPerSecond.toFixed(0)} img/s`
              )
            }
          }
        }
      )
      if (values.json) printJson(io, outcome)
      else {
        for (const w of outcome.warnings) io.out(`warning: ${w}`)
        const s = outcome.summary
        io.out(
          `run ${outcome.runId} ${outcome.status}` +
            (s ? `: validation accuracy ${s.valAccuracy === null ? 'n/a' : (s.valAccuracy * 100).toFixed(1) + '%'} (${s.validationImages} images), best epoch ${s.bestEpoch}, ${(s.durationMs / 1000).toFixed(1)} s on ${s.backend}` : '') +
            (outcome.error ? `: ${outcome.error}` : '')
        )
        for (const e of s?.perEnvironment ?? []) io.out(`  ${e.environment}: ${(e.accuracy * 100).toFixed(1)}% of ${e.images}`)
      }
      if (outcome.status === 'failed' && !values.json) io.err(`studio train: ${outcome.error}`)
      return outcome.status === 'completed' ? EXIT_OK : EXIT_FAILED
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}
