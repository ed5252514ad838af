import { describe, it, expect } from 'vitest'
import {
  agreementReport,
  cohensKappa,
  disagreements,
  fleissKappa,
  krippendorffAlpha,
  type Rating
} from '../../../src/main/analysis/agreement'

/** Two raters, one row per item: [labelA, labelB]. */
function pairs(rows: [number, number][]): Rating[] {
  return rows.flatMap(([a, b], item) => [
    { item, rater: 'A', label: a },
    { item, rater: 'B', label: b }
  ])
}

/** Expands a count table (rows = items, columns = category counts) into ratings by anonymous raters. */
function fromCounts(table: number[][], labels: number[]): Rating[] {
  const out: Rating[] = []
  table.forEach((row, item) => {
    let r = 0
    row.forEach((count, j) => {
      for (let k = 0; k < count; k++) out.push({ item, rater: `r${r++}`, label: labels[j] })
    })
  })
  return out
}

/** Coder rows over units; null marks a missing value. */
function fromCoders(coders: Record<string, (number | null)[]>): Rating[] {
  const out: Rating[] = []
  for (const [rater, values] of Object.entries(coders)) {
    values.forEach((label, item) => {
      if (label !== null) out.push({ item: item + 1, rater, label })
    })
  }
  return out
}

// Classic 2x2 yes/no example: 20 both yes, 5 A-yes/B-no, 10 A-no/B-yes, 15 both no.
const YES = 1
const NO = 0
const COHEN_50: Rating[] = pairs([
  ...Array.from({ length: 20 }, (): [number, number] => [YES, YES]),
  ...Array.from({ length: 5 }, (): [number, number] => [YES, NO]),
  ...Array.from({ length: 10 }, (): [number, number] => [NO, YES]),
  ...Array.from({ length: 15 }, (): [number, number] => [NO, NO])
])

// Fleiss (1971)-style worked example: 10 subjects, 14 raters each, 5 categories.
const FLEISS_TABLE = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7]
]
const FLEISS_LABELS = [1, 2, 3, 4, 5]

// Krippendorff, "Computing Krippendorff's Alpha-Reliability", nominal example: 4 coders, 12 units.
const KRIPP: Record<string, (number | null)[]> = {
  A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
  C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
  D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null]
}

describe("Cohen's kappa", () => {
  it('matches the hand-computed 50-item yes/no table', () => {
    const r = cohensKappa(COHEN_50, 'A', 'B')
    expect(r.items).toBe(50)
    expect(r.observed).toBeCloseTo(0.7, 12)
    // A says yes 25/50, B says yes 30/50: 0.5*0.6 + 0.5*0.4 = 0.5.
    expect(r.expected).toBeCloseTo(0.5, 12)
    expect(r.kappa).toBeCloseTo(0.4, 12)
  })

  it('is symmetric in the two raters', () => {
    expect(cohensKappa(COHEN_50, 'B', 'A').kappa).toBeCloseTo(0.4, 12)
  })

  it('uses only the items both raters labelled', () => {
    const extra: Rating[] = [
      ...COHEN_50,
      { item: 100, rater: 'A', label: YES },
      { item: 101, rater: 'B', label: NO },
      { item: 102, rater: 'C', label: NO }
    ]
    const r = cohensKappa(extra, 'A', 'B')
    expect(r.items).toBe(50)
    expect(r.kappa).toBeCloseTo(0.4, 12)
  })

  it('gives 1 for perfect agreement and -1 for systematic opposite labels', () => {
    expect(cohensKappa(pairs([[1, 1], [2, 2], [3, 3], [1, 1]]), 'A', 'B').kappa).toBe(1)
    // p_o = 0, p_e = 0.5 -> (0 - 0.5) / 0.5 = -1.
    expect(cohensKappa(pairs([[0, 1], [1, 0]]), 'A', 'B').kappa).toBeCloseTo(-1, 12)
  })

  it('counts only the last rating when a rater labelled an item twice', () => {
    const ratings: Rating[] = [
      { item: 1, rater: 'A', label: 0 },
      { item: 1, rater: 'B', label: 1 },
      { item: 2, rater: 'A', label: 1 },
      { item: 2, rater: 'B', label: 1 },
      { item: 1, rater: 'A', label: 1 }
    ]
    const r = cohensKappa(ratings, 'A', 'B')
    expect(r.items).toBe(2)
    expect(r.observed).toBe(1)
  })

  it('is null, not NaN, when undefined', () => {
    expect(cohensKappa([], 'A', 'B')).toEqual({ kappa: null, observed: 0, expected: 0, items: 0 })
    // Disjoint items: nothing to compare.
    const disjoint: Rating[] = [
      { item: 1, rater: 'A', label: 1 },
      { item: 2, rater: 'B', label: 1 }
    ]
    expect(cohensKappa(disjoint, 'A', 'B').kappa).toBeNull()
    // Both raters always say the same single label: chance agreement is 1.
    const same = cohensKappa(pairs([[3, 3], [3, 3], [3, 3]]), 'A', 'B')
    expect(same.kappa).toBeNull()
    expect(same.observed).toBe(1)
    expect(same.expected).toBe(1)
  })
})

