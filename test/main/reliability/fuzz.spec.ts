// Every contract channel (CHANNEL_NAMES, so channels added later are included) fuzzed through
// dispatch() and through the HTTP bridge: typed errors, no crash, and no write to the project.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatch } from '../../../src/main/app/dispatch'
import { createHandlers } from '../../../src/main/app/handlers'
import { Session } from '../../../src/main/app/session'
import { importPath } from '../../../src/main/dataset/importer'
import { thumbnailPath } from '../../../src/main/dataset/files'
import { label } from '../../../src/main/labeling/actions'
import { startServer, type RunningServer } from '../../../src/main/server/server'
import { channels, CHANNEL_NAMES } from '../../../src/shared/contract'
import { ERROR_CODES } from '../../../src/shared/errors'
import { picture, put } from '../../helpers/images'
import { tempDir, treeHash } from '../../helpers/tmp'
import { dbDigest, integrity } from './helpers'
import { malformed, wellFormed } from './fuzz'

let server: RunningServer | undefined
let session: Session | undefined
afterEach(async () => {
  await server?.close()
  await session?.dispose()
  server = undefined
  session = undefined
})

async function studio() {
  const root = tempDir()
  for (let i = 0; i < 6; i++) put(join(root, 'src', i % 2 ? 'happy' : 'sad', `f${i}.png`), await picture(300 + i))
  writeFileSync(join(root, 'secret.txt'), 'top secret')
  session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
  const summary = await session.create(join(root, 'p'), { classes: ['happy', 'sad'] })
  await importPath(session.requireProject(), join(root, 'src'))
  label(session.requireProject().db, 'kim', [1, 2, 3], 2)
  const project = session.requireProject()
  const state = () => ({ db: dbDigest(project.db), files: treeHash(project.dir) })
  return { root, session, handlers: createHandlers(session), key: summary.key!, project, state }
}

function notPolluted(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
}

describe('contract fuzzing through dispatch()', () => {
  it('refuses every malformed payload on every channel with a typed error naming the field, and writes nothing', async () => {
    const s = await studio()
    const before = s.state()
    let tried = 0
    for (const name of CHANNEL_NAMES) {
      const payloads = malformed(channels[name].request)
      expect(payloads.length, name).toBeGreaterThanOrEqual(10)
      for (const payload of payloads) {
        const res = await dispatch(s.handlers, name, payload)
        const what = `${name} ${JSON.stringify(payload)?.slice(0, 80)}`
        expect(res.ok, what).toBe(false)
        if (res.ok) continue
        expect(res.error.code, what).toBe('invalid_payload')
        expect(res.error.message.startsWith(`${name}: `), what).toBe(true)
        expect(res.error.message.length, what).toBeLessThan(2000) // a huge input is not echoed back
        expect(typeof res.error.field, what).toBe('string')
        tried++
      }
    }
    console.log(`dispatch fuzz: ${tried} malformed payloads over ${CHANNEL_NAMES.length} channels`)
    for (const bad of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'app.info ', 'APP.INFO', 42, null, { toString: () => 'app.info' }]) {
      expect(await dispatch(s.handlers, bad, {}), String(bad)).toMatchObject({ ok: false, error: { code: 'unknown_channel' } })
    }
    notPolluted()
    expect(s.state()).toEqual(before)
    expect(integrity(s.project.db)).toBe('ok')
    expect(await dispatch(s.handlers, 'project.summary', {})).toMatchObject({ ok: true, value: { imageCount: 6 } })
  })

  it('answers well-formed requests full of hostile values (ids that do not exist, markup, SQL, odd paths) with a typed answer, never an internal error', async () => {
    const s = await studio()
    // These would replace or close the project under the fuzzer; the dispatch spec covers them.
    const skip = new Set(['project.create', 'project.close'])
    const answers: Record<string, string> = {}
    for (const name of CHANNEL_NAMES) {
      if (skip.has(name)) continue
      const payload = wellFormed(channels[name].request, join(s.root, 'fuzz'))
      expect(channels[name].request.safeParse(payload).success, `${name}: the generator made no valid request`).toBe(true)
      const res = await dispatch(s.handlers, name, payload)
      // Jobs it started (training on ids that do not exist, imports of missing paths) are stopped.
      await s.session.jobs.cancelAll()
      answers[name] = res.ok ? 'ok' : res.error.code
      if (!res.ok) {
        expect(ERROR_CODES, name).toContain(res.error.code)
        expect(res.error.code, `${name}: ${res.error.message}`).not.toBe('internal')
      }
    }
    console.log('well-formed hostile requests:', JSON.stringify(answers))
    expect(Object.keys(answers).length).toBe(CHANNEL_NAMES.length - skip.size)
    notPolluted()
    expect(s.session.project).toBe(s.project)
    expect(integrity(s.project.db)).toBe('ok')
    // A started job may have added images before it was cancelled; nothing that was there is gone.
    expect(s.project.db.prepare('SELECT count(*) FROM images WHERE id <= 6').pluck().get()).toBe(6)
    expect(s.project.db.prepare("SELECT count(*) FROM annotations WHERE annotator = 'kim'").pluck().get()).toBe(3)
  })
})

