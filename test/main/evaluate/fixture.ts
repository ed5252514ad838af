// A small project with a real completed training run ('pixels' backbone: seconds, no weights),
// shared by the evaluation and export tests.
import { join } from 'node:path'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { createProject, type Project } from '../../../src/main/project/project'
import { runTraining, type RunOutcome } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'

export async function trainedProject(dir: string, images = 160): Promise<{ project: Project; run: RunOutcome }> {
  const project = createProject(join(dir, 'p'), { classes: [...EMOTION7] })
  await importDemo(project, { images, seed: 5, labelNoise: 0.05, imbalance: 2 })
  const run = await runTraining(project, { backbone: 'pixels', split: { kind: 'stratified', validation: 0.3, seed: 1 }, head: { epochs: 12 }, seed: 1 })
  if (run.status !== 'completed') throw new Error(`fixture run ${run.status}: ${run.error}`)
  return { project, run }
}
