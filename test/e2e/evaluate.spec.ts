// Evaluate and Export in the browser over the real core: a small 'pixels' run trained in setup,
// the confusion matrix shown (and recorded as viewed), a cell opened in the Library and its
// images relabeled, then an export whose model card is opened and photographed.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { importDemo } from '../../src/main/dataset/demo-import'
import { createProject } from '../../src/main/project/project'
import { runTraining } from '../../src/main/training/runner'
import { EMOTION7 } from '../../src/shared/presets'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

describe('evaluate and export in the browser', () => {
  it('shows the matrix, opens a cell in the Library for relabeling, exports, and the model card renders', async () => {
    const dir = tempProjectDir()
    const p = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p, { images: 180, seed: 6, labelNoise: 0.05, imbalance: 2 })
    const run = await runTraining(p, { backbone: 'pixels', split: { kind: 'stratified', validation: 0.3, seed: 1 }, head: { epochs: 15 }, seed: 1 })
    expect(run.status).toBe('completed')
    p.close()

    studio = await startStudio({ project: dir, width: 1400, height: 1000 })
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-evaluate]')
    await page.waitForSelector('[data-test=confusion-matrix]', { timeout: 60_000 })
    const db = () => studio!.session.requireProject().db
    // the view recorded that this run's matrix was seen (the checklist reads it)
    await page.waitForFunction(() => /Confusion matrix reviewed/.test(document.querySelector('[data-test=evaluate-about]')?.textContent ?? ''))
    expect(db().prepare('SELECT confusion_viewed_at FROM runs WHERE id = ?').pluck().get(run.runId)).toMatch(/^\d{4}-/)
    const accuracy = await page.textContent('[data-test=tile-accuracy]')
    expect(accuracy).toBe(`${(run.summary!.valAccuracy! * 100).toFixed(1)}%`)
    await page.screenshot({ path: shot('60-evaluate-matrix'), fullPage: true })
    await page.locator('[data-test=confusion-matrix]').screenshot({ path: shot('60b-evaluate-matrix-close') })

    // The largest off-diagonal cell, preferring one whose predicted class has the higher id.
    // Relabeled here by a second annotator, each image's two labels tie, and a tie goes to the
    // newest label (recomputeConsensus; the tie is marked): the relabel must win even where the
    // smaller class id (the rule before) would have kept the old label.
    const runClasses = (JSON.parse(db().prepare('SELECT config FROM runs WHERE id = ?').pluck().get(run.runId) as string).classes as { id: number }[])
    const cells = await page.$$eval('[data-test^=cell-]', (els) => els.map((e) => ({ id: e.getAttribute('data-test')!, n: Number(e.textContent) })))
    const higher = (c: { id: string }) => { const [, i, j] = c.id.split('-').map(Number); return runClasses[j].id > runClasses[i].id ? 1 : 0 }
    const off = cells
      .filter((c) => { const [, i, j] = c.id.split('-').map(Number); return i !== j && c.n > 0 })
      .sort((a, b) => higher(b) - higher(a) || b.n - a.n)[0]
    expect(off).toBeTruthy()
    await page.click('[data-test=matrix-normalized]')
    expect(await page.textContent(`[data-test=${off.id}]`)).toMatch(/%$/)
    await page.click(`[data-test=${off.id}]`)
    await page.waitForSelector('[data-test=ids-filter]')
    await page.waitForFunction((n) => document.querySelector('[data-test=library-count] strong')?.textContent === String(n), off.n)
    await page.waitForSelector('.thumb-tile img')
    // the banner names the cell it came from
    const nameOf = (id: number) => (db().prepare('SELECT name FROM classes WHERE id = ?').pluck().get(id) as string)
    const [, ci, cj] = off.id.split('-').map(Number)
    expect(await page.textContent('[data-test=ids-filter-label]')).toBe(
      `Showing ${off.n} image${off.n === 1 ? '' : 's'}: run ${run.runId}, labeled ${nameOf(runClasses[ci].id)}, predicted ${nameOf(runClasses[cj].id)}.`
    )
    await page.screenshot({ path: shot('61-evaluate-cell-in-library') })

    // relabel them to the predicted class (the column)
    const [, , j] = off.id.split('-').map(Number)
    const classes = db().prepare('SELECT id, name FROM classes WHERE deleted_at IS NULL ORDER BY position').all() as { id: number; name: string }[]
    const target = runClasses[j].id
    await page.click('[data-test=select-all]')
    await page.selectOption('[data-test=bulk-class]', String(target))
    await page.waitForFunction(() => !document.querySelector('[data-test=selected-count]'), undefined, { timeout: 10_000 }).catch(() => undefined)
    const relabeled = db().prepare("SELECT count(DISTINCT image_id) FROM annotations WHERE class_id = ? AND source = 'manual'").pluck().get(target) as number
    expect(relabeled).toBeGreaterThanOrEqual(off.n)
    expect(classes.some((c) => c.id === target)).toBe(true)

    // back on Evaluate, a fresh evaluation counts those as relabeled and moves them to the diagonal
    await page.click('[data-test=nav-evaluate]')
    await page.click('[data-test=evaluate-start]')
    await page.waitForFunction((n) => new RegExp(`${n} images were relabeled`).test(document.querySelector('[data-test=evaluate-about]')?.textContent ?? ''), off.n, { timeout: 60_000 })
    expect(await page.textContent(`[data-test=${off.id}]`)).toBe('0')

    // browse the most confident mistakes
    await page.waitForSelector('[data-test=mistakes]')
    if (await page.$('[data-test=mistakes-next]:not([disabled])')) {
      await page.click('[data-test=mistakes-next]')
      expect(await page.textContent('[data-test=mistakes-page]')).toMatch(/^2 \//)
    }

    // export
    const out = join(mkdtempSync(join(tmpdir(), 'ff-e2e-export-')), 'model')
    await page.click('[data-test=nav-export]')
    await page.waitForSelector('[data-test=export-out]')
    // The default folder is filled in once the run list has loaded, a moment after the field appears.
    await page.waitForFunction(() => ((document.querySelector('[data-test=export-out]') as HTMLInputElement | null)?.value ?? '') !== '')
    expect(await page.inputValue('[data-test=export-out]')).toContain(join('exports', `run-${run.runId}`))
    await page.fill('[data-test=export-out]', out)
    await page.selectOption('[data-test=export-dataset]', 'csv')
    await page.click('[data-test=export-start]')
    await page.waitForSelector('[data-test=export-done]', { timeout: 120_000 })
    expect(await page.textContent('[data-test=export-path]')).toBe(out)
    expect(await page.textContent('[data-test=export-savedmodel]')).toMatch(/not written/)
    await page.screenshot({ path: shot('62-export-done'), fullPage: true })
    for (const f of ['model/model.json', 'labels.json', 'preprocessing.json', 'metrics.json', 'model-card.md', 'model-card.html', 'dataset/manifest.csv', 'annotations.json']) expect(existsSync(join(out, f))).toBe(true)

    // exporting again into the now non-empty folder is refused with the reason
    await page.click('[data-test=export-start]')
    await page.waitForSelector('[data-test=export-error]')
    expect(await page.textContent('[data-test=export-error]')).toMatch(/is not empty; choose an empty folder or replace it/)

    // the model card, as a person opening the file sees it
    expect(readFileSync(join(out, 'model-card.html'), 'utf8')).toContain('reliability diagram')
    const card = await studio.browser.newPage({ viewport: { width: 1100, height: 900 } })
    await card.goto(`file://${join(out, 'model-card.html')}`)
    expect(await card.textContent('h1')).toMatch(/run \d+/)
    await card.screenshot({ path: shot('63-model-card'), fullPage: true })
    await card.locator('svg[aria-label="confusion matrix"]').screenshot({ path: shot('64-model-card-matrix') })
    await card.locator('svg[aria-label="reliability diagram"]').screenshot({ path: shot('65-model-card-calibration') })
    await card.close()
    expect(studio.problems).toEqual([])
  })
})
