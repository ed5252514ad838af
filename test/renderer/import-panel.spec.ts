import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import ImportPanel from '../../src/renderer/src/components/ImportPanel.vue'
import { setApi } from '../../src/renderer/src/services/api'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import type { ImportReport } from '../../src/shared/domain'
import { fakeApi, summary } from './fake-api'

const report: ImportReport = {
  source: '/data/faces',
  format: 'folder',
  seen: 12,
  added: 10,
  duplicates: 1,
  labeled: 10,
  classesCreated: ['happy'],
  skipped: [{ file: '/data/faces/happy/broken.jpg', reason: 'truncated or damaged image' }, { file: '/data/m.csv', line: 7, reason: 'file not found' }],
  ignored: 0,
  cancelled: false,
  durationMs: 1500
}

function setup() {
  const fake = fakeApi({ 'dataset.import': () => ({ jobId: 'job-1' }), 'dataset.demo': () => ({ jobId: 'job-2' }), 'job.cancel': () => ({ cancelled: true }) })
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().summary = summary({ classCount: 0 })
  const w = mount(ImportPanel, { global: { plugins: [pinia] } })
  return { w, fake }
}

describe('ImportPanel', () => {
  beforeEach(() => setApi(null))

  it('starts an import with the chosen options, shows live progress, then the report with every skipped file', async () => {
    const { w, fake } = setup()
    expect(w.find('[data-test=import-start]').attributes('disabled')).toBeDefined()
    await w.find('[data-test=import-source]').setValue('/data/faces')
    await w.find('[data-test=import-environment]').setValue('webcam')
    await w.find('[data-test=import-form]').trigger('submit')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'dataset.import')?.payload).toEqual({
      source: '/data/faces',
      layout: 'class',
      environment: 'webcam',
      newClasses: 'create' // the project has no classes yet
    })
    fake.emit('job.progress', { jobId: 'job-1', kind: 'import', done: 5, total: 20, message: 'happy/a.jpg' })
    fake.emit('job.progress', { jobId: 'other', kind: 'import', done: 19, total: 20, message: 'not ours' })
    await flushPromises()
    expect(w.find('[data-test=import-count]').text()).toBe('5 / 20')
    expect(w.find('[role=progressbar]').attributes('aria-valuenow')).toBe('25')
    await w.find('[data-test=import-cancel]').trigger('click')
    expect(fake.calls.at(-1)).toEqual({ channel: 'job.cancel', payload: { jobId: 'job-1' } })
    fake.emit('job.end', { jobId: 'job-1', kind: 'import', status: 'completed', result: report })
    await flushPromises()
    const text = w.find('[data-test=import-report]').text()
    expect(text).toContain('10 added')
    expect(text).toContain('2 skipped')
    expect(text).toContain('New classes: happy')
    const rows = w.findAll('[data-test=import-skipped] tbody tr').map((r) => r.text())
    expect(rows[0]).toContain('broken.jpg')
    expect(rows[1]).toContain('7')
    expect(rows[1]).toContain('file not found')
  })

  it('generates the demo dataset and shows a failed job\'s reason', async () => {
    const { w, fake } = setup()
    await w.find('[data-test=mode-demo]').trigger('click')
    await w.find('[data-test=demo-images]').setValue('50')
    await w.find('[data-test=import-form]').trigger('submit')
    await flushPromises()
    expect(fake.calls.find((c) => c.channel === 'dataset.demo')?.payload).toEqual({ images: 50, seed: 1, labelNoise: 0.1 })
    fake.emit('job.end', { jobId: 'job-2', kind: 'demo', status: 'failed', error: 'disk full' })
    await flushPromises()
    expect(w.find('[data-test=import-error]').text()).toBe('disk full')
  })
})
