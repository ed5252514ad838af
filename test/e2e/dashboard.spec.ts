import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { importDemo } from '../../src/main/dataset/demo-import'
import { createRun, finishRun } from '../../src/main/db/repos/runs'
import { label } from '../../src/main/labeling/actions'
import { createProject, type Project } from '../../src/main/project/project'
import { EMOTION7 } from '../../src/shared/presets'
import { tempDir } from '../helpers/tmp'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

/**
 * A finished run as the trainer records it: a split (every fifth image validates) and validation
 * predictions, wrong for one studio image in ten, one webcam
 * image in three and every other phone image.
 */
function fakeRun(p: Project): number {
  const db = p.db
  const rows = db
    .prepare('SELECT i.id, i.environment AS env, l.class_id AS classId FROM images i JOIN image_labels l ON l.image_id = i.id WHERE l.class_id IS NOT NULL ORDER BY i.id')
    .all() as { id: number; env: string | null; classId: number }[]
  const classes = db.prepare('SELECT id, name FROM classes WHERE deleted_at IS NULL ORDER BY position').all() as { id: number; name: string }[]
  const index = new Map(classes.map((c, i) => [c.id, i]))
  const splitId = Number(db.prepare("INSERT INTO splits (name, method, params, created_at) VALUES ('every fifth', 'stratified', '{}', ?)").run(new Date().toISOString()).lastInsertRowid)
  const runId = createRun(db, { classes, split: { description: 'stratified random, 20% validation (seed 1)' } }, { backbone: 'pixels', splitId })
  const assign = db.prepare('INSERT INTO split_assignments (split_id, image_id, part) VALUES (?, ?, ?)')
  const predict = db.prepare("INSERT INTO run_predictions (run_id, image_id, part, label, predicted, probs) VALUES (?, ?, 'validation', ?, ?, '[]')")
  db.transaction(() => {
    let v = 0
    rows.forEach((r, k) => {
      const validation = k % 5 === 0
      assign.run(splitId, r.id, validation ? 'validation' : 'train')
      if (!validation) return
      const truth = index.get(r.classId)!
      v++
      const wrong = r.env === 'webcam' ? v % 3 === 0 : r.env === 'phone' ? v % 2 === 0 : v % 10 === 0
      predict.run(runId, r.id, truth, wrong ? (truth + 1) % classes.length : truth)
    })
  })()
  finishRun(db, runId, 'completed', {})
  return runId
}

describe('dashboard in the browser', () => {
  it('shows balance, heatmaps with the thin cells in words, the split, annotators and accuracy beside the data; saves PNG and HTML', async () => {
    const dir = tempProjectDir()
    const p = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p, { images: 400, seed: 1 })
    // a second annotator relabels a few images, so agreement per class has something to say
    const some = p.db.prepare('SELECT image_id FROM image_labels ORDER BY image_id LIMIT 60').pluck().all() as number[]
    const happy = p.db.prepare("SELECT id FROM classes WHERE name = 'happy'").pluck().get() as number
    for (const id of some) {
      const own = p.db.prepare('SELECT class_id FROM image_labels WHERE image_id = ?').pluck().get(id) as number
      label(p.db, 'second', [id], id % 4 === 0 ? happy : own)
    }
    const runId = fakeRun(p)
    p.close()

    studio = await startStudio({ project: dir, width: 1400, height: 1000 })
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-dashboard]')
    await page.waitForSelector('[data-test=class-balance]')
    await page.waitForSelector('[data-test=chart-class-balance] canvas')

    expect(await page.textContent('[data-test=tile-labeled]')).toContain('400')
    const ratio = Number((await page.textContent('[data-test=tile-ratio] .value'))!.trim())
    expect(ratio).toBeGreaterThan(1.5) // the demo's default imbalance
    const rows = await page.$$eval('[data-test=class-balance] tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''))
    expect(rows).toHaveLength(7)
    expect(rows.join(' ')).toContain('disgust')
    // heatmaps: environment and each subgroup attribute the demo records
    for (const name of ['class-by-environment', 'class-by-age_band', 'class-by-gender_presentation']) {
      expect(await page.$(`[data-test=chart-${name}] canvas`), name).not.toBeNull()
    }
    const gaps = await page.textContent('[data-test=gaps]')
    expect(gaps).toMatch(/only \d+ "\w+" images? (from "\w+"|with \w+ ")/)
    expect(await page.textContent('[data-test=split-table]')).toContain('validation')
    expect(await page.textContent('[data-test=shared-subjects]')).toMatch(/\d+ subjects? with images in more than one part/)
    expect(await page.$('[data-test=chart-agreement] canvas')).not.toBeNull()
    expect(await page.textContent('[data-test=run-accuracy]')).toContain(`Run ${runId}: accuracy per environment`)
    await page.screenshot({ path: shot('80-dashboard-top') })
    await page.screenshot({ path: shot('81-dashboard-full'), fullPage: true })

    // one chart as a PNG
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=png-class-balance]')])
    expect(png.suggestedFilename()).toBe('class-balance.png')
    const pngBytes = readFileSync((await png.path())!)
    expect(pngBytes.subarray(1, 4).toString()).toBe('PNG')

    // the whole page as a standalone HTML report
    const [report] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=dashboard-save]')])
    expect(report.suggestedFilename()).toMatch(/-data-report-\d{4}-\d\d-\d\d\.html$/)
    const target = join(tempDir(), 'report.html')
    await report.saveAs(target)
    const html = readFileSync(target, 'utf8')
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(5)
    expect(html).toContain('Environments and subgroups')
    await page.waitForSelector('[data-test=dashboard-saved]')

    // the report opens offline: no network at all in a fresh page
    const offline = await studio.browser.newPage({ viewport: { width: 1100, height: 900 } })
    const requests: string[] = []
    offline.on('request', (r) => requests.push(r.url()))
    await offline.goto(`file://${target}`)
    await offline.screenshot({ path: shot('82-dashboard-report'), fullPage: true })
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([])
    expect(await offline.$$eval('svg', (s) => s.length)).toBeGreaterThanOrEqual(5)
    await offline.close()
    expect(studio.problems).toEqual([])
  })

  it('says plainly when nothing is labeled yet', async () => {
    const dir = tempProjectDir()
    createProject(dir, { classes: ['a', 'b'] }).close()
    studio = await startStudio({ project: dir })
    await studio.page.goto(studio.server.url)
    await studio.page.click('[data-test=nav-dashboard]')
    await studio.page.waitForSelector('[data-test=dashboard-empty]')
    expect(await studio.page.textContent('[data-test=dashboard-empty]')).toContain('No labeled images yet')
    await studio.page.screenshot({ path: shot('83-dashboard-empty') })
    expect(studio.problems).toEqual([])
  })
})
