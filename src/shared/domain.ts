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
  name: string
  createdAt: string
  schemaVersion: number
  imageCount: number
  excludedCount: number
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
