import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import ClassManager from '../../src/renderer/src/components/ClassManager.vue'
import { setApi } from '../../src/renderer/src/services/api'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import { StudioError } from '../../src/shared/errors'
import { fakeApi, summary } from './fake-api'

const classes = [
  { id: 1, name: 'happy', key: '1', colour: '#3cb44b', position: 0, imageCount: 5 },
  { id: 2, name: 'sad', key: '2', colour: '#4363d8', position: 1, imageCount: 0 }
]

function setup(impl: Parameters<typeof fakeApi>[0]) {
  const fake = fakeApi(impl)
  setApi(fake.api)
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().summary = summary({ classes, classCount: 2 })
  return { w: mount(ClassManager, { global: { plugins: [pinia] } }), fake }
}

describe('ClassManager', () => {
  beforeEach(() => setApi(null))

  it('renames a class, shows HTML-looking names as text, and reports a refused rename', async () => {
    const { w, fake } = setup({
      'classes.rename': (req: { name: string }) => {
        if (req.name === 'sad') throw new StudioError('conflict', 'another class is already named "sad"; merge the two instead')
        return summary({ classes: [{ ...classes[0], name: req.name }, classes[1]] })
      }
    })
    await w.findAll('[data-test=class-name]')[0].trigger('click')
    await w.find('[data-test=rename-input]').setValue('<b>joy</b>')
    await w.find('[data-test=rename-input]').trigger('keydown', { key: 'Enter' })
    await flushPromises()
    expect(fake.calls.at(-1)).toEqual({ channel: 'classes.rename', payload: { classId: 1, name: '<b>joy</b>' } })
    expect(w.find('[data-test=class-table]').html()).toContain('&lt;b&gt;joy&lt;/b&gt;')
    await w.findAll('[data-test=class-name]')[0].trigger('click')
    await w.find('[data-test=rename-input]').setValue('sad')
    await w.find('[data-test=rename-input]').trigger('keydown', { key: 'Enter' })
    await flushPromises()
    expect(w.find('[data-test=class-error]').text()).toContain('already named "sad"')
  })

  it('shows the images a delete affects and merges instead when asked', async () => {
    const { w, fake } = setup({
      'classes.impact': () => ({ classId: 1, labels: 7, images: 5, consensus: 5 }),
      'classes.merge': () => summary({ classes: [classes[1]] })
    })
    await w.findAll('[data-test=class-delete]')[0].trigger('click')
    await flushPromises()
    expect(w.find('[data-test=class-confirm]').text()).toContain('the current label of 5 image(s) (7 label(s))')
    await w.find('[data-test=merge-into]').setValue('2')
    await w.find('[data-test=confirm-delete]').trigger('click')
    await flushPromises()
    expect(fake.calls.at(-1)).toEqual({ channel: 'classes.merge', payload: { sourceId: 1, targetId: 2 } })
    expect(w.find('[data-test=class-confirm]').exists()).toBe(false)
  })
})