describe("Fleiss' kappa", () => {
  it('the fixture has the published category proportions', () => {
    // Guards the table itself: p_j = 0.143, 0.200, 0.279, 0.150, 0.229.
    const cols = FLEISS_LABELS.map((_, j) => FLEISS_TABLE.reduce((s, row) => s + row[j], 0) / 140)
    const published = [0.143, 0.2, 0.279, 0.15, 0.229]
    cols.forEach((p, j) => expect(p).toBeCloseTo(published[j], 3))
  })

  it('matches the published 10 x 14 x 5 example (kappa ~ 0.210)', () => {
    const r = fleissKappa(fromCounts(FLEISS_TABLE, FLEISS_LABELS))
    expect(r.items).toBe(10)
    expect(r.ratersPerItem).toBe(14)
    // P-bar = 0.378, P_e = 0.213 -> (0.378 - 0.213) / (1 - 0.213) = 0.210.
    expect(r.kappa).toBeCloseTo(0.21, 3)
    expect(r.perClass.map((c) => c.label)).toEqual(FLEISS_LABELS)
  })

  it("gives Fleiss' per-category kappas, whose p_j q_j weighted mean is the overall kappa", () => {
    const r = fleissKappa(fromCounts(FLEISS_TABLE, FLEISS_LABELS))
    // Category 1 by hand: sum n_i1 (14 - n_i1) = 2*12 + 7*7 + 3*11 + 2*12 + 6*8 = 178;
    // N n (n - 1) p q = 10*14*13 * (1/7)(6/7) = 1560/7; kappa_1 = 1 - 178*7/1560 = 0.20128.
    expect(r.perClass[0].value).toBeCloseTo(1 - (178 * 7) / 1560, 12)
    // Category 5: p = 32/140; sum n_i5 (14 - n_i5) = 0 + 2*12 + 6*8 + 0 + 1*13 + 0 + 0 + 2*12 + 0 + 7*7 = 158.
    const p5 = 32 / 140
    expect(r.perClass[4].value).toBeCloseTo(1 - 158 / (1820 * p5 * (1 - p5)), 12)
    const pj = FLEISS_LABELS.map((_, j) => FLEISS_TABLE.reduce((s, row) => s + row[j], 0) / 140)
    let num = 0
    let den = 0
    r.perClass.forEach((c, j) => {
      num += pj[j] * (1 - pj[j]) * (c.value as number)
      den += pj[j] * (1 - pj[j])
    })
    expect(num / den).toBeCloseTo(r.kappa as number, 12)
  })

  it('uses only the items with the modal number of ratings', () => {
    const ratings = fromCounts(FLEISS_TABLE, FLEISS_LABELS)
    // Three extra items with 3 ratings each and one single-rated item must not change anything.
    const noise: Rating[] = [
      ...fromCounts([[3, 0, 0, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 0, 0]], FLEISS_LABELS).map((r) => ({ ...r, item: r.item + 1000 })),
      { item: 2000, rater: 'x', label: 5 }
    ]
    const r = fleissKappa([...ratings, ...noise])
    expect(r.items).toBe(10)
    expect(r.ratersPerItem).toBe(14)
    expect(r.kappa).toBeCloseTo(fleissKappa(ratings).kappa as number, 12)
  })

  it('gives 1 for perfect agreement', () => {
    const r = fleissKappa(fromCounts([[3, 0], [0, 3], [3, 0]], [7, 8]))
    expect(r.kappa).toBe(1)
    expect(r.perClass).toEqual([
      { label: 7, value: 1 },
      { label: 8, value: 1 }
    ])
  })

  it('is null, not NaN, when undefined', () => {
    expect(fleissKappa([])).toEqual({ kappa: null, perClass: [], items: 0, ratersPerItem: 0 })
    // One rater: no item has two ratings.
    const one = fleissKappa([
      { item: 1, rater: 'A', label: 1 },
      { item: 2, rater: 'A', label: 2 }
    ])
    expect(one.kappa).toBeNull()
    expect(one.items).toBe(0)
    expect(one.perClass).toEqual([
      { label: 1, value: null },
      { label: 2, value: null }
    ])
    // Everyone always picks the same label.
    const same = fleissKappa(fromCounts([[4], [4]], [3]))
    expect(same.kappa).toBeNull()
    expect(same.perClass).toEqual([{ label: 3, value: null }])
  })
})

