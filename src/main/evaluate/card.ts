// The model card of an export, in Markdown and as one standalone HTML page (inline SVG charts,
// no scripts, no external files): what the model is, what data made it, how it was split and
// judged, where it is weak, and what the preflight checklist said.
import type { Evaluation, GroupReport } from '../../shared/evaluate'

export interface CardData {
  title: string
  createdAt: string
  runId: number
  backbone: { id: string; name: string; provenance: string }
  size: number
  preprocessing: string
  trainedAt: { started: string; ended: string | null }
  training: { bestEpoch: number | null; epochs: number; backend: string | null; head: string }
  data: { images: number; labeled: number; excluded: number; environments: { name: string; count: number }[] }
  classBalance: { name: string; train: number; validation: number; test: number; other: number }[]
  split: { description: string; parts: { part: string; images: number }[]; subjectsInBoth: number | null }
  evaluation: Evaluation
  checklist: { checks: { id: string; verdict: string; explanation: string }[]; overrides: { checkId: string; reason: string; annotator: string | null }[] } | null
  limitations: string[]
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`)
const num = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '—' : v.toFixed(d))

function mdTable(head: string[], rows: (string | number)[][]): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ')
  return [`| ${head.map(esc).join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n')
}

/** Plain-language weak spots, from the numbers (each one says which number triggered it). */
export function knownLimitations(d: Omit<CardData, 'limitations'>): string[] {
  const out: string[] = []
  const ev = d.evaluation
  if (ev.images < 100) out.push(`The validation set is small (${ev.images} images): every figure here has a wide margin of error.`)
  for (const c of ev.perClass) if (c.support > 0 && c.support < 10) out.push(`Class "${c.name}" has only ${c.support} validation images; its precision and recall are unreliable.`)
  for (const c of ev.perClass) if (c.recall !== null && c.recall < 0.5 && c.support >= 10) out.push(`Class "${c.name}" is often missed (recall ${pct(c.recall)}).`)
  const groups: GroupReport[] = [ev.perEnvironment, ...ev.perSubgroup]
  for (const g of groups) if (g.gap !== null && g.gap >= 0.1) out.push(`Results differ by ${g.name}: "${g.worst}" is ${pct(g.gap)} below "${g.best}" in balanced accuracy.`)
  const envs = d.data.environments.map((e) => e.name)
  if (envs.length <= 1) out.push(`All images come from one environment (${envs[0] ?? 'none recorded'}); expect worse results on other cameras, lighting or sources.`)
  if (ev.calibration.ece !== null && ev.calibration.ece > 0.1) out.push(`Probabilities are poorly calibrated (ECE ${num(ev.calibration.ece)}): do not read them as chances.`)
  if (d.split.subjectsInBoth) out.push(`${d.split.subjectsInBoth} people have images in both training and validation, which flatters the validation figures.`)
  if (ev.relabeledSinceRun) out.push(`${ev.relabeledSinceRun} validation images were relabeled after this run; figures use the current labels.`)
  if (ev.unreadable.length) out.push(`${ev.unreadable.length} validation images could not be read and are not scored.`)
  if (ev.unscored) out.push(`${ev.unscored} validation images have no label among this model's classes and are not scored.`)
  if (d.backbone.id === 'pixels') out.push('The backbone is the raw-pixel baseline: no pretrained features, so it generalises poorly.')
  if (!d.split.parts.some((p) => p.part === 'test')) out.push('There is no separate test split: the validation set also chose the best epoch, so its figures are slightly optimistic.')
  out.push('The model classifies whole images into the listed classes only; it cannot say "none of these" and was not checked for faces it was never shown.')
  return out
}

export function cardMarkdown(d: CardData): string {
  const ev = d.evaluation
  const s: string[] = []
  s.push(`# ${d.title}`, '', `Model card written ${d.createdAt} by Freezeframe Studio for run ${d.runId}.`, '')
  s.push('## Model', '')
  s.push(`- Backbone: ${d.backbone.name} (\`${d.backbone.id}\`) at ${d.size}x${d.size} px`)
  s.push(`- Provenance: ${d.backbone.provenance}`)
  s.push(`- Head: ${d.training.head}`)
  s.push(`- Trained ${d.trainedAt.started}${d.trainedAt.ended ? ` to ${d.trainedAt.ended}` : ''} on ${d.training.backend ?? 'unknown backend'}, ${d.training.epochs} epochs recorded, best epoch ${d.training.bestEpoch ?? '—'}`)
  s.push(`- Classes (output order): ${ev.classes.map((c) => `${c.index} ${c.name}`).join(', ')}`)
  s.push(`- Preprocessing: ${d.preprocessing}`, '')
  s.push('## Data', '')
  s.push(`${d.data.images} images in the project, ${d.data.labeled} labeled, ${d.data.excluded} excluded.`, '')
  s.push(mdTable(['environment', 'images'], d.data.environments.map((e) => [e.name, e.count])), '')
  s.push('### Class balance', '')
  s.push(mdTable(['class', 'train', 'validation', 'test', 'not in split'], d.classBalance.map((c) => [c.name, c.train, c.validation, c.test, c.other])), '')
  s.push('## Splits', '')
  s.push(`Method: ${d.split.description}. ${d.split.parts.map((p) => `${p.part}: ${p.images}`).join(', ')}.${d.split.subjectsInBoth !== null ? ` People in more than one part: ${d.split.subjectsInBoth}.` : ''}`, '')
  s.push('## Results', '')
  s.push(`On ${ev.subsetDescription} (${ev.images} images): accuracy ${pct(ev.overall.accuracy)}, balanced accuracy ${pct(ev.overall.balancedAccuracy)}, macro-F1 ${num(ev.overall.macroF1)}.`, '')
  s.push(mdTable(['class', 'precision', 'recall', 'F1', 'support'], ev.perClass.map((c) => [c.name, pct(c.precision), pct(c.recall), num(c.f1), c.support])), '')
  s.push('### Confusion matrix (rows: true class, columns: predicted)', '')
  s.push(mdTable(['', ...ev.classes.map((c) => c.name)], ev.confusion.map((row, i) => [ev.classes[i].name, ...row])), '')
  for (const g of [ev.perEnvironment, ...ev.perSubgroup]) {
    s.push(`### By ${g.name}`, '')
    s.push(mdTable([g.name, 'images', 'accuracy', 'balanced accuracy', 'macro-F1'], g.groups.map((x) => [x.group, x.images, pct(x.accuracy), pct(x.balancedAccuracy), num(x.macroF1)])), '')
    if (g.worst !== null) s.push(`Worst: ${g.worst}; gap to the best (${g.best}): ${pct(g.gap)} balanced accuracy.`, '')
  }
  s.push('## Calibration', '')
  s.push(`Expected calibration error over ${ev.calibration.bins.length} equal-width confidence bins: ${num(ev.calibration.ece)}.`, '')
  s.push(mdTable(['confidence', 'images', 'mean confidence', 'accuracy'], ev.calibration.bins.filter((b) => b.count).map((b) => [`${num(b.lo, 2)}–${num(b.hi, 2)}`, b.count, pct(b.confidence), pct(b.accuracy)])), '')
  s.push('## Preflight checklist', '')
  if (!d.checklist) s.push('No checklist outcome was recorded with this run.', '')
  else {
    s.push(mdTable(['check', 'verdict', 'explanation'], d.checklist.checks.map((c) => [c.id, c.verdict, c.explanation])), '')
    if (d.checklist.overrides.length) s.push('Overrides:', '', ...d.checklist.overrides.map((o) => `- ${o.checkId}: "${o.reason}"${o.annotator ? ` (${o.annotator})` : ''}`), '')
  }
  s.push('## Known limitations', '', ...d.limitations.map((l) => `- ${l}`), '')
  return s.join('\n')
}

const esc = (t: string | number) => String(t).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function htmlTable(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
}

/** Horizontal bars, one per row; `values` are stacked segments. */
function barsSvg(rows: { label: string; values: number[] }[], colours: string[], legend: string[]): string {
  const max = Math.max(1, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0)))
  const W = 560, L = 120, H = 22
  const height = rows.length * H + 30
  const bars = rows
    .map((r, i) => {
      let x = L
      const segs = r.values
        .map((v, k) => {
          const w = ((W - L - 50) * v) / max
          const seg = v ? `<rect x="${x.toFixed(1)}" y="${i * H + 4}" width="${w.toFixed(1)}" height="${H - 8}" fill="${colours[k]}"><title>${esc(legend[k])}: ${v}</title></rect>` : ''
          x += w
          return seg
        })
        .join('')
      const total = r.values.reduce((a, b) => a + b, 0)
      return `<text x="${L - 6}" y="${i * H + 16}" text-anchor="end">${esc(r.label)}</text>${segs}<text x="${(x + 4).toFixed(1)}" y="${i * H + 16}">${total}</text>`
    })
    .join('')
  const key = legend.map((l, k) => `<rect x="${L + k * 110}" y="${rows.length * H + 12}" width="10" height="10" fill="${colours[k]}"/><text x="${L + k * 110 + 14}" y="${rows.length * H + 21}">${esc(l)}</text>`).join('')
  return `<svg class="chart" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img">${bars}${legend.length > 1 ? key : ''}</svg>`
}

