import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openProject } from '../../src/main/project/project'
import { shot, startStudio, tempProjectDir, type Studio } from './harness'

let studio: Studio | undefined
afterEach(async () => {
  await studio?.stop()
  studio = undefined
})

describe('projects in the browser', () => {
  it('creates a project through the UI and shows its overview', async () => {
    studio = await startStudio()
    const { page, server } = studio
    await page.goto(server.url)
    await page.waitForSelector('[data-test=create-form]')
    expect(await page.locator('[data-test=recent-empty]').isVisible()).toBe(true)
    await page.screenshot({ path: shot('01-home-empty'), fullPage: true })
    expect(new URL(page.url()).searchParams.has('token')).toBe(false) // the token left the address bar

    const dir = tempProjectDir()
    await page.fill('[data-test=create-dir]', dir)
    await page.fill('[data-test=create-name]', 'Emotion study')
    await page.click('[data-test=create-submit]')
    await page.waitForSelector('[data-test=overview]')
    expect(await page.textContent('[data-test=overview-name]')).toBe('Emotion study')
    expect(await page.textContent('[data-test=tile-classes]')).toContain('7')
    const rows = await page.$$eval('[data-test=class-table] tbody tr', (trs) =>
      trs.map((tr) => `${(tr.querySelector('.key-input') as HTMLInputElement).value} ${tr.querySelector('[data-test=class-name]')?.textContent?.trim()} ${tr.querySelector('.num')?.textContent?.trim()}`)
    )
    expect(rows).toEqual(['1 angry 0', '2 disgust 0', '3 fear 0', '4 happy 0', '5 sad 0', '6 surprise 0', '7 neutral 0'])
    await page.screenshot({ path: shot('02-overview-new-project'), fullPage: true })

    // the navigation reaches the other areas, and an empty project gets an honest empty state
    await page.click('[data-test=nav-review]')
    await page.waitForSelector('[data-test=review-empty]')
    expect(await page.textContent('[data-test=review-empty] h2')).toBe('Nothing flagged yet')

    // the project is real: on disk, with its classes, once the studio lets go of it
    expect(existsSync(join(dir, 'studio.sqlite'))).toBe(true)
    await page.click('[data-test=close-project]')
    await page.waitForSelector('[data-test=recent-list]')
    expect(await page.textContent('[data-test=recent-list]')).toContain('Emotion study')
    await page.screenshot({ path: shot('03-home-recent'), fullPage: true })
    const p = openProject(dir)
    expect(p.summary().classes.map((c) => c.name)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'])
    p.close()
    expect(studio.problems).toEqual([])
  })

  it('shows the reason when a folder is not a project, and reopens after a reload', async () => {
    studio = await startStudio()
    const { page, server } = studio
    await page.goto(server.url)
    await page.fill('[data-test=open-dir]', '/proc')
    await page.click('[data-test=open-submit]')
    await page.waitForSelector('[data-test=home-error]')
    expect(await page.textContent('[data-test=home-error]')).toContain('is not a Freezeframe project')
    await page.screenshot({ path: shot('04-open-error'), fullPage: true })

    const dir = tempProjectDir()
    await page.fill('[data-test=create-dir]', dir)
    await page.click('[data-test=create-submit]')
    await page.waitForSelector('[data-test=overview]')
    await page.reload() // the token lives on in sessionStorage, the project in the session
    await page.waitForSelector('[data-test=overview]')
    expect(await page.textContent('[data-test=overview-name]')).toBe('project')
  })

  it('refuses a page opened without the token', async () => {
    studio = await startStudio()
    const res = await studio.page.goto(`http://127.0.0.1:${studio.server.port}/`)
    expect(res?.status()).toBe(401)
  })
})