describe("Krippendorff's alpha", () => {
  it("matches Krippendorff's own nominal example with missing values (alpha ~ 0.743)", () => {
    const r = krippendorffAlpha(fromCoders(KRIPP))
    // Unit 12 has one value only and drops out: 11 units, 40 pairable values.
    expect(r.items).toBe(11)
    expect(r.pairable).toBe(40)
    expect(r.alpha).toBeCloseTo(0.743, 3)
    expect(r.perClass.map((c) => c.label)).toEqual([1, 2, 3, 4, 5])
  })

  it('gives 1 for perfect agreement, also with missing data', () => {
    const r = krippendorffAlpha(fromCoders({ A: [1, 2, null, 3], B: [1, 2, 2, 3], C: [null, 2, 2, 3] }))
    expect(r.alpha).toBe(1)
    expect(r.perClass.every((c) => c.value === 1)).toBe(true)
  })

  it('per-class values match a hand-worked case', () => {
    // Units (A, B): (1,1) (1,2) (2,2) (3,3). n = 8, o_11 = o_22 = o_33 = 2, o_12 = o_21 = 1,
    // n_1 = n_2 = 3, n_3 = 2.
    // Overall: 1 - 7 * (8 - 6) / (64 - 22) = 2/3.
    // Class 1 vs rest: o_11 = 2, n_1 = 3, n_0 = 5 -> 1 - 7 * (3 - 2) / (3 * 5) = 8/15; class 2 alike.
    // Class 3 is never confused -> 1.
    const r = krippendorffAlpha(pairs([[1, 1], [1, 2], [2, 2], [3, 3]]))
    expect(r.alpha).toBeCloseTo(2 / 3, 12)
    expect(r.perClass[0]).toEqual({ label: 1, value: expect.closeTo(8 / 15, 12) })
    expect(r.perClass[1]).toEqual({ label: 2, value: expect.closeTo(8 / 15, 12) })
    expect(r.perClass[2]).toEqual({ label: 3, value: 1 })
  })

  it('per-class values equal alpha on the explicitly binarised data', () => {
    const ratings = fromCoders(KRIPP)
    const r = krippendorffAlpha(ratings)
    for (const { label, value } of r.perClass) {
      const binary = krippendorffAlpha(ratings.map((x) => ({ ...x, label: x.label === label ? 1 : 0 })))
      expect(value).toBeCloseTo(binary.alpha as number, 12)
    }
  })

  it('handles the two-coder case through the coincidence matrix', () => {
    // The 50-item yes/no table as 100 values: yes 25 + 30 = 55, no 45; the 15 disagreeing items
    // put 30 values off the diagonal. alpha = 1 - 99 * 30 / (2 * 55 * 45) = 1 - 2970/4950 = 0.4.
    expect(krippendorffAlpha(COHEN_50).alpha).toBeCloseTo(0.4, 12)
  })

  it('is null, not NaN, when undefined', () => {
    expect(krippendorffAlpha([])).toEqual({ alpha: null, perClass: [], items: 0, pairable: 0 })
    const one = krippendorffAlpha([
      { item: 1, rater: 'A', label: 1 },
      { item: 2, rater: 'A', label: 2 }
    ])
    expect(one.alpha).toBeNull()
    expect(one.items).toBe(0)
    expect(one.perClass.every((c) => c.value === null)).toBe(true)
    const same = krippendorffAlpha(pairs([[4, 4], [4, 4]]))
    expect(same.alpha).toBeNull()
    expect(same.perClass).toEqual([{ label: 4, value: null }])
    // A class seen only on a single-rated item has no pairable values.
    const lonely = krippendorffAlpha([...pairs([[1, 1], [2, 1]]), { item: 9, rater: 'A', label: 6 }])
    expect(lonely.perClass.find((c) => c.label === 6)?.value).toBeNull()
  })
})

