// Inter-annotator agreement for nominal labels: Cohen's kappa for a pair of annotators,
// Fleiss' kappa and Krippendorff's alpha for any number, plus the images annotators disagree
// on most. Pure functions over plain ratings so they run the same in the app, the CLI and tests.
//
// Every statistic is undefined when the labels show no variation at all (chance agreement is
// then certain); those cases return null rather than NaN so callers can show "n/a" honestly.

import type { AgreementReport, AlphaResult, CohenResult, Disagreement, FleissResult, PerClass, Rating } from '../../shared/agreement'

export type { AgreementReport, AlphaResult, CohenResult, Disagreement, FleissResult, PerClass, Rating }

/** How many of the most disputed items the report lists when the caller does not say. */
const REPORT_DISAGREEMENTS = 20

/** Entropies equal up to rounding must fall through to the tie-breakers. */
const ENTROPY_EPS = 1e-12

type Table = Map<number, Map<string, number>>

/**
 * item -> rater -> label. A rater who labelled an item twice keeps the later label, since the
 * array is in history order and only a rater's current opinion should count.
 */
function tabulate(ratings: Rating[]): Table {
  const table: Table = new Map()
  for (const r of ratings) {
    let byRater = table.get(r.item)
    if (!byRater) {
      byRater = new Map()
      table.set(r.item, byRater)
    }
    byRater.set(r.rater, r.label)
  }
  return table
}

function countLabels(labels: Iterable<number>): Map<number, number> {
  const counts = new Map<number, number>()
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1)
  return counts
}

/** Every label anywhere in the table, ascending, so per-class lists line up across statistics. */
function allLabels(table: Table): number[] {
  const seen = new Set<number>()
  for (const byRater of table.values()) for (const l of byRater.values()) seen.add(l)
  return [...seen].sort((a, b) => a - b)
}

function cohenFromTable(table: Table, raterA: string, raterB: string): CohenResult {
  const countsA = new Map<number, number>()
  const countsB = new Map<number, number>()
  let n = 0
  let agree = 0
  for (const byRater of table.values()) {
    const a = byRater.get(raterA)
    const b = byRater.get(raterB)
    if (a === undefined || b === undefined) continue
    n++
    if (a === b) agree++
    countsA.set(a, (countsA.get(a) ?? 0) + 1)
    countsB.set(b, (countsB.get(b) ?? 0) + 1)
  }
  if (n === 0) return { kappa: null, observed: 0, expected: 0, items: 0 }
  // Chance agreement kept as an integer numerator so "certain" (both raters used one and the
  // same label throughout) is detected exactly instead of through a float that is almost 1.
  let chance = 0
  for (const [label, ca] of countsA) chance += ca * (countsB.get(label) ?? 0)
  const observed = agree / n
  const expected = chance / (n * n)
  const kappa = chance === n * n ? null : (observed - expected) / (1 - expected)
  return { kappa, observed, expected, items: n }
}

/** Cohen's kappa over the items both raters labelled. */
export function cohensKappa(ratings: Rating[], raterA: string, raterB: string): CohenResult {
  return cohenFromTable(tabulate(ratings), raterA, raterB)
}

