import type { ImportReport } from '../../../shared/domain'
import { importPath, type ImportFormat } from '../../dataset/importer'
import type { FolderLayout } from '../../dataset/sources/folder'
import { openProject } from '../../project/project'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command, type Io } from '../io'
import { cancelOnSigint, progressPrinter } from '../progress'

const FORMATS = ['folder', 'csv', 'fer2013']
const LAYOUTS = ['class', 'split/class', 'env/class', 'none']

export function printReport(io: Io, r: ImportReport): void {
  io.out(
    `${r.cancelled ? 'cancelled' : 'imported'} ${r.added} new image${r.added === 1 ? '' : 's'} from ${r.source} (${r.format}) in ${(r.durationMs / 1000).toFixed(1)} s: ` +
      `${r.labeled} labeled, ${r.duplicates} already in the project, ${r.skippedTotal ?? r.skipped.length} skipped` +
      (r.ignored ? `, ${r.ignored} non-image files ignored` : '') +
      (r.classesCreated.length ? `; new classes: ${r.classesCreated.join(', ')}` : '')
  )
  for (const s of r.skipped.slice(0, 50)) io.out(`  skipped ${s.file}${s.line ? ` line ${s.line}` : ''}: ${s.reason}`)
  if (r.skipped.length > 50) io.out(`  ... and ${r.skipped.length - 50} more (use --json for all)`)
}

export const importCommand: Command = {
  name: 'import',
  summary: 'import a folder of images, a CSV manifest or a FER2013 CSV',
  usage: 'studio import <project> <source> [--format folder|csv|fer2013] [--layout class|split/class|env/class|none] [--environment NAME] [--annotator NAME] [--new-classes create|refuse] [--allow-absolute] [--json]',
  help: `Adds images to the project. They stay where they are (identified by content); FER2013 pixel
rows become PNG files inside the project. Re-running adds only what is new. Bad files and rows are
skipped and listed with their reason (and line); the rest is imported. Ctrl+C stops cleanly.
  --format F          folder, csv or fer2013 (default: guessed from the source)
  --layout L          for folders: class (<root>/<class>/<file>, default), split/class,
                      env/class (<root>/<split or env>/<class>/<file>), or none
  --environment NAME  environment of every image (studio, webcam, phone...)
  --annotator NAME    who the labels are attributed to (default: import)
  --new-classes M     create or refuse labels that are not classes yet
                      (default: create when the project has no classes, else refuse)
  --allow-absolute    let a CSV manifest name absolute paths
  --json              print the import report as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      format: { type: 'string' },
      layout: { type: 'string' },
      environment: { type: 'string' },
      annotator: { type: 'string' },
      'new-classes': { type: 'string' },
      'allow-absolute': { type: 'boolean' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 2) throw new UsageError('expected a project folder and a source')
    if (values.format !== undefined && !FORMATS.includes(values.format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`)
    if (values.layout !== undefined && !LAYOUTS.includes(values.layout)) throw new UsageError(`--layout must be one of ${LAYOUTS.join(', ')}`)
    const nc = values['new-classes']
    if (nc !== undefined && nc !== 'create' && nc !== 'refuse') throw new UsageError('--new-classes must be create or refuse')
    const project = openProject(positionals[0])
    const meter = progressPrinter(io, 'importing')
    const cancel = cancelOnSigint()
    try {
      const report = await importPath(project, positionals[1], {
        format: values.format as ImportFormat | undefined,
        layout: values.layout as FolderLayout | undefined,
        environment: values.environment,
        annotator: values.annotator,
        newClasses: nc as 'create' | 'refuse' | undefined,
        allowAbsolute: values['allow-absolute'],
        signal: cancel.signal,
        onProgress: meter.update
      })
      meter.end()
      if (values.json) printJson(io, report)
      else printReport(io, report)
      return report.cancelled ? EXIT_FAILED : EXIT_OK
    } finally {
      cancel.dispose()
      project.close()
    }
  }
}
