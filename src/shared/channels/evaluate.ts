// Channels of evaluation, export and prediction (issue 6). Spread into the one contract in src/shared/contract.ts.
export const evaluateChannels = {} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface EvaluateJobResults {}
