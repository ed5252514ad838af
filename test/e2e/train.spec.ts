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

describe('training in the browser', () => {
  it('starts a small run with one click, shows live curves, and lists the finished run', async () => {
    const dir = tempProjectDir()
    const p = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p, { images: 140, seed: 4, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
    p.close()
    studio = await startStudio({ project: dir, height: 900 })
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-train]')
    await page.waitForSelector('[data-test=runs-empty]')
    // the raw-pixel baseline keeps this test fast; the backbone choice is the only change
    await page.click('.advanced summary')
    await page.selectOption('[data-test=train-backbone]', 'pixels')
    await page.fill('[data-test=train-epochs]', '25')
    // "live" means: the curves were drawn while the run was still going (Cancel still shown).
    // A small run can finish in a second, so the page itself watches for that moment.
    await page.evaluate(() => {
      const w = window as unknown as { sawLive?: boolean }
      w.sawLive = false
      const timer = setInterval(() => {
        if (document.querySelector('[data-test=train-cancel]') && document.querySelector('[data-test=curves] canvas')) {
          w.sawLive = true
          clearInterval(timer)
        }
      }, 20)
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
    expect(await page.$('[data-test=train-error]')).toBeNull()
    await page.screenshot({ path: shot('31-train-done') })
    const runs = studio.session.requireProject().db.prepare("SELECT count(*) FROM run_epochs").pluck().get() as number
    expect(runs).toBeGreaterThan(1)
    expect(studio.problems).toEqual([])
  })
})
