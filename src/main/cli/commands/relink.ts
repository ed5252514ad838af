import { checkMissing, relink } from '../../dataset/relink'
import { openProject } from '../../project/project'
import { EXIT_OK, parse, printJson, UsageError, type Command } from '../io'

export const relinkCommand: Command = {
  name: 'relink',
  summary: 'find images whose files moved',
  usage: 'studio relink <project> [folder] [--json]',
  help: `Checks every image's source file. With a folder, looks there (recursively) for the missing
ones by content and points the project at their new place.
  --json   print the report as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } })
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError('expected a project folder and optionally a folder to search')
    const project = openProject(positionals[0])
    try {
      const check = checkMissing(project)
      const found = positionals[1] ? await relink(project, positionals[1]) : null
      if (values.json) printJson(io, { ...check, ...(found ? { relinked: found.relinked, stillMissing: found.stillMissing } : {}) })
      else {
        io.out(`${check.checked} images checked, ${check.missing} missing`)
        if (found) io.out(`relinked ${found.relinked}; still missing ${found.stillMissing}`)
      }
      return EXIT_OK
    } finally {
      project.close()
    }
  }
}