function fleissFromTable(table: Table, labels: number[]): FleissResult {
  // Fleiss' formula assumes a fixed number of ratings per item. Using the commonest count keeps
  // the statistic classical and the most data in play; a tie goes to the larger count because
  // it carries more ratings.
  const sizes = countLabels([...table.values()].map((m) => m.size).filter((s) => s >= 2))
  let n = 0
  let best = 0
  for (const [size, freq] of sizes) {
    if (freq > best || (freq === best && size > n)) {
      n = size
      best = freq
    }
  }
  const none = (): FleissResult => ({
    kappa: null,
    perClass: labels.map((label) => ({ label, value: null })),
    items: 0,
    ratersPerItem: n
  })
  if (n === 0) return none()

  const rows: Map<number, number>[] = []
  for (const byRater of table.values()) if (byRater.size === n) rows.push(countLabels(byRater.values()))
  const N = rows.length
  const total = N * n

  const colSum = new Map<number, number>()
  // Per category: sum over items of n_ij (n - n_ij), the disagreeing ordered pairs touching j.
  const colDisagree = new Map<number, number>()
  let agreeingPairs = 0
  for (const row of rows) {
    for (const [label, c] of row) {
      colSum.set(label, (colSum.get(label) ?? 0) + c)
      colDisagree.set(label, (colDisagree.get(label) ?? 0) + c * (n - c))
      agreeingPairs += c * (c - 1)
    }
  }
  let sumSq = 0
  for (const c of colSum.values()) sumSq += c * c
  const pBar = agreeingPairs / (N * n * (n - 1))
  const pE = sumSq / (total * total)
  // Integer test: chance agreement is 1 exactly when every rating used one category.
  const kappa = sumSq === total * total ? null : (pBar - pE) / (1 - pE)

  const perClass = labels.map((label): PerClass => {
    const cj = colSum.get(label) ?? 0
    // p_j q_j = 0 means the category was never, or always, used: no variation to agree on.
    if (cj === 0 || cj === total) return { label, value: null }
    const pj = cj / total
    const value = 1 - (colDisagree.get(label) ?? 0) / (N * n * (n - 1) * pj * (1 - pj))
    return { label, value }
  })
  return { kappa, perClass, items: N, ratersPerItem: n }
}

/**
 * Fleiss' kappa over the items carrying the modal number (>= 2) of ratings; `items` and
 * `ratersPerItem` say what was used. perClass is Fleiss' per-category kappa.
 */
export function fleissKappa(ratings: Rating[]): FleissResult {
  const table = tabulate(ratings)
  return fleissFromTable(table, allLabels(table))
}

/**
 * Nominal alpha from the coincidence matrix. With the nominal metric only its diagonal o_cc and
 * margins n_c matter:
 *   alpha = 1 - (n - 1) * (n - sum o_cc) / (n^2 - sum n_c^2)
 * and binarising "c against the rest" collapses that to
 *   alpha_c = 1 - (n - 1) * (n_c - o_cc) / (n_c * (n - n_c)),
 * so per-class values come from the same matrix without re-tabulating.
 */
/**
 * Krippendorff's alpha as sums over items, so an item can be added or taken away again (the
 * dashboard keeps them between writes, insights/live.ts). Kept as integers: per label, its
 * pairable values (margin) and, per item size m, its same-label ordered pairs c(c-1), which weigh
 * 1/(m-1) each. Whole numbers add and subtract exactly, so kept sums equal a fresh pass.
 */
export interface AlphaSums {
  units: number
  n: number
  margin: Map<number, number>
  /** label -> item size m -> same-label ordered pairs */
  pairs: Map<number, Map<number, number>>
}

export function emptyAlphaSums(): AlphaSums {
  return { units: 0, n: 0, margin: new Map(), pairs: new Map() }
}

/** Adds (sign 1) or takes away (sign -1) one item's labels, one per rater; a lone label is not pairable. */
export function addAlphaItem(sums: AlphaSums, labels: Iterable<number>, sign: 1 | -1 = 1): void {
  const counts = countLabels(labels)
  let m = 0
  for (const c of counts.values()) m += c
  if (m < 2) return
  sums.units += sign
  sums.n += sign * m
  for (const [label, c] of counts) {
    sums.margin.set(label, (sums.margin.get(label) ?? 0) + sign * c)
    const byM = sums.pairs.get(label) ?? sums.pairs.set(label, new Map()).get(label)!
    byM.set(m, (byM.get(m) ?? 0) + sign * c * (c - 1))
  }
}

/** The labels with pairable values in the sums, ascending. */
export function alphaLabels(sums: AlphaSums): number[] {
  return [...sums.margin].filter(([, c]) => c > 0).map(([l]) => l).sort((a, b) => a - b)
}