function confusionSvg(ev: Evaluation): string {
  const k = ev.classes.length
  const C = Math.max(34, Math.min(60, Math.floor(420 / k)))
  const L = 110, T = 100
  const size = L + k * C + 10
  const cells = ev.confusion
    .map((row, i) =>
      row
        .map((v, j) => {
          const f = ev.confusionNormalized[i][j]
          const fill = i === j ? `rgba(34,139,84,${(0.12 + 0.88 * f).toFixed(3)})` : `rgba(200,60,60,${(0.06 + 0.94 * f).toFixed(3)})`
          const ink = f > 0.55 ? '#fff' : '#1d1d1f'
          return `<rect x="${L + j * C}" y="${T + i * C}" width="${C - 1}" height="${C - 1}" fill="${fill}"><title>true ${esc(ev.classes[i].name)}, predicted ${esc(ev.classes[j].name)}: ${v} (${pct(f)} of the row)</title></rect><text x="${L + j * C + C / 2}" y="${T + i * C + C / 2 + 4}" text-anchor="middle" fill="${ink}">${v}</text>`
        })
        .join('')
    )
    .join('')
  const rowLabels = ev.classes.map((c, i) => `<text x="${L - 6}" y="${T + i * C + C / 2 + 4}" text-anchor="end">${esc(c.name)}</text>`).join('')
  const colLabels = ev.classes.map((c, j) => `<text transform="translate(${L + j * C + C / 2 + 4},${T - 6}) rotate(-50)">${esc(c.name)}</text>`).join('')
  return `<svg class="chart" viewBox="0 0 ${size} ${T + k * C + 10}" width="${size}" height="${T + k * C + 10}" role="img" aria-label="confusion matrix">${rowLabels}${colLabels}${cells}<text x="4" y="14" class="axis">rows: true class · columns: predicted</text></svg>`
}

