// Runs sandboxed, before the page. The page gets only the named functions of the contract and
// listener slots; ipcRenderer itself never crosses the bridge.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { createApi } from '../shared/api'
import { IPC_EVENT_CHANNEL, IPC_INVOKE_PREFIX, isChannelName, isEventName, type EventName } from '../shared/contract'
import type { Envelope } from '../shared/errors'

const listeners = new Map<EventName, Set<(payload: unknown) => void>>()

ipcRenderer.on(IPC_EVENT_CHANNEL, (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
  if (!isEventName(name)) return
  for (const l of listeners.get(name) ?? []) l(payload)
})

const api = createApi({
  invoke: async (channel, payload) => {
    if (!isChannelName(channel)) {
      return { ok: false, error: { code: 'unknown_channel', message: `unknown channel ${String(channel)}` } }
    }
    return (await ipcRenderer.invoke(IPC_INVOKE_PREFIX + channel, payload)) as Envelope<unknown>
  },
  subscribe: (event, listener) => {
    if (!isEventName(event)) throw new Error(`unknown event ${String(event)}`)
    let set = listeners.get(event)
    if (!set) listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }
})

contextBridge.exposeInMainWorld('api', api)
