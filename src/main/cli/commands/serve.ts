import { Session } from '../../app/session'
import { defaultConfigDir } from '../../project/recent'
import { rendererDir } from '../../server/paths'
import { startServer } from '../../server/server'
import { EXIT_OK, parse, printJson, UsageError, type Command } from '../io'

export const serveCommand: Command = {
  name: 'serve',
  summary: 'open the studio in a browser over loopback HTTP',
  usage: 'studio serve [dir] [--port N] [--json]',
  help: `Serves the built studio on http://127.0.0.1 only and prints its URL with a random token;
requests without the token are refused. Opens [dir] first when given. Stop with Ctrl+C.
  --port N   the port (default: a free one)
  --json     print {url, port} as JSON`,
  async run(args, io) {
    const { values, positionals } = parse(args, { port: { type: 'string' }, json: { type: 'boolean' } })
    if (positionals.length > 1) throw new UsageError('expected at most one project folder')
    let port = 0
    if (values.port !== undefined) {
      port = Number(values.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535 (got "${values.port}")`)
    }
    const session = new Session({ configDir: defaultConfigDir(), transport: 'http', nativeDialogs: false })
    if (positionals[0]) await session.open(positionals[0])
    const server = await startServer({ session, rendererDir: rendererDir(), port })
    if (values.json) printJson(io, { url: server.url, port: server.port })
    else io.out(`Freezeframe Studio: ${server.url}`)
    await new Promise<void>((done) => {
      const stop = () => done()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await server.close()
    await session.dispose()
    return EXIT_OK
  }
}
