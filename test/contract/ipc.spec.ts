import { beforeEach, describe, expect, it, vi } from 'vitest'
import { CHANNEL_NAMES, IPC_EVENT_CHANNEL, IPC_INVOKE_PREFIX } from '../../src/shared/contract'
import { tempDir } from '../helpers/tmp'

type InvokeHandler = (event: unknown, payload: unknown) => Promise<unknown>
const handlers = new Map<string, InvokeHandler>()

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: InvokeHandler) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, fn)
    },
    removeHandler: (channel: string) => handlers.delete(channel)
  }
}))

const { ipcMain } = await import('electron')
const { registerIpc, forwardEvents } = await import('../../src/main/ipc/dispatcher')
const { createHandlers } = await import('../../src/main/app/handlers')
const { Session } = await import('../../src/main/app/session')

function fakeContents(id: number) {
  const sent: unknown[][] = []
  const mainFrame = { id: `frame-${id}` }
  return { id, mainFrame, sent, isDestroyed: () => false, send: (...args: unknown[]) => sent.push(args) }
}

describe('Electron IPC dispatcher', () => {
  beforeEach(() => handlers.clear())

  it('registers every channel of the contract, and removes them again', () => {
    const unregister = registerIpc(ipcMain as never, () => undefined)
    expect([...handlers.keys()].sort()).toEqual(CHANNEL_NAMES.map((c) => IPC_INVOKE_PREFIX + c).sort())
    unregister()
    expect(handlers.size).toBe(0)
  })

  it('refuses senders the app did not create and sub-frames of its windows', async () => {
    const session = new Session({ configDir: tempDir(), transport: 'electron', nativeDialogs: true })
    const ours = fakeContents(1)
    const binding = { webContents: ours as never, session, handlers: createHandlers(session) }
    registerIpc(ipcMain as never, (sender) => ((sender as unknown as { id: number }).id === 1 ? binding : undefined))
    const info = handlers.get(IPC_INVOKE_PREFIX + 'app.info')!
    expect(await info({ sender: ours, senderFrame: ours.mainFrame }, {})).toMatchObject({ ok: true, value: { transport: 'electron' } })
    const stranger = fakeContents(2)
    expect(await info({ sender: stranger, senderFrame: stranger.mainFrame }, {})).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await info({ sender: ours, senderFrame: { id: 'iframe' } }, {})).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it('parses every payload with its schema before any service runs', async () => {
    const session = new Session({ configDir: tempDir(), transport: 'electron', nativeDialogs: true })
    const ours = fakeContents(1)
    const binding = { webContents: ours as never, session, handlers: createHandlers(session) }
    registerIpc(ipcMain as never, () => binding)
    const create = handlers.get(IPC_INVOKE_PREFIX + 'project.create')!
    const bad = await create({ sender: ours, senderFrame: ours.mainFrame }, { dir: ['not', 'a', 'string'] })
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'dir' } })
    // every channel refuses a payload that is not an object
    for (const name of CHANNEL_NAMES) {
      const res = (await handlers.get(IPC_INVOKE_PREFIX + name)!({ sender: ours, senderFrame: ours.mainFrame }, 'garbage')) as { ok: boolean; error?: { code: string } }
      expect(res.ok, name).toBe(false)
      expect(res.error?.code, name).toBe('invalid_payload')
    }
  })

  it('forwards session events to the window until unsubscribed', () => {
    const session = new Session({ configDir: tempDir(), transport: 'electron', nativeDialogs: true })
    const ours = fakeContents(1)
    const stop = forwardEvents({ webContents: ours as never, session, handlers: createHandlers(session) })
    session.emit('project.changed', null)
    stop()
    session.emit('project.changed', null)
    expect(ours.sent).toEqual([[IPC_EVENT_CHANNEL, 'project.changed', null]])
  })
})
