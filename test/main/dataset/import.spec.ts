import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { importPath, type ImportReport } from '../../../src/main/dataset/importer'
import { getThumbnail } from '../../../src/main/db/repos/thumbnails'
import { consensusLabel } from '../../../src/main/db/repos/annotations'
import { imageBySha, listImages } from '../../../src/main/db/repos/images'
import { createProject, type Project } from '../../../src/main/project/project'
import { bombPng, ferPixels, ferRow, picture, put, tinyBmp } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'

function labelOf(p: Project, fileName: string): string | null {
  const img = listImages(p.db).find((i) => i.fileName === fileName)
  if (!img) return null
  const id = consensusLabel(p.db, img.id)
  return (p.db.prepare('SELECT name FROM classes WHERE id = ?').get(id) as { name: string } | undefined)?.name ?? null
}

function reasons(r: ImportReport): Record<string, string> {
  return Object.fromEntries(r.skipped.map((s) => [`${s.file.split('/').pop()}${s.line ? ':' + s.line : ''}`, s.reason]))
}

describe('folder import', () => {
  it('imports every format sharp reads, labels from folder names, thumbnails and hashes', async () => {
    const root = tempDir()
    const src = join(root, 'src')
    const formats = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const
    for (const [i, f] of formats.entries()) put(join(src, i % 2 ? 'happy' : 'sad', `img${i}.${f}`), await picture(i, f))
    put(join(src, 'loose.png'), await picture(99)) // above the class level: unlabeled
    put(join(src, 'happy', 'notes.txt'), 'not an image, not counted as one')
    const p = createProject(join(root, 'p'))
    const progress: number[] = []
    const r = await importPath(p, src, { onProgress: (done) => progress.push(done) })
    expect(r).toMatchObject({ format: 'folder', added: 7, labeled: 6, duplicates: 0, skipped: [], ignored: 1, cancelled: false })
    expect(r.classesCreated.sort()).toEqual(['happy', 'sad'])
    expect(progress.at(-1)).toBe(7)
    const images = listImages(p.db)
    expect(images.map((i) => i.format).sort()).toEqual(['avif', 'gif', 'jpeg', 'png', 'png', 'tiff', 'webp'])
    for (const img of images) {
      expect(img.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(img.phash).toMatch(/^[0-9a-f]{16}$/)
      expect([img.width, img.height]).toEqual([64, 48])
      expect(img.sourcePath?.startsWith(src)).toBe(true)
      const thumb = await sharp(getThumbnail(p.db, img.sha256)).metadata()
      expect(thumb.format).toBe('webp')
    }
    expect(labelOf(p, 'happy/img3.gif')).toBe('happy')
    expect(labelOf(p, 'sad/img2.webp')).toBe('sad')
    expect(labelOf(p, 'sad/img0.jpeg')).toBe('sad')
    expect(labelOf(p, 'loose.png')).toBeNull()
    p.close()
  })

  it('imports into a project deleted and made again at the same path in the same process', async () => {
    const root = tempDir()
    const src = join(root, 'src')
    for (let i = 0; i < 3; i++) put(join(src, 'happy', `r${i}.png`), await picture(200 + i))
    for (let round = 0; round < 2; round++) {
      rmSync(join(root, 'p'), { recursive: true, force: true })
      const p = createProject(join(root, 'p'))
      // the second time, the folders this process made before are gone
      const r = await importPath(p, src)
      expect([round, r.added, r.skipped]).toEqual([round, 3, []])
      for (const img of listImages(p.db)) expect(getThumbnail(p.db, img.sha256)?.subarray(8, 12).toString('latin1')).toBe('WEBP')
      p.close()
    }
  })

  it('honours EXIF orientation for size and thumbnail', async () => {
    const root = tempDir()
    const upright = await sharp(await picture(1, 'png', 80, 40)).jpeg().withMetadata({ orientation: 6 }).toBuffer()
    put(join(root, 'src', 'a', 'rotated.jpg'), upright)
    const p = createProject(join(root, 'p'))
    await importPath(p, join(root, 'src'))
    const img = listImages(p.db)[0]
    expect([img.width, img.height]).toEqual([40, 80])
    const thumb = await sharp(getThumbnail(p.db, img.sha256)).metadata()
    expect([thumb.width, thumb.height]).toEqual([40, 80])
    p.close()
  })

  it('skips and reports each bad file with its reason, and imports the rest', async () => {
    const root = tempDir()
    const src = join(root, 'src', 'happy')
    put(join(src, 'good1.png'), await picture(1))
    put(join(src, 'good2.png'), await picture(2))
    const jpeg = await picture(3, 'jpeg')
    put(join(src, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)))
    put(join(src, 'zero.jpg'), '')
    put(join(src, 'renamed.jpg'), 'name,age\nalice,30\n')
    put(join(src, 'bomb.png'), bombPng(30000, 30000))
    put(join(src, 'old.bmp'), tinyBmp())
    symlinkSync('/no/such/file.jpg', join(src, 'dangling.jpg'))
    symlinkSync('/proc/self/mem', join(src, 'unreadable.jpg')) // EIO even for root
    symlinkSync(join(root, 'src'), join(src, 'loop'))
    const p = createProject(join(root, 'p'))
    const r = await importPath(p, join(root, 'src'))
    expect(r.added).toBe(2)
    const why = reasons(r)
    expect(why['truncated.jpg']).toMatch(/truncated/)
    expect(why['zero.jpg']).toMatch(/empty file/)
    expect(why['renamed.jpg']).toMatch(/not an image/)
    expect(why['bomb.png']).toMatch(/decompression-bomb/)
    expect(why['old.bmp']).toMatch(/BMP/)
    expect(why['dangling.jpg']).toMatch(/broken symlink/)
    expect(why['unreadable.jpg']).toMatch(/cannot read \(EIO\)/)
    expect(why['loop']).toMatch(/symlink loop/)
    expect(r.skipped).toHaveLength(8)
    p.close()
  })

  it('is idempotent: the same bytes are one image, a re-run adds only what is new', async () => {
    const root = tempDir()
    const img = await picture(7)
    put(join(root, 'src', 'a', 'one.png'), img)
    put(join(root, 'src', 'a', 'copy-of-one.png'), img)
    const p = createProject(join(root, 'p'))
    const first = await importPath(p, join(root, 'src'))
    expect([first.added, first.duplicates]).toEqual([1, 1])
    put(join(root, 'src', 'a', 'two.png'), await picture(8))
    const second = await importPath(p, join(root, 'src'))
    expect([second.added, second.duplicates]).toEqual([1, 2])
    expect(p.db.prepare('SELECT count(*) AS n FROM annotations').get()).toEqual({ n: 2 })
    p.close()
  })

  it('refuses unknown labels when the project has classes, unless asked to create them', async () => {
    const root = tempDir()
    put(join(root, 'src', 'happy', 'a.png'), await picture(1))
    put(join(root, 'src', 'hapy', 'b.png'), await picture(2))
    const p = createProject(join(root, 'p'), { classes: ['happy', 'sad'] })
    const r = await importPath(p, join(root, 'src'))
    expect(r.added).toBe(1)
    expect(reasons(r)['b.png']).toMatch(/unknown label "hapy"/)
    const again = await importPath(p, join(root, 'src'), { newClasses: 'create' })
    expect(again.classesCreated).toEqual(['hapy'])
    p.close()
  })

  it('reads split/class and env/class layouts, and an environment and annotator from options', async () => {
    const root = tempDir()
    put(join(root, 'bysplit', 'train', 'happy', 'a.png'), await picture(1))
    put(join(root, 'bysplit', 'val', 'sad', 'b.png'), await picture(2))
    put(join(root, 'byenv', 'webcam', 'happy', 'c.png'), await picture(3))
    const p = createProject(join(root, 'p'))
    await importPath(p, join(root, 'bysplit'), { layout: 'split/class', environment: 'studio', annotator: 'kim' })
    await importPath(p, join(root, 'byenv'), { layout: 'env/class' })
    const rows = listImages(p.db).sort((a, b) => a.fileName.localeCompare(b.fileName))
    expect(rows.map((r) => [r.fileName, r.splitHint, r.environment])).toEqual([
      ['train/happy/a.png', 'train', 'studio'],
      ['val/sad/b.png', 'val', 'studio'],
      ['webcam/happy/c.png', null, 'webcam']
    ])
    expect(labelOf(p, 'val/sad/b.png')).toBe('sad')
    expect(p.db.prepare('SELECT DISTINCT annotator FROM annotations ORDER BY annotator').all()).toEqual([{ annotator: 'import' }, { annotator: 'kim' }])
    p.close()
  })

  it('stops on cancel with what was committed intact and nothing half-written', async () => {
    const root = tempDir()
    for (let i = 0; i < 40; i++) put(join(root, 'src', 'a', `i${i}.png`), await picture(i))
    const p = createProject(join(root, 'p'))
    const controller = new AbortController()
    const r = await importPath(p, join(root, 'src'), {
      signal: controller.signal,
      batchSize: 5,
      concurrency: 2,
      onProgress: (done) => done >= 10 && controller.abort()
    })
    expect(r.cancelled).toBe(true)
    expect(r.added).toBeGreaterThanOrEqual(10)
    expect(r.added).toBeLessThan(40)
    const rows = listImages(p.db)
    expect(rows).toHaveLength(r.added)
    // each committed image has its thumbnail, committed with it, and there is no other
    for (const row of rows) expect(getThumbnail(p.db, row.sha256)?.length).toBeGreaterThan(100)
    expect(p.db.prepare('SELECT count(*) FROM thumbnails').pluck().get()).toBe(r.added)
    expect(p.db.prepare("SELECT count(*) AS n FROM annotations").get()).toEqual({ n: r.added })
    const rest = await importPath(p, join(root, 'src'))
    expect(rest.added + r.added).toBe(40)
    p.close()
  })
})

