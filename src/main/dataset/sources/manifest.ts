import { basename, dirname, isAbsolute, resolve, sep } from 'node:path'
import type { ImportItem, ImportSource, SourceEntry } from '../types'
import { checkedRows, countRows, csvRows } from './csv-rows'

export interface ManifestOptions {
  /** Absolute paths are refused unless allowed: a shared manifest should not reach anywhere on disk. */
  allowAbsolute?: boolean
  environment?: string
}

const KNOWN = new Set(['path', 'label', 'environment', 'subject', 'annotator', 'split'])

/** `path,label[,environment,subject,annotator,split,attr:<name>...]`, paths relative to the CSV. */
export async function manifestSource(file: string, opts: ManifestOptions = {}): Promise<ImportSource> {
  const csvFile = resolve(file)
  const base = dirname(csvFile)
  const total = await countRows(csvFile).catch(() => null)
  const rows = csvRows(csvFile, ['path'])
  async function* entries(): AsyncGenerator<SourceEntry> {
    for await (const checked of checkedRows(csvFile, rows)) {
      if ('skipped' in checked) {
        yield checked.skipped
        continue
      }
      const { row, skip } = checked
      const v = row.values
      const raw = v.path ?? ''
      if (!raw) {
        yield skip('empty path')
        continue
      }
      if (isAbsolute(raw) && !opts.allowAbsolute) {
        yield skip(`absolute path "${raw}" is not allowed (paths are relative to the CSV's folder)`)
        continue
      }
      const path = resolve(base, raw)
      if (!isAbsolute(raw) && path !== base && !path.startsWith(base + sep)) {
        yield skip(`path "${raw}" escapes the CSV's folder`)
        continue
      }
      // Built from entries, so a column named __proto__ is an attribute like any other.
      const attributes: Record<string, string> = Object.fromEntries(
        Object.entries(v).flatMap(([k, value]) =>
          value === '' ? [] : k.startsWith('attr:') ? [[k.slice(5), value]] : KNOWN.has(k) ? [] : [[k, value]]
        )
      )
      const item: ImportItem = { origin: csvFile, line: row.line, path, fileName: basename(path), attributes }
      if (v.label) item.label = v.label
      if (v.environment || opts.environment) item.environment = v.environment || opts.environment
      if (v.subject) item.subject = v.subject
      if (v.annotator) item.annotator = v.annotator
      if (v.split) item.splitHint = v.split
      yield { item }
    }
  }
  return { total, entries: entries() }
}
