// Commands of dashboards and the preflight checklist (issue 8).
import { readFileSync, writeFileSync } from 'node:fs'
import { clearOverride, runChecklist, setOverride } from '../../analysis/insights/checklist'
import { dashboard } from '../../analysis/insights/dashboard'
import { dashboardHtml } from '../../analysis/insights/report'
import { openProject } from '../../project/project'
import { CHECK_IDS, type CheckId, type ChecklistReport, type DashboardData } from '../../../shared/insights'
import { EXIT_FAILED, EXIT_OK, parse, printJson, UsageError, type Command } from '../io'

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const

/** Options the checklist judges, from flags and/or a JSON file with a proposed config. */
function proposal(values: { config?: string; backbone?: string; size?: string; weights?: string; split?: string }): Record<string, unknown> {
  let config: Record<string, unknown> = {}
  if (values.config) {
    let text: string
    try {
      text = readFileSync(values.config, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read --config ${values.config}: ${(err as Error).message}`)
    }
    try {
      config = JSON.parse(text) as Record<string, unknown>
    } catch (err) {
      throw new UsageError(`--config ${values.config} is not valid JSON: ${(err as Error).message}`)
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw new UsageError(`--config ${values.config} must hold a JSON object`)
  }
  if (values.backbone) config.backbone = values.backbone
  if (values.size) {
    const size = Number(values.size)
    if (!Number.isInteger(size)) throw new UsageError(`--size must be a whole number of pixels (got "${values.size}")`)
    config.size = size
  }
  if (values.weights) config.weights = values.weights
  if (values.split) {
    const s = values.split
    if (s === 'stratified' || s === 'subject') config.split = { kind: s, validation: 0.2, seed: 1 }
    else if (s === 'column') config.split = { kind: 'column' }
    else if (s.startsWith('environment:')) config.split = { kind: 'environment', validationEnvironments: s.slice(12).split(',').filter(Boolean) }
    else throw new UsageError(`--split must be stratified, subject, column or environment:<names> (got "${s}")`)
  }
  return config
}

function printChecklist(report: ChecklistReport, out: (s: string) => void): void {
  const c = report.config
  out(`config: ${c.backbone} at ${c.size} px, ${c.splitDescription}, ${c.weights} class weights, head ${c.head.hidden ? `Dense ${c.head.hidden}` : 'softmax'}`)
  for (const check of report.checks) {
    out(`${String(check.number).padStart(2)}. ${MARK[check.verdict]}  ${check.title}: ${check.explanation}`)
    if (check.fix) out(`       fix: ${check.fix.label}${check.fix.kind === 'config' && !check.fix.applies ? ' (not yet an option of training.start)' : ''}`)
    if (check.override) out(`       overridden: ${check.override.reason}`)
  }
  out(`${report.counts.pass} pass, ${report.counts.warn} warn, ${report.counts.fail} fail; ${report.open} open`)
}

export const checklistCommand: Command = {
  name: 'checklist',
  summary: 'the ten-point preflight checklist for a training config',
  usage: 'studio checklist <project> [--backbone ID] [--size PX] [--weights M] [--split S] [--config FILE] [--override ID --reason TEXT] [--clear ID] [--json]',
  help: `Judges a training config against the project's data with the ten checks of the
transfer-learning practice: input resolution, normalisation, class imbalance, augmentation,
head size, frozen first stage, fine-tuning learning rate, validation split, confusion matrix,
production environment. Each is PASS, WARN or FAIL with a one-line reason and a fix.
  --backbone, --size, --weights, --split   as for studio train (defaults: the trainer's)
  --config FILE     a JSON proposed config (training.start's options plus head, stages, augmentation)
  --override ID     record a conscious override of check ID (${CHECK_IDS.join(', ')}) with --reason
  --clear ID        remove the override of check ID
  --json            print the report as JSON
Exit code 0 when no check fails without an override, 1 otherwise.`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      backbone: { type: 'string' },
      size: { type: 'string' },
      weights: { type: 'string' },
      split: { type: 'string' },
      config: { type: 'string' },
      override: { type: 'string' },
      reason: { type: 'string' },
      clear: { type: 'string' },
      json: { type: 'boolean' }
    })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const checkId = (raw: string): CheckId => {
      if (!(CHECK_IDS as string[]).includes(raw)) throw new UsageError(`unknown check "${raw}"; checks: ${CHECK_IDS.join(', ')}`)
      return raw as CheckId
    }
    if (values.override !== undefined && !values.reason) throw new UsageError('--override needs --reason "why"')
    const config = proposal(values)
    const project = openProject(positionals[0])
    try {
      if (values.override !== undefined) setOverride(project.db, checkId(values.override), values.reason!, null)
      if (values.clear !== undefined) clearOverride(project.db, checkId(values.clear))
      const report = runChecklist(project.db, config)
      if (values.json) printJson(io, report)
      else printChecklist(report, (s) => io.out(s))
      return report.checks.some((c) => c.verdict === 'fail' && !c.override) ? EXIT_FAILED : EXIT_OK
    } finally {
      project.close()
    }
  }
}

function printDashboard(d: DashboardData, out: (s: string) => void): void {
  out(`images: ${d.totals.images} active, ${d.totals.labeled} labeled; imbalance ratio ${d.imbalanceRatio === null ? 'n/a' : d.imbalanceRatio.toFixed(2)}`)
  for (const c of d.classes) out(`  ${c.name.padEnd(12)} ${String(c.count).padStart(7)}  ${(c.share * 100).toFixed(1).padStart(5)}%  effective ${c.effectiveNumber.toFixed(1)}  weight ${c.weights.inverse.toFixed(3)}`)
  if (d.gaps.length) {
    out('under-represented:')
    for (const g of d.gaps.slice(0, 20)) out(`  ${g.text}`)
    if (d.gaps.length > 20) out(`  and ${d.gaps.length - 20} more`)
  }
  if (d.split) out(`split of run ${d.split.runId}: ${d.split.parts.map((p) => `${p.part} ${p.images} images / ${p.subjects} subjects`).join(', ')}; ${d.split.sharedSubjects} subjects in more than one part`)
  out(`annotators: ${d.annotators.annotators.map((a) => `${a.name}=${a.labels}`).join(', ') || 'none'}`)
  if (d.run) out(`run ${d.run.runId}: ${(d.run.accuracy * 100).toFixed(1)}% on ${d.run.evaluated}; ${d.run.perEnvironment.map((c) => `${c.value} ${(c.accuracy * 100).toFixed(1)}% (trained on ${c.trainImages})`).join(', ')}`)
}

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'class balance, environments, subgroups, splits and annotators',
  usage: 'studio dashboard <project> [--json] [--html FILE]',
  help: `Prints the dashboard's figures: class counts, imbalance ratio, effective numbers and class
weights; under-represented class x environment and class x subgroup cells; the latest split;
annotators; the latest run's accuracy per environment and subgroup.
  --json        print every figure as JSON
  --html FILE   also write the standalone HTML data report (charts inline, works offline)`,
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean' }, html: { type: 'string' } })
    if (positionals.length !== 1) throw new UsageError('expected exactly one project folder')
    const project = openProject(positionals[0])
    try {
      const d = dashboard(project.db)
      if (values.html) {
        try {
          writeFileSync(values.html, dashboardHtml(d, { project: project.name, generatedAt: new Date().toISOString() }))
        } catch (err) {
          io.err(`studio dashboard: cannot write ${values.html}: ${(err as Error).message}`)
          return EXIT_FAILED
        }
      }
      if (values.json) printJson(io, d)
      else {
        printDashboard(d, (s) => io.out(s))
        if (values.html) io.out(`report: ${values.html}`)
      }
      return EXIT_OK
    } finally {
      project.close()
    }
  }
}

export const insightsCommands: Command[] = [checklistCommand, dashboardCommand]
