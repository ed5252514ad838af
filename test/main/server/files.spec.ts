import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { Session } from '../../../src/main/app/session'
import { thumbnailPath } from '../../../src/main/dataset/files'
import { importPath } from '../../../src/main/dataset/importer'
import { listImages } from '../../../src/main/db/repos/images'
import { startServer, type RunningServer } from '../../../src/main/server/server'
import { picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'

let server: RunningServer | undefined
let session: Session | undefined
afterEach(async () => {
  await server?.close()
  await session?.dispose()
  server = undefined
})

async function get(path: string, cookie?: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${server!.port}${path}`, { headers: cookie ? { Cookie: cookie } : {} })
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) }
}

describe('project files over the bridge', () => {
  it('serves thumbnails by hash and images by id of the open project only', async () => {
    const root = tempDir()
    put(join(root, 'src', 'a', 'face.png'), await picture(1))
    put(join(root, 'src', 'a', 'scan.tiff'), await picture(2, 'tiff'))
    writeFileSync(join(root, 'secret.txt'), 'top secret')
    const renderer = tempDir()
    writeFileSync(join(renderer, 'index.html'), '<!doctype html>')
    session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const summary = await session.create(join(root, 'p'), { classes: ['a'] })
    await importPath(session.requireProject(), join(root, 'src'))
    server = await startServer({ session, rendererDir: renderer })
    const cookie = `ff_token=${server.token}`
    const [png, tiff] = listImages(session.requireProject().db)
    const key = summary.key!

    const thumb = await get(`/files/${key}/thumb/${png.sha256}.webp`, cookie)
    expect(thumb.status).toBe(200)
    expect(thumb.type).toBe('image/webp')
    expect((await sharp(thumb.body).metadata()).format).toBe('webp')
    const original = await get(`/files/${key}/image/${png.id}`, cookie)
    expect(original.type).toBe('image/png')
    const converted = await get(`/files/${key}/image/${tiff.id}`, cookie) // browsers cannot show TIFF
    expect([converted.type, (await sharp(converted.body).metadata()).format]).toEqual(['image/webp', 'webp'])

    // A project made before schema 4 keeps its thumbnails as files under thumbs/: still served.
    const db = session.requireProject().db
    const old = db.prepare('SELECT webp FROM thumbnails WHERE sha256 = ?').pluck().get(tiff.sha256) as Buffer
    db.prepare('DELETE FROM thumbnails WHERE sha256 = ?').run(tiff.sha256)
    expect((await get(`/files/${key}/thumb/${tiff.sha256}.webp`, cookie)).status).toBe(404)
    put(thumbnailPath(join(root, 'p'), tiff.sha256), old)
    const legacy = await get(`/files/${key}/thumb/${tiff.sha256}.webp`, cookie)
    expect([legacy.status, legacy.type, Buffer.compare(legacy.body, old)]).toEqual([200, 'image/webp', 0])

    expect((await get(`/files/${key}/thumb/${png.sha256}.webp`)).status).toBe(401) // no token
    for (const bad of [
      `/files/wrongkey/thumb/${png.sha256}.webp`,
      `/files/${key}/thumb/..%2f..%2fsecret.txt`,
      `/files/${key}/thumb/${'0'.repeat(64)}.webp`,
      `/files/${key}/image/999`,
      `/files/${key}/image/..%2f..%2fsecret.txt`,
      `/files/${key}/etc/passwd`
    ]) {
      const res = await get(bad, cookie)
      expect(res.status, bad).toBe(404)
      expect(res.body.toString()).not.toContain('secret')
    }
  })

  it('refuses a stored image whose path was pointed outside the project', async () => {
    const root = tempDir()
    const renderer = tempDir()
    writeFileSync(join(renderer, 'index.html'), '<!doctype html>')
    writeFileSync(join(root, 'secret.png'), await picture(3))
    session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const summary = await session.create(join(root, 'p'), {})
    const db = session.requireProject().db
    mkdirSync(join(root, 'p', 'images', 'x'), { recursive: true })
    symlinkSync(join(root, 'secret.png'), join(root, 'p', 'images', 'x', 'link.png'))
    const insert = db.prepare(
      "INSERT INTO images (sha256, stored_path, file_name, width, height, format, bytes, added_at) VALUES (?, ?, 'x.png', 1, 1, 'png', 1, 'now')"
    )
    const viaDots = Number(insert.run('a'.repeat(64), '../secret.png').lastInsertRowid)
    const viaLink = Number(insert.run('b'.repeat(64), 'images/x/link.png').lastInsertRowid)
    server = await startServer({ session, rendererDir: renderer })
    const cookie = `ff_token=${server.token}`
    expect((await get(`/files/${summary.key}/image/${viaDots}`, cookie)).status).toBe(404)
    expect((await get(`/files/${summary.key}/image/${viaLink}`, cookie)).status).toBe(404)
  })
})
