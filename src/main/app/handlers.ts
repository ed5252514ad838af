import type { ChannelName, ParsedReq, Res } from '../../shared/contract'
import { StudioError } from '../../shared/errors'
import type { Session } from './session'

export type Handler<C extends ChannelName> = (req: ParsedReq<C>) => Promise<Res<C>> | Res<C>
export type Handlers = { [C in ChannelName]: Handler<C> }

/** What only a desktop shell can do; the HTTP bridge leaves these out. */
export interface ShellHandlers {
  chooseFolder?: Handler<'dialog.chooseFolder'>
}

export function createHandlers(session: Session, shell: ShellHandlers = {}): Handlers {
  return {
    'app.info': () => session.appInfo(),
    'project.create': (req) => session.create(req.dir, { name: req.name, classes: req.classes }),
    'project.open': (req) => session.open(req.dir),
    'project.close': () => ({ closed: session.close() }),
    'project.summary': () => session.requireProject().summary(),
    'project.recent': () => session.recent.list(),
    'project.forgetRecent': (req) => session.recent.remove(req.dir),
    'dialog.chooseFolder':
      shell.chooseFolder ??
      (() => {
        throw new StudioError('unsupported', 'folder dialogs exist only in the desktop app; type the folder path instead')
      }),
    'job.cancel': (req) => ({ cancelled: session.jobs.cancel(req.jobId) })
  }
}