function reliabilitySvg(ev: Evaluation): string {
  const S = 300, P = 36
  const x = (v: number) => P + v * S
  const y = (v: number) => P + (1 - v) * S
  const bars = ev.calibration.bins
    .filter((b) => b.count)
    .map((b) => `<rect x="${x(b.lo) + 1}" y="${y(b.accuracy!)}" width="${(S / ev.calibration.bins.length - 2).toFixed(1)}" height="${(S * b.accuracy!).toFixed(1)}" fill="#4a7bd0"><title>${num(b.lo, 2)}–${num(b.hi, 2)}: ${b.count} images, accuracy ${pct(b.accuracy)}, mean confidence ${pct(b.confidence)}</title></rect><circle cx="${x((b.lo + b.hi) / 2)}" cy="${y(b.confidence!)}" r="3.5" fill="#e0a030" stroke="#1d1d1f"/>`)
    .join('')
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="${x(t)}" y="${P + S + 16}" text-anchor="middle">${t}</text><text x="${P - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`).join('')
  return `<svg class="chart" viewBox="0 0 ${S + 2 * P} ${S + 2 * P + 10}" width="${S + 2 * P}" height="${S + 2 * P + 10}" role="img" aria-label="reliability diagram"><rect x="${P}" y="${P}" width="${S}" height="${S}" fill="none" stroke="#bbb"/><line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/>${bars}${ticks}<text x="${P + S / 2}" y="${P + S + 32}" text-anchor="middle">confidence</text><text x="12" y="${P - 12}">accuracy</text></svg>`
}

const STYLE = `body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;max-width:980px;margin:2rem auto;padding:0 1.2rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{margin-top:1.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}th{background:#f4f4f6}
td:not(:first-child){font-variant-numeric:tabular-nums}.muted{color:#666}.tiles{display:flex;gap:1rem;flex-wrap:wrap}
.tile{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;min-width:8rem}.tile b{display:block;font-size:1.4rem}
.chart{max-width:100%;height:auto;font-size:12px}.chart .axis{fill:#666}.pass{color:#227a4a}.warn{color:#a86a00}.fail{color:#b3261e}`

