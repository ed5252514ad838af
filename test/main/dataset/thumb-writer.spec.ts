import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { thumbWriter, type ThumbWriter } from '../../../src/main/dataset/thumb-writer'
import { tempDir } from '../../helpers/tmp'

let writer: ThumbWriter | null = null
afterEach(async () => {
  await writer?.close()
  writer = null
})

describe('thumbnail writer thread (thumb-writer.ts)', () => {
  it('writes many files in full under their final names, making their folders, with no temporary left', async () => {
    const root = tempDir()
    writer = thumbWriter()
    const files = Array.from({ length: 40 }, (_, i) => ({ file: join(root, 'thumbs', (i % 5).toString(16).padStart(2, '0'), `t${i}.webp`), data: Buffer.alloc(1000 + i, i) }))
    await Promise.all(files.map((f) => writer!.write(f.file, f.data)))
    for (const f of files) expect(readFileSync(f.file).equals(f.data)).toBe(true)
    const all = readdirSync(join(root, 'thumbs'), { recursive: true }).map(String)
    expect(all.filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('rejects a write the file system refuses with its code, removes the temporary, and goes on writing', async () => {
    const root = tempDir()
    writer = thumbWriter()
    writeFileSync(join(root, 'thumbs'), 'a file where the thumbnail folder should be')
    await expect(writer.write(join(root, 'thumbs', 'ab', 'x.webp'), Buffer.from('x'))).rejects.toMatchObject({ code: 'ENOTDIR' })
    // a temporary that could be created and not renamed: the target is a folder
    mkdirSync(join(root, 'ok', 'taken.webp'), { recursive: true })
    await expect(writer.write(join(root, 'ok', 'taken.webp'), Buffer.from('y'))).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) })
    expect(readdirSync(join(root, 'ok')).filter((n) => n.endsWith('.tmp'))).toEqual([])
    await writer.write(join(root, 'ok', 'fine.webp'), Buffer.from('z'))
    expect(readFileSync(join(root, 'ok', 'fine.webp'), 'utf8')).toBe('z')
  })

  it('makes a folder again when it was removed after the first write into it', async () => {
    const root = tempDir()
    writer = thumbWriter()
    await writer.write(join(root, 'p', 'thumbs', 'aa', 'one.webp'), Buffer.from('1'))
    rmSync(join(root, 'p'), { recursive: true })
    await writer.write(join(root, 'p', 'thumbs', 'aa', 'two.webp'), Buffer.from('2'))
    expect(readFileSync(join(root, 'p', 'thumbs', 'aa', 'two.webp'), 'utf8')).toBe('2')
  })

  it('fails every later write clearly once closed', async () => {
    writer = thumbWriter()
    await writer.close()
    await expect(writer.write(join(tempDir(), 'a.webp'), Buffer.from('a'))).rejects.toThrow(/thumbnail writer/)
  })
})
