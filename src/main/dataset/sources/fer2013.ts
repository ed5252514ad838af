import { resolve } from 'node:path'
import sharp from 'sharp'
import { EMOTION7 } from '../../../shared/presets'
import type { ImportSource, SourceEntry } from '../types'
import { checkedRows, countRows, csvRows } from './csv-rows'

const SIDE = 48
const USAGE_SPLIT: Record<string, string> = { training: 'train', publictest: 'validation', privatetest: 'test' }

/** Pixel strings become 48x48 grey PNGs: deterministic bytes, so re-imports deduplicate. */
export async function pixelsToPng(pixels: Uint8Array): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: SIDE, height: SIDE, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer()
}

export function parsePixels(text: string): Uint8Array | string {
  const parts = text.trim().split(/\s+/)
  if (parts.length !== SIDE * SIDE) return `expected ${SIDE * SIDE} pixel values, found ${text.trim() ? parts.length : 0}`
  const out = new Uint8Array(SIDE * SIDE)
  for (let i = 0; i < parts.length; i++) {
    const n = Number(parts[i])
    if (!Number.isInteger(n) || n < 0 || n > 255) return `pixel ${i + 1} is "${parts[i].slice(0, 20)}", not an integer 0-255`
    out[i] = n
  }
  return out
}

/** The FER2013 `emotion,pixels,Usage` CSV: ids 0-6 are angry, disgust, fear, happy, sad, surprise, neutral. */
export async function fer2013Source(file: string, opts: { environment?: string } = {}): Promise<ImportSource> {
  const csvFile = resolve(file)
  const total = await countRows(csvFile).catch(() => null)
  const rows = csvRows(csvFile, ['emotion', 'pixels'])
  async function* entries(): AsyncGenerator<SourceEntry> {
    for await (const checked of checkedRows(csvFile, rows)) {
      if ('skipped' in checked) {
        yield checked.skipped
        continue
      }
      const { row, skip } = checked
      const id = Number(row.values.emotion)
      if (!Number.isInteger(id) || id < 0 || id >= EMOTION7.length) {
        yield skip(`emotion "${row.values.emotion}" is not an id 0-6`)
        continue
      }
      const pixels = parsePixels(row.values.pixels ?? '')
      if (typeof pixels === 'string') {
        yield skip(pixels)
        continue
      }
      const usage = (row.values.usage ?? '').trim()
      yield {
        item: {
          origin: csvFile,
          line: row.line,
          bytes: await pixelsToPng(pixels),
          storeIn: 'fer2013',
          fileName: `fer2013_line${row.line}.png`,
          label: EMOTION7[id],
          environment: opts.environment,
          splitHint: usage ? (USAGE_SPLIT[usage.toLowerCase()] ?? usage) : undefined
        }
      }
    }
  }
  return { total, entries: entries() }
}
