// Size and EXIF orientation of JPEG and PNG files read from their first bytes, so the import does
// not run a separate libvips pass for them: sharp's metadata() cost about 1 ms of CPU per 640x480
// JPEG inside the import (bench/import.ts), an eighth of the whole per-image budget. Anything this
// parser is not sure of returns null, and decode.ts asks sharp as before.

export interface Header {
  format: 'jpeg' | 'png'
  width: number
  height: number
  /** EXIF orientation, 1 (as stored) to 8. */
  orientation: number
}

/** JPEG start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf])

export function readHeader(bytes: Buffer): Header | null {
  if (bytes.length > 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return png(bytes)
  if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return jpeg(bytes)
  return null
}

function png(bytes: Buffer): Header | null {
  // IHDR must be the first chunk; an eXIf chunk may carry an orientation libvips applies.
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') return null
  if (bytes.includes('eXIf', 16, 'latin1')) return null
  const width = bytes.readUInt32BE(16)
  const height = bytes.readUInt32BE(20)
  return width > 0 && height > 0 ? { format: 'png', width, height, orientation: 1 } : null
}

function jpeg(bytes: Buffer): Header | null {
  let orientation = 1
  let at = 2
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return null
    const marker = bytes[at + 1]
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    // markers without a length
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2
      continue
    }
    if (marker === 0xd9 || marker === 0xda) return null // end of image or scan data before a frame header
    const length = bytes.readUInt16BE(at + 2)
    if (length < 2 || at + 2 + length > bytes.length) return null
    const body = at + 4
    if (marker === 0xe1 && length >= 8 && bytes.toString('latin1', body, body + 6) === 'Exif\0\0') {
      const o = exifOrientation(bytes.subarray(body + 6, at + 2 + length))
      if (o === null) return null
      orientation = o
    }
    if (SOF.has(marker)) {
      if (length < 7) return null
      const height = bytes.readUInt16BE(body + 1)
      const width = bytes.readUInt16BE(body + 3)
      // A height of 0 is legal in JPEG (defined later by a DNL marker): leave that to libvips.
      return width > 0 && height > 0 ? { format: 'jpeg', width, height, orientation } : null
    }
    at += 2 + length
  }
  return null
}

/** Tag 0x0112 of IFD0 in a TIFF structure; 1 when absent, null when the structure is broken. */
function exifOrientation(tiff: Buffer): number | null {
  if (tiff.length < 8) return null
  const order = tiff.toString('latin1', 0, 2)
  if (order !== 'II' && order !== 'MM') return null
  const le = order === 'II'
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o))
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o))
  if (u16(2) !== 42) return null
  const ifd = u32(4)
  if (ifd + 2 > tiff.length) return null
  const entries = u16(ifd)
  if (ifd + 2 + entries * 12 > tiff.length) return null
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + i * 12
    if (u16(e) !== 0x0112) continue
    if (u16(e + 2) !== 3) return null // not a SHORT: leave it to libvips
    const value = u16(e + 8) // type SHORT, count 1: the value sits in the first two bytes of the field
    return value >= 1 && value <= 8 ? value : 1
  }
  return 1
}
