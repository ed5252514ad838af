import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { analyseImage } from '../../../src/main/dataset/decode'
import { readHeader } from '../../../src/main/dataset/header'

const raw = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })

/** What sharp (libvips) says of the same bytes: the parser must agree or step aside. */
async function libvips(bytes: Buffer) {
  const m = await sharp(bytes).metadata()
  return { format: m.format, width: m.width, height: m.height, orientation: m.orientation ?? 1 }
}

/** An APP1 Exif segment holding a big-endian (Motorola) TIFF with one IFD0 entry: orientation. */
function exifMM(orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4)
  tiff.write('MM', 0, 'latin1')
  tiff.writeUInt16BE(42, 2)
  tiff.writeUInt32BE(8, 4)
  tiff.writeUInt16BE(1, 8) // one entry
  tiff.writeUInt16BE(0x0112, 10)
  tiff.writeUInt16BE(3, 12) // SHORT
  tiff.writeUInt32BE(1, 14)
  tiff.writeUInt16BE(orientation, 18)
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff])
  const head = Buffer.alloc(4)
  head.writeUInt16BE(0xffe1, 0)
  head.writeUInt16BE(body.length + 2, 2)
  return Buffer.concat([head, body])
}

describe('JPEG and PNG headers read without libvips (header.ts)', () => {
  it('agrees with libvips on size and every EXIF orientation of baseline and progressive JPEGs', async () => {
    for (const orientation of [1, 2, 3, 4, 5, 6, 7, 8]) {
      for (const progressive of [false, true]) {
        const bytes = await raw(90, 40).jpeg({ progressive }).withMetadata({ orientation }).toBuffer()
        expect(readHeader(bytes), `orientation ${orientation}${progressive ? ' progressive' : ''}`).toEqual(await libvips(bytes))
      }
    }
  })

  it('reads a big-endian EXIF block the way libvips does', async () => {
    const plain = await raw(70, 30).jpeg().toBuffer()
    const bytes = Buffer.concat([plain.subarray(0, 2), exifMM(8), plain.subarray(2)])
    const header = readHeader(bytes)
    expect(header).toEqual({ format: 'jpeg', width: 70, height: 30, orientation: 8 })
    expect(header).toEqual(await libvips(bytes))
    // and the import stores the upright size: 8 turns the picture a quarter
    expect(await analyseImage(bytes)).toMatchObject({ width: 30, height: 70, format: 'jpeg' })
  })

  it('reads a PNG size, and steps aside for a PNG carrying EXIF', async () => {
    const bytes = await raw(33, 17).png().toBuffer()
    expect(readHeader(bytes)).toEqual({ format: 'png', width: 33, height: 17, orientation: 1 })
    const withExif = Buffer.concat([bytes.subarray(0, 33), Buffer.from('\0\0\0\0eXIf', 'latin1'), bytes.subarray(33)])
    expect(readHeader(withExif)).toBeNull()
  })

  it('returns null for what it is not sure of: other formats, cut headers, a non-SHORT orientation', async () => {
    expect(readHeader(await raw(20, 20).webp().toBuffer())).toBeNull()
    expect(readHeader(Buffer.from('not an image at all, just text'))).toBeNull()
    const jpeg = await raw(20, 20).jpeg().toBuffer()
    expect(readHeader(jpeg.subarray(0, 30))).toBeNull() // cut before the frame header
    const odd = exifMM(6)
    odd.writeUInt16BE(4, 4 + 6 + 12) // the orientation entry typed LONG
    expect(readHeader(Buffer.concat([jpeg.subarray(0, 2), odd, jpeg.subarray(2)]))).toBeNull()
  })

  it('refuses a 30000x30000 header from the header alone, naming the limit', async () => {
    const bytes = await raw(16, 16).jpeg().toBuffer()
    // patch the frame header's size fields
    let at = 2
    while (!(bytes[at + 1] >= 0xc0 && bytes[at + 1] <= 0xc2)) at += 2 + bytes.readUInt16BE(at + 2)
    bytes.writeUInt16BE(30000, at + 5)
    bytes.writeUInt16BE(30000, at + 7)
    expect(readHeader(bytes)).toMatchObject({ width: 30000, height: 30000 })
    await expect(analyseImage(bytes)).rejects.toThrow(/30000x30000, over the 100,000,000-pixel decompression-bomb limit/)
  })
})
