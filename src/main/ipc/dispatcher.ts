import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import { CHANNEL_NAMES, IPC_EVENT_CHANNEL, IPC_INVOKE_PREFIX } from '../../shared/contract'
import type { Envelope } from '../../shared/errors'
import { dispatch } from '../app/dispatch'
import type { Handlers } from '../app/handlers'
import type { Session } from '../app/session'

export interface WindowBinding {
  webContents: WebContents
  session: Session
  handlers: Handlers
}

/**
 * Registers every channel of the contract once. Each call is routed to the session of the window
 * that sent it; a sender the app did not create (a stray frame, a devtools extension page) is refused.
 */
export function registerIpc(ipcMain: IpcMain, lookup: (sender: WebContents) => WindowBinding | undefined): () => void {
  for (const name of CHANNEL_NAMES) {
    ipcMain.handle(IPC_INVOKE_PREFIX + name, async (event: IpcMainInvokeEvent, payload: unknown): Promise<Envelope<unknown>> => {
      const binding = lookup(event.sender)
      if (!binding || (event.senderFrame && event.senderFrame !== event.sender.mainFrame)) {
        return { ok: false, error: { code: 'forbidden', message: `${name}: refused a call from a window this app did not create` } }
      }
      return dispatch(binding.handlers, name, payload)
    })
  }
  return () => {
    for (const name of CHANNEL_NAMES) ipcMain.removeHandler(IPC_INVOKE_PREFIX + name)
  }
}

/** Forwards a session's events to its window for as long as both live. */
export function forwardEvents(binding: WindowBinding): () => void {
  return binding.session.onEvent((event, payload) => {
    if (!binding.webContents.isDestroyed()) binding.webContents.send(IPC_EVENT_CHANNEL, event, payload)
  })
}
