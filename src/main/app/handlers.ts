import type { ChannelName, ParsedReq, Res } from '../../shared/contract'
import { StudioError } from '../../shared/errors'
import { importDemo } from '../dataset/demo-import'
import { importPath } from '../dataset/importer'
import { checkMissing, relink } from '../dataset/relink'
import { agreementReport } from '../analysis/agreement'
import { CURRENT_SQL } from '../db/repos/annotations'
import { label, redo, setField, undo, undoState, type ActionSummary } from '../labeling/actions'
import { classImpact, createClass, deleteClass, mergeClasses, recolourClass, renameClass, reorderClasses, setClassKey } from '../labeling/classes'
import { cardsByIds, facets, imageDetail, queryIds, queryImages } from '../labeling/library'
import type { ActionResult, JobStarted } from '../../shared/domain'
import { listRuns, runEpochs } from '../db/repos/runs'
import { describeProbeProgress, resumeTraining, runTraining } from '../training/runner'
import type { ProbeProgress } from '../training/probe'
import type { TrainerEvent } from '../training/plan'
import { listBackbones } from '../training/backbones'
import { probeProject } from '../training/probe-inputs'
import { evaluateHandlers } from './features/evaluate'
import { insightsHandlers } from './features/insights'
import { reviewHandlers } from './features/review'
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
  const db = () => session.requireProject().db
  /** Tells every page on this session which images changed, so other views and tabs refresh. */
  const acted = (action: ActionSummary): ActionResult => {
    session.emit('images.changed', { imageIds: action.images, annotator: action.annotator, kind: action.kind })
    return { action, ...undoState(db(), action.annotator) }
  }
  const classesChanged = <T>(work: () => T) => {
    work()
    session.changed()
    return session.summary()
  }
  /** Passes a training run's events to the page (predictions stay in the database). */
  const relayTraining = (jobId: () => string) => (e: TrainerEvent) => {
    const base = { jobId: jobId() }
    if (e.type === 'epochEnd') session.emit('training.event', { ...base, type: 'epochEnd', metrics: { ...e.metrics, durationMs: e.metrics.ms } })
    else if (e.type === 'batchEnd') session.emit('training.event', { ...base, type: 'batchEnd', batch: e.progress })
    else if (e.type === 'progress') session.emit('training.event', { ...base, type: 'progress', phase: e.phase, done: e.done, total: e.total })
    else if (e.type === 'stageBegin') session.emit('training.event', { ...base, type: 'stageBegin', stage: e.stage, description: e.description })
    else if (e.type === 'backend') session.emit('training.event', { ...base, type: 'backend', name: e.name })
    else if (e.type === 'stageEnd') session.emit('training.event', { ...base, type: 'stageEnd', stage: e.stage })
    else session.emit('training.event', { ...base, type: 'runEnd', status: e.status, error: e.error })
  }
  return {
    'app.info': () => session.appInfo(),
    'project.create': (req) => session.create(req.dir, { name: req.name, classes: req.classes }),
    'project.open': (req) => session.open(req.dir),
    'project.close': async () => ({ closed: await session.close() }),
    'project.summary': () => session.summary(),
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
    'library.query': (req) => queryImages(db(), req.filter, req.sort, req.offset, req.limit),
    'library.ids': (req) => ({ ids: queryIds(db(), req.filter, req.sort) }),
    'library.facets': () => facets(db()),
    'library.cards': (req) => cardsByIds(db(), req.ids),
    'image.detail': (req) => imageDetail(db(), req.id, req.annotator, req.blind ?? false),
    'label.set': (req) => acted(label(db(), req.annotator, req.imageIds, req.classId)),
    'label.setField': (req) => {
      if (req.field === 'attribute' && !req.name) throw new StudioError('invalid_payload', 'label.setField: name is required for an attribute', 'name')
      if ((req.field === 'exclude') !== (typeof req.value === 'boolean')) {
        throw new StudioError('invalid_payload', `label.setField: ${req.field} takes ${req.field === 'exclude' ? 'true or false' : 'a text value or null'}`, 'value')
      }
      const field = req.field === 'attribute' ? { kind: 'attribute' as const, name: req.name! } : { kind: req.field }
      return acted(setField(db(), req.annotator, req.imageIds, field, req.value))
    },
    'label.undo': (req) => acted(undo(db(), req.annotator)),
    'label.redo': (req) => acted(redo(db(), req.annotator)),
    'label.undoState': (req) => undoState(db(), req.annotator),
    'label.agreement': (req) => {
      const ratings = db()
        .prepare(`SELECT c.image_id AS item, c.annotator AS rater, c.class_id AS label FROM (${CURRENT_SQL}) c JOIN images i ON i.id = c.image_id WHERE c.class_id IS NOT NULL AND i.excluded = 0`)
        .all() as { item: number; rater: string; label: number }[]
      return agreementReport(ratings, req.limit)
    },
    'classes.create': (req) => classesChanged(() => createClass(db(), req.name)),
    'classes.rename': (req) => classesChanged(() => renameClass(db(), req.classId, req.name)),
    'classes.recolour': (req) => classesChanged(() => recolourClass(db(), req.classId, req.colour)),
    'classes.setKey': (req) => classesChanged(() => setClassKey(db(), req.classId, req.key)),
    'classes.reorder': (req) => classesChanged(() => reorderClasses(db(), req.classIds)),
    'classes.impact': (req) => classImpact(db(), req.classId),
    'classes.merge': (req) => classesChanged(() => mergeClasses(db(), req.sourceId, req.targetId)),
    'classes.delete': (req) => classesChanged(() => deleteClass(db(), req.classId, req.clearLabels ?? false)),
    'training.start': (req) => {
      const head = req.head || req.epochs ? { ...req.head, ...(req.epochs ? { epochs: req.epochs } : {}) } : undefined
      const options = { backbone: req.backbone, size: req.size, split: req.split, weights: req.weights, head, seed: req.seed, flip: req.flip, stage2: req.stage2, probe: req.probe }
      // The probe (backbone 'auto') runs before the worker: its progress is a 'probe' phase of the run.
      // (The probe may report before startJob returns: those first events have no job id yet and are skipped.)
      let started: JobStarted | undefined
      const onProbe = (p: ProbeProgress) =>
        started && session.emit('training.event', { jobId: started.jobId, type: 'progress', phase: 'probe', name: p.backbone, description: describeProbeProgress(p), done: p.index * p.total + p.done, total: p.count * p.total })
      started = session.startJob('train', (project, ctx) => runTraining(project, options, { signal: ctx.signal, onEvent: relayTraining(() => started!.jobId), onProbe }))
      return started
    },
    'training.resume': (req) => {
      const started: JobStarted = session.startJob('train', (project, ctx) => resumeTraining(project, req.runId, { signal: ctx.signal, onEvent: relayTraining(() => started.jobId) }))
      return started
    },
    'training.runs': () => listRuns(db()),
    'training.backbones': () =>
      listBackbones(session.project?.dir ?? null).map((b) => ({
        id: b.id,
        name: b.name,
        provenance: b.provenance,
        sizes: b.sizes,
        defaultSize: b.defaultSize,
        featureDim: b.featureDim,
        fineTunable: b.fineTunable,
        status: b.status,
        source: b.source?.kind ?? 'bundled'
      })),
    'training.probe': (req) => session.startJob('probe', (project, ctx) => probeProject(project, req, ctx)),
    'training.epochs': (req) => runEpochs(db(), req.runId),
    'dialog.chooseFolder': shell.chooseFolder ?? desktopOnly,
    'dialog.chooseFile': shell.chooseFile ?? desktopOnly,
    'job.cancel': (req) => ({ cancelled: session.jobs.cancel(req.jobId) }),
    ...reviewHandlers(session),
    ...insightsHandlers(session),
    ...evaluateHandlers(session)
  }
}
