// The library's filter and the cards it returns: shared by the core query, the contract and
// the renderer's grid.
import { z } from 'zod'

export const libraryFilterSchema = z
  .object({
    classIds: z.array(z.number().int()).max(1000).optional(),
    unlabeled: z.boolean().optional(),
    /** hide (default), include, or only the excluded images. */
    excluded: z.enum(['hide', 'include', 'only']).optional(),
    environments: z.array(z.string().max(200)).max(100).optional(),
    subjects: z.array(z.string().max(200)).max(1000).optional(),
    attributes: z.record(z.string().max(100), z.string().max(200)).optional(),
    /** Images this annotator has labeled. */
    annotator: z.string().max(100).optional(),
    /** Images whose annotators disagree. */
    disagreement: z.boolean().optional(),
    missing: z.boolean().optional(),
    /** Images with an open (undecided, not stale) flag from label-noise review. */
    flagged: z.boolean().optional(),
    splitHint: z.string().max(100).optional(),
    search: z.string().max(500).optional(),
    /** Only these images (e.g. one cell of a confusion matrix), combined with the other filters. */
    ids: z.array(z.number().int().min(1)).max(200_000).optional()
  })
  .strict()
export type LibraryFilter = z.infer<typeof libraryFilterSchema>

export const librarySortSchema = z.enum(['added', 'name', 'class']).optional()
export type LibrarySort = z.infer<typeof librarySortSchema>

export interface ImageCard {
  id: number
  fileName: string
  sha256: string
  classId: number | null
  votes: number
  tie: boolean
  disagreement: boolean
  excluded: boolean
  missing: boolean
  environment: string | null
  subjectId: string | null
}

export interface ImageDetail extends ImageCard {
  width: number
  height: number
  format: string
  bytes: number
  sourcePath: string | null
  attributes: Record<string, string>
  splitHint: string | null
  /** The asking annotator's own current label. */
  mine: number | null
  /** Every annotator's current label; empty in blind mode. */
  labels: { annotator: string; classId: number }[]
  /** Label counts per class; empty in blind mode. */
  distribution: { classId: number; count: number }[]
}

export interface Facets {
  environments: { name: string; count: number }[]
  subjects: number
  attributes: { name: string; values: { value: string; count: number }[] }[]
  annotators: string[]
  splitHints: string[]
}
