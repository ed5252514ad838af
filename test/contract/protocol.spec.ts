// The studio-file:// protocol the Electron window loads images through: only a thumbnail by
// hash or an image by id of an open project answers; every way out of the project is a 404.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { picture, put } from '../helpers/images'
import { tempDir } from '../helpers/tmp'

let handler: ((request: Request) => Promise<Response>) | undefined
const privileged: unknown[] = []

vi.mock('electron', () => ({
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]) => privileged.push(...schemes),
    handle: (_scheme: string, fn: typeof handler) => (handler = fn)
  }
}))

const { FILE_SCHEME, handleFileScheme, registerFileScheme } = await import('../../src/main/electron/protocol')
const { acquireNewProject } = await import('../../src/main/project/registry')
const { importPath } = await import('../../src/main/dataset/importer')
const { thumbnailPath } = await import('../../src/main/dataset/files')

describe('studio-file protocol', () => {
  it('is registered as a standard secure scheme and nothing more privileged', () => {
    registerFileScheme()
    expect(privileged).toEqual([{ scheme: FILE_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }])
  })

  it('serves the open project by hash and id only, and refuses dots, encodings, symlinks out and other keys', async () => {
    const root = tempDir()
    put(join(root, 'src', 'a', 'face.png'), await picture(1))
    writeFileSync(join(root, 'secret.txt'), 'top secret')
    const handle = acquireNewProject(join(root, 'p'), { classes: ['a'] })
    try {
      await importPath(handle.project, join(root, 'src'))
      const sha = handle.project.db.prepare('SELECT sha256 FROM images WHERE id = 1').pluck().get() as string
      const fake = 'd'.repeat(64)
      mkdirSync(join(handle.project.dir, 'thumbs', 'dd'), { recursive: true })
      symlinkSync(join(root, 'secret.txt'), thumbnailPath(handle.project.dir, fake))
      const viaDots = Number(
        handle.project.db
          .prepare("INSERT INTO images (sha256, stored_path, file_name, width, height, format, bytes, added_at) VALUES (?, '../secret.txt', 'x.png', 1, 1, 'png', 1, 'now')")
          .run('e'.repeat(64)).lastInsertRowid
      )
      handleFileScheme()
      const get = async (url: string) => {
        const res = await handler!(new Request(url))
        return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
      }
      const k = handle.key
      const thumb = await get(`${FILE_SCHEME}://files/${k}/thumb/${sha}.webp`)
      expect(thumb.status).toBe(200)
      expect(thumb.body.subarray(8, 12).toString('latin1')).toBe('WEBP')
      expect((await get(`${FILE_SCHEME}://files/${k}/image/1`)).status).toBe(200)
      const bad = [
        `${FILE_SCHEME}://files/wrongkey/thumb/${sha}.webp`,
        `${FILE_SCHEME}://elsewhere/${k}/thumb/${sha}.webp`,
        `${FILE_SCHEME}://files/${k}/thumb/${fake}.webp`,
        `${FILE_SCHEME}://files/${k}/thumb/..%2f..%2f..%2fsecret.txt`,
        `${FILE_SCHEME}://files/${k}/thumb/%2e%2e/%2e%2e/secret.txt`,
        `${FILE_SCHEME}://files/${k}/thumb/%252e%252e%252fsecret.txt`,
        `${FILE_SCHEME}://files/${k}/thumb/${sha}.webp%00.txt`,
        `${FILE_SCHEME}://files/${k}/../../secret.txt`,
        `${FILE_SCHEME}://files/${k}/image/${viaDots}`,
        `${FILE_SCHEME}://files/${k}/image/1%2f..%2f..%2fsecret.txt`,
        `${FILE_SCHEME}://files/${k}/image/999`,
        `${FILE_SCHEME}://files/${k}/etc/passwd`,
        `${FILE_SCHEME}://files/`
      ]
      for (const url of bad) {
        const res = await get(url)
        expect(res.status, url).toBe(404)
        expect(res.body.toString(), url).not.toContain('secret')
      }
    } finally {
      handle.release()
    }
  })
})
