// Stage 1 on both cores. The wasm backend computes on one thread per tfjs instance in Node, so a
// second instance in a worker thread takes half of each batch: the trainer sends it the head's
// current weights and which rows to use, both compute the gradient of their half, and the
// trainer combines the two (weighted by their sizes: the gradient of the whole batch's mean loss)
// and takes the optimizer step. On 10,000 cached embeddings an epoch took 1.5 s on one thread
// (bench/stage2.ts). This module is both the helper and its caller (an entry of its own in the app
// bundle, see util/module-worker.ts).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import { moduleWorkerEntry, WORKER_BOOT } from '../util/module-worker'
import { initBackend } from './backend'
import { buildHead, type HeadConfig } from './head'

const TAG = '__freezeframeStage1Helper'

interface HelperInput {
  [TAG]: true
  entry: string
  loader: string | null
  dim: number
  classes: number
  head: Pick<HeadConfig, 'hidden' | 'dropout' | 'seed'>
  /** The standardized training rows, row-major (rows x dim). */
  rows: Float32Array
  classWeights: number[]
}

type ToHelper = { type: 'step'; id: number; weights: Float32Array[]; rows: Int32Array; labels: Int32Array; seed: number }
type FromHelper = { type: 'ready' } | { type: 'grads'; id: number; grads: Float32Array[]; loss: number; hits: number } | { type: 'error'; message: string }

/**
 * The head's forward pass in training: its layers in order, dropout drawn from `seed`. A Dropout
 * layer built with a seed draws the same mask at every call (tfjs seeds each draw afresh), so
 * every batch dropped the same units at each row position; the trainers pass a seed per step.
 */
export function headTrainingForward(model: tf.LayersModel, x: tf.Tensor, seed: number): tf.Tensor2D {
  let h = x
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue
    const rate = layer.getClassName() === 'Dropout' ? (layer.getConfig().rate as number) : null
    h = rate === null ? (layer.apply(h) as tf.Tensor) : rate > 0 ? tf.dropout(h, rate, undefined, seed) : h
  }
  return h as tf.Tensor2D
}

/** The loss both threads take the gradient of: class-weighted cross-entropy, mean over the rows given. */
export function headLoss(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor1D, seed: number, onHits?: (hits: tf.Tensor) => void): tf.Scalar {
  const probs = headTrainingForward(model, x, seed)
  onHits?.(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(y, 1)), 'float32')))
  const ce = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), 1))
  return tf.mean(tf.mul(ce, w)) as tf.Scalar
}

/** The trainable variables of a model, in the order both threads use. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable)
}

async function helperMain(port: NonNullable<typeof parentPort>, input: HelperInput): Promise<void> {
  const post = (m: FromHelper, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)
  try {
    const backend = await initBackend(['wasm'])
    if (backend.name !== 'wasm') throw new Error(`the helper got the ${backend.name} backend, not wasm`)
    const model = buildHead(input.dim, input.classes, input.head)
    const vars = trainableVariables(model)
    const all = tf.tensor2d(input.rows, [input.rows.length / input.dim, input.dim])
    const weightsOf = tf.tensor1d(input.classWeights)
    port.on('message', (m: ToHelper) => {
      if (m.type !== 'step') return
      try {
        vars.forEach((v, i) => {
          const t = tf.tensor(m.weights[i], v.shape)
          v.assign(t)
          t.dispose()
        })
        let hits = 0
        const { value, grads } = tf.tidy(() => {
          const x = tf.gather(all, tf.tensor1d(m.rows, 'int32')) as tf.Tensor2D
          const y = tf.oneHot(tf.tensor1d(m.labels, 'int32'), input.classes).toFloat() as tf.Tensor2D
          const w = tf.gather(weightsOf, tf.tensor1d(m.labels, 'int32')) as tf.Tensor1D
          return tf.variableGrads(() => headLoss(model, x, y, w, m.seed, (h) => (hits = h.dataSync()[0])), vars)
        })
        const out = vars.map((v) => grads[v.name].dataSync() as Float32Array)
        const loss = value.dataSync()[0] * m.rows.length
        tf.dispose([value, ...Object.values(grads)])
        post({ type: 'grads', id: m.id, grads: out, loss, hits }, out.map((g) => g.buffer as ArrayBuffer))
      } catch (err) {
        post({ type: 'error', message: err instanceof Error ? err.message : String(err) })
      }
    })
    post({ type: 'ready' })
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  }
}

if (!isMainThread && parentPort && (workerData as Partial<HelperInput> | null)?.[TAG]) void helperMain(parentPort, workerData as HelperInput)

export interface Stage1Helper {
  /** The gradient of the mean loss over `rows`, at `weights`; loss is that mean times the row count. */
  step(weights: Float32Array[], rows: Int32Array, labels: Int32Array, seed: number): Promise<{ grads: Float32Array[]; loss: number; hits: number }>
  close(): Promise<void>
}

/**
 * Starts the helper with the standardized rows; null where it cannot run (no worker entry in this
 * bundle, or it fails to start), and the trainer keeps to one thread.
 */
export async function startStage1Helper(input: Omit<HelperInput, typeof TAG | 'entry' | 'loader'>): Promise<Stage1Helper | null> {
  const where = moduleWorkerEntry(import.meta.url, 'stage1-helper')
  if (!where) return null
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { [TAG]: true, ...where, ...input } satisfies HelperInput })
  worker.unref()
  let next = 0
  const waiting = new Map<number, { resolve: (r: { grads: Float32Array[]; loss: number; hits: number }) => void; reject: (e: Error) => void }>()
  let failure: Error | null = null
  const fail = (err: Error) => {
    failure ??= err
    for (const w of waiting.values()) w.reject(failure)
    waiting.clear()
  }
  const ready = new Promise<boolean>((resolve) => {
    worker.on('message', (m: FromHelper) => {
      if (m.type === 'ready') return resolve(true)
      if (m.type === 'error') {
        fail(new Error(`stage-1 helper thread: ${m.message}`))
        return resolve(false)
      }
      const w = waiting.get(m.id)
      waiting.delete(m.id)
      w?.resolve(m)
    })
    worker.on('error', (err) => {
      fail(err)
      resolve(false)
    })
    worker.on('exit', (code) => {
      fail(new Error(`stage-1 helper thread stopped (exit code ${code})`))
      resolve(false)
    })
  })
  if (!(await ready)) {
    await worker.terminate()
    return null
  }
  return {
    step(weights, rows, labels, seed) {
      if (failure) return Promise.reject(failure)
      const id = next++
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.postMessage({ type: 'step', id, weights, rows, labels, seed } satisfies ToHelper)
      })
    },
    async close() {
      fail(new Error('stage-1 helper closed'))
      await worker.terminate()
    }
  }
}
