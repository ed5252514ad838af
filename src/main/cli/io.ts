import { parseArgs, type ParseArgsConfig } from 'node:util'
import { StudioError } from '../../shared/errors'

export interface Io {
  out(text: string): void
  err(text: string): void
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n')
}

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** A mistake in how the command was called: exit 2 with the command's usage line. */
export class UsageError extends Error {}

export interface Command {
  name: string
  summary: string
  usage: string
  help: string
  run(args: string[], io: Io): Promise<number>
}

type Options = NonNullable<ParseArgsConfig['options']>

export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2))
}

/** One clear line on stderr: what failed, and the file or field when known. */
export function reportError(io: Io, command: string, err: unknown): number {
  if (err instanceof UsageError) {
    io.err(`studio ${command}: ${err.message} (see studio ${command} --help)`)
    return EXIT_USAGE
  }
  if (err instanceof StudioError) {
    io.err(`studio ${command}: ${err.message.replace(/\s*\n\s*/g, ' ')}`)
    return EXIT_FAILED
  }
  io.err(`studio ${command}: ${err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err)}`)
  return EXIT_FAILED
}