interface Reply {
  status: number
  body: string
}

function send(srv: RunningServer, path: string, opts: { method?: string; body?: string; auth?: boolean } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string> = { Host: `127.0.0.1:${srv.port}` }
    if (opts.auth !== false) headers.Authorization = `Bearer ${srv.token}`
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: opts.method ?? 'GET', headers }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', fail)
    req.end(opts.body)
  })
}

describe('HTTP bridge fuzzing', () => {
  it('answers malformed bodies on every route with 400 or a typed error, and writes nothing', async () => {
    const s = await studio()
    const renderer = tempDir()
    writeFileSync(join(renderer, 'index.html'), '<!doctype html>')
    server = await startServer({ session: s.session, rendererDir: renderer })
    const before = s.state()
    const bodies = ['{', 'null', '[]', '"x"', '1e999', '{"__proto__":{"polluted":true}}', '\u0000\u0001', JSON.stringify({ x: 'y'.repeat(500_000) })]
    let tried = 0
    for (const name of CHANNEL_NAMES) {
      for (const body of bodies) {
        const res = await send(server, `/api/${name}`, { method: 'POST', body })
        expect([200, 400], `${name} ${body.slice(0, 20)}`).toContain(res.status)
        const envelope = JSON.parse(res.body) as { ok: boolean; error?: { code: string } }
        // An empty-object channel can accept `null`-free junk only if it parses; none of these do.
        expect(envelope, `${name} ${body.slice(0, 20)}`).toMatchObject({ ok: false, error: { code: 'invalid_payload' } })
        tried++
      }
      expect((await send(server, `/api/${name}`, { method: 'POST', body: '{}', auth: false })).status).toBe(401)
      expect((await send(server, `/api/${name}`, { method: 'GET' })).status).toBe(405)
    }
    for (const path of ['/api/', '/api/..%2fapp.info', '/api/app.info%2f..%2fproject.close', '/api/%00', `/api/${'x'.repeat(5000)}`]) {
      expect([400, 404], path).toContain((await send(server, path, { method: 'POST', body: '{}' })).status)
    }
    console.log(`bridge fuzz: ${tried} malformed bodies over ${CHANNEL_NAMES.length} channels`)
    notPolluted()
    expect(s.state()).toEqual(before)
    expect((await send(server, '/api/project.summary', { method: 'POST', body: '{}' })).status).toBe(200)
  })

  it('refuses file routes that try to leave the project: dots, encoded slashes, double encoding, NUL, symlinks out', async () => {
    const s = await studio()
    const renderer = tempDir()
    writeFileSync(join(renderer, 'index.html'), '<!doctype html>')
    server = await startServer({ session: s.session, rendererDir: renderer })
    // A thumbnail whose file was swapped for a symlink to a file outside the project.
    const fake = 'c'.repeat(64)
    mkdirSync(join(s.project.dir, 'thumbs', 'cc'), { recursive: true })
    symlinkSync(join(s.root, 'secret.txt'), thumbnailPath(s.project.dir, fake))
    const sha = s.project.db.prepare('SELECT sha256 FROM images WHERE id = 1').pluck().get() as string
    const k = s.key
    const bad = [
      `/files/${k}/thumb/${fake}.webp`,
      `/files/${k}/thumb/%2e%2e%2f%2e%2e%2fsecret.txt`,
      `/files/${k}/thumb/%252e%252e%252fsecret.txt`,
      `/files/${k}/thumb/..%5c..%5csecret.txt`,
      `/files/${k}/thumb/${sha}.webp%00.txt`,
      `/files/${k}/thumb/${sha.toUpperCase()}.webp`,
      `/files/${k}/thumb/${sha}.webp/../../../secret.txt`,
      `/files/${k}/thumb/`,
      `/files/${k}//etc/passwd`,
      `/files/${k}/image/1%2f..%2f..%2fsecret.txt`,
      `/files/${k}/image/-1`,
      `/files/${k}/image/1e3`,
      `/files/${k}/image/${'9'.repeat(400)}`,
      `/files/..%2f${k}/image/1`,
      `/files/%2e%2e/%2e%2e/secret.txt`,
      `/files/${k}%2fthumb%2f${sha}.webp`
    ]
    for (const path of bad) {
      const res = await send(server, path)
      expect([400, 403, 404], path).toContain(res.status)
      expect(res.body, path).not.toContain('secret')
    }
    expect((await send(server, `/files/${k}/thumb/${sha}.webp`)).status).toBe(200) // the real one still works
    expect((await send(server, `/files/${k}/image/1`)).status).toBe(200)
  })
})
