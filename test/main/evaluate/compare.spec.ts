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

describe('SavedModel reason', () => {
  it('says why no SavedModel is written, for the active backend', async () => {
    const { savedModelReason } = await import('../../../src/main/evaluate/export')
    expect(savedModelReason('wasm')).toMatch(/no native TensorFlow backend is active here \(TensorFlow\.js runs on wasm\)/)
    expect(savedModelReason('tensorflow')).toMatch(/native TensorFlow backend is active, but .* not write them/)
    expect(savedModelReason('cpu')).toContain('tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras_saved_model')
  })
})
