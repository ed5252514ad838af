// In a browser there is no preload: this client gives the page the same `window.api` over the
// HTTP bridge. The token arrives once in the URL and then lives in sessionStorage.
import { createApi, type StudioApi } from '../../../shared/api'
import { EVENT_NAMES, type EventName } from '../../../shared/contract'
import type { Envelope } from '../../../shared/errors'

const TOKEN_KEY = 'freezeframe.token'

function takeToken(): string {
  const url = new URL(window.location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl)
    url.searchParams.delete('token')
    window.history.replaceState(null, '', url.pathname + url.search + url.hash)
    return fromUrl
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? ''
}

export function createBridgeApi(): StudioApi {
  const token = takeToken()
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>()
  let source: EventSource | null = null

  const ensureStream = (): void => {
    if (source) return
    // EventSource cannot send headers; the HttpOnly cookie set with the page carries the token.
    source = new EventSource('/api/events')
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        const payload = JSON.parse((e as MessageEvent<string>).data) as unknown
        for (const l of listeners.get(name) ?? []) l(payload)
      })
    }
  }

  return createApi({
    invoke: async (channel, payload) => {
      const res = await fetch(`/api/${channel}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(payload)
      })
      if (res.status === 401) {
        return { ok: false, error: { code: 'forbidden', message: 'the studio refused this page: open the URL that `studio serve` printed' } }
      }
      if (!res.headers.get('content-type')?.includes('application/json')) {
        return { ok: false, error: { code: 'internal', message: `the bridge answered ${res.status}: ${await res.text()}` } }
      }
      return (await res.json()) as Envelope<unknown>
    },
    subscribe: (event, listener) => {
      ensureStream()
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener)
      return () => set.delete(listener)
    }
  })
}
