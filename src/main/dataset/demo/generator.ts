// Public face of the demo dataset generator: a deterministic plan, and an async stream of rendered
// images in index order. The importer and the `studio demo` command call only what is here.
import { availableParallelism } from 'node:os'
import { buildPlan, type PlannedImage } from './plan'
import { validateDemoOptions, type DemoOptions } from './options'
import { renderDemoImage } from './render'

export { DEMO_CLASSES, validateDemoOptions } from './options'
export type { DemoOptions, NoiseKind } from './options'

/** A rendered demo image: its plan entry (the given, possibly wrong, label and the true one,
 * environment, subject, attributes) plus the PNG bytes. */
export type DemoImage = PlannedImage & { png: Buffer }

/** The whole deterministic plan, without pixels: fast even for very large datasets. */
export function planDemo(opts: DemoOptions): PlannedImage[] {
  return buildPlan(validateDemoOptions(opts)).images
}

/**
 * Renders the plan in index order. Several images are in flight at once: rasterising and PNG
 * encoding run on libuv's thread pool while JS draws the next SVG and adds noise, which is where
 * the speed on two cores comes from. libvips runs one thread per image (decode.ts sets
 * sharp.concurrency(1)): at ~100 px, splitting one image across threads costs more than it gains.
 */
export async function* generateDemo(opts: DemoOptions, signal?: AbortSignal): AsyncGenerator<DemoImage> {
  const plan = buildPlan(validateDemoOptions(opts))
  const { seed, size } = plan.options
  const subjects = new Map(plan.subjects.map((s) => [s.id, s]))
  const window = Math.max(2, Math.min(8, availableParallelism() * 2))
  const inFlight: Promise<DemoImage>[] = []
  let next = 0

  const start = (i: number): Promise<DemoImage> => {
    const item = plan.images[i]
    return renderDemoImage(seed, item, subjects.get(item.subject)!, size).then((png) => ({ ...item, attributes: { ...item.attributes }, png }))
  }

  try {
    while (next < plan.images.length || inFlight.length > 0) {
      if (signal?.aborted) return
      while (inFlight.length < window && next < plan.images.length) inFlight.push(start(next++))
      const image = await inFlight.shift()!
      if (signal?.aborted) return
      yield image
    }
  } finally {
    // Renders still running when the consumer stops (abort, break, error) must not surface later
    // as unhandled rejections.
    for (const pending of inFlight) pending.catch(() => undefined)
  }
}

/**
 * The truth file written beside a demo project: one row per image whose given label is wrong,
 * so a label-noise flagger can be scored (precision/recall against `noisy`).
 */
export function demoTruthCsv(images: readonly PlannedImage[]): string {
  const rows = images.filter((im) => im.noisy).map((im) => `${im.fileName},${im.label},${im.trueLabel},${im.environment},${im.subject}`)
  return ['file_name,given_label,true_label,environment,subject', ...rows].join('\n') + '\n'
}
