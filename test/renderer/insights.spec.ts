import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import ChecklistPanel from '../../src/renderer/src/components/insights/ChecklistPanel.vue'
import { formPatch } from '../../src/renderer/src/components/insights/fix'
import { setApi } from '../../src/renderer/src/services/api'
import DashboardView from '../../src/renderer/src/views/DashboardView.vue'
import { StudioError } from '../../src/shared/errors'
import { CHECKS, type ChecklistReport, type CheckResult, type DashboardData } from '../../src/shared/insights'
import { fakeApi } from './fake-api'

const Empty = defineComponent({ render: () => h('div') })

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', name: 'train', component: Empty },
      { path: '/evaluate', name: 'evaluate', component: Empty },
      // an area not built yet: its route carries the "Not built yet" page's props
      { path: '/review', name: 'review', component: Empty, props: { title: 'Review' } }
    ]
  })
}

function report(weights: string): ChecklistReport {
  const checks: CheckResult[] = CHECKS.map((c, i) => ({ id: c.id, number: i + 1, title: c.title, verdict: 'pass', explanation: `${c.title} is fine.`, fix: null, override: null }))
  if (weights === 'off') {
    checks[2] = { ...checks[2], verdict: 'warn', explanation: 'Largest/smallest 3.00 and class weights are off.', fix: { kind: 'config', label: 'use class weights', patch: { weights: 'inverse' }, applies: true } }
  }
  checks[3] = { ...checks[3], verdict: 'warn', explanation: 'Rotations of 30°.', fix: { kind: 'config', label: 'rotate at most 15°', patch: { augmentation: { rotation: 15 } }, applies: false } }
  checks[4] = { ...checks[4], verdict: 'warn', explanation: 'Too big a head.', fix: { kind: 'config', label: 'use a Dense 64 head', patch: { head: { hidden: 64 } }, applies: true } }
  checks[7] = { ...checks[7], verdict: 'warn', explanation: 'Near-identical images.', fix: { kind: 'navigate', label: 'review duplicates', route: 'review' } }
  checks[8] = { ...checks[8], verdict: 'fail', explanation: 'Recall of "fear" 10%.', fix: { kind: 'navigate', label: 'open the confusion matrix', route: 'evaluate' } }
  const counts = { pass: 0, warn: 0, fail: 0 }
  for (const c of checks) counts[c.verdict]++
  return {
    config: { backbone: 'mobilenetv2-nsfwjs', size: 128, weights: weights as 'off', flip: true, split: { kind: 'subject', validation: 0.2, seed: 1 }, splitDescription: 'grouped by subject', head: { hidden: 256, dropout: 0.5, learningRate: 1e-3 }, stages: [{ unfreeze: 0, learningRate: 1e-3 }] },
    checks,
    counts,
    open: checks.filter((c) => c.verdict !== 'pass').length
  }
}

