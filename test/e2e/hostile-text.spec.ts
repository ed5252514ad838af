// Class names, environments, subjects and attributes that are markup or script, shown by every
// view of the app in a real browser: they appear as text, and none of them runs. Every nav area
// is visited, so views added later are checked too.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { importPath } from '../../src/main/dataset/importer'
import { createProject } from '../../src/main/project/project'
import { picture, put } from '../helpers/images'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

// Each would set window.__pwned if the page ever treated it as markup or code.
const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '<svg onload="window.__pwned=3">',
  '{{ (window.__pwned = 4) }}',
  'javascript:window.__pwned=5'
]

async function hostileProject(): Promise<string> {
  const dir = tempProjectDir()
  const src = join(dir, '..', 'src')
  const cell = (v: string) => `"${v.replace(/"/g, '""')}"`
  const rows = ['path,label,environment,subject,attr:note']
  for (let i = 0; i < 20; i++) {
    put(join(src, `${i}.png`), await picture(600 + i, 'png', 96, 96))
    const h = HOSTILE[i % HOSTILE.length]
    rows.push([`${i}.png`, h, h, h, h].map(cell).join(','))
  }
  const p = createProject(dir)
  await importPath(p, put(join(src, 'hostile.csv'), rows.join('\n')), { newClasses: 'create' })
  p.close()
  return dir
}

describe('hostile text in the browser', () => {
  it('shows markup-looking names as text in every view and never runs them', async () => {
    studio = await startStudio({ project: await hostileProject() })
    const { page, server } = studio
    await page.goto(server.url)
    await page.waitForSelector('[data-test^=nav-]')
    const navs = await page.$$eval('[data-test^=nav-]', (els) => els.map((e) => e.getAttribute('data-test')!))
    expect(navs.length).toBeGreaterThan(3)
    const seen = new Set<string>()
    for (const nav of navs) {
      await page.click(`[data-test="${nav}"]`)
      await page.waitForTimeout(600)
      const state = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
        injected: document.querySelectorAll('img[src="x"], svg[onload], script:not([src])').length,
        text: document.body.innerText
      }))
      expect(state.pwned, nav).toBeNull()
      expect(state.injected, nav).toBe(0)
      for (const h of HOSTILE) if (state.text.includes(h)) seen.add(h)
    }
    await page.click('[data-test=nav-library]')
    await page.waitForSelector('[data-test=tile]')
    await page.dblclick('[data-test=tile] >> nth=0')
    await page.waitForSelector('[data-test=label-view]')
    await page.waitForTimeout(400)
    const label = await page.evaluate(() => ({ pwned: (window as unknown as { __pwned?: number }).__pwned ?? null, text: document.body.innerText }))
    expect(label.pwned).toBeNull()
    for (const h of HOSTILE) if (label.text.includes(h)) seen.add(h)
    await page.screenshot({ path: shot('90-hostile-text-label-view') })
    // They are on screen, character for character, somewhere in the app.
    expect([...seen].sort()).toEqual([...HOSTILE].sort())
    expect(studio.problems.filter((p) => !/favicon/.test(p))).toEqual([])
  })
})
