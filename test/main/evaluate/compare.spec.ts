import { describe, expect, it } from 'vitest'
import { configDiff, flattenConfig } from '../../../src/main/evaluate/compare'

describe('config diff', () => {
  it('flattens nested config to dotted keys and lists only what differs', () => {
    expect(flattenConfig({ a: 1, head: { hidden: 256, seed: 1 }, classes: [{ id: 1 }] })).toEqual({ a: '1', 'head.hidden': '256', 'head.seed': '1', classes: '[{"id":1}]' })
    const d = configDiff([
      { backbone: 'pixels', head: { hidden: 256, epochs: 40 }, composition: { parts: [1] } },
      { backbone: 'mobilenetv2-nsfwjs', head: { hidden: 256, epochs: 10 }, composition: { parts: [2] }, flip: true }
    ])
    expect(d).toEqual([
      { key: 'backbone', values: ['pixels', 'mobilenetv2-nsfwjs'] },
      { key: 'flip', values: [null, 'true'] },
      { key: 'head.epochs', values: ['40', '10'] }
    ])
  })
})
