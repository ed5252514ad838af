import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dispatch } from '../../../src/main/app/dispatch'
import { createHandlers } from '../../../src/main/app/handlers'
import { Jobs } from '../../../src/main/app/jobs'
import { Session } from '../../../src/main/app/session'
import type { JobEnd, JobProgress } from '../../../src/shared/domain'
import { tempDir } from '../../helpers/tmp'

function setup() {
  const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
  return { session, handlers: createHandlers(session) }
}

describe('dispatch', () => {
  it('answers an unknown channel with a typed error', async () => {
    const { handlers } = setup()
    expect(await dispatch(handlers, 'project.drop', {})).toMatchObject({ ok: false, error: { code: 'unknown_channel' } })
    expect(await dispatch(handlers, '__proto__', {})).toMatchObject({ ok: false, error: { code: 'unknown_channel' } })
  })

  it('refuses malformed payloads naming the field, and keeps serving', async () => {
    const { handlers, session } = setup()
    const cases: [string, unknown, string][] = [
      ['project.create', { dir: 42 }, 'dir'],
      ['project.create', { dir: '' }, 'dir'],
      ['project.create', { dir: '/tmp/x', classes: 'angry' }, 'classes'],
      ['project.create', { dir: '/tmp/x', classes: ['ok', ''] }, 'classes.1'],
      ['project.create', { dir: '/tmp/x', sneaky: true }, '(payload)'],
      ['project.open', { dir: 'x'.repeat(100_000) }, 'dir'],
      ['project.open', null, '(payload)'],
      ['project.open', [], '(payload)'],
      ['job.cancel', { jobId: { $ne: 1 } }, 'jobId']
    ]
    for (const [channel, payload, field] of cases) {
      const res = await dispatch(handlers, channel, payload)
      expect(res.ok, `${channel} ${JSON.stringify(payload).slice(0, 60)}`).toBe(false)
      if (!res.ok) {
        expect(res.error.code).toBe('invalid_payload')
        expect(res.error.field).toBe(field)
        expect(res.error.message).toContain(channel)
      }
    }
    const dir = join(tempDir(), 'p')
    const ok = await dispatch(handlers, 'project.create', { dir, classes: ['a'] })
    expect(ok).toMatchObject({ ok: true, value: { dir, classCount: 1 } })
    await session.dispose()
  })

  it('turns service errors into typed errors: no project open, not a project', async () => {
    const { handlers } = setup()
    expect(await dispatch(handlers, 'project.summary', {})).toMatchObject({ ok: false, error: { code: 'no_project' } })
    expect(await dispatch(handlers, 'project.open', { dir: tempDir() })).toMatchObject({ ok: false, error: { code: 'not_a_project' } })
    expect(await dispatch(handlers, 'dialog.chooseFolder', { purpose: 'open' })).toMatchObject({ ok: false, error: { code: 'unsupported' } })
  })

  it('creates, reopens the same project without locking itself out, and remembers it', async () => {
    const { handlers, session } = setup()
    const events: string[] = []
    session.onEvent((name) => events.push(name))
    const dir = join(tempDir(), 'p')
    await dispatch(handlers, 'project.create', { dir, classes: ['a', 'b'] })
    const reopened = await dispatch(handlers, 'project.open', { dir })
    expect(reopened).toMatchObject({ ok: true, value: { classCount: 2 } })
    expect(await dispatch(handlers, 'project.recent', {})).toMatchObject({ ok: true, value: [{ dir }] })
    expect(await dispatch(handlers, 'project.close', {})).toEqual({ ok: true, value: { closed: true } })
    expect(events).toEqual(['project.changed', 'project.changed'])
  })
})

describe('jobs', () => {
  it('streams progress, ends exactly once, and cancels', async () => {
    const progress: JobProgress[] = []
    const ends: JobEnd[] = []
    const jobs = new Jobs((p) => progress.push(p), (e) => ends.push(e), 0)
    const ok = jobs.start('count', async (ctx) => {
      for (let i = 1; i <= 3; i++) ctx.progress(i, 3, `step ${i}`)
      return 'done'
    })
    expect(await ok.done).toMatchObject({ status: 'completed', result: 'done' })
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3])

    const slow = jobs.start('slow', (ctx) => new Promise((_, fail) => ctx.signal.addEventListener('abort', () => fail(new Error('stopped')))))
    expect(jobs.size).toBe(1)
    expect(jobs.cancel(slow.jobId)).toBe(true)
    expect(await slow.done).toMatchObject({ status: 'cancelled' })
    expect(jobs.cancel(slow.jobId)).toBe(false)

    const bad = jobs.start('bad', async () => {
      throw new Error('disk on fire')
    })
    expect(await bad.done).toMatchObject({ status: 'failed', error: 'disk on fire' })
    expect(ends.map((e) => e.status)).toEqual(['completed', 'cancelled', 'failed'])
    expect(jobs.size).toBe(0)
  })
})
