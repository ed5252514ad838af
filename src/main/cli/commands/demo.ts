import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { importDemo } from '../../dataset/demo-import'
import { createProject, openProject, PROJECT_DB } from '../../project/project'
import { EMOTION7 } from '../../../shared/presets'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command } from '../io'
import { cancelOnSigint, progressPrinter } from '../progress'
import { printReport } from './import'

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${raw}")`)
  return n
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'generate a synthetic facial-emotion dataset into a project',
  usage: 'studio demo <project> [--images N] [--seed S] [--label-noise P] [--noise-kind symmetric|class-conditional|mixed] [--imbalance R] [--size PX] [--json]',
  help: `Draws faces procedurally (7 emotions; subjects with their own face, skin tone, hair, age band and
gender presentation; studio, webcam and phone environments) and imports them. Creates the project
with the 7 emotion classes when it does not exist. Same seed, same images. The true labels of the
images given a wrong label are written to demo-truth.csv in the project, to score label-noise flags.
  --images N        how many (default 1000)
  --seed S          random seed (default 42)
  --label-noise P   share of wrong labels, 0-0.9 (default 0.1)
  --noise-kind K    symmetric, class-conditional (fear<->surprise, sad<->neutral, angry<->disgust) or mixed
  --imbalance R     largest/smallest class ratio, >= 1 (default 4)
  --size PX         image side in pixels (default 112)
  --json            print the report as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      images: { type: 'string' },
      seed: { type: 'string' },
      'label-noise': { type: 'string' },
      'noise-kind': { type: 'string' },
      imbalance: { type: 'string' },
      size: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const kind = values['noise-kind']
    if (kind !== undefined && !['symmetric', 'class-conditional', 'mixed'].includes(kind)) {
      throw new UsageError('--noise-kind must be symmetric, class-conditional or mixed')
    }
    const demo = {
      images: number('images', values.images),
      seed: number('seed', values.seed),
      labelNoise: number('label-noise', values['label-noise']),
      noiseKind: kind as 'symmetric' | 'class-conditional' | 'mixed' | undefined,
      imbalance: number('imbalance', values.imbalance),
      size: number('size', values.size)
    }
    const dir = positionals[0]
    const project = existsSync(join(dir, PROJECT_DB)) ? openProject(dir) : createProject(dir, { classes: [...EMOTION7] })
    const meter = progressPrinter(io, 'drawing faces')
    const cancel = cancelOnSigint()
    try {
      const result = await importDemo(project, demo, { signal: cancel.signal, onProgress: meter.update })
      meter.end()
      if (values.json) printJson(io, result)
      else {
        printReport(io, result.report)
        io.out(`true labels of the ${result.noisy} mislabeled images: ${result.truthFile}`)
      }
      return result.report.cancelled ? EXIT_FAILED : EXIT_OK
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}
