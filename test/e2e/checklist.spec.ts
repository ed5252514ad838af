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

const verdict = (id: string) => `[data-test=check-${id}]`

describe('preflight checklist in the Train view', () => {
  it('judges the form as it changes; "use class weights" fixes the imbalance check; a warning can be overridden with a reason', async () => {
    const dir = tempProjectDir()
    const p = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p, { images: 300, seed: 2 })
    p.close()
    studio = await startStudio({ project: dir, width: 1400, height: 1100 })
    const { page, server } = studio
    await page.goto(server.url)
    await page.click('[data-test=nav-train]')
    await page.waitForSelector(`${verdict('production-environment')}`)
    expect(await page.$$eval('[data-test=checklist] .check-row', (rows) => rows.length)).toBe(10)
    expect(await page.getAttribute(verdict('class-imbalance'), 'data-verdict')).toBe('pass')
    await page.screenshot({ path: shot('84-checklist-train'), fullPage: true })

    // turning class weights off makes the imbalance check warn, with a fix
    await page.click('.advanced summary')
    await page.selectOption('.advanced select:has(option[value=effective])', 'off')
    await page.waitForSelector(`${verdict('class-imbalance')}[data-verdict=warn]`)
    expect(await page.textContent(verdict('class-imbalance'))).toContain('class weights are off')
    await page.screenshot({ path: shot('85-checklist-warn') })
    await page.click(`${verdict('class-imbalance')} [data-test=fix]`)
    await page.waitForSelector(`${verdict('class-imbalance')}[data-verdict=pass]`)
    expect(await page.$eval('.advanced select:has(option[value=effective])', (s) => (s as HTMLSelectElement).value)).toBe('inverse')

    // "hold out an environment" switches the form's split, and the check passes
    await page.click(`${verdict('production-environment')} [data-test=fix]`)
    await page.waitForSelector(`${verdict('production-environment')}[data-verdict=pass]`)
    expect(await page.$eval('[data-test=train-split]', (s) => (s as HTMLSelectElement).value)).toBe('environment')

    // a conscious override of a warning, with its reason, stored for the next run
    const warned = await page.$$eval('[data-test=checklist] .check-row[data-verdict=warn]', (rows) => rows.map((r) => r.getAttribute('data-test')!.slice('check-'.length)))
    expect(warned.length).toBeGreaterThan(0)
    const id = warned[0]
    await page.click(`${verdict(id)} [data-test=override]`)
    await page.click(`${verdict(id)} [data-test=override-save]`)
    await page.waitForSelector('[data-test=checklist] .alert')
    expect(await page.textContent('[data-test=checklist] .alert')).toContain('at least 3 characters')
    await page.fill(`${verdict(id)} [data-test=override-reason]`, 'pilot run to size the problem')
    await page.click(`${verdict(id)} [data-test=override-save]`)
    await page.waitForSelector(`${verdict(id)} [data-test=override-note]`)
    expect(await page.$('[data-test=checklist] .alert')).toBeNull()
    expect(await page.textContent(`${verdict(id)} [data-test=override-note]`)).toContain('pilot run to size the problem')
    const stored = studio.session.requireProject().db.prepare('SELECT check_id AS id, reason FROM checklist_overrides').all()
    expect(stored).toEqual([{ id, reason: 'pilot run to size the problem' }])

    // Dense 256 is too big a head for ~240 training images: its fix sets the form's hidden layer
    await page.waitForSelector(`${verdict('head-size')}[data-verdict=warn]`)
    expect(await page.textContent('[data-test=head-params]')).toMatch(/^Dense 256 \+ softmax on .* 1280 features, 7 classes: 329,735 parameters/)
    const units = Number(/use a Dense (\d+) head/.exec((await page.textContent(`${verdict('head-size')} [data-test=fix]`)) ?? '')?.[1])
    expect(units).toBeGreaterThan(0)
    await page.click(`${verdict('head-size')} [data-test=fix]`)
    await page.waitForSelector(`${verdict('head-size')}[data-verdict=pass]`)
    expect(await page.$eval('[data-test=train-hidden]', (s) => Number((s as HTMLSelectElement).value))).toBe(units)
    expect(await page.textContent('[data-test=head-params]')).toContain(`Dense ${units} + softmax`)

    // fine-tuning 300 images: "train the head only" turns stage 2 off in the form
    await page.selectOption('[data-test=train-stage2]', 'on')
    await page.waitForSelector(`${verdict('frozen-first-stage')}[data-verdict=warn]`)
    await page.click(`${verdict('frozen-first-stage')} [data-test=fix]`)
    await page.waitForSelector(`${verdict('frozen-first-stage')}[data-verdict=pass]`)
    expect(await page.$eval('[data-test=train-stage2]', (s) => (s as HTMLSelectElement).value)).toBe('off')
    await page.screenshot({ path: shot('86-checklist-fixed-overridden'), fullPage: true })
    expect(studio.problems).toEqual([])
  })
})
