import type { ChannelName, ParsedReq, Res } from '../../shared/contract'
import { StudioError } from '../../shared/errors'
import { importDemo } from '../dataset/demo-import'
import { importPath } from '../dataset/importer'
import { checkMissing, relink } from '../dataset/relink'
import type { Session } from './session'

export type Handler<C extends ChannelName> = (req: ParsedReq<C>) => Promise<Res<C>> | Res<C>
export type Handlers = { [C in ChannelName]: Handler<C> }

/** What only a desktop shell can do; the HTTP bridge leaves these out. */
export interface ShellHandlers {
  chooseFolder?: Handler<'dialog.chooseFolder'>
  chooseFile?: Handler<'dialog.chooseFile'>
}

const desktopOnly = () => {
  throw new StudioError('unsupported', 'file dialogs exist only in the desktop app; type the path instead')
}

export function createHandlers(session: Session, shell: ShellHandlers = {}): Handlers {
  return {
    'app.info': () => session.appInfo(),
    'project.create': (req) => session.create(req.dir, { name: req.name, classes: req.classes }),
    'project.open': (req) => session.open(req.dir),
    'project.close': async () => ({ closed: await session.close() }),
    'project.summary': () => session.requireProject().summary(),
    'project.recent': () => session.recent.list(),
    'project.forgetRecent': (req) => session.recent.remove(req.dir),
    'dataset.import': (req) =>
      session.startJob('import', (project, ctx) =>
        importPath(project, req.source, { ...req, signal: ctx.signal, onProgress: ctx.progress })
      ),
    'dataset.demo': (req) =>
      session.startJob('demo', (project, ctx) => importDemo(project, req, { signal: ctx.signal, onProgress: ctx.progress })),
    'dataset.checkMissing': () => {
      const project = session.requireProject()
      const report = checkMissing(project)
      session.changed()
      return report
    },
    'dataset.relink': (req) =>
      session.startJob('relink', (project, ctx) => relink(project, req.folder, { signal: ctx.signal, onProgress: ctx.progress })),
    'dialog.chooseFolder': shell.chooseFolder ?? desktopOnly,
    'dialog.chooseFile': shell.chooseFile ?? desktopOnly,
    'job.cancel': (req) => ({ cancelled: session.jobs.cancel(req.jobId) })
  }
}
