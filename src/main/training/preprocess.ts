// The one way an image becomes a network input. Training, evaluation, export and prediction all
// call loadPixels, so a model never sees pixels prepared differently from those it learned on;
// describeSpec is the text that goes into an exported model's preprocessing.json.
import sharp from 'sharp'
import { MAX_PIXELS } from '../dataset/decode'

/** minus1to1: x/127.5 - 1. zero1: x/255. imagenet: (x/255 - mean) / std per channel (torchvision's). */
export type Normalization = 'minus1to1' | 'zero1' | 'imagenet'
/** crop: centre crop to a square. pad: fit inside a square, black bars on the short side. */
export type ResizePolicy = 'crop' | 'pad'

export interface PreprocessSpec {
  size: number
  normalization: Normalization
  resize: ResizePolicy
  colour: 'rgb'
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const
const IMAGENET_STD = [0.229, 0.224, 0.225] as const

/**
 * Fixed choices that are part of the spec even though no option selects them: an exported model
 * must be fed exactly this way. Bumping `version` tells caches keyed on it that pixels changed.
 */
export const PIPELINE = {
  version: 1,
  decoder: `sharp ${sharp.versions.sharp ?? 'unknown'} (libvips ${sharp.versions.vips})`,
  kernel: 'lanczos3',
  background: '#000000'
} as const

// Same decode limits as import: an image that imported must also be readable here.
const INPUT = { limitInputPixels: MAX_PIXELS, failOn: 'truncated' as const }

function checkSpec(spec: PreprocessSpec): void {
  if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > 4096) throw new Error(`preprocess size must be an integer 1..4096 (got ${spec.size})`)
}

/**
 * Decodes and prepares one image: EXIF orientation applied, first frame only, transparency
 * composited on black (what lies under transparent pixels is arbitrary), any colour space to
 * 8-bit sRGB, square by the resize policy with a Lanczos-3 filter, normalised, and optionally
 * mirrored left-right (the flip view). Returns HWC float32, size*size*3.
 */
export async function loadPixels(input: Buffer | string, spec: PreprocessSpec, opts: { flip?: boolean } = {}): Promise<Float32Array> {
  checkSpec(spec)
  let pipeline = sharp(input, INPUT)
    .rotate()
    .flatten({ background: PIPELINE.background })
    .toColourspace('srgb')
    .resize(spec.size, spec.size, {
      fit: spec.resize === 'crop' ? 'cover' : 'contain',
      position: 'centre',
      background: PIPELINE.background,
      kernel: PIPELINE.kernel
    })
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true })
  if (info.width !== spec.size || info.height !== spec.size || data.length !== spec.size * spec.size * info.channels) {
    throw new Error(`decoder returned ${info.width}x${info.height}x${info.channels}, expected ${spec.size}x${spec.size}`)
  }
  const pixels = normalise(data, info.channels, spec.normalization)
  return opts.flip ? flipHorizontal(pixels, spec.size) : pixels
}

/**
 * The flip view: the prepared image mirrored left-right. Done after resizing, on the output, so
 * the flip view is exactly the mirror of the original view and one decode yields both.
 */
export function flipHorizontal(pixels: Float32Array, size: number): Float32Array {
  const out = new Float32Array(pixels.length)
  const row = size * 3
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = y * row + x * 3
      const to = y * row + (size - 1 - x) * 3
      out[to] = pixels[from]
      out[to + 1] = pixels[from + 1]
      out[to + 2] = pixels[from + 2]
    }
  }
  return out
}

/** 8-bit pixels with 1..4 channels to normalised RGB: grey is repeated, a leftover alpha dropped. */
function normalise(data: Buffer, channels: number, normalization: Normalization): Float32Array {
  const pixels = data.length / channels
  const out = new Float32Array(pixels * 3)
  const scale = normalization === 'minus1to1' ? 1 / 127.5 : 1 / 255
  const offset = normalization === 'minus1to1' ? -1 : 0
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const v = data[p * channels + (channels >= 3 ? c : 0)] * scale + offset
      out[p * 3 + c] = normalization === 'imagenet' ? (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c] : v
    }
  }
  return out
}

const NORMALIZATION_TEXT: Record<Normalization, string> = {
  minus1to1: 'value = pixel / 127.5 - 1 (range -1..1)',
  zero1: 'value = pixel / 255 (range 0..1)',
  imagenet: `value = (pixel / 255 - mean) / std per channel, mean ${IMAGENET_MEAN.join(', ')}, std ${IMAGENET_STD.join(', ')}`
}

/** A complete, human-readable statement of what loadPixels does with this spec. */
export function describeSpec(spec: PreprocessSpec): string {
  const square =
    spec.resize === 'crop'
      ? 'centre-cropped to a square and resized'
      : `fitted inside a square (short side padded with ${PIPELINE.background})`
  return [
    `Input ${spec.size}x${spec.size} RGB, float32, HWC (batch, height, width, channel)`,
    `decoded with ${PIPELINE.decoder}, first frame only, EXIF orientation applied`,
    `transparency composited onto ${PIPELINE.background}, greyscale and other colour spaces converted to 8-bit sRGB`,
    `${square} to ${spec.size}x${spec.size} with a ${PIPELINE.kernel} filter`,
    'the flip view (training augmentation only) is that result mirrored left-right',
    NORMALIZATION_TEXT[spec.normalization],
    `preprocessing version ${PIPELINE.version}`
  ].join('; ') + '.'
}
