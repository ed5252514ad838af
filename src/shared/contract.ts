// The one contract between the renderer and the core. Main's IPC dispatcher, the preload, the
// HTTP bridge and its browser client are all derived from this map; nothing else names a channel.
import { z } from 'zod'
import type { AgreementReport } from './agreement'
import { libraryFilterSchema, librarySortSchema, type Facets, type ImageCard, type ImageDetail } from './library'
import type { ProbeReport } from './probe'
import type {
  ActionResult,
  AppInfo,
  BackboneInfo,
  ClassImpact,
  RunEpoch,
  RunInfo,
  TrainingEvent,
  ImportReport,
  JobStarted,
  JobEnd,
  JobProgress,
  ProjectSummary,
  RecentProject
} from './domain'

const MAX_PATH = 4096
export const MAX_CLASS_NAME = 200

export const pathField = z.string().trim().min(1, 'must not be empty').max(MAX_PATH, `must be at most ${MAX_PATH} characters`)
export const classNameField = z
  .string()
  .trim()
  .min(1, 'class names must not be empty')
  .max(MAX_CLASS_NAME, `class names must be at most ${MAX_CLASS_NAME} characters`)

import { annotator, channel, empty, id, imageIds } from './channels/base'
import { evaluateChannels, type EvaluateJobResults } from './channels/evaluate'
import { insightsChannels, type InsightsJobResults } from './channels/insights'
import { reviewChannels, type ReviewJobResults } from './channels/review'

export const channels = {
  'app.info': channel<AppInfo>()(empty),
  'project.create': channel<ProjectSummary>()(
    z
      .object({
        dir: pathField,
        name: z.string().trim().min(1).max(200).optional(),
        classes: z.array(classNameField).max(500).optional()
      })
      .strict()
  ),
  'project.open': channel<ProjectSummary>()(z.object({ dir: pathField }).strict()),
  'project.close': channel<{ closed: boolean }>()(empty),
  'project.summary': channel<ProjectSummary>()(empty),
  'project.recent': channel<RecentProject[]>()(empty),
  'project.forgetRecent': channel<RecentProject[]>()(z.object({ dir: pathField }).strict()),
  'dataset.import': channel<JobStarted>()(
    z
      .object({
        source: pathField,
        format: z.enum(['folder', 'csv', 'fer2013']).optional(),
        layout: z.enum(['class', 'split/class', 'env/class', 'none']).optional(),
        environment: z.string().trim().min(1).max(100).optional(),
        annotator: z.string().trim().min(1).max(100).optional(),
        newClasses: z.enum(['create', 'refuse']).optional(),
        allowAbsolute: z.boolean().optional()
      })
      .strict()
  ),
  'dataset.demo': channel<JobStarted>()(
    z
      .object({
        images: z.number().int().min(1).max(200_000),
        seed: z.number().int().min(0).max(2 ** 31),
        labelNoise: z.number().min(0).max(0.9).optional(),
        imbalance: z.number().min(1).max(100).optional()
      })
      .strict()
  ),
  'dataset.checkMissing': channel<{ checked: number; missing: number; found: number }>()(empty),
  'dataset.relink': channel<JobStarted>()(z.object({ folder: pathField }).strict()),
  'library.query': channel<{ total: number; items: ImageCard[] }>()(
    z.object({ filter: libraryFilterSchema, sort: librarySortSchema, offset: z.number().int().min(0), limit: z.number().int().min(1).max(1000) }).strict()
  ),
  'library.ids': channel<{ ids: number[] }>()(z.object({ filter: libraryFilterSchema, sort: librarySortSchema }).strict()),
  'library.facets': channel<Facets>()(empty),
  'library.cards': channel<ImageCard[]>()(z.object({ ids: z.array(id).max(1000) }).strict()),
  'image.detail': channel<ImageDetail>()(z.object({ id, annotator, blind: z.boolean().optional() }).strict()),
  'label.set': channel<ActionResult>()(z.object({ imageIds, classId: id.nullable(), annotator }).strict()),
  'label.setField': channel<ActionResult>()(
    z
      .object({
        imageIds,
        annotator,
        field: z.enum(['exclude', 'environment', 'subject', 'attribute']),
        name: z.string().trim().min(1).max(100).optional(),
        value: z.union([z.string().max(200), z.boolean(), z.null()])
      })
      .strict()
  ),
  'label.undo': channel<ActionResult>()(z.object({ annotator }).strict()),
  'label.redo': channel<ActionResult>()(z.object({ annotator }).strict()),
  'label.undoState': channel<{ canUndo: boolean; canRedo: boolean }>()(z.object({ annotator }).strict()),
  'label.agreement': channel<AgreementReport>()(z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict()),
  'classes.create': channel<ProjectSummary>()(z.object({ name: classNameField }).strict()),
  'classes.rename': channel<ProjectSummary>()(z.object({ classId: id, name: z.string().min(1).max(MAX_CLASS_NAME) }).strict()),
  'classes.recolour': channel<ProjectSummary>()(z.object({ classId: id, colour: z.string().max(20) }).strict()),
  'classes.setKey': channel<ProjectSummary>()(z.object({ classId: id, key: z.string().max(1).nullable() }).strict()),
  'classes.reorder': channel<ProjectSummary>()(z.object({ classIds: z.array(id).max(1000) }).strict()),
  'classes.impact': channel<ClassImpact>()(z.object({ classId: id }).strict()),
  'classes.merge': channel<ProjectSummary>()(z.object({ sourceId: id, targetId: id }).strict()),
  'classes.delete': channel<ProjectSummary>()(z.object({ classId: id, clearLabels: z.boolean().optional() }).strict()),
  'training.start': channel<JobStarted>()(
    z
      .object({
        /** A backbone id, or 'auto': linear-probe the ready backbones on the training split and train the winner. */
        backbone: z.string().max(100).optional(),
        size: z.number().int().min(16).max(512).optional(),
        /** With 'auto': images per class the probe samples, and which backbones it compares (default every ready one). */
        probe: z
          .object({ samplePerClass: z.number().int().min(2).max(500).optional(), backbones: z.array(z.string().min(1).max(100)).min(1).max(50).optional() })
          .strict()
          .optional(),
        split: z
          .union([
            z.object({ kind: z.enum(['stratified', 'subject']), validation: z.number().min(0.05).max(0.9), seed: z.number().int().min(0) }).strict(),
            z.object({ kind: z.literal('environment'), validationEnvironments: z.array(z.string().max(200)).min(1).max(50) }).strict(),
            z.object({ kind: z.literal('column') }).strict()
          ])
          .optional(),
        weights: z.enum(['inverse', 'effective', 'off']).optional(),
        epochs: z.number().int().min(1).max(500).optional(),
        seed: z.number().int().min(0).max(2 ** 31).optional(),
        flip: z.boolean().optional(),
        /** The head on the features: default Dense 256 relu, Dropout 0.5, learning rate 1e-3; hidden 0 is softmax only. */
        head: z
          .object({
            hidden: z.number().int().min(0).max(8192).optional(),
            dropout: z.number().min(0).max(0.95).optional(),
            learningRate: z.number().positive().max(1).optional()
          })
          .strict()
          .optional(),
        stage2: z
          .object({
            enabled: z.boolean().optional(),
            fraction: z.number().min(0).max(1).optional(),
            learningRate: z.number().positive().max(1).optional(),
            epochs: z.number().int().min(1).max(200).optional(),
            batchSize: z.number().int().min(2).max(256).optional(),
            augment: z
              .object({
                flip: z.boolean().optional(),
                rotateDeg: z.number().min(0).max(20).optional(),
                brightness: z.number().min(0).max(0.3).optional(),
                contrast: z.number().min(0).max(0.3).optional(),
                minCrop: z.number().min(0.7).max(1).optional()
              })
              .strict()
              .optional()
          })
          .strict()
          .optional()
      })
      .strict()
  ),
  'training.resume': channel<JobStarted>()(z.object({ runId: id }).strict()),
  'training.runs': channel<RunInfo[]>()(empty),
  'training.backbones': channel<BackboneInfo[]>()(empty),
  /** Linear-probes backbones on a stratified sample as a job ('probe'); the ProbeReport arrives in job.end. */
  'training.probe': channel<JobStarted>()(
    z
      .object({
        samplePerClass: z.number().int().min(2).max(500).optional(),
        backbones: z.array(z.string().min(1).max(100)).min(1).max(50).optional(),
        folds: z.number().int().min(2).max(10).optional(),
        seed: z.number().int().min(0).max(2 ** 31).optional(),
        download: z.boolean().optional()
      })
      .strict()
  ),
  'training.epochs': channel<RunEpoch[]>()(z.object({ runId: id }).strict()),
  'dialog.chooseFolder': channel<{ path: string | null }>()(
    z.object({ purpose: z.enum(['open', 'create', 'import']), defaultPath: pathField.optional() }).strict()
  ),
  'dialog.chooseFile': channel<{ path: string | null }>()(
    z.object({ purpose: z.enum(['import']), defaultPath: pathField.optional() }).strict()
  ),
  'job.cancel': channel<{ cancelled: boolean }>()(z.object({ jobId: z.string().min(1).max(100) }).strict()),
  // Feature areas keep their channels in src/shared/channels/<area>.ts.
  ...reviewChannels,
  ...insightsChannels,
  ...evaluateChannels
} as const

