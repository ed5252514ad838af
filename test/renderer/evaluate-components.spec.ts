// The Evaluate view's pieces on a hand-made evaluation: the matrix cells, the reliability bars,
// the group table's worst group, and the mistakes' paging.
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import ConfusionMatrix from '../../src/renderer/src/components/evaluate/ConfusionMatrix.vue'
import GroupTable from '../../src/renderer/src/components/evaluate/GroupTable.vue'
import MistakesGallery from '../../src/renderer/src/components/evaluate/MistakesGallery.vue'
import ReliabilityDiagram from '../../src/renderer/src/components/evaluate/ReliabilityDiagram.vue'
import { evaluation } from './evaluate-fixture'

function withPinia() {
  const pinia = createPinia()
  setActivePinia(pinia)
  return { global: { plugins: [pinia] } }
}

describe('ConfusionMatrix', () => {
  it('shows counts or row percentages, disables empty cells, and emits the clicked cell', async () => {
    const w = mount(ConfusionMatrix, { props: { evaluation: evaluation(), normalized: false } })
    expect(w.find('[data-test=cell-0-1]').text()).toBe('1')
    expect(w.find('[data-test=cell-1-0]').attributes('disabled')).toBeDefined()
    expect(w.find('[data-test=cell-0-0]').attributes('title')).toContain('true happy, predicted happy: 3 images (75% of the row)')
    await w.find('[data-test=cell-0-1]').trigger('click')
    expect(w.emitted('cell')).toEqual([[0, 1]])
    await w.setProps({ normalized: true })
    expect(w.find('[data-test=cell-0-0]').text()).toBe('75%')
  })
})

describe('ReliabilityDiagram', () => {
  it('draws one bar per non-empty bin, as tall as its accuracy', () => {
    const w = mount(ReliabilityDiagram, { props: { calibration: evaluation().calibration } })
    const bars = w.findAll('rect.rel-bar')
    expect(bars).toHaveLength(2)
    // (not .bar: styles.css sizes .bar, which overrode the rect's height in the browser)
    // plot is 240 px tall: accuracy 0.5 -> 120, 1 -> 240
    expect(bars.map((b) => Number(b.attributes('height')))).toEqual([120, 240])
    expect(w.findAll('circle.dot')).toHaveLength(2)
  })
})

describe('GroupTable', () => {
  it('marks the worst group and states the gap', () => {
    const w = mount(GroupTable, { props: { report: evaluation().perEnvironment } })
    expect(w.find('tr.worst').text()).toContain('webcam')
    expect(w.find('[data-test=group-gap]').text()).toBe('Worst: webcam, 50.0% below the best (studio) in balanced accuracy.')
  })
})

describe('MistakesGallery', () => {
  it('pages through the mistakes and opens one or all', async () => {
    const w = mount(MistakesGallery, { props: { evaluation: evaluation() }, ...withPinia() })
    expect(w.findAll('.mistake')).toHaveLength(12)
    expect(w.find('[data-test=mistakes-page]').text()).toBe('1 / 2')
    await w.find('[data-test=mistakes-next]').trigger('click')
    expect(w.findAll('.mistake')).toHaveLength(3)
    await w.find('[data-test=mistake-112]').trigger('click')
    expect(w.emitted('open')).toEqual([[112]])
    await w.find('[data-test=mistakes-open-all]').trigger('click')
    expect((w.emitted('openAll') as number[][][])[0][0]).toHaveLength(15)
  })
})
