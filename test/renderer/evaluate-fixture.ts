// A hand-made evaluation for the Evaluate components and views.
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

