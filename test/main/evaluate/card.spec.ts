// The model card from hand-made numbers: checklist overrides quoted, limitations derived from the
// figures that trigger them, and nothing in the HTML that could run or load from elsewhere.
import { describe, expect, it } from 'vitest'
import { cardHtml, cardMarkdown, knownLimitations, type CardData } from '../../../src/main/evaluate/card'
import { evaluation } from '../../renderer/evaluate-fixture'

function data(): Omit<CardData, 'limitations'> {
  return {
    title: 'Freezeframe model: run 3 (happy, sad)',
    createdAt: '2026-11-27T06:00:00Z',
    runId: 3,
    backbone: { id: 'pixels', name: 'Raw pixels', provenance: 'No weights <at all>' },
    size: 24,
    preprocessing: 'Input 24x24 RGB',
    trainedAt: { started: '2026-11-27T05:00:00Z', ended: '2026-11-27T05:01:00Z' },
    training: { bestEpoch: 4, epochs: 6, backend: 'wasm', head: 'Dense 8 relu' },
    data: { images: 10, labeled: 8, excluded: 1, environments: [{ name: 'studio', count: 9 }] },
    classBalance: [{ name: 'happy', train: 3, validation: 4, test: 0, other: 0 }, { name: 'sad', train: 2, validation: 2, test: 0, other: 1 }],
    split: { description: 'stratified random, 30% validation (seed 1)', parts: [{ part: 'train', images: 5 }, { part: 'validation', images: 6 }], subjectsInBoth: 2 },
    evaluation: evaluation({ relabeledSinceRun: 1 }),
    checklist: {
      checks: [{ id: 'validation-split', verdict: 'warn', explanation: 'people in both parts' }],
      overrides: [{ checkId: 'validation-split', reason: 'only two people | in the data', annotator: 'ana' }]
    }
  }
}

describe('model card', () => {
  it('derives known limitations from the numbers', () => {
    const l = knownLimitations(data())
    expect(l).toContain('The validation set is small (6 images): every figure here has a wide margin of error.')
    expect(l).toContain('Results differ by environment: "webcam" is 50.0% below "studio" in balanced accuracy.')
    expect(l).toContain('Probabilities are poorly calibrated (ECE 0.120): do not read them as chances.')
    expect(l).toContain('2 people have images in both training and validation, which flatters the validation figures.')
    expect(l).toContain('1 validation images were relabeled after this run; figures use the current labels.')
    expect(l.some((x) => x.startsWith('All images come from one environment (studio)'))).toBe(true)
    expect(l.some((x) => x.startsWith('There is no separate test split'))).toBe(true)
  })

  it('quotes the checklist and its overrides, and escapes HTML', () => {
    const d = { ...data(), limitations: knownLimitations(data()) }
    const md = cardMarkdown(d)
    expect(md).toContain('| validation-split | warn | people in both parts |')
    expect(md).toContain('- validation-split: "only two people | in the data" (ana)')
    expect(md).toContain('| happy | 3 | 1 |')
    const html = cardHtml(d)
    expect(html).toContain('No weights &lt;at all&gt;')
    expect(html).toContain('only two people | in the data')
    expect(html).not.toMatch(/<script|<link|src=|href=/)
  })
})
