// Gradient kernels on the wasm backend: composed from wasm kernels (src/main/training/wasm-grads.ts)
// against the cpu backend's kernels borrowed into wasm (what tfjs offers without them), at
// MobileNetV2-like shapes; then a MobileNetV2 (the one nsfwjs ships) fine-tuning step.
// Run: node bin/run-ts.mjs bench/wasm-grads.ts [--kernels-only] [--runs N]
// Prints markdown tables and writes bench/results/wasm-grads.json. A benchmark never fails:
// errors are reported and the process still exits 0.
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import { initBackend } from '../src/main/training/backend'
import { unregisterWasmGradients } from '../src/main/training/wasm-grads'
import { BORROWED, useKernels, type Mode } from './borrow-kernels'
import { median, table, writeResult } from './common'

const args = process.argv.slice(2)
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 5
const kernelsOnly = args.includes('--kernels-only')
type Tensors = Record<string, tf.Tensor4D>

/**
 * Median wall time of `repeats` runs, each on fresh copies of `inputs`: wasm caches XNNPACK
 * operators (and packed weights) by tensor, a reuse training never gets. `warm` first runs once
 * untimed.
 */
function timeMs(inputs: Tensors, run: (t: Tensors) => tf.Tensor, repeats: number, warm = true): number {
  const times: number[] = []
  for (let i = warm ? -1 : 0; i < repeats; i++) {
    const fresh = tf.tidy(() => Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tf.add(t, 0)])) as Tensors)
    fresh[Object.keys(fresh)[0]].dataSync()
    const start = performance.now()
    const out = tf.tidy(() => run(fresh))
    out.dataSync()
    if (i >= 0) times.push(performance.now() - start)
    tf.dispose([out, ...Object.values(fresh)])
  }
  return median(times)
}

type Shape4 = [number, number, number, number]

interface KernelCase {
  label: string
  kernel: string
  shapes: { x: Shape4; dy: Shape4; filter: Shape4 }
  /** Which of x, dy, filter the kernel takes. */
  takes: ('x' | 'dy' | 'filter')[]
  /** The forward op at the same shapes, for scale; none for reductions. */
  forward?: (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor
  attrs: Record<string, unknown>
}

function kernelCases(): KernelCase[] {
  const pointwise: KernelCase['shapes'] = { x: [32, 48, 48, 32], dy: [32, 48, 48, 16], filter: [1, 1, 32, 16] }
  const attrs1x1 = { strides: 1, pad: 'same', dataFormat: 'NHWC' }
  const conv = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(x, f, 1, 'same')
  const label1x1 = '1x1 conv 32->16 on 32x48x48x32'
  const cases: KernelCase[] = [
    { label: label1x1, kernel: 'Conv2DBackpropFilter', shapes: pointwise, takes: ['x', 'dy'], forward: conv,
      attrs: { ...attrs1x1, filterShape: pointwise.filter } },
    { label: label1x1, kernel: 'Conv2DBackpropInput', shapes: pointwise, takes: ['dy', 'filter'], forward: conv,
      attrs: { ...attrs1x1, inputShape: pointwise.x } }
  ]
  for (const stride of [1, 2] as const) {
    const shapes: KernelCase['shapes'] = { x: [32, 24, 24, 96], dy: [32, 24 / stride, 24 / stride, 96], filter: [3, 3, 96, 1] }
    const forward = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.depthwiseConv2d(x, f, stride, 'same')
    const attrs = { strides: stride, pad: 'same', dilations: 1 }
    const label = `3x3 depthwise s${stride} on 32x24x24x96`
    cases.push(
      { label, kernel: 'DepthwiseConv2dNativeBackpropFilter', shapes, takes: ['x', 'dy'], forward, attrs: { ...attrs, filterShape: shapes.filter } },
      { label, kernel: 'DepthwiseConv2dNativeBackpropInput', shapes, takes: ['dy', 'filter'], forward, attrs: { ...attrs, inputShape: shapes.x } }
    )
  }
  const stats: KernelCase['shapes'] = { x: [32, 48, 48, 96], dy: [1, 1, 1, 1], filter: [1, 1, 1, 1] }
  cases.push({ label: 'batch mean over 32x48x48x96', kernel: 'Mean', shapes: stats, takes: ['x'], attrs: { axis: [0, 1, 2], keepDims: false } })
  return cases
}

async function benchKernels(): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  for (const c of kernelCases()) {
    const t = {
      x: tf.randomNormal(c.shapes.x) as tf.Tensor4D,
      dy: tf.randomNormal(c.shapes.dy) as tf.Tensor4D,
      filter: tf.randomNormal(c.shapes.filter) as tf.Tensor4D
    }
    const inputs = Object.fromEntries(c.takes.map((k) => [k, t[k]]))
    const run = (fresh: Tensors) => tf.engine().runKernel(c.kernel, fresh, c.attrs as tf.NamedAttrMap) as tf.Tensor
    const row: Record<string, unknown> = { case: c.label, kernel: c.kernel }
    try {
      useKernels('composed')
      const forward = c.forward
      if (forward) row.forwardMs = timeMs({ x: t.x, filter: t.filter }, (f) => forward(f.x, f.filter), runs)
      row.composedMs = timeMs(inputs, run, runs)
      if (!BORROWED.includes(c.kernel)) {
        unregisterWasmGradients()
        row.baseline = 'wasm own'
        row.baselineMs = timeMs(inputs, run, runs)
      } else {
        useKernels('borrowed')
        row.baseline = 'cpu borrowed'
        // Seconds to a minute per call: one cold run says enough.
        row.baselineMs = timeMs(inputs, run, 1, false)
      }
    } catch (e) {
      row.error = e instanceof Error ? e.message : String(e)
    }
    tf.dispose(Object.values(t))
    rows.push(row)
    console.log(JSON.stringify(row))
  }
  useKernels('composed')
  return rows
}

