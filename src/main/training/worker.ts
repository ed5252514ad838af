// The training worker thread: one run per worker, commands in, events out. Keeping tfjs here
// keeps the main process's event loop free while a run trains.
import { parentPort, workerData } from 'node:worker_threads'
import { startEmbedWorker, type EmbedWorker, type EmbedWorkerOptions } from './embed-workers'
import type { TrainerEvent, WorkerCommand } from './plan'

const port = parentPort
if (!port) throw new Error('the training worker must run in a worker thread')
const controller = new AbortController()
const emit = (e: TrainerEvent) => port.postMessage(e)

// The embedding workers start first, before this thread loads tfjs and the pipeline: their
// start-up (~1 s each from source) then runs beside this one's instead of after it.
const ahead = (workerData as { embed?: { count: number; cacheDir: string; opts: EmbedWorkerOptions } } | null)?.embed
const prestarted: EmbedWorker[] = []
for (let i = 0; ahead && i < ahead.count; i++) {
  const w = startEmbedWorker(ahead.cacheDir, ahead.opts)
  if (w) prestarted.push(w)
}
const { runPipeline } = await import('./pipeline')

port.on('message', (cmd: WorkerCommand) => {
  if (cmd.type === 'cancel') controller.abort()
  else if (cmd.type === 'start') void runPipeline(cmd.plan, emit, controller.signal, prestarted).finally(() => port.close())
})
