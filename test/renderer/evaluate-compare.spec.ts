// Runs side by side: differing config, metrics with the better value marked, and runs without numbers.
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import RunCompare from '../../src/renderer/src/components/evaluate/RunCompare.vue'

describe('RunCompare', () => {
  it('lists config differences and marks the better metric (lower for ECE)', () => {
    const w = mount(RunCompare, {
      props: {
        comparison: {
          runIds: [1, 2],
          config: [{ key: 'head.epochs', values: ['40', '10'] }],
          metrics: [
            { metric: 'validation images', values: [50, 50] },
            { metric: 'accuracy', values: [0.5, 0.625] },
            { metric: 'ECE (15 bins)', values: [0.1, 0.2] },
            { metric: 'F1 happy', values: [0.4, null] }
          ],
          missing: [{ runId: 2, reason: 'run 2 has no saved model' }]
        }
      }
    })
    const rows = w.findAll('tbody tr').map((r) => r.findAll('td').map((c) => c.text()))
    expect(rows).toContainEqual(['head.epochs', '40', '10'])
    expect(rows).toContainEqual(['accuracy', '50.0%', '62.5%'])
    expect(rows).toContainEqual(['F1 happy', '0.400', '—'])
    expect(w.findAll('td.best').map((c) => c.text())).toEqual(['62.5%', '0.100'])
    expect(w.text()).toContain('Run 2: run 2 has no saved model')
  })
})