describe('disagreements', () => {
  it('a 2-2 split is 1 bit with no majority', () => {
    const [d] = disagreements(fromCounts([[2, 2]], [3, 5]))
    expect(d.entropy).toBe(1)
    expect(d.majority).toBeNull()
    expect(d.ratings).toBe(4)
    expect(d.distribution).toEqual([
      { label: 3, count: 2 },
      { label: 5, count: 2 }
    ])
  })

  it('orders by entropy, then more ratings, then item id, and skips agreed or single-rated items', () => {
    const ratings = [
      ...fromCounts(
        [
          [3, 0, 0], // 0: unanimous, skipped
          [2, 1, 0], // 1: H = 0.918
          [1, 1, 1], // 2: H = log2 3
          [1, 1, 0], // 3: H = 1, 2 ratings
          [2, 2, 0], // 4: H = 1, 4 ratings
          [0, 1, 1], // 5: H = 1, 2 ratings
          [1, 0, 0] // 6: single rating, skipped
        ],
        [1, 2, 3]
      )
    ]
    const list = disagreements(ratings)
    expect(list.map((d) => d.item)).toEqual([2, 4, 3, 5, 1])
    expect(list[0].entropy).toBeCloseTo(Math.log2(3), 12)
    const two1 = list.find((d) => d.item === 1)
    expect(two1?.entropy).toBeCloseTo(-(2 / 3) * Math.log2(2 / 3) - (1 / 3) * Math.log2(1 / 3), 12)
    expect(two1?.majority).toBe(1)
    expect(two1?.distribution[0]).toEqual({ label: 1, count: 2 })
    expect(disagreements(ratings, 2).map((d) => d.item)).toEqual([2, 4])
    expect(disagreements(ratings, 0)).toEqual([])
  })

  it('is empty when there is nothing to dispute', () => {
    expect(disagreements([])).toEqual([])
    expect(disagreements(pairs([[1, 1], [2, 2]]))).toEqual([])
  })
})

describe('agreementReport', () => {
  it('bundles every statistic with every rater pair', () => {
    const ratings = fromCoders(KRIPP)
    const r = agreementReport(ratings, 3)
    expect(r.raters).toEqual(['A', 'B', 'C', 'D'])
    expect(r.items).toBe(12)
    expect(r.multiRated).toBe(11)
    expect(r.cohen.map((c) => `${c.raterA}-${c.raterB}`)).toEqual(['A-B', 'A-C', 'A-D', 'B-C', 'B-D', 'C-D'])
    for (const c of r.cohen) {
      const direct = cohensKappa(ratings, c.raterA, c.raterB)
      expect({ kappa: c.kappa, observed: c.observed, expected: c.expected, items: c.items }).toEqual(direct)
    }
    expect(r.alpha).toEqual(krippendorffAlpha(ratings))
    expect(r.fleiss).toEqual(fleissKappa(ratings))
    // Units 2..9 have 4 ratings, 1 and 10 have 3, 11 has 2: Fleiss uses the eight 4-rated units.
    expect(r.fleiss.ratersPerItem).toBe(4)
    expect(r.fleiss.items).toBe(8)
    expect(r.mostDisagreement).toHaveLength(3)
    expect(r.mostDisagreement).toEqual(disagreements(ratings, 3))
    // Unit 6 is labelled 1, 2, 3, 4: two bits, the most disputed.
    expect(r.mostDisagreement[0]).toMatchObject({ item: 6, entropy: 2, majority: null })
  })

  it('handles no ratings and a single rater without NaN', () => {
    const empty = agreementReport([])
    expect(empty).toEqual({
      raters: [],
      items: 0,
      multiRated: 0,
      cohen: [],
      fleiss: { kappa: null, perClass: [], items: 0, ratersPerItem: 0 },
      alpha: { alpha: null, perClass: [], items: 0, pairable: 0 },
      mostDisagreement: []
    })
    const solo = agreementReport([
      { item: 1, rater: 'A', label: 1 },
      { item: 2, rater: 'A', label: 2 }
    ])
    expect(solo.raters).toEqual(['A'])
    expect(solo.cohen).toEqual([])
    expect(solo.multiRated).toBe(0)
    expect(solo.fleiss.kappa).toBeNull()
    expect(solo.alpha.alpha).toBeNull()
    expect(JSON.stringify(solo)).not.toContain('NaN')
  })
})
