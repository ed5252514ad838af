import { join } from 'node:path'
import { EMOTION7 } from '../../shared/presets'
import { addClass, listClasses } from '../db/repos/classes'
import type { Project } from '../project/project'
import { demoTruthCsv, generateDemo, planDemo, validateDemoOptions, type DemoOptions } from './demo/generator'
import { writeFileAtomic } from './files'
import { runImport, type ImportOptions, type ImportReport } from './importer'
import type { SourceEntry } from './types'

export const DEMO_TRUTH_FILE = 'demo-truth.csv'

export interface DemoImportResult {
  report: ImportReport
  /** Where the true labels of the noisy images were written, for scoring label-noise flags. */
  truthFile: string
  noisy: number
}

/** Draws the synthetic emotion dataset straight into a project, labeled by annotator "demo". */
export async function importDemo(project: Project, demo: Partial<DemoOptions>, opts: ImportOptions = {}): Promise<DemoImportResult> {
  const options = validateDemoOptions(demo)
  if (listClasses(project.db).length === 0) {
    project.db.transaction(() => EMOTION7.forEach((c) => addClass(project.db, c)))()
  }
  const plan = planDemo(options)
  async function* entries(): AsyncGenerator<SourceEntry> {
    for await (const img of generateDemo(options, opts.signal)) {
      yield {
        item: {
          origin: `demo seed ${options.seed}`,
          bytes: img.png,
          storeIn: 'demo',
          fileName: img.fileName,
          label: img.label,
          environment: img.environment,
          subject: img.subject,
          attributes: img.attributes,
          annotator: 'demo'
        }
      }
    }
  }
  const report = await runImport(project, { total: plan.length, entries: entries() }, { source: `demo (seed ${options.seed})`, format: 'demo' }, {
    ...opts,
    newClasses: 'create'
  })
  const truthFile = join(project.dir, DEMO_TRUTH_FILE)
  writeFileAtomic(truthFile, demoTruthCsv(plan))
  return { report, truthFile, noisy: plan.filter((p) => p.noisy).length }
}
