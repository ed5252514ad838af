// Disk full while thumbnailing: the import runs in a child whose file-size limit (RLIMIT_FSIZE,
// set with `ulimit -f`, no root needed) makes the kernel refuse writes past 16 KiB with EFBIG,
// as a full disk refuses them with ENOSPC. The error is clear and nothing is corrupted.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importPath } from '../../../src/main/dataset/importer'
import { thumbWriter } from '../../../src/main/dataset/thumb-writer'
import { openProject } from '../../../src/main/project/project'
import { picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'
import { checkThumbnails, closed, filesUnder, integrity, lines, projectWithWork, spawnTs, workSnapshot } from './helpers'

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
    const { tmp } = await checkThumbnails(dir, p.db)
    expect(tmp).toBe(0) // the partial temporary file was removed
    // Thumbnails are keyed by content: one written before the failure is reused, never shown half.
    expect(filesUnder(join(dir, 'thumbs')).filter((f) => f.endsWith('.webp')).length).toBeGreaterThan(2)
    const r = await importPath(p, join(root, 'src'))
    expect([r.added, r.skipped.length]).toEqual([N, 0])
    expect((await checkThumbnails(dir, p.db)).thumbs).toBe(N + 2)
    p.close()
  }, 180_000)
})

describe('disk full while writing a thumbnail', () => {
  it('names the thumbnail and ENOSPC, leaves no partial file, commits nothing of the failed image, and a re-run completes', async () => {
    const root = tempDir()
    const { p, dir, before } = await projectWithWork(root)
    for (let i = 0; i < 10; i++) put(join(root, 'src', 'happy', `i${i}.png`), await picture(420 + i))
    // The real writer thread for four thumbnails, then a disk that refuses the fifth the way a
    // full one does (the writer's own clean-up of a failed write is in thumb-writer.spec.ts).
    const real = thumbWriter()
    let left = 4
    const full = {
      write: (file: string, data: Uint8Array) =>
        left-- > 0 ? real.write(file, data) : Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' })),
      close: () => real.close()
    }
    await expect(importPath(p, join(root, 'src'), { concurrency: 1, thumbnails: full })).rejects.toThrow(
      /disk is full or the file is too large \(ENOSPC\): cannot write .*\/thumbs\/[0-9a-f]{2}\/[0-9a-f]{64}\.webp/
    )
    await real.close()
    expect(integrity(p.db)).toBe('ok')
    expect(workSnapshot(p)).toEqual(before)
    const { tmp } = await checkThumbnails(dir, p.db)
    expect(tmp).toBe(0)
    expect(p.db.prepare('SELECT count(*) FROM images').pluck().get()).toBeLessThanOrEqual(6)
    const r = await importPath(p, join(root, 'src'))
    expect(p.db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(12)
    expect(r.skipped).toEqual([])
    expect((await checkThumbnails(dir, p.db)).thumbs).toBe(12)
    p.close()
  }, 180_000)
})
