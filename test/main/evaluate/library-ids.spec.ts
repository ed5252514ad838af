// The library's `ids` filter, which opens a confusion-matrix cell in the grid.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { countImages, queryIds } from '../../../src/main/labeling/library'
import { createProject } from '../../../src/main/project/project'
import { libraryFilterSchema } from '../../../src/shared/library'
import { seedImages } from '../../helpers/seed'
import { tempDir } from '../../helpers/tmp'

describe('library ids filter', () => {
  it('keeps only the listed images, combines with other filters, and an empty list matches nothing', () => {
    const p = createProject(join(tempDir(), 'p'), { classes: ['a', 'b'] })
    const ids = seedImages(p.db, 6, { environment: (i) => (i % 2 ? 'webcam' : 'studio') })
    expect(queryIds(p.db, { ids: [ids[4], ids[1], ids[2]] }, 'added')).toEqual([ids[1], ids[2], ids[4]])
    expect(queryIds(p.db, { ids: [ids[1], ids[2]], environments: ['webcam'] }, 'added')).toEqual([ids[1]])
    expect(countImages(p.db, { ids: [] })).toBe(0)
    expect(libraryFilterSchema.safeParse({ ids: [0] }).success).toBe(false)
    p.close()
  })
})
