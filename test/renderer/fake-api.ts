import { vi } from 'vitest'
import { createApi, type StudioApi } from '../../src/shared/api'
import type { ChannelName, EventName } from '../../src/shared/contract'
import type { ProjectSummary } from '../../src/shared/domain'
import { StudioError, toErrorInfo, type Envelope } from '../../src/shared/errors'

export function summary(extra: Partial<ProjectSummary> = {}): ProjectSummary {
  return {
    dir: '/data/emotions',
    name: 'emotions',
    createdAt: '2026-01-01T00:00:00.000Z',
    schemaVersion: 1,
    imageCount: 0,
    excludedCount: 0,
    missingCount: 0,
    labeledCount: 0,
    labeledShare: 0,
    classCount: 0,
    classes: [],
    environments: [],
    annotators: [],
    ...extra
  }
}

type Impl = Partial<Record<ChannelName, (req: never) => unknown>>

/** A window.api whose channels answer from `impl`; calls are recorded, events can be pushed. */
export function fakeApi(impl: Impl) {
  const calls: { channel: ChannelName; payload: unknown }[] = []
  const listeners = new Map<EventName, Set<(p: unknown) => void>>()
  const api: StudioApi = createApi({
    invoke: async (channel, payload): Promise<Envelope<unknown>> => {
      calls.push({ channel, payload })
      const fn = impl[channel] as ((req: unknown) => unknown) | undefined
      if (!fn) return { ok: false, error: { code: 'unsupported', message: `fake has no ${channel}` } }
      try {
        return { ok: true, value: await fn(payload) }
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) }
      }
    },
    subscribe: (event, listener) => {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener)
      return () => set.delete(listener)
    }
  })
  const emit = (event: EventName, payload: unknown) => listeners.get(event)?.forEach((l) => l(payload))
  return { api, calls, emit, fail: (code: StudioError['code'], message: string) => vi.fn(() => { throw new StudioError(code, message) }) }
}
