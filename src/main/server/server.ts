import { randomBytes } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, resolve, sep } from 'node:path'
import { dispatch } from '../app/dispatch'
import { projectFile } from '../project/project-files'
import { projectByKey } from '../project/registry'
import { createHandlers } from '../app/handlers'
import type { Session } from '../app/session'
import { bearer, cookieValue, CSP, hostAllowed, TOKEN_COOKIE, tokenMatches } from './security'

export const MAX_BODY_BYTES = 1024 * 1024

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2'
}

export interface ServerOptions {
  session: Session
  /** The built renderer (out/renderer). */
  rendererDir: string
  port?: number
  token?: string
}

export interface RunningServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
  res.end(body)
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        // Stop buffering at once; the caller answers 413 and closes the connection.
        req.pause()
        resolveBody(null)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Serves the built renderer and the contract over loopback HTTP, for browsers and e2e tests. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const root = resolve(opts.rendererDir)
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`the renderer is not built (${join(root, 'index.html')} is missing); run npm run build first`)
  }
  const handlers = createHandlers(opts.session)
  const streams = new Set<ServerResponse>()
  let port = 0

  const authorised = (req: IncomingMessage, url: URL): boolean =>
    tokenMatches(token, bearer(req)) ||
    tokenMatches(token, cookieValue(req, TOKEN_COOKIE)) ||
    tokenMatches(token, url.searchParams.get('token'))

  const serveStatic = (res: ServerResponse, pathname: string, setCookie: boolean): void => {
    let rel: string
    try {
      rel = decodeURIComponent(pathname)
    } catch {
      return send(res, 400, 'bad path')
    }
    const file = resolve(root, '.' + (rel === '/' ? '/index.html' : rel))
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'forbidden')
    if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'not found')
    const headers: Record<string, string> = {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store'
    }
    if (setCookie) headers['Set-Cookie'] = `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`
    res.writeHead(200, headers)
    createReadStream(file).pipe(res)
  }

  const serveProjectFile = async (res: ServerResponse, rest: string): Promise<void> => {
    const slash = rest.indexOf('/')
    const project = slash > 0 ? projectByKey(rest.slice(0, slash)) : undefined
    if (!project || project !== opts.session.project) return send(res, 404, 'not found')
    const file = await projectFile(project, rest.slice(slash + 1))
    if (!file) return send(res, 404, 'not found')
    res.writeHead(200, { 'Content-Type': file.contentType, 'Cache-Control': 'private, max-age=3600', 'X-Content-Type-Options': 'nosniff' })
    res.end(file.body)
  }

  const openEventStream = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
    res.write(': connected\n\n')
    streams.add(res)
    const off = opts.session.onEvent((event, payload) => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`)
    })
    const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000)
    req.on('close', () => {
      clearInterval(beat)
      off()
      streams.delete(res)
    })
  }

  const server = createServer(async (req, res) => {
    try {
      if (!hostAllowed(req, port)) return send(res, 403, 'forbidden host or origin')
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
      if (!authorised(req, url)) return send(res, 401, 'missing or wrong token')
      if (url.pathname === '/api/events' && req.method === 'GET') return openEventStream(req, res)
      if (url.pathname.startsWith('/files/') && req.method === 'GET') return serveProjectFile(res, url.pathname.slice('/files/'.length))
      if (url.pathname.startsWith('/api/')) {
        if (req.method !== 'POST') return send(res, 405, 'use POST')
        const body = await readBody(req)
        if (body === null) {
          res.setHeader('Connection', 'close')
          res.on('finish', () => req.destroy())
          return send(res, 413, `request body over ${MAX_BODY_BYTES} bytes`)
        }
        let payload: unknown
        try {
          payload = body.length ? JSON.parse(body) : {}
        } catch {
          return send(res, 400, JSON.stringify({ ok: false, error: { code: 'invalid_payload', message: 'the body is not JSON' } }), 'application/json')
        }
        const envelope = await dispatch(handlers, url.pathname.slice('/api/'.length), payload)
        const status = !envelope.ok && envelope.error.code === 'unknown_channel' ? 404 : 200
        return send(res, status, JSON.stringify(envelope), 'application/json')
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed')
      return serveStatic(res, url.pathname, url.searchParams.has('token'))
    } catch (err) {
      console.error('bridge request failed:', err)
      if (!res.headersSent) send(res, 500, 'internal error')
      else res.end()
    }
  })

  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok())
  })
  port = (server.address() as AddressInfo).port

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of streams) s.end()
        server.close(() => ok())
        server.closeAllConnections()
      })
  }
}
