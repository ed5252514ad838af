// The dashboard as one standalone HTML page: every chart rendered to inline SVG by ECharts'
// server-side renderer, the numbers as tables, the data itself as inline JSON. No script, no
// network: it opens offline, in any browser, years later.
import * as echarts from 'echarts'
import type { Db } from '../../db/connection'
import type { DashboardData } from '../../../shared/insights'
import { dashboard } from './dashboard'
import { accuracyOption, agreementOption, annotatorsOption, classCountsOption, heatmapOption, LIGHT, splitOption } from '../../../shared/insights-charts'

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
const pct = (x: number) => `${(x * 100).toFixed(1)}%`

export function svgChart(option: Record<string, unknown>, width = 720, height = 320): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    chart.setOption(option)
    return chart.renderToSVGString()
  } finally {
    chart.dispose()
  }
}

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`
}

function section(title: string, body: string): string {
  return `<section><h2>${esc(title)}</h2>${body}</section>`
}

function heightFor(rows: number): number {
  return Math.max(220, 70 + rows * 34)
}

export function dashboardHtml(d: DashboardData, meta: { project: string; generatedAt: string }): string {
  const names = new Map(d.classes.map((c) => [c.id, c.name]))
  const parts: string[] = []
  parts.push(
    section(
      'Class balance',
      `<p>${d.totals.labeled} labeled of ${d.totals.images} images (${d.totals.excluded} excluded and ${d.totals.missing} missing left out). Imbalance ratio (largest/smallest): <b>${d.imbalanceRatio === null ? 'n/a' : d.imbalanceRatio.toFixed(2)}</b>.</p>` +
        svgChart(classCountsOption(d, LIGHT)) +
        table(
          ['class', 'images', 'share', `effective number (β=${d.beta})`, 'weight (inverse)', 'weight (effective)'],
          d.classes.map((c) => [c.name, c.count, pct(c.share), Number(c.effectiveNumber.toFixed(1)), Number(c.weights.inverse.toFixed(3)), Number(c.weights.effective.toFixed(3))])
        )
    )
  )
  const list = (gs: typeof d.gaps) => `<ul class="gaps">${gs.map((g) => `<li>${esc(g.text)}</li>`).join('')}</ul>`
  const gaps = !d.gaps.length
    ? '<p>No under-represented cells (every cell has at least 20 images and 5% of its class).</p>'
    : `<p>${d.gaps.length} under-represented cells (under 20 images or under 5% of their class), fewest first:</p>` +
      list(d.gaps.slice(0, 12)) +
      (d.gaps.length > 12 ? `<details><summary>${d.gaps.length - 12} more</summary>${list(d.gaps.slice(12))}</details>` : '')
  const maps = [d.classByEnvironment, ...d.classBySubgroup]
    .map((m) => `<h3>class x ${esc(m.dimension)}</h3>${svgChart(heatmapOption(m, names, LIGHT), Math.max(480, 120 + m.columns.length * 90), heightFor(m.classIds.length))}`)
    .join('')
  parts.push(section('Environments and subgroups', gaps + maps))
  if (d.split) {
    parts.push(
      section(
        `Split of run ${d.split.runId}`,
        `<p>${esc(d.split.description)}. Subjects in more than one part: <b>${d.split.sharedSubjects}</b>.</p>` +
          svgChart(splitOption(d, LIGHT), 720, heightFor(d.split.parts.length + 1)) +
          table(['part', 'images', 'subjects', ...Object.keys(d.split.parts[0]?.perEnvironment ?? {})], d.split.parts.map((p) => [p.part, p.images, p.subjects, ...Object.values(p.perEnvironment)]))
      )
    )
  }
  const a = d.annotators
  parts.push(
    section(
      'Annotators',
      `<p>${a.annotators.length} annotators; ${a.multiRated} images labeled by two or more; Krippendorff's alpha ${a.alpha === null ? 'n/a' : a.alpha.toFixed(3)}.</p>` +
        (a.annotators.length ? svgChart(annotatorsOption(d, LIGHT), 720, heightFor(a.annotators.length)) : '') +
        (a.perClass.some((p) => p.alpha !== null) ? svgChart(agreementOption(d, LIGHT)) : '')
    )
  )
  if (d.run) {
    const r = d.run
    parts.push(
      section(
        `Run ${r.runId}: accuracy beside the data`,
        `<p>Validation accuracy ${pct(r.accuracy)} on ${r.evaluated} images.</p>` +
          svgChart(accuracyOption(r.perEnvironment, 'environment', LIGHT)) +
          table(['environment', 'training images', 'validated', 'accuracy'], r.perEnvironment.map((c) => [c.value, c.trainImages, c.evaluated, pct(c.accuracy)])) +
          r.perSubgroup.map((g) => `<h3>${esc(g.attribute)}</h3>` + svgChart(accuracyOption(g.cells, g.attribute, LIGHT)) + table([g.attribute, 'training images', 'validated', 'accuracy'], g.cells.map((c) => [c.value, c.trainImages, c.evaluated, pct(c.accuracy)]))).join('')
      )
    )
  }
  // Inline data for anyone who wants the numbers; "<" escaped so no value can close the script tag.
  const data = JSON.stringify(d).replace(/</g, '\\u003c')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(meta.project)} · data report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;color:#222831;max-width:980px;margin:24px auto;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #e3e6ea;padding:3px 8px;text-align:left}td.num{text-align:right}
.gaps li{color:#9a4a00}svg{max-width:100%;height:auto}
</style></head><body>
<h1>${esc(meta.project)}: data report</h1>
<p>Generated ${esc(meta.generatedAt)} by Freezeframe Studio.</p>
${parts.join('\n')}
<script type="application/json" id="dashboard-data">${data}</script>
</body></html>
`
}

/** The report of a project as the app and the CLI save it. */
export function dashboardReport(project: { db: Db; name: string }): { html: string; fileName: string } {
  const generatedAt = new Date().toISOString()
  const html = dashboardHtml(dashboard(project.db), { project: project.name, generatedAt })
  const safe = project.name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'project'
  return { html, fileName: `${safe}-data-report-${generatedAt.slice(0, 10)}.html` }
}
