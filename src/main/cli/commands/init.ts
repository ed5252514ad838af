import { CLASS_PRESETS } from '../../../shared/presets'
import { createProject } from '../../project/project'
import { EXIT_OK, parse, printJson, UsageError, type Command } from '../io'

export const initCommand: Command = {
  name: 'init',
  summary: 'create a project folder',
  usage: 'studio init <dir> [--classes a,b,c | --preset emotion7] [--name NAME] [--json]',
  help: `Creates a new project in <dir> (made if missing): studio.sqlite (which also holds the
thumbnails) and folders for caches, runs, exports and stored images. Refuses a folder that already holds a project.
  --classes a,b,c   the classes, in key order (keys 1-9 then letters)
  --preset NAME     a class preset: ${Object.keys(CLASS_PRESETS).join(', ')}
  --name NAME       a display name (default: the folder name)
  --json            print the project summary as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      classes: { type: 'string' },
      preset: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    if (values.classes !== undefined && values.preset !== undefined) throw new UsageError('use --classes or --preset, not both')
    let classes: string[] = []
    if (values.preset !== undefined) {
      const preset = CLASS_PRESETS[values.preset]
      if (!preset) throw new UsageError(`unknown preset "${values.preset}" (known: ${Object.keys(CLASS_PRESETS).join(', ')})`)
      classes = [...preset]
    } else if (values.classes !== undefined) {
      classes = values.classes.split(',').map((c) => c.trim())
      if (classes.some((c) => !c)) throw new UsageError('--classes has an empty name (check for a doubled or trailing comma)')
    }
    const project = createProject(positionals[0], { classes, name: values.name })
    try {
      const summary = project.summary()
      if (values.json) printJson(io, summary)
      else io.out(`created ${summary.dir} with ${summary.classCount} classes${summary.classCount ? ': ' + summary.classes.map((c) => c.name).join(', ') : ''}`)
    } finally {
      project.close()
    }
    return EXIT_OK
  }
}
