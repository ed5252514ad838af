import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, describe, expect, it } from 'vitest'
import { createProject } from '../../src/main/project/project'
import { put } from '../helpers/images'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

/** Camera-sized JPEGs, enough of them that the import takes long enough to watch. */
async function photoFolder(root: string, n: number): Promise<string> {
  const classes = ['happy', 'sad', 'angry']
  for (let i = 0; i < n; i++) {
    const img = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 13) % 256 } } })
      .composite([{ input: { create: { width: 64 + (i % 200), height: 64, channels: 3, background: { r: 255 - (i % 256), g: 20, b: 200 } } }, left: i % 500, top: i % 400 }])
      .jpeg({ quality: 85 })
      .toBuffer()
    put(join(root, classes[i % 3], `photo_${String(i).padStart(4, '0')}.jpg`), img)
  }
  put(join(root, 'happy', 'broken.jpg'), 'this is not a jpeg')
  return root
}

describe('import in the browser', () => {
  it('imports a folder with visible progress and a final report', async () => {
    const dir = tempProjectDir()
    createProject(dir, { classes: ['happy', 'sad', 'angry'] }).close()
    const src = await photoFolder(join(dir, '..', 'photos'), 400)
    studio = await startStudio({ project: dir })
    const { page, server } = studio
    await page.goto(server.url)
    await page.waitForSelector('[data-test=overview-empty]')
    await page.click('[data-test=open-import]')
    await page.fill('[data-test=import-source]', src)
    await page.fill('[data-test=import-environment]', 'studio')
    await page.screenshot({ path: shot('10-import-form'), fullPage: true })
    await page.click('[data-test=import-start]')
    await page.waitForSelector('[data-test=import-progress]')
    await page.waitForFunction(() => Number(document.querySelector('[data-test=import-count]')?.textContent?.split('/')[0]) >= 40)
    await page.screenshot({ path: shot('11-import-progress'), fullPage: true })
    await page.waitForSelector('[data-test=import-report]', { timeout: 60_000 })
    const report = await page.textContent('[data-test=import-report]')
    expect(report).toContain('400 added')
    expect(report).toContain('1 skipped')
    expect(await page.textContent('[data-test=import-skipped]')).toContain('broken.jpg')
    // the overview updated itself from the project.changed event
    await page.waitForFunction(() => document.querySelector('[data-test=tile-images]')?.textContent?.includes('400'))
    expect(await page.textContent('[data-test=tile-labeled]')).toContain('100%')
    await page.screenshot({ path: shot('12-import-report'), fullPage: true })
    expect(studio.problems).toEqual([])
  })
})