describe('ChecklistPanel', () => {
  beforeEach(() => setApi(null))

  async function mountPanel(config: Record<string, unknown>) {
    const overrides: string[] = []
    const fake = fakeApi({
      'insights.checklist': (req: { config: { weights?: string } }) => {
        const r = report(req.config.weights ?? 'inverse')
        for (const id of overrides) {
          const c = r.checks.find((x) => x.id === id)!
          c.override = { checkId: c.id, reason: 'a good reason', annotator: 'me', createdAt: '2026-01-01' }
        }
        return r
      },
      'insights.override': (req: { checkId: string; reason: string }) => {
        if (req.reason.trim().length < 3) throw new StudioError('invalid_payload', 'reason: say why you override this check (at least 3 characters)', 'reason')
        overrides.push(req.checkId)
        return []
      }
    })
    setApi(fake.api)
    const pinia = createPinia()
    setActivePinia(pinia)
    const r = router()
    await r.push('/')
    const w = mount(ChecklistPanel, { props: { config }, global: { plugins: [pinia, r] } })
    await vi.waitFor(() => expect(w.findAll('.check-row')).toHaveLength(10))
    return { w, fake, r }
  }

  it('judges the config it is given, and judges again when it changes', async () => {
    const { w, fake } = await mountPanel({ weights: 'inverse' })
    expect(fake.calls.filter((c) => c.channel === 'insights.checklist').map((c) => c.payload)).toEqual([{ config: { weights: 'inverse' } }])
    expect(w.find('[data-test=check-class-imbalance]').attributes('data-verdict')).toBe('pass')
    await w.setProps({ config: { weights: 'off' } })
    await vi.waitFor(() => expect(w.find('[data-test=check-class-imbalance]').attributes('data-verdict')).toBe('warn'))
    expect(w.find('[data-test=checklist-summary]').text()).toContain('5 pass · 4 warn · 1 fail · 5 open')
  })

  it('judges again when a job ends (a finished run changes check 9)', async () => {
    const { fake } = await mountPanel({ weights: 'inverse' })
    const asks = () => fake.calls.filter((c) => c.channel === 'insights.checklist').length
    expect(asks()).toBe(1)
    fake.emit('job.end', { jobId: 'j1', kind: 'train', status: 'completed' })
    await vi.waitFor(() => expect(asks()).toBe(2), { timeout: 2000 })
  })

  it('emits a fix in the form\'s terms; shows fixes the form cannot apply as text; navigates only to built areas', async () => {
    const { w, r } = await mountPanel({ weights: 'off' })
    await w.find('[data-test=check-class-imbalance] [data-test=fix]').trigger('click')
    expect(w.emitted('fix')).toEqual([[{ weights: 'inverse' }]])
    await w.find('[data-test=check-head-size] [data-test=fix]').trigger('click')
    expect(w.emitted('fix')?.[1]).toEqual([{ hidden: 64 }])
    const augmentation = w.find('[data-test=check-augmentation]')
    expect(augmentation.find('[data-test=fix]').exists()).toBe(false)
    expect(augmentation.text()).toContain('Fix: rotate at most 15° (not an option of this trainer yet)')
    expect(w.find('[data-test=check-validation-split] [data-test=fix]').exists()).toBe(false)
    await w.find('[data-test=check-confusion-matrix] [data-test=fix]').trigger('click')
    await flushPromises()
    expect(r.currentRoute.value.name).toBe('evaluate')
  })

  it('overrides a warning only with a reason, then shows it', async () => {
    const { w, fake } = await mountPanel({})
    const row = () => w.find('[data-test=check-head-size]')
    await row().find('[data-test=override]').trigger('click')
    await row().find('form').trigger('submit')
    await flushPromises()
    expect(w.find('.alert').text()).toContain('at least 3 characters')
    await row().find('[data-test=override-reason]').setValue('a good reason')
    await row().find('form').trigger('submit')
    await flushPromises()
    expect(fake.calls.filter((c) => c.channel === 'insights.override').at(-1)!.payload).toEqual({ checkId: 'head-size', reason: 'a good reason', annotator: 'me' })
    await vi.waitFor(() => expect(row().find('[data-test=override-note]').text()).toContain('“a good reason”'))
    expect(w.find('.alert').exists()).toBe(false)
  })
})

describe('formPatch', () => {
  it("maps config patches to the Train view's form, or refuses what the form cannot hold", () => {
    expect(formPatch({ weights: 'inverse' })).toEqual({ weights: 'inverse' })
    expect(formPatch({ split: { kind: 'environment', validationEnvironments: ['webcam'] } })).toEqual({ splitKind: 'environment', heldOut: 'webcam' })
    expect(formPatch({ split: { kind: 'subject', validation: 0.25, seed: 1 } })).toEqual({ splitKind: 'subject', validation: 0.25 })
    expect(formPatch({ split: { kind: 'environment', validationEnvironments: ['a', 'b'] } })).toBeNull()
    expect(formPatch({ head: { hidden: 64 } })).toEqual({ hidden: 64 })
    expect(formPatch({ head: { hidden: 0, dropout: 0.2, learningRate: 0.01 } })).toEqual({ hidden: 0, dropout: 0.2, headLr: 0.01 })
    expect(formPatch({ augmentation: { rotation: 15 } })).toBeNull()
    expect(formPatch({ stage2: { enabled: false, epochs: 12, batchSize: 32 } })).toEqual({ stage2Mode: 'off' })
    expect(formPatch({ stage2: { enabled: true, fraction: 0.2, learningRate: 1e-4, epochs: 12 } })).toEqual({ stage2Mode: 'on', unfreeze: 0.2, stage2Lr: 1e-4 })
    expect(formPatch({ stage2: { enabled: true } })).toBeNull()
  })
})

function data(extra: Partial<DashboardData> = {}): DashboardData {
  const gaps = Array.from({ length: 15 }, (_, i) => ({ classId: 1, className: 'fear', dimension: 'environment', value: `env${i}`, count: i, shareOfClass: 0.01, text: `only ${i} "fear" images from "env${i}" (1% of the class)` }))
  return {
    totals: { images: 120, labeled: 100, unlabeled: 20, excluded: 3, missing: 0 },
    classes: [
      { id: 1, name: 'fear', colour: '#e6194b', count: 20, share: 0.2, effectiveNumber: 19.8, weights: { inverse: 2.5, effective: 1.6 } },
      { id: 2, name: '<i>happy</i>', colour: '#3cb44b', count: 80, share: 0.8, effectiveNumber: 76.9, weights: { inverse: 0.625, effective: 0.4 } }
    ],
    imbalanceRatio: 4,
    beta: 0.999,
    classByEnvironment: { dimension: 'environment', classIds: [1, 2], columns: ['studio'], counts: [[20], [80]], columnTotals: [100] },
    classBySubgroup: [],
    gaps,
    split: null,
    annotators: { annotators: [{ name: 'ana', labels: 100 }], multiRated: 0, alpha: null, perClass: [] },
    run: null,
    ms: 3,
    timings: {},
    ...extra
  }
}

