import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import { useProjectStore } from '../../src/renderer/src/stores/project'
import OverviewView from '../../src/renderer/src/views/OverviewView.vue'
import { AREAS, router } from '../../src/renderer/src/router'
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

describe('sidebar areas', () => {
  it('each leads to its own screen, which needs an open project', () => {
    const seen = new Set<unknown>()
    for (const area of AREAS) {
      const to = router.resolve('/' + area.path)
      expect([area.path, to.name, to.meta.needsProject]).toEqual([area.path, area.path, true])
      const screen = to.matched.at(-1)?.components?.default
      expect(screen, area.path).toBeTruthy()
      seen.add(screen)
    }
    // No two areas are one screen under two names.
    expect(seen.size).toBe(AREAS.length)
  })
})
