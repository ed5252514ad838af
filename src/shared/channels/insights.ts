// Channels of dashboards and the preflight checklist (issue 8). Spread into the one contract in src/shared/contract.ts.
export const insightsChannels = {} as const

/** What this area's jobs carry in `job.end`, by job kind. */
export interface InsightsJobResults {}
