// Agreement figures as the renderer sees them; computed by src/main/analysis/agreement.ts.
export interface Rating {
  item: number
  rater: string
  label: number
}

export interface CohenResult {
  kappa: number | null
  observed: number
  expected: number
  items: number
}

export interface PerClass {
  label: number
  value: number | null
}

export interface FleissResult {
  kappa: number | null
  perClass: PerClass[]
  items: number
  ratersPerItem: number
}

export interface AlphaResult {
  alpha: number | null
  perClass: PerClass[]
  /** Pairable units (items with at least two ratings) that entered the computation. */
  items: number
  /** Pairable values: the ratings on those units, Krippendorff's n. */
  pairable: number
}

export interface Disagreement {
  item: number
  ratings: number
  distribution: { label: number; count: number }[]
  /** Shannon entropy of the label distribution, in bits. */
  entropy: number
  /** The label with strictly the most votes; null on a tie. */
  majority: number | null
}

export interface AgreementReport {
  raters: string[]
  items: number
  multiRated: number
  cohen: (CohenResult & { raterA: string; raterB: string })[]
  fleiss: FleissResult
  alpha: AlphaResult
  mostDisagreement: Disagreement[]
}
