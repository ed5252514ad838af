// ECharts options for the dashboard's figures, as plain data: the Dashboard view draws them on a
// canvas, and the core renders the same options to SVG for the standalone HTML report.
import type { DashboardData, Heatmap } from './insights'

export interface ChartTheme {
  text: string
  axis: string
  split: string
  /** Low and high end of the heatmap colour ramp. */
  ramp: [string, string]
}

export const DARK: ChartTheme = { text: '#c8ccd4', axis: '#5a6270', split: '#2f3440', ramp: ['#1d2230', '#3d7bd9'] }
export const LIGHT: ChartTheme = { text: '#222831', axis: '#8a919c', split: '#e3e6ea', ramp: ['#f3f6fb', '#3d7bd9'] }

type Option = Record<string, unknown>

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`

function base(t: ChartTheme, extra: Option): Option {
  return { backgroundColor: 'transparent', animation: false, textStyle: { color: t.text }, tooltip: {}, ...extra }
}

const category = (t: ChartTheme, data: string[], extra: Option = {}) => ({
  type: 'category',
  data,
  axisLine: { lineStyle: { color: t.axis } },
  axisLabel: { color: t.text, interval: 0, hideOverlap: true, width: 90, overflow: 'truncate' },
  ...extra
})
const value = (t: ChartTheme, name: string, extra: Option = {}) => ({
  type: 'value',
  name,
  nameTextStyle: { color: t.text },
  axisLabel: { color: t.text },
  splitLine: { lineStyle: { color: t.split } },
  ...extra
})

/** Images per class as bars in the class colours, and the inverse-frequency weight as a line. */
export function classCountsOption(d: DashboardData, t: ChartTheme): Option {
  return base(t, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { color: t.text } },
    grid: { left: 56, right: 56, top: 40, bottom: 40 },
    xAxis: category(t, d.classes.map((c) => c.name)),
    yAxis: [value(t, 'images'), value(t, 'weight', { splitLine: { show: false } })],
    series: [
      { name: 'images', type: 'bar', data: d.classes.map((c) => ({ value: c.count, itemStyle: { color: c.colour } })), label: { show: true, position: 'top', color: t.text } },
      { name: 'class weight (inverse)', type: 'line', yAxisIndex: 1, data: d.classes.map((c) => Number(c.weights.inverse.toFixed(3))), itemStyle: { color: '#f0b429' } }
    ]
  })
}

/** Counts per (class, value) with each cell's share of its class; darker = more. */
export function heatmapOption(map: Heatmap, classNames: Map<number, string>, t: ChartTheme): Option {
  const rows = map.classIds.map((id) => classNames.get(id) ?? String(id))
  const data: [number, number, number, string][] = []
  map.counts.forEach((row, r) => {
    const total = row.reduce((a, b) => a + b, 0)
    row.forEach((n, c) => data.push([c, r, n, total ? pct(n / total) : '0%']))
  })
  const max = Math.max(1, ...data.map((d) => d[2]))
  return base(t, {
    tooltip: { position: 'top' },
    grid: { left: 90, right: 20, top: 10, bottom: 60 },
    xAxis: category(t, map.columns, { name: map.dimension, nameLocation: 'middle', nameGap: 36, nameTextStyle: { color: t.text }, splitArea: { show: false } }),
    yAxis: category(t, rows, { inverse: true }),
    // The value is dimension 2 of [column, row, count, share]; by default visualMap reads the last one.
    visualMap: { min: 0, max, show: false, dimension: 2, inRange: { color: t.ramp } },
    series: [
      {
        type: 'heatmap',
        data,
        label: { show: true, color: t.text, fontSize: 11, lineHeight: 15, formatter: '{@[2]}\n{@[3]}' },
        itemStyle: { borderColor: t.split, borderWidth: 1 },
        encode: { x: 0, y: 1, value: 2 }
      }
    ]
  })
}

/** Images of each part of the latest split, stacked by class. */
export function splitOption(d: DashboardData, t: ChartTheme): Option {
  const split = d.split
  const parts = split?.parts ?? []
  return base(t, {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, textStyle: { color: t.text }, type: 'scroll' },
    grid: { left: 150, right: 30, top: 40, bottom: 30 },
    xAxis: value(t, 'images'),
    yAxis: category(t, parts.map((p) => `${p.part} (${p.subjects} subjects)`), { axisLabel: { color: t.text, width: 140, overflow: 'truncate' } }),
    series: d.classes.map((c) => ({
      name: c.name,
      type: 'bar',
      stack: 'part',
      itemStyle: { color: c.colour },
      data: parts.map((p) => p.perClass[c.id] ?? 0)
    }))
  })
}

/** Current labels per annotator. */
export function annotatorsOption(d: DashboardData, t: ChartTheme): Option {
  const list = d.annotators.annotators
  return base(t, {
    tooltip: { trigger: 'axis' },
    grid: { left: 90, right: 30, top: 10, bottom: 30 },
    xAxis: value(t, 'labels'),
    yAxis: category(t, list.map((a) => a.name), { inverse: true }),
    series: [{ type: 'bar', data: list.map((a) => a.labels), itemStyle: { color: '#5b9dff' }, label: { show: true, position: 'right', color: t.text } }]
  })
}

/** Krippendorff's alpha per class, over images two or more annotators labeled. */
export function agreementOption(d: DashboardData, t: ChartTheme): Option {
  const names = new Map(d.classes.map((c) => [c.id, c]))
  const rows = d.annotators.perClass.filter((p) => p.alpha !== null)
  return base(t, {
    tooltip: { trigger: 'axis' },
    grid: { left: 56, right: 20, top: 20, bottom: 40 },
    xAxis: category(t, rows.map((p) => names.get(p.classId)?.name ?? String(p.classId))),
    yAxis: value(t, 'alpha', { min: -0.2, max: 1 }),
    series: [{ type: 'bar', data: rows.map((p) => ({ value: Number(p.alpha!.toFixed(3)), itemStyle: { color: names.get(p.classId)?.colour } })), label: { show: true, position: 'top', color: t.text } }]
  })
}

/** Validation accuracy per group beside the training images that group had. */
export function accuracyOption(cells: { value: string; accuracy: number; trainImages: number; evaluated: number }[], dimension: string, t: ChartTheme): Option {
  return base(t, {
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: { color: t.text } },
    grid: { left: 56, right: 56, top: 40, bottom: 50 },
    xAxis: category(t, cells.map((c) => c.value), { name: dimension, nameLocation: 'middle', nameGap: 32, nameTextStyle: { color: t.text } }),
    yAxis: [value(t, 'accuracy', { min: 0, max: 1 }), value(t, 'training images', { splitLine: { show: false } })],
    series: [
      { name: 'validation accuracy', type: 'bar', data: cells.map((c) => Number(c.accuracy.toFixed(3))), itemStyle: { color: '#3cb44b' }, label: { show: true, position: 'top', color: t.text, formatter: (p: { value: number }) => pct(p.value) } },
      { name: 'training images', type: 'line', yAxisIndex: 1, data: cells.map((c) => c.trainImages), itemStyle: { color: '#f0b429' } }
    ]
  })
}
