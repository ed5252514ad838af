// One image from its plan entry: SVG -> raster (libvips/librsvg via sharp) -> light and noise in
// JS -> PNG. Each image draws from its own seeded stream, so images can render in any order or in
// parallel and still come out byte-identical.
import sharp from 'sharp'
import { drawHead } from './faces'
import { expressionFor } from './expressions'
import { applyPhotometry, sceneFor, type Photometry } from './environments'
import type { DemoClass } from './options'
import type { PlannedImage } from './plan'
import { mixSeed, Rng } from './rng'
import type { Subject } from './subjects'

interface DrawnImage {
  svg: string
  /** The image's stream, positioned after drawing: the pixel noise continues from it. */
  rng: Rng
  blur: number
  photo: Photometry
}

export function demoSvg(seed: number, item: PlannedImage, subject: Subject, size: number): DrawnImage {
  const rng = new Rng(mixSeed(seed, 3, item.index))
  const expression = expressionFor(item.trueLabel as DemoClass, subject.expressiveness, rng)
  const scene = sceneFor(item.environment, rng)
  const head = drawHead(subject, expression, rng)
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 100 100" shape-rendering="geometricPrecision">` +
    `${scene.background}<g transform="${scene.transform}">${head}</g></svg>`
  return { svg, rng, blur: scene.blur * (size / 112), photo: scene.photo }
}

export async function renderDemoImage(seed: number, item: PlannedImage, subject: Subject, size: number): Promise<Buffer> {
  const { svg, rng, blur, photo } = demoSvg(seed, item, subject, size)
  // The SVG comes out RGBA; dropping alpha in the JS pass below is cheaper than a libvips step.
  let raster = sharp(Buffer.from(svg))
  if (blur >= 0.3) raster = raster.blur(blur)
  const { data, info } = await raster.raw().toBuffer({ resolveWithObject: true })
  if (info.width !== size || info.height !== size) throw new Error(`demo image ${item.index} rasterised at ${info.width}x${info.height}, expected ${size}`)
  const px = applyPhotometry(data, info.channels, size, photo, rng)
  // Fixed encoder settings: the bytes must depend on the pixels only.
  return sharp(px, { raw: { width: size, height: size, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer()
}
