import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { meanOfViews, runFlagging } from '../../../../src/main/analysis/flags/run'
import { listFlags } from '../../../../src/main/analysis/flags/store'
import { importDemo } from '../../../../src/main/dataset/demo-import'
import { createProject } from '../../../../src/main/project/project'
import { CACHE_FILE } from '../../../../src/main/training/embeddings'
import Database from 'better-sqlite3'
import { tempDir } from '../../../helpers/tmp'

describe('likely mislabeled: features and filter options', () => {
  it('averages an image\'s views element by element', () => {
    const avg = meanOfViews([Float32Array.from([1, 2, 4]), Float32Array.from([3, 2, 0])])
    expect(Array.from(avg)).toEqual([2, 2, 2])
    const one = Float32Array.from([5, 6])
    expect(meanOfViews([one])).toBe(one)
  })

  it('uses the mirrored view by default, records the filter, and follows the options', async () => {
    const p = createProject(join(tempDir(), 'p'))
    try {
      await importDemo(p, { images: 70, seed: 5, labelNoise: 0.2, imbalance: 1, environments: { studio: 1 } })
      await runFlagging(p, { types: ['mislabeled'], backbone: 'pixels' })
      const last = () => p.db.prepare("SELECT source_version, params FROM flag_runs WHERE type = 'mislabeled' ORDER BY id DESC LIMIT 1").get() as { source_version: string; params: string }
      let run = last()
      expect(run.source_version).toContain('views:orig+flip')
      expect(JSON.parse(run.params)).toMatchObject({ filterBy: 'lowest_quality', rankBy: 'confidence_and_margin', flip: true, countScale: 0.75 })
      // Both views of every image are now in the cache.
      const cache = new Database(p.path('cache', CACHE_FILE), { readonly: true })
      const views = cache.prepare('SELECT DISTINCT view FROM embeddings ORDER BY view').pluck().all()
      cache.close()
      expect(views).toEqual(['flip', 'orig'])
      const pruned = listFlags(p.db, { types: ['mislabeled'] }).length

      const offDiagonal = () => p.db.prepare("SELECT json_extract(stats, '$.offDiagonal') FROM flag_runs WHERE type = 'mislabeled' ORDER BY id DESC LIMIT 1").pluck().get() as number
      expect(pruned).toBeGreaterThan(0)
      expect(pruned).toBeLessThanOrEqual(Math.round(0.75 * offDiagonal()))

      await runFlagging(p, { types: ['mislabeled'], backbone: 'pixels', flip: false, filterBy: 'prune_by_noise_rate', rankBy: 'self_confidence' })
      run = last()
      expect(run.source_version).not.toContain('views:')
      expect(JSON.parse(run.params)).toMatchObject({ filterBy: 'prune_by_noise_rate', rankBy: 'self_confidence', flip: false, countScale: null })
      const flags = listFlags(p.db, { types: ['mislabeled'] })
      expect(flags.length).toBeGreaterThan(0)
      // Ranked by self-confidence, the score is 1 - p(given label).
      for (const f of flags) expect(f.score).toBeCloseTo(1 - f.evidence.selfConfidence!, 3)
    } finally {
      p.close()
    }
  }, 60_000)
})
