import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { svgChart } from '../../../../src/main/analysis/insights/report'
import { dispatch } from '../../../../src/main/app/dispatch'
import { createHandlers } from '../../../../src/main/app/handlers'
import { Session } from '../../../../src/main/app/session'
import type { Io } from '../../../../src/main/cli/io'
import { main } from '../../../../src/main/cli/main'
import { tempDir } from '../../../helpers/tmp'
import { Fixture } from './fixture'

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  return { code: await main(argv, io), out, err }
}

/** A closed project folder: 2 classes, 3 images per subject, two environments. */
function project(): string {
  const f = new Fixture(['happy', '<b>sad</b>'])
  f.add({ cls: 'happy', n: 30, env: 'studio', subject: (k) => `p${k % 10}` })
  f.add({ cls: '<b>sad</b>', n: 12, env: 'webcam', subject: (k) => `q${k % 4}` })
  const dir = f.p.dir
  f.p.close()
  return dir
}

describe('studio checklist', () => {
  it('prints the ten checks; a failing check exits 1 until it is overridden with a reason', async () => {
    const dir = project()
    const ok = await run('checklist', dir)
    expect(ok.code).toBe(0)
    expect(ok.out.match(/^ ?\d+\. (PASS|WARN|FAIL) /gm)).toHaveLength(10)
    expect(ok.out).toContain('10. WARN  Production environment tested')

    const bad = await run('checklist', dir, '--split', 'stratified')
    expect(bad.code).toBe(1)
    expect(bad.out).toMatch(/8\. FAIL {2}Validation split explicit, without leakage: .*14 subjects have several images/)
    expect(bad.out).toContain('fix: split by subject')

    const over = await run('checklist', dir, '--split', 'stratified', '--override', 'validation-split', '--reason', 'a quick smoke test', '--json')
    expect(over.code).toBe(0)
    const doc = JSON.parse(over.out)
    expect(doc.checks[7]).toMatchObject({ id: 'validation-split', verdict: 'fail', override: { reason: 'a quick smoke test' } })
    const cleared = await run('checklist', dir, '--split', 'stratified', '--clear', 'validation-split')
    expect(cleared.code).toBe(1)
  })

  it('judges a config file, and names what is wrong with bad input', async () => {
    const dir = project()
    const file = join(tempDir(), 'config.json')
    writeFileSync(file, JSON.stringify({ weights: 'off', augmentation: { rotation: 40 } }))
    const judged = await run('checklist', dir, '--config', file, '--json')
    const doc = JSON.parse(judged.out)
    expect(doc.checks.find((c: { id: string }) => c.id === 'augmentation').verdict).toBe('fail')
    expect(doc.config.weights).toBe('off')

    writeFileSync(file, '{ "size": ')
    const broken = await run('checklist', dir, '--config', file)
    expect(broken.code).toBe(2)
    expect(broken.err).toContain(`--config ${file} is not valid JSON`)
    writeFileSync(file, JSON.stringify({ size: 'huge' }))
    const wrong = await run('checklist', dir, '--config', file)
    expect(wrong.code).toBe(1)
    expect(wrong.err).toContain('config.size')
    expect((await run('checklist', dir, '--override', 'head-size')).err).toContain('--override needs --reason')
    expect((await run('checklist', dir, '--override', 'nope', '--reason', 'because')).err).toContain('unknown check "nope"')
  })
})

describe('studio dashboard', () => {
  it('prints the figures, and writes a standalone HTML report with inline SVG charts and escaped names', async () => {
    const dir = project()
    const html = join(tempDir(), 'report.html')
    const r = await run('dashboard', dir, '--html', html)
    expect(r.code).toBe(0)
    expect(r.out).toContain('imbalance ratio 2.50')
    expect(r.out).toContain('only 12 "<b>sad</b>" images from "webcam"')
    const page = readFileSync(html, 'utf8')
    expect(page.startsWith('<!doctype html>')).toBe(true)
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3)
    expect(page).not.toMatch(/<script(?! type="application\/json")/) // no code, no network
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org)/)
    expect(page).toContain('&lt;b&gt;sad&lt;/b&gt;')
    expect(page).not.toContain('<b>sad</b>')
    const json = JSON.parse((await run('dashboard', dir, '--json')).out)
    expect(json.classes.map((c: { count: number }) => c.count)).toEqual([30, 12])
  })

  it('renders one chart to SVG without a browser', () => {
    const svg = svgChart({ xAxis: { type: 'category', data: ['a', 'b'] }, yAxis: {}, series: [{ type: 'bar', data: [3, 5] }] }, 300, 200)
    expect(svg).toMatch(/^<svg[^>]*width="300"/)
    expect(svg).toContain('<path')
  })
})

describe('insights channels', () => {
  it('serve the dashboard, the checklist and overrides, and refuse bad payloads naming the field', async () => {
    const dir = project()
    const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const handlers = createHandlers(session)
    await session.open(dir)
    try {
      const d = await dispatch(handlers, 'insights.dashboard', {})
      expect(d.ok && (d.value as { totals: { labeled: number } }).totals.labeled).toBe(42)
      const c = await dispatch(handlers, 'insights.checklist', { config: { weights: 'off' } })
      expect(c.ok).toBe(true)
      const badConfig = await dispatch(handlers, 'insights.checklist', { config: { weights: 'heavy' } })
      expect(badConfig).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'config.weights' } })
      const noReason = await dispatch(handlers, 'insights.override', { checkId: 'head-size', reason: '' })
      expect(noReason).toMatchObject({ ok: false, error: { code: 'invalid_payload', field: 'reason' } })
      const unknown = await dispatch(handlers, 'insights.override', { checkId: 'vibes', reason: 'because' })
      expect(unknown).toMatchObject({ ok: false, error: { field: 'checkId' } })
      const set = await dispatch(handlers, 'insights.override', { checkId: 'head-size', reason: 'tiny pilot run', annotator: 'ana' })
      expect(set).toMatchObject({ ok: true, value: [{ checkId: 'head-size', reason: 'tiny pilot run', annotator: 'ana' }] })
      expect(await dispatch(handlers, 'insights.clearOverride', { checkId: 'head-size' })).toEqual({ ok: true, value: [] })
      const report = await dispatch(handlers, 'insights.report', {})
      expect(report.ok && (report.value as { html: string; fileName: string }).fileName).toMatch(/-data-report-\d{4}-\d\d-\d\d\.html$/)
    } finally {
      await session.close()
    }
  })
})
