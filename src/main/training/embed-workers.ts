// Starting an embedding worker thread, kept apart from embeddings.ts (which loads tfjs): a training
// worker starts its embedding worker with this before it imports its own pipeline, so the two
// threads start up side by side (~1 s each from source) instead of one after the other.
import { Worker } from 'node:worker_threads'
import { moduleWorkerEntry, WORKER_BOOT } from '../util/module-worker'

export const WORKER_TAG = 'freezeframe-embed-worker'

/** embeddings.ts's EmbeddingOptions without the callbacks: what a worker embeds with. */
export interface EmbedWorkerOptions {
  backbone: string
  size: number
  views?: ('orig' | 'flip')[]
  resize?: 'crop' | 'pad'
  batchSize?: number
}

export interface WorkerInput {
  [WORKER_TAG]: true
  cacheDir: string
  opts: EmbedWorkerOptions
}

export interface EmbedWorker {
  worker: Worker
  input: WorkerInput
  /** How it ended, if it failed or exited before it was handed work. */
  early: Error | null
  /** Settles once its backbone is loaded, or once it has failed. */
  ready: Promise<void>
}

/** What a training run's embedding phase computes (pipeline.ts), so workers started for it ahead match. */
export function embeddingWork(plan: { cacheDir: string; backbone: string; size: number; flip: boolean }): { cacheDir: string; opts: EmbedWorkerOptions } {
  return { cacheDir: plan.cacheDir, opts: { backbone: plan.backbone, size: plan.size, views: plan.flip ? ['orig', 'flip'] : ['orig'] } }
}

/** The same work, whatever defaults the options left out. */
export function sameWork(a: WorkerInput, cacheDir: string, opts: EmbedWorkerOptions): boolean {
  const norm = (o: EmbedWorkerOptions) => JSON.stringify([o.backbone, o.size, o.views ?? ['orig'], o.resize ?? 'crop', o.batchSize ?? 32])
  return a.cacheDir === cacheDir && norm(a.opts) === norm(opts)
}

/** Starts a worker that loads the backbone and waits for batches; null where no worker entry exists. */
export function startEmbedWorker(cacheDir: string, opts: EmbedWorkerOptions): EmbedWorker | null {
  const where = moduleWorkerEntry(import.meta.url, 'embeddings')
  if (!where) return null
  const input: WorkerInput = { [WORKER_TAG]: true, cacheDir, opts }
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { ...input, ...where } })
  const started: EmbedWorker = { worker, input, early: null, ready: Promise.resolve() }
  started.ready = new Promise<void>((resolve) => {
    const onMessage = (m: { type?: string }) => {
      if (m.type !== 'ready') return
      worker.off('message', onMessage)
      resolve()
    }
    worker.on('message', onMessage)
    worker.once('error', (err) => {
      started.early ??= err
      resolve()
    })
    worker.once('exit', (code) => {
      started.early ??= new Error(`embedding worker exited with code ${code} before finishing`)
      resolve()
    })
  })
  return started
}
