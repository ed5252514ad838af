// Domain types shared by the core, the transports and the renderer.

export interface ClassInfo {
  id: number
  name: string
  key: string | null
  colour: string
  position: number
  /** Images whose consensus label is this class. */
  imageCount: number
}

export interface CountByName {
  name: string
  count: number
}

export interface ProjectSummary {
  dir: string
  /** Names the open project in file URLs; set by the app session, empty from the CLI. */
  key?: string
  name: string
  createdAt: string
  schemaVersion: number
  imageCount: number
  excludedCount: number
  /** Images whose source file was not found at the last check. */
  missingCount: number
  labeledCount: number
  /** labeled / (images not excluded); 0 when there are none. */
  labeledShare: number
  classCount: number
  classes: ClassInfo[]
  environments: CountByName[]
  annotators: CountByName[]
}

export interface RecentProject {
  dir: string
  name: string
  openedAt: string
}

export interface AppInfo {
  version: string
  /** 'electron' when native dialogs exist, 'http' in a browser through the bridge. */
  transport: 'electron' | 'http'
  nativeDialogs: boolean
  /** Where thumbnails and images are served: `${fileBase}/${projectKey}/thumb/<sha256>.webp`. */
  fileBase: string
  /** Absolute path of the user's home, to suggest a place for new projects. */
  home: string
}

export interface JobProgress {
  jobId: string
  kind: string
  done: number
  total: number | null
  message: string
}

export interface JobEnd {
  jobId: string
  kind: string
  status: 'completed' | 'cancelled' | 'failed'
  error?: string
  result?: unknown
}

export interface SkippedFile {
  file: string
  /** 1-based line, for rows of a CSV. */
  line?: number
  reason: string
}

export interface ImportReport {
  source: string
  format: string
  /** Images the source offered (rows and files, bad ones included once they were recognised). */
  seen: number
  added: number
  duplicates: number
  labeled: number
  classesCreated: string[]
  skipped: SkippedFile[]
  /** Every skip, when more happened than `skipped` lists (the list is capped so a bad huge CSV stays small). */
  skippedTotal?: number
  /** Files that are not images by extension, passed over silently. */
  ignored: number
  cancelled: boolean
  durationMs: number
}

export interface JobStarted {
  jobId: string
}

export interface ActionSummary {
  id: string
  kind: 'label' | 'exclude' | 'environment' | 'subject' | 'attribute'
  annotator: string
  images: number[]
  field?: string
}

export interface ActionResult {
  action: ActionSummary
  canUndo: boolean
  canRedo: boolean
}

export interface ClassImpact {
  classId: number
  /** Current labels (one per annotator and image) that name this class. */
  labels: number
  /** Images for which at least one annotator's current label is this class. */
  images: number
  /** Images whose consensus is this class. */
  consensus: number
}

export interface RunInfo {
  id: number
  status: 'queued' | 'running' | 'completed' | 'cancelled' | 'failed' | 'interrupted'
  backbone: string | null
  backend: string | null
  startedAt: string
  endedAt: string | null
  error: string | null
  config: Record<string, unknown>
  summary: Record<string, unknown> | null
}

export interface RunEpoch {
  stage: number
  epoch: number
  loss: number | null
  accuracy: number | null
  valLoss: number | null
  valAccuracy: number | null
  imagesPerSecond: number | null
  durationMs: number | null
}

/** What the trainer reports while a run is going, relayed to the page. */
export interface TrainingEvent {
  jobId: string
  type: 'backend' | 'stageBegin' | 'progress' | 'batchEnd' | 'epochEnd' | 'stageEnd' | 'runEnd'
  stage?: number
  description?: string
  name?: string
  phase?: string
  done?: number
  total?: number
  metrics?: RunEpoch & { ms: number }
  /** batchEnd: where the current epoch is, its running loss/accuracy, speed and time left. */
  batch?: TrainingBatch
  status?: string
  error?: string
}

export interface TrainingBatch {
  stage: number
  epoch: number
  done: number
  total: number
  loss: number
  accuracy: number
  imagesPerSecond: number
  etaMs: number
}

export interface BackboneInfo {
  id: string
  name: string
  provenance: string
  sizes: number[]
  defaultSize: number
  featureDim: number
  fineTunable: boolean
  /** ready: loads now; needs download: weights fetched on first use (online only); missing: a registered folder that is gone. */
  status?: 'ready' | 'needs download' | 'missing'
  /** Where its weights are: an npm package, a download, or the user's own folder. */
  source?: 'bundled' | 'download' | 'folder'
}