describe('DashboardView', () => {
  beforeEach(() => setApi(null))

  async function mountView(d: DashboardData, impl: Parameters<typeof fakeApi>[0] = {}) {
    const fake = fakeApi({ 'insights.dashboard': () => d, ...impl })
    setApi(fake.api)
    const pinia = createPinia()
    setActivePinia(pinia)
    const w = mount(DashboardView, { global: { plugins: [pinia], stubs: { ChartCard: { props: ['title', 'file'], template: '<div class="stub-chart" :data-file="file">{{ title }}<slot name="before" /><slot /></div>' } } } })
    await flushPromises()
    return { w, fake }
  }

  it('shows the tiles, the balance table with names as text, the thin cells in words (12 first), and honest empty states', async () => {
    const { w } = await mountView(data())
    expect(w.find('[data-test=tile-ratio]').text()).toContain('4.00')
    expect(w.find('[data-test=tile-gaps]').text()).toContain('15')
    expect(w.find('[data-test=class-balance]').html()).toContain('&lt;i&gt;happy&lt;/i&gt;')
    expect(w.find('[data-test=class-balance]').text()).toContain('2.500')
    expect(w.findAll('[data-test=gaps] li')).toHaveLength(12)
    await w.find('[data-test=gaps] button').trigger('click')
    expect(w.findAll('[data-test=gaps] li')).toHaveLength(15)
    expect(w.find('[data-test=split-empty]').exists()).toBe(true)
    expect(w.find('[data-test=run-empty]').exists()).toBe(true)
    expect(w.find('[data-test=agreement-empty]').exists()).toBe(true)
    expect(w.findAll('.stub-chart').map((c) => c.attributes('data-file'))).toEqual(['class-balance', 'class-by-environment', 'annotators'])
  })

  it('says so when nothing is labeled, and reports a failed load', async () => {
    const { w } = await mountView(data({ totals: { images: 5, labeled: 0, unlabeled: 5, excluded: 0, missing: 0 }, imbalanceRatio: null }))
    expect(w.find('[data-test=dashboard-empty]').text()).toContain('No labeled images yet')
    setApi(null)
    const broken = fakeApi({ 'insights.dashboard': () => { throw new StudioError('no_project', 'open a project first') } })
    setApi(broken.api)
    setActivePinia(createPinia())
    const v = mount(DashboardView, { global: { plugins: [createPinia()] } })
    await flushPromises()
    expect(v.find('[data-test=dashboard-error]').text()).toContain('open a project first')
  })

  it('refreshes after labels change or a job ends, once for a burst', async () => {
    const { fake } = await mountView(data())
    const loads = () => fake.calls.filter((c) => c.channel === 'insights.dashboard').length
    expect(loads()).toBe(1)
    fake.emit('images.changed', { imageIds: [1], annotator: 'me', kind: 'label' })
    fake.emit('images.changed', { imageIds: [2], annotator: 'me', kind: 'label' })
    fake.emit('job.end', { jobId: 'j1', kind: 'train', status: 'completed' })
    await vi.waitFor(() => expect(loads()).toBe(2), { timeout: 2000 })
    await new Promise((r) => setTimeout(r, 900))
    expect(loads()).toBe(2)
  })

  it('saves the HTML report the core builds as a file download', async () => {
    const created: Blob[] = []
    const url = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => (created.push(b as Blob), 'blob:report'))
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    const { w, fake } = await mountView(data(), { 'insights.report': () => ({ html: '<!doctype html><p>report</p>', fileName: 'emotions-data-report-2026-01-01.html' }) })
    await w.find('[data-test=dashboard-save]').trigger('click')
    await flushPromises()
    expect(fake.calls.some((c) => c.channel === 'insights.report')).toBe(true)
    expect(click).toHaveBeenCalledOnce()
    expect(await created[0].text()).toBe('<!doctype html><p>report</p>')
    expect(w.find('[data-test=dashboard-saved]').text()).toContain('emotions-data-report-2026-01-01.html')
    url.mockRestore()
    click.mockRestore()
  })
})
