// User text (class names, attributes, file names, CSV values) reaches the page only as text: no
// file of the renderer, today's or one added later, may turn a string into markup or code.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return sources(p)
    return /\.(vue|ts|js|html)$/.test(name) ? [p] : []
  })
}

const SINKS: [RegExp, string][] = [
  [/\bv-html\b/, 'v-html renders a string as markup'],
  [/\.(innerHTML|outerHTML)\s*=/, 'innerHTML/outerHTML assignment'],
  [/insertAdjacentHTML|createContextualFragment|document\.write/, 'an HTML-string DOM API'],
  [/\beval\s*\(|new Function\s*\(|setTimeout\s*\(\s*['"`]/, 'code from a string'],
  [/\brenderMode\s*:\s*['"]html['"]/, 'ECharts HTML rendering'],
  [/\bcompile\s*\(|template\s*:\s*[`'"]/, 'a runtime-compiled Vue template']
]

describe('renderer shows user text as text', () => {
  it('has no HTML or code sink in any renderer file', () => {
    const files = sources('src/renderer')
    expect(files.length).toBeGreaterThan(10)
    const found: string[] = []
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const [re, why] of SINKS) if (re.test(text)) found.push(`${file}: ${why}`)
    }
    expect(found).toEqual([])
  })

  it('formats chart tooltips only through a formatter that escapes HTML', () => {
    // ECharts tooltips are HTML: a function formatter must escape what it interpolates.
    const offenders = sources('src/renderer').filter((file) => {
      const text = readFileSync(file, 'utf8')
      return /formatter\s*[:(]\s*(\([^)]*\)|\w+)\s*=>|formatter\s*\(/.test(text) && !/encodeHTML|escapeHtml/.test(text)
    })
    expect(offenders).toEqual([])
  })
})
