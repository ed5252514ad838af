import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { grey32FromRaw, hammingDistance, phashFromGrey32 } from '../../../src/main/dataset/phash'
import { picture } from '../../helpers/images'

/** The plain definition: every pixel's luminance, averaged over its block. */
function referenceGrey32(data: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const out = new Uint8Array(32 * 32)
  for (let by = 0; by < 32; by++)
    for (let bx = 0; bx < 32; bx++) {
      const y0 = Math.floor((by * height) / 32)
      const y1 = Math.max(y0 + 1, Math.floor(((by + 1) * height) / 32))
      const x0 = Math.floor((bx * width) / 32)
      const x1 = Math.max(x0 + 1, Math.floor(((bx + 1) * width) / 32))
      let sum = 0
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) {
          const o = (y * width + x) * channels
          sum += channels >= 3 ? 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2] : data[o]
        }
      out[by * 32 + bx] = Math.round(sum / ((y1 - y0) * (x1 - x0)))
    }
  return out
}

async function hashOf(bytes: Buffer): Promise<string> {
  const { data, info } = await sharp(bytes).resize(256, 256, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true })
  return phashFromGrey32(grey32FromRaw(data, info.width, info.height, info.channels))
}

describe('perceptual hash', () => {
  it('averages blocks as the per-pixel definition does, for grey, RGB and RGBA of odd sizes', () => {
    let state = 7
    const rand = () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24
    for (const [w, h, c] of [[256, 192, 3], [31, 45, 1], [100, 37, 4], [257, 256, 3], [20, 20, 3]]) {
      const data = Uint8Array.from({ length: w * h * c }, rand)
      const fast = grey32FromRaw(data, w, h, c)
      const ref = referenceGrey32(data, w, h, c)
      let same = 0
      for (let i = 0; i < fast.length; i++) {
        expect(Math.abs(fast[i] - ref[i]), `${w}x${h}x${c} block ${i}`).toBeLessThanOrEqual(1) // a mean exactly at .5 may round either way
        if (fast[i] === ref[i]) same++
      }
      expect(same / fast.length).toBeGreaterThan(0.99)
    }
  })

  it('stays within a few bits for a re-encoded, resized or brightened copy and differs for another picture', async () => {
    const png = await picture(5, 'png', 320, 240)
    const base = await hashOf(png)
    expect(base).toMatch(/^[0-9a-f]{16}$/)
    const jpeg = await sharp(png).jpeg({ quality: 60 }).toBuffer()
    const small = await sharp(png).resize(160).png().toBuffer()
    const bright = await sharp(png).modulate({ brightness: 1.1 }).png().toBuffer()
    for (const copy of [jpeg, small, bright]) expect(hammingDistance(base, await hashOf(copy))).toBeLessThanOrEqual(6)
    expect(hammingDistance(base, await hashOf(await picture(77, 'png', 320, 240)))).toBeGreaterThan(12)
  })
})
