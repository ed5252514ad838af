import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { parse } from 'csv-parse'
import { StudioError } from '../../../shared/errors'
import type { SourceEntry } from '../types'

export interface CsvRow {
  line: number
  values: Record<string, string>
  /** Set when the row does not have one value per header column. */
  problem?: string
}

/** Counts data rows cheaply (newlines), so progress can show a total before parsing. */
export async function countRows(file: string): Promise<number> {
  let lines = 0
  let last = 10
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++
    if (buf.length) last = buf[buf.length - 1]
  }
  if (last !== 10) lines++
  return Math.max(0, lines - 1)
}

/**
 * Streams a CSV with a header, in bounded memory. Rows with the wrong number of columns are
 * passed on with a problem instead of stopping the import; a header without the required
 * columns stops it at once, naming the file.
 */
export async function* csvRows(file: string, required: string[]): AsyncGenerator<CsvRow> {
  const st = await stat(file).catch(() => null)
  if (!st) throw new StudioError('not_found', `${file} does not exist`, file)
  if (!st.isFile()) throw new StudioError('invalid_payload', `${file} is not a file`, file)
  const parser = createReadStream(file).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true, info: true, relax_quotes: true })
  )
  let header: string[] | null = null
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = rec.record.map((h) => h.trim())
        const missing = required.filter((r) => !header!.some((h) => h.toLowerCase() === r))
        if (missing.length) {
          throw new StudioError(
            'invalid_payload',
            `${file} line 1: the header lacks column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} (found: ${header.join(', ') || 'nothing'})`,
            file
          )
        }
        continue
      }
      const values: Record<string, string> = {}
      header.forEach((h, i) => {
        const key = h.toLowerCase().startsWith('attr:') ? `attr:${h.slice(5).trim()}` : h.toLowerCase()
        values[key] = rec.record[i] ?? ''
      })
      const problem =
        rec.record.length !== header.length ? `expected ${header.length} columns (${header.join(', ')}), found ${rec.record.length}` : undefined
      yield { line: rec.info.lines, values, problem }
    }
  } catch (err) {
    if (err instanceof StudioError) throw err
    const e = err as Error & { lines?: number }
    throw new StudioError('invalid_payload', `${file}${e.lines ? ` line ${e.lines}` : ''}: cannot parse CSV (${e.message})`, file)
  }
  if (!header) throw new StudioError('invalid_payload', `${file} is empty: expected a header line`, file)
}

/**
 * The rows of a CSV source with the shared part done: a row with the wrong number of columns is
 * turned into a skip (file and line), and `skip(reason)` makes one for the caller's own checks.
 */
export async function* checkedRows(file: string, rows: AsyncIterable<CsvRow>): AsyncGenerator<{ row: CsvRow; skip: (reason: string) => SourceEntry } | { skipped: SourceEntry }> {
  for await (const row of rows) {
    const skip = (reason: string): SourceEntry => ({ skipped: { file, line: row.line, reason } })
    if (row.problem) yield { skipped: skip(row.problem) }
    else yield { row, skip }
  }
}
