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

async function noisyDemo(images: number): Promise<string> {
  const dir = tempProjectDir()
  const p = createProject(dir, { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 5, labelNoise: 0.2, noiseKind: 'symmetric', imbalance: 1, environments: { studio: 1 } })
  p.close()
  return dir
}

describe('review queue in the browser', () => {
  it('runs flagging from the empty state, accepts two suggestions, relabels one, undoes a keep, and the library shows the new labels', async () => {
    const dir = await noisyDemo(140)
    studio = await startStudio({ project: dir, width: 1360, height: 900 })
    const { page, server, session } = studio
    const db = () => session.requireProject().db
    const consensus = (id: number) => db().prepare('SELECT class_id FROM image_labels WHERE image_id = ?').pluck().get(id) as number
    const className = (id: number) => db().prepare('SELECT name FROM classes WHERE id = ?').pluck().get(id) as string

    await page.goto(server.url)
    await page.click('[data-test=nav-review]')
    await page.waitForSelector('[data-test=review-empty]')
    expect(await page.textContent('[data-test=review-empty] h2')).toBe('Nothing flagged yet')
    await page.screenshot({ path: shot('70-review-empty') })

    await page.click('[data-test=run-flagging]')
    await page.waitForSelector('[data-test=flagging-progress]')
    await page.screenshot({ path: shot('71-review-flagging-progress') })
    await page.waitForSelector('[data-test=review-stage]', { timeout: 120_000 })
    await page.waitForSelector('[data-test=noise-matrix]')
    await page.waitForFunction(() => document.querySelectorAll('[data-test=neighbours] img').length > 0)
    const open = db().prepare("SELECT count(*) FROM flags WHERE status = 'open' AND stale = 0").pluck().get() as number
    expect(open).toBeGreaterThan(3)
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-test=neighbours] img')].every((i) => i.complete && i.naturalWidth > 0))
    await page.screenshot({ path: shot('72-review-queue') })
    const matrix = await page.$('[data-test=noise-matrix]')
    await matrix!.scrollIntoViewIfNeeded()
    expect(await page.$$eval('[data-test=noise-matrix] tbody tr', (rows) => rows.length)).toBe(7)
    await matrix!.screenshot({ path: shot('75-review-noise-matrix') })
    await page.evaluate(() => window.scrollTo(0, 0))

    // Let each item's images finish loading before acting, as a person would see them first.
    const settled = () =>
      page.waitForFunction(() => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('.review-main img')]
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0)
      })
    const current = async () => {
      await settled()
      const el = await page.$('[data-test=review-stage]')
      return { imageId: Number(await el!.getAttribute('data-image-id')), flagId: Number(await el!.getAttribute('data-flag-id')) }
    }
    const decidedText = (n: number) => page.waitForFunction((k) => document.querySelector('[data-test=queue-progress]')?.textContent?.includes(`${k} of`), n)
    const suggestion = (flagId: number) => db().prepare('SELECT suggested_class_id FROM flags WHERE id = ?').pluck().get(flagId) as number | null

    // Walk to flags that carry a suggestion (likely mislabeled ones come first by score).
    const accepted: { imageId: number; to: number }[] = []
    for (const how of ['key', 'click'] as const) {
      let c = await current()
      while (suggestion(c.flagId) === null) {
        await page.keyboard.press('ArrowRight')
        await page.waitForFunction((prev) => document.querySelector('[data-test=review-stage]')?.getAttribute('data-flag-id') !== String(prev), c.flagId)
        c = await current()
      }
      const to = suggestion(c.flagId)!
      await page.waitForFunction((name) => document.querySelector('[data-test=suggested-label]')?.textContent === name, className(to))
      if (how === 'key') await page.keyboard.press('Enter')
      else await page.click('[data-test=accept]')
      await decidedText(accepted.length + 1)
      await settled()
      accepted.push({ imageId: c.imageId, to })
      expect(consensus(c.imageId)).toBe(to)
    }

    // Relabel the next one with a class key different from its label.
    const r = await current()
    const now = consensus(r.imageId)
    const target = db().prepare('SELECT id, key FROM classes WHERE id != ? AND key IS NOT NULL ORDER BY position LIMIT 1').get(now) as { id: number; key: string }
    await page.keyboard.press(target.key)
    await decidedText(3)
    await settled()
    expect(consensus(r.imageId)).toBe(target.id)

    // Keep one, then undo it: the flag opens again and is on screen.
    const k = await current()
    await page.keyboard.press('k')
    await decidedText(4)
    await settled()
    expect(db().prepare('SELECT status FROM flags WHERE id = ?').pluck().get(k.flagId)).toBe('kept')
    await settled()
    await page.keyboard.press('Control+z')
    await decidedText(3)
    expect(db().prepare('SELECT status FROM flags WHERE id = ?').pluck().get(k.flagId)).toBe('open')
    expect((await current()).flagId).toBe(k.flagId)
    await page.screenshot({ path: shot('73-review-after-decisions') })

    const decisions = db().prepare("SELECT decision FROM review_decisions ORDER BY id").pluck().all()
    expect(decisions).toEqual(['accept', 'accept', 'relabel', 'keep', 'undo'])

    // The library grid shows the new labels.
    await page.click('[data-test=nav-library]')
    const changed = [...accepted, { imageId: r.imageId, to: target.id }]
    for (const [i, c] of changed.entries()) {
      const file = db().prepare('SELECT file_name FROM images WHERE id = ?').pluck().get(c.imageId) as string
      await page.fill('[data-test=filter-search]', file)
      await page.press('[data-test=filter-search]', 'Enter')
      await page.waitForFunction((id) => document.querySelectorAll('[data-test=tile]').length === 1 && document.querySelector('[data-test=tile]')?.getAttribute('data-id') === String(id), c.imageId)
      await page.waitForFunction((name) => document.querySelector('[data-test=tile] .chip')?.textContent?.trim() === name, className(c.to))
      if (i === 0) {
        await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-test=tile] img')].every((im) => im.complete && im.naturalWidth > 0))
        await page.screenshot({ path: shot('74-library-after-review') })
      }
    }
    expect(studio.problems).toEqual([])
  }, 240_000)
})
