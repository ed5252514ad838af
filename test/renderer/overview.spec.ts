import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import OverviewView from '../../src/renderer/src/views/OverviewView.vue'
import NotBuiltView from '../../src/renderer/src/views/NotBuiltView.vue'
import { summary } from './fake-api'

function mountWith(s: ReturnType<typeof summary>) {
  const pinia = createPinia()
  setActivePinia(pinia)
  useProjectStore().summary = s
  return mount(OverviewView, { global: { plugins: [pinia] } })
}

describe('OverviewView', () => {
  it('shows counts, the labeled share and each class with its key', () => {
    const w = mountWith(
      summary({
        imageCount: 1200,
        labeledCount: 300,
        labeledShare: 0.25,
        classCount: 2,
        classes: [
          { id: 1, name: 'happy', key: '1', colour: '#3cb44b', position: 0, imageCount: 200 },
          { id: 2, name: '<i>sad</i>', key: '2', colour: '#4363d8', position: 1, imageCount: 100 }
        ],
        environments: [{ name: 'webcam', count: 1200 }]
      })
    )
    expect(w.find('[data-test=tile-images]').text()).toContain('1,200')
    expect(w.find('[data-test=tile-labeled]').text()).toContain('25%')
    const table = w.find('[data-test=class-table]')
    expect(table.text()).toContain('happy')
    expect(table.html()).toContain('&lt;i&gt;sad&lt;/i&gt;') // shown escaped, never as markup
    expect(w.find('[data-test=overview-empty]').exists()).toBe(false)
  })

  it('says plainly when the project has no images, and offers to add some', async () => {
    const w = mountWith(summary())
    expect(w.find('[data-test=overview-empty]').text()).toContain('No images yet')
    await w.find('[data-test=open-import]').trigger('click')
    expect(w.find('[data-test=import-panel]').exists()).toBe(true)
  })
})

describe('NotBuiltView', () => {
  it('says the area is not built instead of showing made-up content', () => {
    const w = mount(NotBuiltView, { props: { title: 'Train', about: 'One-click staged fine-tuning.' } })
    expect(w.text()).toContain('Not built yet')
    expect(w.text()).toContain('One-click staged fine-tuning.')
  })
})
