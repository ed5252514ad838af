// Predicting with a saved model off the main thread: evaluation on a subset runs MobileNetV2 over
// possibly thousands of images, which in the main process would stall every request for seconds
// at a time (bench/evaluate.ts). This module is both the worker and its caller (its own entry in
// the app bundle, see util/module-worker.ts); where no worker can start it runs in-thread with
// small batches and yields between them instead.
import { setImmediate } from 'node:timers/promises'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { loadRunModel, predictFiles, type FilePrediction, type PredictOptions } from '../training/artifacts'
import { initBackend } from '../training/backend'
import { moduleWorkerEntry, WORKER_BOOT } from '../util/module-worker'
import { ensureBackend } from './runs'

const TAG = '__freezeframePredictWorker'
/** In-thread: one image per forward pass keeps each block of the event loop to one image's work. */
const IN_THREAD_BATCH = 1
const WORKER_BATCH = 16

interface WorkerInput {
  [TAG]: true
  modelDir: string
  paths: string[]
  entry: string
  loader: string | null
}

type FromWorker = { type: 'progress'; done: number; total: number } | { type: 'done'; results: FilePrediction[] } | { type: 'error'; message: string }

const workerEntry = () => moduleWorkerEntry(import.meta.url, 'predict-worker')

async function workerMain(port: NonNullable<typeof parentPort>, input: WorkerInput): Promise<void> {
  const controller = new AbortController()
  port.on('message', (m: { type: 'cancel' }) => m.type === 'cancel' && controller.abort())
  try {
    await initBackend()
    const loaded = await loadRunModel(input.modelDir)
    const results = await predictFiles(loaded.model, loaded.spec, input.paths, {
      batchSize: WORKER_BATCH,
      signal: controller.signal,
      onProgress: (done, total) => port.postMessage({ type: 'progress', done, total } satisfies FromWorker)
    })
    loaded.dispose()
    port.postMessage({ type: 'done', results } satisfies FromWorker)
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message } satisfies FromWorker)
  } finally {
    port.close()
  }
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerInput> | null)?.[TAG]) void workerMain(parentPort, workerData as WorkerInput)

function inWorker(where: { entry: string; loader: string | null }, modelDir: string, paths: string[], opts: PredictOptions): Promise<FilePrediction[]> {
  return new Promise((resolve, reject) => {
    const input: WorkerInput = { [TAG]: true, modelDir, paths, ...where }
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: input })
    const cancel = () => worker.postMessage({ type: 'cancel' })
    opts.signal?.addEventListener('abort', cancel, { once: true })
    if (opts.signal?.aborted) cancel()
    let settled = false
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      opts.signal?.removeEventListener('abort', cancel)
      void worker.terminate()
      fn()
    }
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') opts.onProgress?.(m.done, m.total)
      else if (m.type === 'done') finish(() => resolve(m.results))
      else finish(() => reject(new Error(m.message)))
    })
    worker.on('error', (err) => finish(() => reject(err)))
    worker.on('exit', (code) => finish(() => reject(new Error(`the prediction worker stopped (exit code ${code}) before finishing`))))
  })
}

async function inThread(modelDir: string, paths: string[], opts: PredictOptions): Promise<FilePrediction[]> {
  await ensureBackend()
  const loaded = await loadRunModel(modelDir)
  try {
    const out: FilePrediction[] = []
    for (let s = 0; s < paths.length && !opts.signal?.aborted; s += 8) {
      out.push(...(await predictFiles(loaded.model, loaded.spec, paths.slice(s, s + 8), { batchSize: IN_THREAD_BATCH })))
      opts.onProgress?.(out.length, paths.length)
      await setImmediate()
    }
    return out
  } finally {
    loaded.dispose()
  }
}

/**
 * Predicts image files with the model in `modelDir` (a run or export folder), in a worker thread
 * when this module can start one. A cancel returns the predictions finished so far.
 */
export function predictOffThread(modelDir: string, paths: string[], opts: PredictOptions & { forceInThread?: boolean } = {}): Promise<FilePrediction[]> {
  const where = opts.forceInThread ? null : workerEntry()
  return where ? inWorker(where, modelDir, paths, opts) : inThread(modelDir, paths, opts)
}
