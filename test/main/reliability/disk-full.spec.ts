// Disk full during an import: the import runs in a child whose file-size limit (RLIMIT_FSIZE,
// set with `ulimit -f`, no root needed) makes the kernel refuse writes past 16 KiB with EFBIG,
// as a full disk refuses them with ENOSPC. The error is clear and nothing is corrupted.
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'

/** Lets a test make the stored-image writes fail as a full disk does. */
const files = vi.hoisted(() => ({ failWrite: (): Error | null => null }))
vi.mock('../../../src/main/dataset/files', async (load) => {
  const real = await load<typeof import('../../../src/main/dataset/files')>()
  return {
    ...real,
    writeFileAtomicAsync: async (file: string, data: Buffer | string) => {
      const err = files.failWrite()
      if (err) throw err
      return real.writeFileAtomicAsync(file, data)
    }
  }
})
import { importPath } from '../../../src/main/dataset/importer'
import { openProject } from '../../../src/main/project/project'
import { ferPixels, ferRow, picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'
import { checkThumbnails, closed, integrity, lines, projectWithWork, spawnTs, workSnapshot } from './helpers'

describe('disk full during an import', () => {
  it('stops with a clear error naming the database, keeps the project whole, and a later import completes', async () => {
    const root = tempDir()
    const { p: p0, dir, before } = await projectWithWork(root)
    p0.close()
    const N = 80
    for (let i = 0; i < N; i++) put(join(root, 'src', 'happy', `n${i}.png`), await picture(430 + i))

    const child = spawnTs(['bin/studio.mjs', 'import', dir, join(root, 'src')], { shell: 'ulimit -f 48' })
    const out = lines(child)
    const { code } = await closed(child)
    expect(code, out.err()).toBe(1)
    expect(out.err()).toMatch(/cannot save to the project database \(SQLITE_(FULL|IOERR\w*)\): the disk may be full; the batch being saved was rolled back/)
    expect(out.err()).not.toMatch(/\n\s+at /) // a message, not a stack trace

    const p = openProject(dir)
    expect(integrity(p.db)).toBe('ok')
    expect(workSnapshot(p)).toEqual(before)
    // Thumbnails went down with their batch: only the two images from before have one.
    expect(await checkThumbnails(dir, p.db)).toEqual({ thumbs: 2, files: 0 })
    const r = await importPath(p, join(root, 'src'))
    expect([r.added, r.skipped.length]).toEqual([N, 0])
    expect(await checkThumbnails(dir, p.db)).toEqual({ thumbs: N + 2, files: 0 })
    p.close()
  }, 180_000)
})

describe('disk full while storing a FER2013 image', () => {
  it('names the file and ENOSPC, keeps what was committed whole, and a re-run completes', async () => {
    const root = tempDir()
    const { p, dir, before } = await projectWithWork(root)
    // FER2013 emotion ids 3 and 4 are happy and sad, the project's classes.
    const rows = ['emotion,pixels,Usage', ...Array.from({ length: 10 }, (_, i) => ferRow(3 + (i % 2), ferPixels(40 + i)))]
    const csv = put(join(root, 'fer2013.csv'), rows.join('\n') + '\n')
    // The real writes for four images, then a disk that refuses the fifth the way a full one does.
    let left = 4
    files.failWrite = () => (left-- > 0 ? null : Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }))
    await expect(importPath(p, csv, { concurrency: 1 })).rejects.toThrow(
      /disk is full or the file is too large \(ENOSPC\): cannot write .*\/images\/fer2013\/[0-9a-f]{64}\.png/
    )
    files.failWrite = () => null
    expect(integrity(p.db)).toBe('ok')
    expect(workSnapshot(p)).toEqual(before)
    const kept = p.db.prepare('SELECT count(*) FROM images').pluck().get() as number
    expect(kept).toBeLessThanOrEqual(2 + 4) // nothing of the image whose file failed
    expect(await checkThumbnails(dir, p.db)).toEqual({ thumbs: kept, files: 0 })
    const r = await importPath(p, csv)
    expect([r.added, r.skipped]).toEqual([12 - kept, []])
    expect(p.db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(12)
    expect(await checkThumbnails(dir, p.db)).toEqual({ thumbs: 12, files: 0 })
    p.close()
  }, 180_000)
})
