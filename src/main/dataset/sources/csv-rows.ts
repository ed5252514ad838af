import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
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

const SNIFF_BYTES = 64 * 1024

/**
 * Picks the text encoding from the file's first bytes: UTF-8 (with or without a BOM), UTF-16
 * little-endian (spreadsheets' "Unicode text"), or Latin-1 when the start is not valid UTF-8.
 * Big-endian UTF-16 and binary files are refused naming the file.
 */
export async function sniffEncoding(file: string): Promise<'utf8' | 'utf16le' | 'latin1'> {
  const fh = await open(file, 'r')
  const buf = Buffer.alloc(SNIFF_BYTES)
  const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0).finally(() => fh.close())
  const head = buf.subarray(0, bytesRead)
  if (head[0] === 0xfe && head[1] === 0xff) {
    throw new StudioError('invalid_payload', `${file} is UTF-16 big-endian text, which is not supported; save it as UTF-8`, file)
  }
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf16le'
  const nulAt = (parity: number) => head.filter((b, i) => i % 2 === parity && b === 0).length
  const nuls = head.filter((b) => b === 0).length
  // A stray NUL in a text file is the row's problem; many of them mean UTF-16 or binary.
  if (nuls > head.length / 100) {
    const pairs = Math.floor(head.length / 2)
    if (nulAt(1) > pairs * 0.9 && nulAt(0) === 0) return 'utf16le'
    if (nulAt(0) > pairs * 0.9 && nulAt(1) === 0) {
      throw new StudioError('invalid_payload', `${file} is UTF-16 big-endian text, which is not supported; save it as UTF-8`, file)
    }
    throw new StudioError('invalid_payload', `${file} is not a text file (it contains NUL bytes); expected a CSV`, file)
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true })
    return 'utf8'
  } catch {
    return 'latin1'
  }
}

/** A row decoded with replacement characters was not UTF-8: say so instead of "file not found". */
const NOT_UTF8 = 'this row is not valid UTF-8 text (save the CSV as UTF-8)'

/**
 * Streams a CSV with a header, in bounded memory. Rows with the wrong number of columns are
 * passed on with a problem instead of stopping the import; a header without the required
 * columns stops it at once, naming the file.
 */
export async function* csvRows(file: string, required: string[]): AsyncGenerator<CsvRow> {
  const st = await stat(file).catch(() => null)
  if (!st) throw new StudioError('not_found', `${file} does not exist`, file)
  if (!st.isFile()) throw new StudioError('invalid_payload', `${file} is not a file`, file)
  const encoding = await sniffEncoding(file)
  const parser = createReadStream(file).pipe(
    parse({ bom: true, encoding, relax_column_count: true, skip_empty_lines: true, trim: true, info: true, relax_quotes: true })
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
      // No prototype: a column named __proto__ or constructor is data, not a property of Object.
      const values: Record<string, string> = Object.create(null) as Record<string, string>
      header.forEach((h, i) => {
        const key = h.toLowerCase().startsWith('attr:') ? `attr:${h.slice(5).trim()}` : h.toLowerCase()
        values[key] = rec.record[i] ?? ''
      })
      const problem =
        rec.record.length !== header.length
          ? `expected ${header.length} columns (${header.join(', ')}), found ${rec.record.length}`
          : rec.record.some((v) => v.includes('\ufffd'))
            ? NOT_UTF8
            : rec.record.some((v) => v.includes('\0'))
              ? 'this row contains a NUL byte'
              : undefined
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
