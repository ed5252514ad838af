import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { moduleWorkerEntry } from '../../../src/main/util/module-worker'
import { tempDir } from '../../helpers/tmp'

describe('moduleWorkerEntry', () => {
  it('starts TypeScript source through the tsx loader', () => {
    const self = pathToFileURL(join(process.cwd(), 'src/main/training/embeddings.ts')).href
    const where = moduleWorkerEntry(self, 'embeddings')
    expect(where?.entry).toBe(self)
    expect(where?.loader).toMatch(/^file:.*tsx.*\.mjs$/)
  })

  it('finds the module built as its own entry beside a bundle chunk that inlined it', () => {
    const out = tempDir()
    mkdirSync(join(out, 'chunks'))
    writeFileSync(join(out, 'chunks', 'shared-abc.js'), '')
    writeFileSync(join(out, 'embeddings.js'), '')
    const where = moduleWorkerEntry(pathToFileURL(join(out, 'chunks', 'shared-abc.js')).href, 'embeddings')
    expect(where).toEqual({ entry: pathToFileURL(join(out, 'embeddings.js')).href, loader: null })
  })

  it('says null when the bundle has no such entry, so the caller works in-thread', () => {
    const out = tempDir()
    writeFileSync(join(out, 'index.js'), '')
    expect(moduleWorkerEntry(pathToFileURL(join(out, 'index.js')).href, 'predict-worker')).toBeNull()
  })
})
