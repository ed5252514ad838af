// Boundary activations: the frozen bottom of the backbone run once per image and view, kept in
// memory so each stage-2 epoch only runs the unfrozen top. Decoding runs on libuv's threads one
// batch ahead of the forward pass, as embeddings.ts does.
import * as tf from '@tensorflow/tfjs'
import { flipHorizontal, loadPixels, type PreprocessSpec } from './preprocess'
import type { CachedActivations } from './stage2'

/** Above this the activations stay out of memory and stage 2 runs the whole backbone instead. */
export const BOUNDARY_BUDGET_BYTES = 1024 ** 3

export function boundaryBytes(shape: number[], images: number, views: number): number {
  return shape.reduce((a, b) => a * b, 1) * 4 * images * views
}

async function decode(paths: string[], spec: PreprocessSpec, flip: boolean): Promise<Float32Array[][]> {
  return Promise.all(
    paths.map(async (path) => {
      let pixels: Float32Array
      try {
        pixels = await loadPixels(path, spec)
      } catch (err) {
        throw new Error(`cannot read image ${path}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`, { cause: err })
      }
      return flip ? [pixels, flipHorizontal(pixels, spec.size)] : [pixels]
    })
  )
}

/** Activations of `paths` (original, and flipped when asked); null when cancelled. */
export async function computeBoundary(
  bottom: tf.LayersModel,
  paths: string[],
  spec: PreprocessSpec,
  opts: { flip: boolean; signal?: AbortSignal; onProgress?: (done: number) => void; batchSize?: number }
): Promise<CachedActivations | null> {
  const batch = opts.batchSize ?? 16
  const stride = spec.size * spec.size * 3
  const views: Float32Array[][] = []
  let next = paths.length ? decode(paths.slice(0, batch), spec, opts.flip) : null
  next?.catch(() => {})
  for (let s = 0; s < paths.length; s += batch) {
    if (opts.signal?.aborted) return null
    const decoded = await next!
    if (s + batch < paths.length) {
      next = decode(paths.slice(s + batch, s + 2 * batch), spec, opts.flip)
      next.catch(() => {})
    }
    const rows = decoded.flat()
    const data = new Float32Array(rows.length * stride)
    rows.forEach((r, i) => data.set(r, i * stride))
    const out = tf.tidy(() => bottom.predict(tf.tensor4d(data, [rows.length, spec.size, spec.size, 3]), { batchSize: rows.length }) as tf.Tensor)
    const values = (await out.data()) as Float32Array
    out.dispose()
    const per = values.length / rows.length
    let r = 0
    for (const image of decoded) views.push(image.map(() => values.slice(per * r, per * ++r)))
    opts.onProgress?.(views.length)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { views }
}