describe('CSV manifest import', () => {
  it('reads path,label and metadata columns relative to the CSV, reporting bad rows by line', async () => {
    const root = tempDir()
    const data = join(root, 'data')
    put(join(data, 'imgs', 'a.png'), await picture(1))
    put(join(data, 'imgs', 'b b é.png'), await picture(2))
    put(join(data, 'imgs', 'c.png'), await picture(3))
    put(join(root, 'outside.png'), await picture(4))
    const csv = [
      'path,label,environment,subject,annotator,attr:age_band,attr:gender',
      'imgs/a.png,happy,webcam,s01,ann,20-29,f',
      '"imgs/b b é.png",sad,studio,s02,,30-39,m',
      'imgs/c.png,happy,phone', // missing columns
      '../outside.png,happy,studio,s03,,,',
      '/etc/passwd,happy,studio,s03,,,',
      'imgs/missing.png,happy,studio,s04,,,',
      'imgs/c.png,angry,studio,s05,,,' // unknown label
    ].join('\n')
    const file = put(join(data, 'manifest.csv'), '\ufeff' + csv + '\n')
    const p = createProject(join(root, 'p'), { classes: ['happy', 'sad'] })
    const r = await importPath(p, file)
    expect(r.format).toBe('csv')
    expect(r.added).toBe(2)
    const why = reasons(r)
    expect(why['manifest.csv:4']).toMatch(/expected 7 columns/)
    expect(why['manifest.csv:5']).toMatch(/escapes the CSV's folder/)
    expect(why['manifest.csv:6']).toMatch(/absolute path/)
    expect(why['missing.png:7']).toMatch(/file not found/)
    expect(why['c.png:8']).toMatch(/unknown label "angry"/)
    const a = listImages(p.db).find((i) => i.fileName === 'a.png')!
    expect(a).toMatchObject({ environment: 'webcam', subjectId: 's01', attributes: { age_band: '20-29', gender: 'f' } })
    expect(p.db.prepare('SELECT annotator FROM annotations WHERE image_id = ?').get(a.id)).toEqual({ annotator: 'ann' })
    expect(labelOf(p, 'b b é.png')).toBe('sad')
    p.close()
  })

  it('allows absolute paths only when asked, and names the file when the header is wrong', async () => {
    const root = tempDir()
    const img = put(join(root, 'elsewhere', 'x.png'), await picture(1))
    const file = put(join(root, 'm.csv'), `path,label\n${img},happy\n`)
    const p = createProject(join(root, 'p'))
    expect((await importPath(p, file)).added).toBe(0)
    expect((await importPath(p, file, { allowAbsolute: true })).added).toBe(1)
    const bad = put(join(root, 'bad.csv'), 'file,label\nx.png,happy\n')
    await expect(importPath(p, bad, { format: 'csv' })).rejects.toThrow(/bad\.csv line 1: the header lacks column "path"/)
    p.close()
  })
})

describe('FER2013 import', () => {
  it('writes 48x48 PNGs into the project, maps ids to emotions and keeps Usage as a split hint', async () => {
    const root = tempDir()
    const rows = [
      'emotion,pixels,Usage',
      ferRow(3, ferPixels(1), 'Training'),
      ferRow(0, ferPixels(2), 'PublicTest'),
      ferRow(6, ferPixels(3), 'PrivateTest'),
      ferRow(4, ferPixels(4).slice(0, 100), 'Training'), // wrong pixel count
      ferRow(9, ferPixels(5), 'Training'), // no such emotion
      ferRow(2, ferPixels(1).map((v, i) => (i === 10 ? 300 : v)), 'Training'), // out-of-range pixel
      ferRow(3, ferPixels(1), 'Training') // same pixels again: a duplicate
    ]
    const file = put(join(root, 'fer2013.csv'), rows.join('\n') + '\n')
    const p = createProject(join(root, 'p'), { classes: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] })
    const r = await importPath(p, file)
    expect(r.format).toBe('fer2013')
    expect([r.added, r.duplicates]).toEqual([3, 1])
    const why = reasons(r)
    expect(why['fer2013.csv:5']).toMatch(/expected 2304 pixel values, found 100/)
    expect(why['fer2013.csv:6']).toMatch(/emotion "9"/)
    expect(why['fer2013.csv:7']).toMatch(/pixel 11 is "300"/)
    const imgs = listImages(p.db)
    expect(imgs.map((i) => i.splitHint)).toEqual(['train', 'validation', 'test'])
    for (const img of imgs) {
      expect(img.sourcePath).toBeNull()
      const stored = join(p.dir, img.storedPath!)
      const meta = await sharp(readFileSync(stored)).metadata()
      expect([meta.width, meta.height, meta.format]).toEqual([48, 48, 'png'])
    }
    expect(labelOf(p, 'fer2013_line2.png')).toBe('happy')
    const px = await sharp(join(p.dir, imgs[0].storedPath!)).extractChannel(0).raw().toBuffer()
    expect(Array.from(px.subarray(0, 5))).toEqual(ferPixels(1).slice(0, 5))
    expect(imageBySha(p.db, imgs[0].sha256)?.id).toBe(imgs[0].id)
    p.close()
  })
})

