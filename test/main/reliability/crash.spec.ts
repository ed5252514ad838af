// Crash safety with real kills: a child process imports or labels, the test SIGKILLs it mid-way,
// reopens the project and checks nothing acknowledged was lost and nothing is half-written.
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importPath } from '../../../src/main/dataset/importer'
import { CONSENSUS_SQL } from '../../../src/main/db/repos/annotations'
import { label, undo } from '../../../src/main/labeling/actions'
import { createProject, openProject } from '../../../src/main/project/project'
import { picture, put } from '../../helpers/images'
import { seedImages } from '../../helpers/seed'
import { tempDir } from '../../helpers/tmp'
import { checkThumbnails, closed, exited, filesUnder, integrity, lines, projectWithWork, spawnTs, until, workSnapshot } from './helpers'

describe('killed during an import', () => {
  it('keeps the project whole, keeps every committed image with its thumbnail, and a re-run completes idempotently', async () => {
    const root = tempDir()
    // Work already in the project before the crash: imported and hand-labeled images.
    const { p: p0, dir, before } = await projectWithWork(root)
    p0.close()

    const N = 250 // picture() repeats after 256 seeds
    for (let i = 0; i < N; i++) put(join(root, 'src', i % 2 ? 'happy' : 'sad', `i${i}.png`), await picture(i, 'png', 400, 300))

    let crashes = 0
    for (const killAt of [30, 140]) {
      const child = spawnTs(['bin/run-ts.mjs', 'test/main/reliability/children/import-progress.ts', dir, join(root, 'src')])
      const out = lines(child)
      const processed = () => Math.max(0, ...out.out.map((l) => Number(/^done (\d+)$/.exec(l)?.[1] ?? 0)))
      await until(`${killAt} images processed`, () => processed() >= killAt || child.exitCode !== null, 60_000)
      expect(child.exitCode, `the import finished before the kill: ${out.err()}`).toBeNull()
      child.kill('SIGKILL')
      expect((await exited(child)).signal).toBe('SIGKILL')
      crashes++

      const p = openProject(dir)
      expect(integrity(p.db)).toBe('ok')
      expect(workSnapshot(p)).toEqual(before)
      const imported = p.db.prepare('SELECT count(*) FROM images').pluck().get() as number
      expect(imported).toBeLessThan(2 + N) // really killed mid-way
      expect(imported).toBeGreaterThanOrEqual(2 + 20) // with at least one batch of 20 committed
      // Each committed image has exactly its one import label: a batch is all or nothing.
      expect(p.db.prepare("SELECT count(*) FROM annotations WHERE annotator = 'import'").pluck().get()).toBe(imported)
      expect(p.db.prepare("SELECT class_id FROM annotations WHERE annotator = 'kim'").pluck().all()).toEqual([2])
      // Committed with their images: exactly one thumbnail per image, none stored as a file.
      expect(await checkThumbnails(dir, p.db)).toEqual({ thumbs: imported, files: 0 })
      p.close()
    }
    expect(crashes).toBe(2)

    const p = openProject(dir)
    const rerun = await importPath(p, join(root, 'src'))
    expect(rerun.skipped).toEqual([])
    expect(p.db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(2 + N)
    expect(p.db.prepare("SELECT count(*) FROM annotations WHERE annotator = 'import'").pluck().get()).toBe(2 + N)
    expect(p.db.prepare('SELECT count(DISTINCT sha256) FROM images').pluck().get()).toBe(2 + N)
    const again = await importPath(p, join(root, 'src'))
    expect([again.added, again.duplicates]).toEqual([0, N])
    expect(workSnapshot(p)).toEqual(before)
    const { thumbs } = await checkThumbnails(dir, p.db)
    expect(thumbs).toBe(2 + N)
    expect(integrity(p.db)).toBe('ok')
    p.close()
  }, 180_000)
})

interface Ack {
  action: string
  classId: number | null
  images: number[]
}

function parseAck(line: string): Ack | null {
  const m = /^ack (\S+) (\S+) ([\d,]+)$/.exec(line)
  return m ? { action: m[1], classId: m[2] === 'null' ? null : Number(m[2]), images: m[3].split(',').map(Number) } : null
}

describe('killed during a burst of labeling', () => {
  it('loses no acknowledged label over repeated kills, and consensus and undo still agree', async () => {
    const dir = join(tempDir(), 'p')
    const p0 = createProject(dir, { classes: ['angry', 'happy', 'sad', 'neutral'] })
    seedImages(p0.db, 300)
    label(p0.db, 'earlier', [1, 2, 3], 1) // work from before the burst
    p0.close()

    const acked: Ack[] = []
    const rounds = [60, 400, 150]
    for (const [round, killAfter] of rounds.entries()) {
      const child = spawnTs(['bin/run-ts.mjs', 'test/main/reliability/children/label-burst.ts', dir, `burst${round}`])
      const out = lines(child)
      await until(`${killAfter} acknowledged labels`, () => out.out.length > killAfter || child.exitCode !== null, 60_000)
      expect(child.exitCode, out.err()).toBeNull()
      child.kill('SIGKILL')
      await exited(child)
      const acks = out.out.map(parseAck).filter((a): a is Ack => a !== null)
      expect(acks.length).toBeGreaterThanOrEqual(killAfter)
      acked.push(...acks)

      const p = openProject(dir)
      expect(integrity(p.db)).toBe('ok')
      const rows = p.db.prepare('SELECT image_id, class_id FROM annotations WHERE action_id = ? ORDER BY image_id')
      for (const a of acked) {
        const expected = [...new Set(a.images)].sort((x, y) => x - y).map((id) => ({ image_id: id, class_id: a.classId }))
        expect(rows.all(a.action), `acknowledged action ${a.action}`).toEqual(expected)
        expect(p.db.prepare('SELECT count(*) FROM actions WHERE id = ?').pluck().get(a.action)).toBe(1)
      }
      // The stored consensus is exactly what the annotations give: no half-applied label.
      const stored = p.db.prepare('SELECT image_id, class_id FROM image_labels ORDER BY image_id').all()
      const derived = p.db.prepare(`SELECT image_id, class_id FROM (${CONSENSUS_SQL}) ORDER BY image_id`).all()
      expect(stored).toEqual(derived)
      expect(p.db.prepare("SELECT image_id, class_id FROM annotations WHERE annotator = 'earlier' ORDER BY id").all()).toEqual(
        [1, 2, 3].map((id) => ({ image_id: id, class_id: 1 }))
      )
      // The annotator's history survived too: undo takes back the last committed action, which is
      // the last acknowledged one or one that committed just before the kill, before its line left.
      const last = acks.at(-1)!
      const undone = undo(p.db, `burst${round}`)
      const lastSeq = p.db.prepare('SELECT seq FROM actions WHERE id = ?').pluck()
      expect(lastSeq.get(undone.id) as number).toBeGreaterThanOrEqual(lastSeq.get(last.action) as number)
      p.close()
    }
    expect(acked.length).toBeGreaterThan(600)
    console.log(`labeling kills: ${rounds.length} SIGKILLs, ${acked.length} acknowledged label actions (${acked.reduce((n, a) => n + a.images.length, 0)} image labels) all present`)
  }, 180_000)
})

describe('killed while serving the browser', () => {
  it('keeps every label the bridge answered 200 for when `studio serve` is killed mid-burst', async () => {
    const root = tempDir()
    const dir = join(root, 'p')
    const p0 = createProject(dir, { classes: ['angry', 'happy', 'sad'] })
    seedImages(p0.db, 200)
    p0.close()
    const renderer = join(root, 'renderer')
    put(join(renderer, 'index.html'), '<!doctype html>')
    const child = spawnTs(['bin/studio.mjs', 'serve', dir, '--json'], { env: { FREEZEFRAME_RENDERER_DIR: renderer, FREEZEFRAME_HOME: join(root, 'home') } })
    const out = lines(child)
    await until('the bridge to start', () => out.out.join('').includes('}') || child.exitCode !== null)
    const text = out.out.join('\n')
    const { url, port } = JSON.parse(text.slice(text.indexOf('{'))) as { url: string; port: number }
    const token = new URL(url).searchParams.get('token')!
    const acked: { imageId: number; classId: number }[] = []
    const failures: string[] = []
    // Browser-like clients: four at once, each label acknowledged by its 200 answer.
    const client = async (k: number) => {
      for (let i = k; ; i += 4) {
        const imageId = 1 + (i % 200)
        const classId = 1 + (i % 3)
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api/label.set`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ imageIds: [imageId], classId, annotator: 'web' }),
            signal: AbortSignal.timeout(10_000)
          })
          const body = (await res.json()) as { ok: boolean }
          if (!body.ok) throw new Error(JSON.stringify(body))
          acked.push({ imageId, classId })
        } catch (err) {
          failures.push(String(err))
          return // the server is gone
        }
      }
    }
    const clients = [0, 1, 2, 3].map(client)
    await until('300 acknowledged labels', () => acked.length >= 300 || failures.length === 4 || child.exitCode !== null)
    expect(failures, out.err()).toEqual([])
    child.kill('SIGKILL')
    await closed(child)
    await Promise.all(clients)

    const p = openProject(dir)
    expect(integrity(p.db)).toBe('ok')
    // Every acknowledged label is in the history with its class (a later one may have replaced it as current).
    const has = p.db.prepare("SELECT count(*) FROM annotations WHERE annotator = 'web' AND image_id = ? AND class_id = ?").pluck()
    for (const a of acked) expect(has.get(a.imageId, a.classId), `image ${a.imageId} class ${a.classId}`).toBeGreaterThan(0)
    expect(p.db.prepare("SELECT count(*) FROM annotations WHERE annotator = 'web'").pluck().get() as number).toBeGreaterThanOrEqual(acked.length)
    const stored = p.db.prepare('SELECT image_id, class_id FROM image_labels ORDER BY image_id').all()
    expect(stored).toEqual(p.db.prepare(`SELECT image_id, class_id FROM (${CONSENSUS_SQL}) ORDER BY image_id`).all())
    console.log(`bridge kill: ${acked.length} labels answered 200 before SIGKILL, all present`)
    p.close()
  }, 180_000)
})
