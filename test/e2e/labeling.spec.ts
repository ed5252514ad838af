import { afterEach, describe, expect, it } from 'vitest'
import { agreementReport } from '../../src/main/analysis/agreement'
import { importDemo } from '../../src/main/dataset/demo-import'
import { CURRENT_SQL } from '../../src/main/db/repos/annotations'
import { createProject } from '../../src/main/project/project'
import { EMOTION7 } from '../../src/shared/presets'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

async function demoProject(images: number): Promise<string> {
  const dir = tempProjectDir()
  const p = createProject(dir, { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 5, labelNoise: 0, imbalance: 1 })
  p.close()
  return dir
}

/** Reads through the studio's own connection: the project is locked to it, as it would be to the app. */
function currentLabels(annotator: string): Map<number, number> {
  const rows = studio!.session
    .requireProject()
    .db.prepare(`SELECT image_id AS id, class_id AS c FROM (${CURRENT_SQL}) WHERE annotator = ? AND class_id IS NOT NULL`)
    .all(annotator) as { id: number; c: number }[]
  return new Map(rows.map((r) => [r.id, r.c]))
}

describe('labeling in the browser', () => {
  it('labels by keyboard with auto-advance, undoes, bulk-labels, labels blind as a second annotator, and keeps it all', async () => {
    const dir = await demoProject(80)
    studio = await startStudio({ project: dir, height: 860 })
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-library]')
    await page.waitForSelector('[data-test=tile] img')
    expect(await page.textContent('[data-test=library-count]')).toContain('80')
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-test=tile] img')].slice(0, 6).every((i) => i.complete && i.naturalWidth > 0))
    await page.screenshot({ path: shot('20-library-grid') })

    // keyboard labeling as "ann"
    await page.dblclick('[data-test=tile] >> nth=0')
    await page.waitForSelector('[data-test=label-view]')
    await page.fill('[data-test=annotator]', 'ann')
    await page.press('[data-test=annotator]', 'Enter')
    await page.waitForFunction(() => document.querySelector('[data-test=position]')?.textContent?.trim() === '1 / 80')
    const keys = ['1', '2', '3', '4', '5', '6', '7']
    for (let i = 0; i < 50; i++) {
      await page.keyboard.press(keys[i % 7])
      await page.waitForFunction((n) => document.querySelector('[data-test=position]')?.textContent?.trim() === `${n} / 80`, i + 2)
    }
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-test=label-image]')?.naturalWidth ?? 0) > 0)
    await page.screenshot({ path: shot('21-labeling-view') })
    const latencies = await page.evaluate(() => performance.getEntriesByName('label-to-next').map((e) => e.duration))
    expect(latencies.length).toBeGreaterThanOrEqual(45)

    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Control+z')
      await page.waitForFunction((n) => document.querySelector('[data-test=position]')?.textContent?.trim() === `${n} / 80`, 50 - i)
    }
    await page.waitForFunction(() => document.querySelector('[data-test=my-label]')?.textContent?.includes('none yet'))
    let ann = currentLabels('ann')
    expect(ann.size).toBe(47)

    // bulk: the first ten tiles, click then shift-click
    await page.click('[data-test=nav-library]')
    await page.waitForSelector('[data-test=tile] img')
    await page.click('[data-test=tile] >> nth=0')
    await page.click('[data-test=tile] >> nth=9', { modifiers: ['Shift'] })
    expect(await page.textContent('[data-test=selected-count]')).toBe('10')
    const happy = await page.$eval('[data-test=bulk-class]', (sel) => [...(sel as HTMLSelectElement).options].find((o) => o.text === 'happy')!.value)
    await page.selectOption('[data-test=bulk-class]', happy)
    await page.waitForFunction(() => !document.querySelector('[data-test=undo]')?.hasAttribute('disabled'))
    ann = currentLabels('ann')
    const firstTen = await page.$$eval('[data-test=tile]', (tiles) => tiles.slice(0, 10).map((t) => Number((t as HTMLElement).dataset.id)))
    for (const id of firstTen) expect(ann.get(id)).toBe(Number(happy))
    await page.screenshot({ path: shot('22-library-bulk') })

    // a second annotator, blind
    await page.dblclick('[data-test=tile] >> nth=0')
    await page.waitForSelector('[data-test=label-view]')
    await page.fill('[data-test=annotator]', 'bob')
    await page.press('[data-test=annotator]', 'Enter')
    await page.check('[data-test=blind]')
    await page.waitForSelector('[data-test=blind-note]')
    expect(await page.$('[data-test=distribution]')).toBeNull()
    await page.waitForFunction(() => document.querySelector('[data-test=position]')?.textContent?.trim() === '1 / 80')
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press(keys[(i * 3) % 7])
      await page.waitForFunction((n) => document.querySelector('[data-test=position]')?.textContent?.trim() === `${n} / 80`, i + 2)
    }
    expect(await page.textContent('[data-test=my-label]')).toContain('none yet')
    await page.screenshot({ path: shot('23-labeling-blind') })

    // a restart: the studio closes the project and a new one opens it; nothing is lost
    await studio.stop()
    studio = await startStudio({ project: dir, height: 860 })
    const again = studio.page
    await again.goto(studio.server.url)
    await again.click('[data-test=nav-library]')
    await again.click('[data-test=toggle-agreement]')
    await again.waitForSelector('[data-test=fleiss]')
    const bob = currentLabels('bob')
    expect(bob.size).toBe(20)
    expect(currentLabels('ann').size).toBe(47)
    const ratings = studio.session
      .requireProject()
      .db.prepare(`SELECT c.image_id AS item, c.annotator AS rater, c.class_id AS label FROM (${CURRENT_SQL}) c JOIN images i ON i.id = c.image_id WHERE c.class_id IS NOT NULL AND i.excluded = 0`)
      .all() as { item: number; rater: string; label: number }[]
    const expected = agreementReport(ratings)
    expect(expected.raters).toEqual(['ann', 'bob', 'demo'])
    expect(await again.textContent('[data-test=alpha]')).toBe(expected.alpha.alpha!.toFixed(3))
    expect(await again.textContent('[data-test=cohen]')).toContain('ann · bob')
    await again.screenshot({ path: shot('24-agreement'), fullPage: true })
    expect(studio.problems).toEqual([])
  })
})