export function cardHtml(d: CardData): string {
  const ev = d.evaluation
  const groups = [ev.perEnvironment, ...ev.perSubgroup]
    .map(
      (g) =>
        `<h3>By ${esc(g.name)}</h3>${htmlTable([g.name, 'images', 'accuracy', 'balanced accuracy', 'macro-F1'], g.groups.map((x) => [x.group, x.images, pct(x.accuracy), pct(x.balancedAccuracy), num(x.macroF1)]))}` +
        (g.worst !== null ? `<p>Worst: <b>${esc(g.worst)}</b>; gap to the best (${esc(g.best!)}): ${pct(g.gap)} balanced accuracy.</p>` : '') +
        barsSvg(g.groups.map((x) => ({ label: x.group, values: [Math.round((x.balancedAccuracy ?? 0) * 100)] })), ['#4a7bd0'], ['balanced accuracy %'])
    )
    .join('')
  const checklist = d.checklist
    ? htmlTable(['check', 'verdict', 'explanation'], d.checklist.checks.map((c) => [c.id, c.verdict, c.explanation])) +
      (d.checklist.overrides.length ? `<p>Overrides:</p><ul>${d.checklist.overrides.map((o) => `<li>${esc(o.checkId)}: “${esc(o.reason)}”${o.annotator ? ` (${esc(o.annotator)})` : ''}</li>`).join('')}</ul>` : '')
    : '<p class="muted">No checklist outcome was recorded with this run.</p>'
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(d.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(d.title)}</h1>
<p class="muted">Model card written ${esc(d.createdAt)} by Freezeframe Studio for run ${d.runId}.</p>
<div class="tiles">
<div class="tile"><span class="muted">accuracy</span><b>${pct(ev.overall.accuracy)}</b></div>
<div class="tile"><span class="muted">balanced accuracy</span><b>${pct(ev.overall.balancedAccuracy)}</b></div>
<div class="tile"><span class="muted">macro-F1</span><b>${num(ev.overall.macroF1)}</b></div>
<div class="tile"><span class="muted">ECE (15 bins)</span><b>${num(ev.calibration.ece)}</b></div>
<div class="tile"><span class="muted">validation images</span><b>${ev.images}</b></div>
</div>
<h2>Model</h2>
<ul>
<li>Backbone: ${esc(d.backbone.name)} (<code>${esc(d.backbone.id)}</code>) at ${d.size}x${d.size} px</li>
<li>Provenance: ${esc(d.backbone.provenance)}</li>
<li>Head: ${esc(d.training.head)}</li>
<li>Trained ${esc(d.trainedAt.started)}${d.trainedAt.ended ? ` to ${esc(d.trainedAt.ended)}` : ''} on ${esc(d.training.backend ?? 'unknown backend')}, ${d.training.epochs} epochs recorded, best epoch ${d.training.bestEpoch ?? '—'}</li>
<li>Classes (output order): ${ev.classes.map((c) => `${c.index} ${esc(c.name)}`).join(', ')}</li>
<li>Preprocessing: ${esc(d.preprocessing)}</li>
</ul>
<h2>Data</h2>
<p>${d.data.images} images in the project, ${d.data.labeled} labeled, ${d.data.excluded} excluded.</p>
${htmlTable(['environment', 'images'], d.data.environments.map((e) => [e.name, e.count]))}
<h3>Class balance</h3>
${barsSvg(d.classBalance.map((c) => ({ label: c.name, values: [c.train, c.validation, c.test, c.other] })), ['#4a7bd0', '#e0a030', '#7a5bc0', '#bbbbbb'], ['train', 'validation', 'test', 'not in split'])}
<h2>Splits</h2>
<p>Method: ${esc(d.split.description)}. ${d.split.parts.map((p) => `${esc(p.part)}: ${p.images}`).join(', ')}.${d.split.subjectsInBoth !== null ? ` People in more than one part: ${d.split.subjectsInBoth}.` : ''}</p>
<h2>Results</h2>
<p>On ${esc(ev.subsetDescription)} (${ev.images} images).</p>
${htmlTable(['class', 'precision', 'recall', 'F1', 'support'], ev.perClass.map((c) => [c.name, pct(c.precision), pct(c.recall), num(c.f1), c.support]))}
<h3>Confusion matrix</h3>
${confusionSvg(ev)}
${groups}
<h2>Calibration</h2>
<p>Expected calibration error over ${ev.calibration.bins.length} equal-width confidence bins: <b>${num(ev.calibration.ece)}</b>. Bars: accuracy of the images in each confidence bin; dots: their mean confidence, where the bar would reach if the model were calibrated. The dashed line is perfect calibration.</p>
${reliabilitySvg(ev)}
<h2>Preflight checklist</h2>
${checklist}
<h2>Known limitations</h2>
<ul>${d.limitations.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
</body></html>
`
}
