// The bad-input corpus (test/fixtures/corpus.ts) against the real import paths. Each case gets a
// clear reason naming its file (and line), the good files still import, and nothing already in
// the project is lost. test/main/dataset/import.spec.ts covers the first cases (truncated JPEG,
// PNG bomb, BMP, dangling and EIO symlinks, folder loops, missing CSV columns, `..`, absolute).
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dispatch } from '../../../src/main/app/dispatch'
import { createHandlers } from '../../../src/main/app/handlers'
import { Session } from '../../../src/main/app/session'
import { importPath, MAX_LISTED_SKIPS, type ImportReport } from '../../../src/main/dataset/importer'
import { label } from '../../../src/main/labeling/actions'
import { channels, CHANNEL_NAMES } from '../../../src/shared/contract'
import { createProject, type Project } from '../../../src/main/project/project'
import { BAD_IMAGES, encodings, HOSTILE_TEXT, makeUnreadable, utf16be } from '../../fixtures/corpus'
import { picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'
import { call, closed, integrity, lines, projectWithWork, spawnTs, workSnapshot } from './helpers'

function reasonsByName(r: ImportReport): Map<string, string> {
  return new Map(r.skipped.map((s) => [`${s.file.split('/').pop()}${s.line ? ':' + s.line : ''}`, s.reason]))
}

describe('bad image corpus', () => {
  it('skips each bad image with a reason naming it, imports the odd but valid ones, loses nothing', async () => {
    const root = tempDir()
    const { p, before } = await projectWithWork(root)
    const dir = join(root, 'corpus', 'happy')
    mkdirSync(dir, { recursive: true })
    for (const c of BAD_IMAGES) await c.make(join(dir, c.name))
    const { readable } = await makeUnreadable(join(dir, 'mode-000.png'))
    put(join(dir, 'good.png'), await picture(203))
    // Unicode, spaces and emoji in folder and file names are ordinary names.
    put(join(root, 'corpus', 'happy', 'ünï cödé', 'face 😀 one.png'), await picture(204))

    const r = await importPath(p, join(root, 'corpus'))
    const why = reasonsByName(r)
    for (const c of BAD_IMAGES) {
      if (c.expect === 'imported') expect(why.has(c.name), `${c.name}: ${why.get(c.name)}`).toBe(false)
      else expect(why.get(c.name), c.name).toMatch(c.expect)
    }
    // chmod 000 stops everyone but root: refused as "permission denied", or imported when root reads it.
    if (readable) expect(why.has('mode-000.png')).toBe(false)
    else expect(why.get('mode-000.png')).toBe('permission denied')
    const imported = p.db.prepare('SELECT file_name FROM images WHERE id > 2 ORDER BY file_name').pluck().all()
    expect(imported).toEqual(
      ['happy/good.png', 'happy/huge-screen.gif', 'happy/jpeg-named.png', ...(readable ? ['happy/mode-000.png'] : []), 'happy/png-named.jpg', 'happy/ünï cödé/face 😀 one.png'].sort()
    )
    expect(p.db.prepare("SELECT format FROM images WHERE file_name = 'happy/png-named.jpg'").pluck().get()).toBe('png')
    expect(p.db.prepare("SELECT width || 'x' || height FROM images WHERE file_name = 'happy/huge-screen.gif'").pluck().get()).toBe('64x48')
    expect(r.skipped).toHaveLength(BAD_IMAGES.filter((c) => c.expect !== 'imported').length + (readable ? 0 : 1))
    expect(workSnapshot(p)).toEqual(before)
    expect(integrity(p.db)).toBe('ok')
    p.close()
  }, 180_000)
})

const MANIFEST = 'path,label,attr:note\nimgs/café.png,happy,crème\n"imgs/with space.png",sad,plain\n'

describe('bad CSV corpus', () => {
  it('reads UTF-8 with and without a BOM, Latin-1 and UTF-16 LE alike; refuses UTF-16 BE and binary naming the file', async () => {
    const root = tempDir()
    put(join(root, 'imgs', 'café.png'), await picture(211))
    put(join(root, 'imgs', 'with space.png'), await picture(212))
    for (const [name, bytes] of Object.entries(encodings(MANIFEST))) {
      const file = put(join(root, name), bytes)
      const p = createProject(join(root, `p-${name}`), { classes: ['happy', 'sad'] })
      const r = await importPath(p, file, { format: 'csv' })
      expect([name, r.added, r.skipped]).toEqual([name, 2, []])
      const notes = p.db.prepare("SELECT file_name, json_extract(attributes, '$.note') FROM images ORDER BY id").raw().all()
      expect(notes, name).toEqual([
        ['café.png', 'crème'],
        ['with space.png', 'plain']
      ])
      p.close()
    }
    const p = createProject(join(root, 'p'))
    await expect(importPath(p, put(join(root, 'be.csv'), utf16be(MANIFEST)), { format: 'csv' })).rejects.toThrow(/be\.csv is UTF-16 big-endian/)
    const binary = put(join(root, 'binary.csv'), Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 8, 0, 0xff, 0x10, 10]))
    await expect(importPath(p, binary)).rejects.toThrow(/binary\.csv is not a text file/)
    expect(p.summary().imageCount).toBe(0)
    p.close()
  })

  it('names the line of a row that is not UTF-8, of an unterminated quote, and of missing columns; keeps what came before', async () => {
    const root = tempDir()
    const { p, before } = await projectWithWork(root)
    put(join(root, 'imgs', 'a.png'), await picture(221))
    put(join(root, 'imgs', 'b.png'), await picture(222))
    // 70 KB of UTF-8 first (rows refused at once for their absolute path), so the file is read as
    // UTF-8; line 73 then holds a Latin-1 byte.
    const padding = Array.from({ length: 70 }, (_, i) => `/pad/${String(i).padStart(990, 'x')}.png,happy\n`).join('')
    const mixed = Buffer.concat([
      Buffer.from(`path,label\n${padding}imgs/a.png,happy\n`),
      Buffer.from('imgs/caf\xe9.png,happy\n', 'latin1'),
      Buffer.from('imgs/b.png\n')
    ])
    const r = await importPath(p, put(join(root, 'mixed.csv'), mixed))
    const why = reasonsByName(r)
    expect(why.get('mixed.csv:73')).toBe('this row is not valid UTF-8 text (save the CSV as UTF-8)')
    expect(why.get('mixed.csv:74')).toMatch(/expected 2 columns \(path, label\), found 1/)
    expect(r.added).toBe(1)
    const quote = put(join(root, 'quote.csv'), 'path,label\nimgs/b.png,sad\n"imgs/x.png,happy\nimgs/y.png,sad\n')
    await expect(importPath(p, quote)).rejects.toThrow(/quote\.csv line \d: cannot parse CSV \(Quote Not Closed/)
    expect(p.db.prepare("SELECT count(*) FROM images WHERE file_name = 'b.png'").pluck().get()).toBe(1) // the row before it
    await expect(importPath(p, put(join(root, 'empty.csv'), ''), { format: 'csv' })).rejects.toThrow(/empty\.csv is empty: expected a header/)
    await expect(importPath(p, put(join(root, 'labels-only.csv'), 'label\nhappy\n'), { format: 'csv' })).rejects.toThrow(
      /labels-only\.csv line 1: the header lacks column "path"/
    )
    expect((await importPath(p, put(join(root, 'header-only.csv'), 'path,label\n'))).added).toBe(0)
    expect(workSnapshot(p)).toEqual(before)
    p.close()
  })

  it('resolves paths safely: `..` that stays inside, escapes, absolute, backslashes, NUL bytes, URLs, unicode and spaces', async () => {
    const root = tempDir()
    const base = join(root, 'data')
    put(join(base, 'imgs', 'ok.png'), await picture(231))
    put(join(base, 'imgs', 'sp ace é.png'), await picture(232))
    put(join(root, 'outside.png'), await picture(233))
    const rows = [
      'path,label',
      'imgs/../imgs/ok.png,happy', // 2: `..` that stays inside the CSV's folder: fine
      '../outside.png,happy', // 3
      'imgs/../../outside.png,happy', // 4
      `${join(root, 'outside.png')},happy`, // 5: absolute
      'imgs\\ok.png,happy', // 6: a Windows separator is a plain character here
      '"imgs/ok.png\0.jpg",happy', // 7: NUL byte
      'file:///etc/passwd,happy', // 8: a URL is a relative name, never fetched
      '~/outside.png,happy', // 9: no home expansion
      '"imgs/sp ace é.png",sad' // 10
    ]
    const p = createProject(join(root, 'p'), { classes: ['happy', 'sad'] })
    const r = await importPath(p, put(join(base, 'paths.csv'), rows.join('\n')))
    const why = new Map(r.skipped.map((s) => [s.line, s.reason]))
    expect(r.added).toBe(2)
    expect(why.get(3)).toMatch(/escapes the CSV's folder/)
    expect(why.get(4)).toMatch(/escapes the CSV's folder/)
    expect(why.get(5)).toMatch(/absolute path .* is not allowed/)
    expect(why.get(6)).toBe('file not found')
    expect(why.get(7)).toBe('this row contains a NUL byte')
    expect(why.get(8)).toBe('file not found')
    expect(why.get(9)).toBe('file not found')
    for (const s of r.skipped) expect(s.file.startsWith(base) || s.file.endsWith('paths.csv'), s.file).toBe(true)
    expect(p.db.prepare('SELECT source_path FROM images ORDER BY id').pluck().all()).toEqual([join(base, 'imgs', 'ok.png'), join(base, 'imgs', 'sp ace é.png')])
    p.close()
  })

  it('streams a 1,000,000-row manifest in bounded memory and lists a capped number of skips', async () => {
    const root = tempDir()
    put(join(root, 'imgs', 'real.png'), await picture(241))
    // Rows that fail fast (absolute paths are refused before any disk access), a real one now and then.
    const N = 1_000_000
    const chunks: string[] = ['path,label\n']
    for (let i = 0; i < N; i += 10_000) {
      let block = 'imgs/real.png,happy\n'
      for (let k = 1; k < 10_000; k++) block += `/abs/img${i + k}.png,happy\n`
      chunks.push(block)
    }
    const file = put(join(root, 'million.csv'), chunks.join(''))
    const dir = join(root, 'p')
    createProject(dir, { classes: ['happy'] }).close()
    // A 64 MiB heap: holding the parsed rows or a million skip objects would run out of it.
    const child = spawnTs(['--max-old-space-size=64', 'bin/run-ts.mjs', 'test/main/reliability/children/import-stats.ts', dir, file])
    const out = lines(child)
    const { code } = await closed(child)
    expect(code, out.err()).toBe(0)
    const r = JSON.parse(out.out[0]) as Record<string, unknown>
    console.log(`1,000,000-row CSV (${(statSync(file).size / 1e6).toFixed(0)} MB) in a child with a 64 MiB heap: ${r.seconds} s, peak RSS ${Number(r.maxRssMiB).toFixed(0)} MiB`)
    expect([r.added, r.duplicates]).toEqual([1, N / 10_000 - 1])
    expect(r.skippedTotal).toBe(N - N / 10_000)
    expect(r.listed).toBe(MAX_LISTED_SKIPS + 1)
    expect((r.last as { reason: string }).reason).toBe('... and 998,900 more skipped (999,900 in all; the first 1,000 are listed)')
    expect(r.first).toMatchObject({ line: 3, reason: expect.stringMatching(/absolute path/) })
    expect(r.maxRssMiB).toBeLessThan(400)
  }, 180_000)
})

describe('hostile names', () => {
  it('class names, attributes and metadata that look like HTML, SQL or format strings round-trip as plain text', async () => {
    const root = tempDir()
    const header = ['path', 'label', 'environment', 'subject', ...HOSTILE_TEXT.map((_, i) => `attr:${i === 7 ? '__proto__' : i === 8 ? 'constructor' : `k${i}`}`)]
    const csvCell = (v: string) => `"${v.replace(/"/g, '""')}"`
    const lines = [header.map(csvCell).join(',')]
    for (const [i, text] of HOSTILE_TEXT.entries()) {
      put(join(root, 'imgs', `${i}.png`), await picture(250 + i))
      lines.push([`imgs/${i}.png`, text, text, text, ...HOSTILE_TEXT].map(csvCell).join(','))
    }
    const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const handlers = createHandlers(session)
    await session.create(join(root, 'p'), {})
    const r = await importPath(session.requireProject(), put(join(root, 'hostile.csv'), lines.join('\n')), { newClasses: 'create' })
    expect(r.skipped).toEqual([])
    expect(r.classesCreated).toEqual(HOSTILE_TEXT)
    await call(handlers, 'classes.create', { name: '<b onmouseover=alert(1)>x</b>' })

    const summary = await call(handlers, 'project.summary', {})
    expect(summary.classes.map((c) => c.name)).toEqual([...HOSTILE_TEXT, '<b onmouseover=alert(1)>x</b>'])
    const db = session.requireProject().db
    expect(db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(HOSTILE_TEXT.length) // the DROP TABLE did nothing
    for (const [i, text] of HOSTILE_TEXT.entries()) {
      const detail = await call(handlers, 'image.detail', { id: i + 1, annotator: 'kim' })
      expect(detail).toMatchObject({ environment: text, subjectId: text })
      expect(Object.getPrototypeOf(detail.attributes)).toBe(Object.prototype)
      expect(Object.entries(detail.attributes)).toEqual(header.slice(4).map((h, k) => [h.slice(5), HOSTILE_TEXT[k]]))
      expect(summary.classes.find((c) => c.id === detail.classId)?.name).toBe(text)
    }
    // The library filters by the same strings, as values, not as SQL or LIKE patterns.
    const byEnv = await call(handlers, 'library.query', { filter: { environments: ["'); DROP TABLE images;--"] }, offset: 0, limit: 10 })
    expect(byEnv.total).toBe(1)
    const byAttr = await call(handlers, 'library.query', { filter: { attributes: { k2: "'); DROP TABLE images;--" } }, offset: 0, limit: 50 })
    expect(byAttr.total).toBe(HOSTILE_TEXT.length)
    const facets = await call(handlers, 'library.facets', {})
    expect(facets.attributes.map((a) => a.name).sort()).toEqual(header.slice(4).map((h) => h.slice(5)).sort())
    // Any HTML the core produces (reports, exports) escapes them: every channel that takes an empty
    // request is asked, so report channels added later are checked too.
    const htmls: string[] = []
    const collect = (v: unknown): void => {
      if (typeof v === 'string' && /<(!doctype|html|body|table|div)\b/i.test(v)) htmls.push(v)
      else if (v && typeof v === 'object') Object.values(v).forEach(collect)
    }
    for (const name of CHANNEL_NAMES.filter((c) => c !== 'project.close' && channels[c].request.safeParse({}).success)) {
      const res = await dispatch(handlers, name, {})
      await session.jobs.cancelAll()
      if (res.ok) collect(res.value)
    }
    for (const html of htmls) {
      expect(html).not.toContain('<img src=x onerror')
      expect(html).not.toContain('<script>alert(1)</script>')
      expect(html).not.toContain('<b onmouseover')
    }
    console.log(`hostile names: ${htmls.length} HTML document(s) from the core checked for escaping`)
    expect(htmls.length).toBeGreaterThan(0) // the insights report at least
    expect(htmls.some((h) => h.includes('&lt;img src=x onerror=alert(1)&gt;'))).toBe(true) // shown, as text
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(integrity(db)).toBe('ok')
    await session.dispose()
  }, 180_000)
})