export function alphaFromSums(sums: AlphaSums, labels: number[]): AlphaResult {
  const { n } = sums
  // Summed in a fixed order (labels, then sizes ascending), so the same sums give the same bits.
  const diag = new Map<number, number>()
  let diagSum = 0
  let marginSq = 0
  let present = 0
  for (const label of [...sums.margin.keys()].sort((a, b) => a - b)) {
    const nc = sums.margin.get(label)!
    if (nc === 0) continue
    present++
    marginSq += nc * nc
    let d = 0
    const byM = sums.pairs.get(label)!
    for (const m of [...byM.keys()].sort((a, b) => a - b)) d += byM.get(m)! / (m - 1)
    diag.set(label, d)
    diagSum += d
  }
  // Expected disagreement vanishes when only one label occurs among pairable values.
  const alpha = present < 2 ? null : 1 - ((n - 1) * (n - diagSum)) / (n * n - marginSq)
  const perClass = labels.map((label): PerClass => {
    const nc = sums.margin.get(label) ?? 0
    if (nc === 0 || nc === n) return { label, value: null }
    const occ = diag.get(label) ?? 0
    return { label, value: 1 - ((n - 1) * (nc - occ)) / (nc * (n - nc)) }
  })
  return { alpha, perClass, items: sums.units, pairable: n }
}

function alphaFromTable(table: Table, labels: number[]): AlphaResult {
  const sums = emptyAlphaSums()
  for (const byRater of table.values()) addAlphaItem(sums, byRater.values())
  return alphaFromSums(sums, labels)
}

/** Krippendorff's alpha, nominal level; items with fewer than two ratings are ignored. */
export function krippendorffAlpha(ratings: Rating[]): AlphaResult {
  const table = tabulate(ratings)
  return alphaFromTable(table, allLabels(table))
}

function disagreementsFromTable(table: Table, limit?: number): Disagreement[] {
  const out: Disagreement[] = []
  for (const [item, byRater] of table) {
    const m = byRater.size
    if (m < 2) continue
    const counts = countLabels(byRater.values())
    if (counts.size < 2) continue
    const distribution = [...counts]
      .map(([label, count]) => ({ label, count }))
      .sort((a, b) => b.count - a.count || a.label - b.label)
    let entropy = 0
    for (const { count } of distribution) {
      const p = count / m
      entropy -= p * Math.log2(p)
    }
    const majority = distribution[0].count > distribution[1].count ? distribution[0].label : null
    out.push({ item, ratings: m, distribution, entropy, majority })
  }
  out.sort((a, b) => {
    if (Math.abs(a.entropy - b.entropy) > ENTROPY_EPS) return b.entropy - a.entropy
    return b.ratings - a.ratings || a.item - b.item
  })
  return limit === undefined ? out : out.slice(0, Math.max(0, Math.floor(limit)))
}

/**
 * Items rated at least twice with at least two distinct labels, most disputed (highest label
 * entropy) first; ties by more ratings, then item id. Without a limit every such item is listed.
 */
export function disagreements(ratings: Rating[], limit?: number): Disagreement[] {
  return disagreementsFromTable(tabulate(ratings), limit)
}

/** Everything the agreement panel shows, tabulated once. `limit` caps mostDisagreement (default 20). */
export function agreementReport(ratings: Rating[], limit: number = REPORT_DISAGREEMENTS): AgreementReport {
  const table = tabulate(ratings)
  const labels = allLabels(table)
  const raterSet = new Set<string>()
  let multiRated = 0
  for (const byRater of table.values()) {
    for (const r of byRater.keys()) raterSet.add(r)
    if (byRater.size >= 2) multiRated++
  }
  const raters = [...raterSet].sort()
  const cohen: AgreementReport['cohen'] = []
  for (let i = 0; i < raters.length; i++) {
    for (let j = i + 1; j < raters.length; j++) {
      cohen.push({ raterA: raters[i], raterB: raters[j], ...cohenFromTable(table, raters[i], raters[j]) })
    }
  }
  return {
    raters,
    items: table.size,
    multiRated,
    cohen,
    fleiss: fleissFromTable(table, labels),
    alpha: alphaFromTable(table, labels),
    mostDisagreement: disagreementsFromTable(table, limit)
  }
}
