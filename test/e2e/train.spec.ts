import { afterEach, describe, expect, it } from 'vitest'
import { importDemo } from '../../src/main/dataset/demo-import'
import { createProject } from '../../src/main/project/project'
import { EMOTION7 } from '../../src/shared/presets'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

/** A demo project of `images` studio faces, opened in the browser on the empty Train view. */
async function trainViewOn(images: number, height: number): Promise<Studio> {
  const dir = tempProjectDir()
  const p = createProject(dir, { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 4, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
  p.close()
  studio = await startStudio({ project: dir, height })
  await studio.page.goto(studio.server.url)
  await studio.page.click('[data-test=nav-train]')
  await studio.page.waitForSelector('[data-test=runs-empty]')
  return studio
}

describe('training in the browser', () => {
  it('starts a small run with one click, shows live curves, and lists the finished run', async () => {
    const { page, session, problems } = await trainViewOn(140, 900)
    // the raw-pixel baseline keeps this test fast; the backbone choice is the only change
    await page.click('.advanced summary')
    await page.selectOption('[data-test=train-backbone]', 'pixels')
    await page.fill('[data-test=train-epochs]', '25')
    // "live" means: the curves were drawn while the run was still going (Cancel still shown).
    // A small run can finish within a few milliseconds of its first epoch, so the page itself
    // checks after every change of the DOM (a 20 ms poll missed that moment on a busy machine).
    // The runs list shows the run as running while it goes on (not only once it has ended).
    await page.evaluate(() => {
      const w = window as unknown as { sawLive?: boolean; sawListed?: boolean }
      w.sawLive = false
      w.sawListed = false
      const observer = new MutationObserver(() => {
        const going = document.querySelector('[data-test=train-cancel]')
        if (going && document.querySelector('[data-test=curves] canvas')) w.sawLive = true
        if (going && /running/.test(document.querySelector('[data-test=run-live]')?.textContent ?? '')) w.sawListed = true
        if (w.sawLive && w.sawListed) observer.disconnect()
      })
      observer.observe(document.body, { childList: true, subtree: true })
    })
    await page.click('[data-test=train-start]')
    await page.waitForFunction(() => (window as unknown as { sawLive?: boolean }).sawLive || document.querySelector('[data-test=runs] tbody tr'), undefined, { timeout: 120_000 })
    if (await page.$('[data-test=train-cancel]')) await page.screenshot({ path: shot('30-train-live') })
    await page.waitForSelector('[data-test=train-start]', { timeout: 180_000 })
    await page.waitForSelector('[data-test=runs] tbody tr')
    const row = await page.textContent('[data-test=runs] tbody tr')
    expect(row).toContain('completed')
    expect(row).toContain('pixels')
    expect(row).toMatch(/\d+\.\d%/)
    expect(await page.evaluate(() => (window as unknown as { sawLive?: boolean }).sawLive)).toBe(true)
    expect(await page.evaluate(() => (window as unknown as { sawListed?: boolean }).sawListed)).toBe(true)
    expect(await page.$('[data-test=train-error]')).toBeNull()
    await page.screenshot({ path: shot('31-train-done') })
    const runs = session.requireProject().db.prepare("SELECT count(*) FROM run_epochs").pluck().get() as number
    expect(runs).toBeGreaterThan(1)
    expect(problems).toEqual([])
  })

  it('runs both stages with live batch progress, marks the stage boundary, and resumes an interrupted run', async () => {
    const { page, session, problems } = await trainViewOn(84, 1100)
    await page.click('.advanced summary')
    await page.selectOption('[data-test=train-backbone]', 'mobilenetv2-nsfwjs') // the default 'auto' would probe first
    await page.selectOption('[data-test=train-size]', '96')
    await page.fill('[data-test=train-epochs]', '6')
    await page.selectOption('[data-test=train-stage2]', 'on')
    await page.fill('[data-test=train-unfreeze]', '0.1')
    await page.fill('[data-test=train-stage2-epochs]', '3')
    await page.evaluate(() => {
      const w = window as unknown as { batchText?: string }
      const timer = setInterval(() => {
        const el = document.querySelector('[data-test=train-batch]')
        if (el && /stage 2/.test(el.textContent ?? '')) {
          w.batchText = el.textContent ?? ''
          clearInterval(timer)
        }
      }, 20)
    })
    await page.click('[data-test=train-start]')
    await page.waitForFunction(() => (window as unknown as { batchText?: string }).batchText, undefined, { timeout: 240_000 })
    await page.screenshot({ path: shot('32-train-stage2-live'), fullPage: true })
    const batchText = await page.evaluate(() => (window as unknown as { batchText?: string }).batchText)
    expect(batchText).toMatch(/stage 2 epoch \d+: \d+ \/ \d+ images, loss \d\.\d+, acc \d+\.\d%, \d+ img\/s/)
    expect(await page.textContent('[data-test=train-backend]')).toMatch(/wasm|cpu|tensorflow/)
    await page.waitForSelector('[data-test=train-start]', { timeout: 240_000 })
    await page.waitForSelector('[data-test=stage2-summary]')
    expect(await page.textContent('[data-test=stage2-summary]')).toMatch(/top 2 blocks .*cached boundary activations/)
    const db = session.requireProject().db
    const stages = db.prepare('SELECT DISTINCT stage FROM run_epochs ORDER BY stage').pluck().all()
    expect(stages).toEqual([1, 2])
    expect(db.prepare('SELECT count(*) FROM run_predictions').pluck().get()).toBeGreaterThan(0)
    await page.screenshot({ path: shot('33-train-stage2-done'), fullPage: true })

    // a run the process lost (as after a crash) offers Resume, which finishes it from its checkpoint
    db.prepare("UPDATE runs SET status = 'interrupted' WHERE id = 1").run()
    // leaving and coming back re-reads the runs, as a restart would
    await page.click('[data-test=nav-library]')
    await page.click('[data-test=nav-train]')
    await page.waitForSelector('[data-test=train-resume]')
    await page.click('[data-test=train-resume]')
    await page.waitForSelector('[data-test=train-cancel]')
    await page.waitForSelector('[data-test=train-start]', { timeout: 240_000 })
    await page.waitForFunction(() => !document.querySelector('[data-test=train-resume]'))
    expect(db.prepare('SELECT status FROM runs WHERE id = 1').pluck().get()).toBe('completed')
    expect(await page.$('[data-test=train-error]')).toBeNull()
    expect(problems).toEqual([])
  }, 600_000)

  it('one click on a small project probes the backbones, trains the winner and shows the ranking', async () => {
    // few images keep the probe (every ready backbone on the training images) to seconds
    const { page, session, problems } = await trainViewOn(42, 1100)
    expect(await page.textContent('[data-test=train-status]')).toContain('the best backbone by a quick linear probe')
    await page.evaluate(() => {
      const w = window as unknown as { probeText?: string }
      const timer = setInterval(() => {
        const el = document.querySelector('[data-test=train-status]')
        if (el && /probing backbones/.test(el.textContent ?? '')) {
          w.probeText = el.textContent ?? ''
          clearInterval(timer)
        }
      }, 10)
    })
    await page.click('[data-test=train-start]')
    await page.waitForFunction(() => (window as unknown as { probeText?: string }).probeText, undefined, { timeout: 120_000 })
    await page.screenshot({ path: shot('34-train-probing') }) // usually still probing; the run may have moved on
    await page.waitForSelector('[data-test=train-start]', { timeout: 240_000 })
    await page.waitForSelector('[data-test=probe-ranking]')
    expect(await page.evaluate(() => (window as unknown as { probeText?: string }).probeText)).toMatch(/probing backbones: \S+ \(\d of \d\)/)
    const db = session.requireProject().db
    const run = db.prepare('SELECT status, backbone, config FROM runs WHERE id = 1').get() as { status: string; backbone: string; config: string }
    expect(run.status).toBe('completed')
    const probe = (JSON.parse(run.config) as { probe: { best: string; ranking: { backbone: string; error?: string }[] } }).probe
    expect(probe.ranking.map((e) => e.error ?? 'ok')).toEqual(probe.ranking.map(() => 'ok')) // every ready backbone really probed
    expect(run.backbone).toBe(probe.best)
    expect(await page.$$eval('[data-test=probe-row]', (rows) => rows.length)).toBe(probe.ranking.length)
    expect(await page.textContent('[data-test=probe-row]:first-child')).toContain('chosen')
    expect(await page.textContent('[data-test=runs] tbody tr')).toContain(probe.best)
    expect(await page.$('[data-test=train-error]')).toBeNull()
    await page.screenshot({ path: shot('35-train-probe-ranking'), fullPage: true })
    expect(problems).toEqual([])
  }, 300_000)
})
