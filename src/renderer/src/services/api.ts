import type { StudioApi } from '../../../shared/api'
import { createBridgeApi } from './bridge'

let api: StudioApi | null = null

/** The preload's API in Electron; the HTTP bridge client in a browser. */
export function useApi(): StudioApi {
  if (!api) api = window.api ?? createBridgeApi()
  return api
}

/** For component tests: a fake API in place of both transports. */
export function setApi(next: StudioApi | null): void {
  api = next
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
