import { describe, expect, it, vi } from 'vitest'
import { CHANNEL_NAMES, IPC_EVENT_CHANNEL, IPC_INVOKE_PREFIX } from '../../src/shared/contract'

const exposed: Record<string, unknown> = {}
const invoked: unknown[][] = []
let eventHandler: ((event: unknown, ...args: unknown[]) => void) | undefined

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
  ipcRenderer: {
    invoke: async (...args: unknown[]) => {
      invoked.push(args)
      return { ok: true, value: { echoed: args[0] } }
    },
    on: (channel: string, fn: (event: unknown, ...args: unknown[]) => void) => {
      if (channel === IPC_EVENT_CHANNEL) eventHandler = fn
    }
  }
}))

await import('../../src/preload/index')

describe('preload', () => {
  it('exposes only `api`: a named function per channel and a listener slot', () => {
    expect(Object.keys(exposed)).toEqual(['api'])
    const api = exposed.api as Record<string, Record<string, unknown>>
    for (const name of CHANNEL_NAMES) {
      const [feature, action] = name.split('.')
      expect(typeof api[feature]?.[action], name).toBe('function')
    }
    const features = new Set(CHANNEL_NAMES.map((n) => n.split('.')[0]))
    expect(Object.keys(api).sort()).toEqual([...features, 'on'].sort())
    expect(JSON.stringify(Object.keys(api))).not.toContain('ipcRenderer')
  })

  it('sends calls over the prefixed IPC channel and unwraps the envelope', async () => {
    const api = exposed.api as { project: { open(req: unknown): Promise<unknown> } }
    expect(await api.project.open({ dir: '/x' })).toEqual({ echoed: IPC_INVOKE_PREFIX + 'project.open' })
    expect(invoked.at(-1)).toEqual([IPC_INVOKE_PREFIX + 'project.open', { dir: '/x' }])
  })

  it('delivers events to listeners until they unsubscribe, and ignores unknown events', () => {
    const api = exposed.api as { on(name: string, fn: (p: unknown) => void): () => void }
    const got: unknown[] = []
    const off = api.on('project.changed', (p) => got.push(p))
    eventHandler!({}, 'project.changed', { name: 'one' })
    eventHandler!({}, 'evil.event', { name: 'x' })
    off()
    eventHandler!({}, 'project.changed', { name: 'two' })
    expect(got).toEqual([{ name: 'one' }])
    expect(() => api.on('not.an.event', () => {})).toThrow(/unknown event/)
  })
})
