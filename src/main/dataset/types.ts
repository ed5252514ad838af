/** One image an import source found, before it is read and decoded. */
export interface ImportItem {
  /** The file (or CSV) this came from, for reports. */
  origin: string
  /** The 1-based line of a CSV row. */
  line?: number
  /** An image referenced in place by its absolute path... */
  path?: string
  /** ...or the bytes of an image that has no file of its own, stored inside the project. */
  bytes?: Buffer
  /** For stored images: the folder under images/ they go to. */
  storeIn?: string
  fileName: string
  label?: string
  environment?: string
  subject?: string
  annotator?: string
  attributes?: Record<string, string>
  splitHint?: string
}

export type { SkippedFile as Skipped } from '../../shared/domain'
import type { SkippedFile as Skipped } from '../../shared/domain'

export type SourceEntry = { item: ImportItem } | { skipped: Skipped }

/** A source streams entries; `total` is known up front where counting is cheap. */
export interface ImportSource {
  total: number | null
  entries: AsyncIterable<SourceEntry>
}
