import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { deflateSync } from 'node:zlib'
import sharp from 'sharp'

/** A small picture whose content depends on `seed`, so every call gives distinct bytes. */
export async function picture(seed: number, format: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff' = 'png', w = 64, h = 48): Promise<Buffer> {
  const raw = Buffer.alloc(w * h * 3)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3
      raw[i] = (x * 4 + seed * 37) & 255
      raw[i + 1] = (y * 5 + seed * 91) & 255
      raw[i + 2] = ((x ^ y) * 3 + seed * 13) & 255
    }
  const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } })
  return img.toFormat(format, format === 'avif' ? { effort: 0 } : {}).toBuffer()
}

export function put(file: string, data: Buffer | string): string {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, data)
  return file
}

function crc32(buf: Buffer): number {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
  }
  return ~c >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A valid PNG header that declares width x height, with a tiny body: a decompression bomb. */
export function bombPng(width = 30000, height = 30000): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1000))),
    chunk('IEND', Buffer.alloc(0))
  ])
}

/** A 2x2 24-bit BMP: a real image in a format sharp's libvips build does not read. */
export function tinyBmp(): Buffer {
  const rowBytes = 8 // 2 px * 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowBytes * 2, 200)
  const header = Buffer.alloc(54)
  header.write('BM', 0, 'latin1')
  header.writeUInt32LE(54 + pixels.length, 2)
  header.writeUInt32LE(54, 10)
  header.writeUInt32LE(40, 14)
  header.writeInt32LE(2, 18)
  header.writeInt32LE(2, 22)
  header.writeUInt16LE(1, 26)
  header.writeUInt16LE(24, 28)
  header.writeUInt32LE(pixels.length, 34)
  return Buffer.concat([header, pixels])
}

export function ferRow(emotion: number | string, pixels: number[] | string, usage = 'Training'): string {
  return `${emotion},${Array.isArray(pixels) ? pixels.join(' ') : pixels},${usage}`
}

export function ferPixels(seed: number): number[] {
  return Array.from({ length: 48 * 48 }, (_, i) => (i * 7 + seed * 31) % 256)
}
