// Runs side by side: what differs in their configuration, and their validation metrics.
import type { ConfigDifference, Evaluation, MetricRow, RunComparison } from '../../shared/evaluate'
import type { Project } from '../project/project'
import { evaluateRun, type EvaluateHooks } from './evaluate'
import { getRunRecord } from './runs'

/** Config flattened to dotted keys; arrays and leaves as compact JSON. */
export function flattenConfig(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) out[prefix] = typeof value === 'string' ? value : JSON.stringify(value)
  return out
}

/** Keys whose values are not all the same, in key order; bulky bookkeeping keys left out. */
export function configDiff(configs: Record<string, unknown>[]): ConfigDifference[] {
  const flat = configs.map((c) => flattenConfig(c))
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => !/^(composition|checklist|warnings)\b/.test(k)).sort()
  return keys.filter((k) => new Set(flat.map((f) => f[k] ?? null)).size > 1).map((key) => ({ key, values: flat.map((f) => f[key] ?? null) }))
}

export function metricRows(evs: (Evaluation | null)[]): MetricRow[] {
  const at = (f: (e: Evaluation) => number | null) => evs.map((e) => (e ? f(e) : null))
  const rows: MetricRow[] = [
    { metric: 'validation images', values: at((e) => e.images) },
    { metric: 'accuracy', values: at((e) => e.overall.accuracy) },
    { metric: 'balanced accuracy', values: at((e) => e.overall.balancedAccuracy) },
    { metric: 'macro-F1', values: at((e) => e.overall.macroF1) },
    { metric: 'ECE (15 bins)', values: at((e) => e.calibration.ece) },
    { metric: 'worst environment, balanced accuracy', values: at((e) => e.perEnvironment.groups.find((g) => g.group === e.perEnvironment.worst)?.balancedAccuracy ?? null) },
    { metric: 'environment gap', values: at((e) => e.perEnvironment.gap) }
  ]
  const names = [...new Set(evs.flatMap((e) => e?.classes.map((c) => c.name) ?? []))]
  for (const name of names) rows.push({ metric: `F1 ${name}`, values: at((e) => e.perClass.find((c) => c.name === name)?.f1 ?? null) })
  return rows
}

export async function compareRuns(project: Project, runIds: number[], hooks: EvaluateHooks = {}): Promise<RunComparison> {
  const runs = runIds.map((id) => getRunRecord(project.db, id))
  const missing: RunComparison['missing'] = []
  const evs: (Evaluation | null)[] = []
  for (const run of runs) {
    try {
      evs.push(await evaluateRun(project, run.id, { kind: 'validation' }, hooks))
    } catch (err) {
      if (hooks.signal?.aborted) throw err
      missing.push({ runId: run.id, reason: (err as Error).message })
      evs.push(null)
    }
  }
  return { runIds, config: configDiff(runs.map((r) => r.config)), metrics: metricRows(evs), missing }
}
