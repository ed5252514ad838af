import { mkdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Session } from '../../../src/main/app/session'
import { MAX_BODY_BYTES, startServer, type RunningServer } from '../../../src/main/server/server'
import { tempDir } from '../../helpers/tmp'

let server: RunningServer | undefined
let session: Session | undefined
afterEach(async () => {
  await server?.close()
  await session?.dispose()
  server = undefined
})

async function start(): Promise<RunningServer> {
  const renderer = tempDir()
  mkdirSync(join(renderer, 'assets'))
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>studio</title>')
  writeFileSync(join(renderer, 'assets', 'app.js'), 'console.log(1)')
  writeFileSync(join(tempDir(), 'secret.txt'), 'secret')
  session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
  server = await startServer({ session, rendererDir: renderer })
  return server
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Raw requests, so Host and Origin can be forged the way a rebinding page would. */
function call(srv: RunningServer, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port: srv.port, path, method: opts.method ?? 'GET', headers: { Host: `127.0.0.1:${srv.port}`, ...opts.headers } },
      (res) => {
        let body = ''
        res.on('data', (d) => (body += d))
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }
    )
    req.on('error', fail)
    req.end(opts.body)
  })
}

const auth = (srv: RunningServer) => ({ Authorization: `Bearer ${srv.token}`, 'Content-Type': 'application/json' })

describe('HTTP bridge', () => {
  it('listens on loopback and refuses every request without the token', async () => {
    const srv = await start()
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/)
    expect((await call(srv, '/')).status).toBe(401)
    expect((await call(srv, '/assets/app.js')).status).toBe(401)
    expect((await call(srv, '/api/app.info', { method: 'POST', body: '{}' })).status).toBe(401)
    expect((await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { Authorization: 'Bearer wrong' } })).status).toBe(401)
    expect((await call(srv, '/api/events')).status).toBe(401)
  })

  it('refuses a foreign Host or Origin even with the token (DNS rebinding)', async () => {
    const srv = await start()
    expect((await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { ...auth(srv), Host: 'evil.example' } })).status).toBe(403)
    expect(
      (await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { ...auth(srv), Origin: 'http://evil.example' } })).status
    ).toBe(403)
    const same = await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { ...auth(srv), Origin: `http://localhost:${srv.port}` } })
    expect(same.status).toBe(200)
  })

  it('refuses a missing Host, an opaque "null" Origin, other loopback names and malformed cookies', async () => {
    const srv = await start()
    const post = (headers: Record<string, string>) => call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { ...auth(srv), ...headers } })
    // HTTP/1.0 without a Host header, over a raw socket (Node's client always adds one).
    const raw = await new Promise<string>((ok, fail) => {
      const sock = connect(srv.port, '127.0.0.1', () => sock.end(`POST /api/app.info HTTP/1.0\r\nAuthorization: Bearer ${srv.token}\r\nContent-Length: 2\r\n\r\n{}`))
      let got = ''
      sock.on('data', (d) => (got += d))
      sock.on('end', () => ok(got))
      sock.on('error', fail)
    })
    expect(raw).toMatch(/^HTTP\/1\.[01] 403/)
    expect((await post({ Origin: 'null' })).status).toBe(403) // a sandboxed frame or a file:// page
    expect((await post({ Host: `0.0.0.0:${srv.port}` })).status).toBe(403)
    expect((await post({ Host: `[::1]:${srv.port}` })).status).toBe(403)
    expect((await post({ Host: `127.0.0.1:${srv.port + 1}` })).status).toBe(403)
    expect((await post({ Host: `127.0.0.1:${srv.port}.evil.example` })).status).toBe(403)
    expect((await post({ Origin: `http://127.0.0.1:${srv.port}.evil.example` })).status).toBe(403)
    expect((await post({ Origin: `https://127.0.0.1:${srv.port}` })).status).toBe(403)
    expect((await post({ Host: `LOCALHOST:${srv.port}` })).status).toBe(200)
    const cookie = (value: string) => call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: { Cookie: `ff_token=${value}` } })
    expect((await cookie('%E0%A4%A')).status).toBe(401) // a bad escape is a wrong token, not a 500
    expect((await cookie(srv.token.slice(0, -1))).status).toBe(401)
    expect((await cookie(`${srv.token}x`)).status).toBe(401)
    expect((await cookie(encodeURIComponent(srv.token))).status).toBe(200)
    // the token in a query string opens the page only, and the page never leaks it as a referrer
    const page = await call(srv, `/?token=${srv.token}`)
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/)
  })

  it('serves the page with the token, then its assets by cookie, never files outside', async () => {
    const srv = await start()
    const page = await call(srv, `/?token=${srv.token}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain('<title>studio</title>')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    const cookie = String(page.headers['set-cookie']).split(';')[0]
    expect(cookie).toBe(`ff_token=${srv.token}`)
    expect((await call(srv, '/assets/app.js', { headers: { Cookie: cookie } })).status).toBe(200)
    for (const path of ['/../secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/nope.js']) {
      const res = await call(srv, path, { headers: { Cookie: cookie } })
      expect([403, 404], path).toContain(res.status)
      expect(res.body).not.toContain('secret')
    }
  })

  it('runs the contract: typed answers, bad JSON, unknown channels, oversized bodies', async () => {
    const srv = await start()
    const info = await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: auth(srv) })
    expect(JSON.parse(info.body)).toMatchObject({ ok: true, value: { transport: 'http', nativeDialogs: false } })
    const bad = await call(srv, '/api/project.open', { method: 'POST', body: '{"dir": 5}', headers: auth(srv) })
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'dir' } })
    expect((await call(srv, '/api/project.open', { method: 'POST', body: '{dir', headers: auth(srv) })).status).toBe(400)
    expect((await call(srv, '/api/nope.nope', { method: 'POST', body: '{}', headers: auth(srv) })).status).toBe(404)
    expect((await call(srv, '/api/app.info', { headers: auth(srv) })).status).toBe(405)
    const huge = JSON.stringify({ dir: 'x'.repeat(MAX_BODY_BYTES + 10) })
    expect((await call(srv, '/api/project.open', { method: 'POST', body: huge, headers: auth(srv) })).status).toBe(413)
    // and it is still serving
    expect((await call(srv, '/api/app.info', { method: 'POST', body: '{}', headers: auth(srv) })).status).toBe(200)
  })

  it('streams events to the page over SSE', async () => {
    const srv = await start()
    const got = new Promise<string>((ok) => {
      const req = request(
        { host: '127.0.0.1', port: srv.port, path: '/api/events', headers: { Host: `127.0.0.1:${srv.port}`, Authorization: `Bearer ${srv.token}` } },
        (res) => {
          let buf = ''
          res.on('data', (d) => {
            buf += d
            if (buf.includes('event: project.changed')) {
              ok(buf)
              req.destroy()
            }
          })
        }
      )
      req.end()
    })
    await new Promise((r) => setTimeout(r, 100))
    const dir = join(tempDir(), 'p')
    await call(srv, '/api/project.create', { method: 'POST', body: JSON.stringify({ dir, classes: ['a'] }), headers: auth(srv) })
    const text = await got
    const data = JSON.parse(text.split('event: project.changed\ndata: ')[1].split('\n')[0])
    expect(data).toMatchObject({ dir, classCount: 1 })
  })
})
