// The backbone probe's report, as the core computes it (src/main/training/probe.ts), the run keeps
// it (<run>/probe.json) and the Train view shows it.

export interface ProbeEntry {
  backbone: string
  name: string
  size: number
  /** Out-of-fold accuracy on the sample, null when the backbone failed. */
  accuracy: number | null
  /** Mean of per-class recall: what the ranking sorts by, so a big class cannot carry it. */
  balancedAccuracy: number | null
  /** Wall time for this backbone, embedding (and any download) included; and how much of it was spent fitting. */
  seconds: number
  fitSeconds: number
  /** Image embeddings computed now vs found in the cache. */
  computed: number
  cached: number
  error?: string
}

export interface ProbeResult {
  /** Best first; failed backbones last. */
  ranking: ProbeEntry[]
  /** The winner's id, null when every backbone failed or it was cancelled before any finished. */
  best: string | null
  sample: { images: number; perClass: number[]; folds: number; seed: number }
  method: string
  cancelled: boolean
  seconds: number
}

/** What a 'probe' job ends with: the result and the class names its per-class counts follow. */
export interface ProbeReport extends ProbeResult {
  classes: string[]
}