/** nsfwjs's Keras MobileNetV2 (alpha 1.0, 224 px), re-inputted at `size` px: everything up to the
 * final 7x7 average pool is size-agnostic, and that pool is resized to keep the dense head's input. */
async function mobilenetV2(size: number): Promise<tf.LayersModel> {
  const require = createRequire(import.meta.url)
  const dir = require.resolve('nsfwjs').replace(/dist[\\/]cjs[\\/]index\.js$/, 'dist/models/mobilenet_v2/')
  const json = require(dir + 'model.min.js') as { modelTopology: any; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] }
  const shard = require(dir + 'group1-shard1of1.min.js') as string
  const topology = structuredClone(json.modelTopology)
  for (const layer of topology.model_config.config.layers) {
    if (layer.class_name === 'InputLayer') layer.config.batch_input_shape = [null, size, size, 3]
    if (layer.class_name === 'AveragePooling2D') layer.config.pool_size = layer.config.strides = [size / 32, size / 32]
  }
  const bytes = Buffer.from(shard, 'base64')
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights)
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs, weightData }))
}

interface StepConfig {
  mode: Mode
  size: number
  batch: number
  /** First trainable layer: 'block_13_expand' is the top ~25%, 'dense_1' the head alone. */
  from: string
  steps: number
  /** Run one untimed step first (skipped for the cpu-borrowed run, a minute a step). */
  warm: boolean
}

async function benchTraining(config: StepConfig): Promise<Record<string, unknown>> {
  useKernels(config.mode)
  const model = await mobilenetV2(config.size)
  const firstTrainable = model.layers.findIndex((l) => l.name === config.from)
  model.layers.forEach((layer, i) => (layer.trainable = i >= firstTrainable))
  model.compile({ optimizer: tf.train.momentum(1e-4, 0.9), loss: 'categoricalCrossentropy' })
  const x = tf.randomUniform([config.batch, config.size, config.size, 3], -1, 1)
  const y = tf.oneHot(tf.randomUniform([config.batch], 0, 5, 'int32') as tf.Tensor1D, 5)
  try {
    if (config.warm) await model.trainOnBatch(x, y)
    const times: number[] = []
    for (let i = 0; i < config.steps; i++) {
      const start = performance.now()
      await model.trainOnBatch(x, y)
      times.push(performance.now() - start)
    }
    const stepMs = median(times)
    return {
      ...config, trainableLayers: model.layers.length - firstTrainable, layers: model.layers.length,
      stepMs: Math.round(stepMs), imagesPerSecond: +((config.batch * 1000) / stepMs).toFixed(1)
    }
  } finally {
    model.dispose()
    tf.dispose([x, y])
  }
}

async function main(): Promise<void> {
  const choice = await initBackend(['wasm'])
  console.log(`backend: ${choice.name}, simd ${choice.simd}, threads ${choice.threads}`)
  const kernels = await benchKernels()
  const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(1) : '-')
  let markdown = table(
    ['kernel', 'case', 'forward op ms', 'ours ms', 'baseline ms', 'baseline', 'speed-up'],
    kernels.map((r) => [
      r.kernel as string, r.case as string, fmt(r.forwardMs), fmt(r.composedMs), fmt(r.baselineMs), (r.baseline as string) ?? String(r.error),
      typeof r.baselineMs === 'number' && typeof r.composedMs === 'number' ? `${(r.baselineMs / r.composedMs).toFixed(0)}x` : '-'
    ])
  )
  const training: Record<string, unknown>[] = []
  if (!kernelsOnly) {
    const top = 'block_13_expand'
    const configs: StepConfig[] = [
      { mode: 'composed', size: 96, batch: 32, from: 'dense_1', steps: runs, warm: true },
      { mode: 'composed', size: 96, batch: 32, from: top, steps: runs, warm: true },
      { mode: 'composed', size: 128, batch: 16, from: top, steps: runs, warm: true },
      // Minutes per step even at batch 4; images/s barely depends on the batch there.
      { mode: 'borrowed', size: 96, batch: 4, from: top, steps: 1, warm: false }
    ]
    for (const config of configs) {
      try {
        training.push(await benchTraining(config))
      } catch (e) {
        training.push({ ...config, error: e instanceof Error ? e.message : String(e) })
      }
      console.log(JSON.stringify(training[training.length - 1]))
    }
    markdown += '\n\nMobileNetV2 (nsfwjs, alpha 1.0) training step (trainOnBatch, momentum SGD):\n\n' + table(
      ['kernels', 'px', 'batch', 'trainable from', 'trainable layers', 'step ms (median)', 'images/s'],
      training.map((r) => [r.mode as string, r.size as number, r.batch as number, r.from as string, (r.trainableLayers as number) ?? '-',
        (r.stepMs as number) ?? String(r.error), (r.imagesPerSecond as number) ?? '-'])
    )
  }
  writeResult('wasm-grads', { runs, backend: choice, kernels, training }, markdown)
}

main().catch((e) => {
  console.error(`wasm-grads bench: ${e instanceof Error ? e.stack : String(e)}`)
  process.exitCode = 0
})
