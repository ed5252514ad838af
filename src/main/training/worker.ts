// The training worker thread: one run per worker, commands in, events out. Keeping tfjs here
// keeps the main process's event loop free while a run trains.
import { parentPort } from 'node:worker_threads'
import type { TrainerEvent, WorkerCommand } from './plan'
import { runPipeline } from './pipeline'

const port = parentPort
if (!port) throw new Error('the training worker must run in a worker thread')
const controller = new AbortController()
const emit = (e: TrainerEvent) => port.postMessage(e)

port.on('message', (cmd: WorkerCommand) => {
  if (cmd.type === 'cancel') controller.abort()
  else if (cmd.type === 'start') void runPipeline(cmd.plan, emit, controller.signal).finally(() => port.close())
})
