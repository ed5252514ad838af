import { demoCommand } from './commands/demo'
import { importCommand } from './commands/import'
import { infoCommand } from './commands/info'
import { initCommand } from './commands/init'
import { relinkCommand } from './commands/relink'
import { serveCommand } from './commands/serve'
import { trainCommand } from './commands/train'
import { evaluateCommands } from './commands/evaluate'
import { backbonesCommands } from './commands/backbones'
import { insightsCommands } from './commands/insights'
import { reviewCommands } from './commands/review'
import { EXIT_OK, EXIT_USAGE, processIo, reportError, type Command, type Io } from './io'

export const COMMANDS: Command[] = [initCommand, infoCommand, importCommand, demoCommand, relinkCommand, trainCommand, ...reviewCommands, ...insightsCommands, ...evaluateCommands, ...backbonesCommands, serveCommand]

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'usage: studio <command> <project-dir> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --help and --json; exit codes: 0 ok, 1 failed, 2 usage.'
  ].join('\n')
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview())
    return name ? EXIT_OK : EXIT_USAGE
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    io.err(`studio: unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`)
    return EXIT_USAGE
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${command.usage}\n\n${command.help}`)
    return EXIT_OK
  }
  try {
    return await command.run(rest, io)
  } catch (err) {
    return reportError(io, name, err)
  }
}
