// Channels of label-noise flags and the review queue (issue 7). Spread into the one contract in src/shared/contract.ts.
export const reviewChannels = {} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface ReviewJobResults {}