export type Channels = typeof channels
export type ChannelName = keyof Channels
export type Req<C extends ChannelName> = z.input<Channels[C]['request']>
export type ParsedReq<C extends ChannelName> = z.output<Channels[C]['request']>
export type Res<C extends ChannelName> = Channels[C]['response']

export const CHANNEL_NAMES = Object.keys(channels) as ChannelName[]

export function isChannelName(name: unknown): name is ChannelName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name)
}

/** Main -> renderer events. */
export interface Events {
  'project.changed': ProjectSummary | null
  /** Labels or metadata of these images changed (another tab or window, undo, bulk edit). */
  'images.changed': { imageIds: number[]; annotator: string; kind: string }
  'training.event': TrainingEvent
  'job.progress': JobProgress
  'job.end': JobEnd
}
export type EventName = keyof Events
/** What a finished job carries in `job.end`'s result, by job kind. */
export interface JobResults extends ReviewJobResults, InsightsJobResults, EvaluateJobResults {
  import: ImportReport
  demo: { report: ImportReport; truthFile: string; noisy: number }
  relink: { relinked: number; stillMissing: number; scanned: number }
  probe: ProbeReport
}

export const EVENT_NAMES: EventName[] = ['project.changed', 'images.changed', 'training.event', 'job.progress', 'job.end']

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as string[]).includes(name)
}

/** The IPC channel names that carry the contract over Electron. */
export const IPC_INVOKE_PREFIX = 'studio:'
export const IPC_EVENT_CHANNEL = 'studio:event'
