// The one contract between the renderer and the core. Main's IPC dispatcher, the preload, the
// HTTP bridge and its browser client are all derived from this map; nothing else names a channel.
import { z } from 'zod'
import type {
  AppInfo,
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

const empty = z.object({}).strict()

/** Declares a channel: its request schema, and its response type carried only as a type. */
function channel<Res>() {
  return <Req extends z.ZodType>(request: Req) => ({ request, response: undefined as unknown as Res })
}

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
  'dialog.chooseFolder': channel<{ path: string | null }>()(
    z.object({ purpose: z.enum(['open', 'create', 'import']), defaultPath: pathField.optional() }).strict()
  ),
  'dialog.chooseFile': channel<{ path: string | null }>()(
    z.object({ purpose: z.enum(['import']), defaultPath: pathField.optional() }).strict()
  ),
  'job.cancel': channel<{ cancelled: boolean }>()(z.object({ jobId: z.string().min(1).max(100) }).strict())
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
  'job.progress': JobProgress
  'job.end': JobEnd
}
export type EventName = keyof Events
/** What a finished job carries in `job.end`'s result, by job kind. */
export interface JobResults {
  import: ImportReport
  demo: { report: ImportReport; truthFile: string; noisy: number }
  relink: { relinked: number; stillMissing: number; scanned: number }
}

export const EVENT_NAMES: EventName[] = ['project.changed', 'job.progress', 'job.end']

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && (EVENT_NAMES as string[]).includes(name)
}

/** The IPC channel names that carry the contract over Electron. */
export const IPC_INVOKE_PREFIX = 'studio:'
export const IPC_EVENT_CHANNEL = 'studio:event'
