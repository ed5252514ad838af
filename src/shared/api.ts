// The closed API the renderer sees as `window.api`, built from the contract. The preload builds
// it over ipcRenderer and the browser bridge client over HTTP; the renderer cannot tell them apart.
import { CHANNEL_NAMES, type ChannelName, type EventName, type Events, type Req, type Res } from './contract'
import { StudioError, type Envelope } from './errors'

type Feature<C extends string> = C extends `${infer F}.${string}` ? F : never
type Action<C extends string, F extends string> = C extends `${F}.${infer A}` ? A : never

type Call<C> = C extends ChannelName ? (req: Req<C>) => Promise<Res<C>> : never

export type FeatureApi<F extends string> = {
  [A in Action<ChannelName, F>]: Call<`${F}.${A}`>
}

export type StudioApi = { [F in Feature<ChannelName>]: FeatureApi<F> } & {
  /** Subscribes to a main->renderer event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
}

export interface Transport {
  invoke(channel: ChannelName, payload: unknown): Promise<Envelope<unknown>>
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void
}

export function createApi(transport: Transport): StudioApi {
  const api: Record<string, unknown> = {}
  for (const name of CHANNEL_NAMES) {
    const [feature, action] = name.split('.') as [string, string]
    const group = (api[feature] ??= {}) as Record<string, unknown>
    group[action] = async (req: unknown) => {
      const envelope = await transport.invoke(name, req ?? {})
      if (envelope.ok) return envelope.value
      throw new StudioError(envelope.error.code, envelope.error.message, envelope.error.field)
    }
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => transport.subscribe(event, listener)
  return api as unknown as StudioApi
}