describe('sources that are not there', () => {
  it('names the path that does not exist or is not importable', async () => {
    const root = tempDir()
    const p = createProject(join(root, 'p'))
    await expect(importPath(p, join(root, 'nope'))).rejects.toThrow(/nope does not exist/)
    writeFileSync(join(root, 'notes.txt'), 'x')
    await expect(importPath(p, join(root, 'notes.txt'))).rejects.toThrow(/neither a folder nor a \.csv/)
    mkdirSync(join(root, 'empty'))
    expect((await importPath(p, join(root, 'empty'))).added).toBe(0)
    p.close()
  })
})

describe('missing files', () => {
  it('detects images whose file moved and relinks them by content', async () => {
    const { renameSync } = await import('node:fs')
    const { checkMissing, relink } = await import('../../../src/main/dataset/relink')
    const root = tempDir()
    put(join(root, 'src', 'a', 'one.png'), await picture(1))
    put(join(root, 'src', 'a', 'two.png'), await picture(2))
    const p = createProject(join(root, 'p'))
    await importPath(p, join(root, 'src'))
    renameSync(join(root, 'src'), join(root, 'moved'))
    put(join(root, 'moved', 'decoy.png'), await picture(3)) // not in the project: ignored
    expect(checkMissing(p)).toMatchObject({ checked: 2, missing: 2 })
    expect(p.summary().missingCount).toBe(2)
    const r = await relink(p, join(root, 'moved'))
    expect(r).toMatchObject({ relinked: 2, stillMissing: 0 })
    expect(listImages(p.db).map((i) => i.sourcePath?.startsWith(join(root, 'moved')))).toEqual([true, true])
    expect(p.summary().missingCount).toBe(0)
    p.close()
  })
})
