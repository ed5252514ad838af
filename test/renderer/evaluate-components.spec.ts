// The Evaluate view's pieces on a hand-made evaluation: the matrix cells, the reliability bars,
// the group table's worst group, and the mistakes' paging.
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { describe, expect, it } from 'vitest'
import ConfusionMatrix from '../../src/renderer/src/components/evaluate/ConfusionMatrix.vue'
import GroupTable from '../../src/renderer/src/components/evaluate/GroupTable.vue'
import MistakesGallery from '../../src/renderer/src/components/evaluate/MistakesGallery.vue'
import ReliabilityDiagram from '../../src/renderer/src/components/evaluate/ReliabilityDiagram.vue'
import type { Evaluation } from '../../src/shared/evaluate'

export function evaluation(extra: Partial<Evaluation> = {}): Evaluation {
  const bins = Array.from({ length: 15 }, (_, b) => ({ lo: b / 15, hi: (b + 1) / 15, count: 0, confidence: null as number | null, accuracy: null as number | null }))
  bins[10] = { ...bins[10], count: 4, confidence: 0.7, accuracy: 0.5 }
  bins[14] = { ...bins[14], count: 2, confidence: 0.97, accuracy: 1 }
  return {
    runId: 3,
    subset: { kind: 'validation' },
    subsetDescription: "the run's validation split",
    classes: [{ index: 0, id: 11, name: 'happy' }, { index: 1, id: 12, name: 'sad' }],
    images: 6,
    unscored: 0,
    unreadable: [],
    source: { stored: 6, computed: 0 },
    relabeledSinceRun: 0,
    confusion: [[3, 1], [0, 2]],
    confusionNormalized: [[0.75, 0.25], [0, 1]],
    cells: [[[1, 2, 3], [4]], [[], [5, 6]]],
    perClass: [
      { index: 0, classId: 11, name: 'happy', precision: 1, recall: 0.75, f1: 0.857, support: 4, predicted: 3 },
      { index: 1, classId: 12, name: 'sad', precision: 2 / 3, recall: 1, f1: 0.8, support: 2, predicted: 3 }
    ],
    overall: { images: 6, accuracy: 5 / 6, balancedAccuracy: 0.875, macroF1: 0.83 },
    perEnvironment: {
      kind: 'environment', name: 'environment', measure: 'balancedAccuracy', minImages: 5, worst: 'webcam', best: 'studio', gap: 0.5,
      groups: [
        { group: 'studio', images: 4, accuracy: 1, balancedAccuracy: 1, macroF1: 1 },
        { group: 'webcam', images: 2, accuracy: 0.5, balancedAccuracy: 0.5, macroF1: 0.33 }
      ]
    },
    perSubgroup: [],
    calibration: { ece: 0.12, bins },
    mistakes: Array.from({ length: 15 }, (_, k) => ({ imageId: 100 + k, fileName: `f${k}.png`, sha256: 'a'.repeat(64), label: 0, predicted: 1, confidence: 0.9 - k * 0.01, trueProbability: 0.1 })),
    ...extra
  }
}

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
