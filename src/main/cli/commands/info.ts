import { openProject } from '../../project/project'
import { EXIT_OK, parse, printJson, UsageError, type Command } from '../io'

export const infoCommand: Command = {
  name: 'info',
  summary: 'show what a project holds',
  usage: 'studio info <dir> [--json]',
  help: `Prints the project's image, class and label counts, its environments and annotators.
  --json   print the summary as JSON (stable keys: dir, name, createdAt, schemaVersion,
           imageCount, excludedCount, missingCount, labeledCount, labeledShare, classCount, classes,
           environments, annotators)`,
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const project = openProject(positionals[0])
    try {
      const s = project.summary()
      if (values.json) {
        printJson(io, s)
        return EXIT_OK
      }
      const pct = (s.labeledShare * 100).toFixed(1)
      const lines = [
        `${s.name}  (${s.dir})`,
        `images: ${s.imageCount} (${s.excludedCount} excluded${s.missingCount ? `, ${s.missingCount} missing` : ''}), labeled: ${s.labeledCount} (${pct}%)`,
        `classes (${s.classCount}): ${s.classes.map((c) => `${c.name}=${c.imageCount}`).join(', ') || 'none'}`,
        `environments: ${s.environments.map((e) => `${e.name}=${e.count}`).join(', ') || 'none'}`,
        `annotators: ${s.annotators.map((a) => `${a.name}=${a.count}`).join(', ') || 'none'}`
      ]
      io.out(lines.join('\n'))
    } finally {
      project.close()
    }
    return EXIT_OK
  }
}
