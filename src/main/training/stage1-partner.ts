// Stage 1 on two cores: a partner thread owns the right half of the hidden layer's columns (and
// their Adam state) and runs their forward and backward passes while the training thread runs the
// left half. The two big matrix products of a step (x W and x^T dz, ~84 MFLOP each at batch 128)
// are split, so is Adam over the ~330k hidden weights; only activations of the hidden layer cross
// between the threads. wasm runs one thread per instance (DESIGN.md), so this is how stage 1 uses
// the second core.
//
// The threads meet through shared memory and Atomics: the training thread writes a step's inputs,
// bumps a sequence number and waits (synchronously, a few milliseconds) for the partner's answer.
// The partner blocks between commands; its event loop is never needed.
import * as tf from '@tensorflow/tfjs'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { moduleWorkerEntry, WORKER_BOOT } from '../util/module-worker'
import { initBackend, type BackendFamily } from './backend'
import { HiddenSlice, type SliceInit } from './hidden-slice'

const TAG = '__freezeframeStage1Partner'
/** How long the training thread waits for one answer before calling the partner lost. */
const ANSWER_TIMEOUT_MS = 120_000

const enum Cmd {
  Forward = 1,
  Backward = 2,
  GetWeights = 3,
  Stop = 4
}

// ctl: [0] command sequence, [1] answered sequence (negative: failed), [2] command, [3] rows
// (a forward pass with no dropout mask sends minus its rows)
interface Shared {
  ctl: SharedArrayBuffer
  /** x rows (maxRows x dim), then the slice's mask (maxRows x cols). */
  input: SharedArrayBuffer
  /** h out / dh in (maxRows x cols). */
  act: SharedArrayBuffer
  /** kernel (dim x cols) then bias (cols). */
  weights: SharedArrayBuffer
  /** An error message, UTF-8. */
  error: SharedArrayBuffer
}

interface PartnerInput {
  [TAG]: true
  backend: BackendFamily
  init: SliceInit
  maxRows: number
  shared: Shared
  entry: string
  loader: string | null
}

function views(s: Shared, dim: number, cols: number, maxRows: number) {
  return {
    ctl: new Int32Array(s.ctl),
    x: new Float32Array(s.input, 0, maxRows * dim),
    mask: new Float32Array(s.input, maxRows * dim * 4, maxRows * cols),
    act: new Float32Array(s.act),
    kernel: new Float32Array(s.weights, 0, dim * cols),
    bias: new Float32Array(s.weights, dim * cols * 4, cols),
    error: new Uint8Array(s.error)
  }
}

/** Leaves an error's message in the shared buffer for the training thread to report. */
function fail(buffer: Uint8Array, err: unknown, prefix: string): void {
  const text = new TextEncoder().encode(prefix + ((err as Error).message ?? String(err))).subarray(0, buffer.length - 1)
  buffer.fill(0)
  buffer.set(text)
}

async function partnerMain(input: PartnerInput): Promise<void> {
  const { dim, cols } = input.init
  const v = views(input.shared, dim, cols, input.maxRows)
  let slice: HiddenSlice | null = null
  let seen = 0
  const answer = (seq: number) => {
    Atomics.store(v.ctl, 1, seq)
    Atomics.notify(v.ctl, 1)
  }
  try {
    await initBackend([input.backend])
    slice = new HiddenSlice(input.init)
    answer(0) // ready
    for (;;) {
      Atomics.wait(v.ctl, 0, seen)
      const seq = Atomics.load(v.ctl, 0)
      if (seq === seen) continue
      seen = seq
      const cmd = Atomics.load(v.ctl, 2) as Cmd
      const signed = Atomics.load(v.ctl, 3)
      const rows = Math.abs(signed)
      try {
        if (cmd === Cmd.Stop) return answer(seq)
        if (cmd === Cmd.Forward) {
          // subarray views: the backend copies them into its own memory at once
          const x = tf.tensor2d(v.x.subarray(0, rows * dim), [rows, dim])
          const mask = signed > 0 ? tf.tensor2d(v.mask.subarray(0, rows * cols), [rows, cols]) : null
          const h = slice.forward(x, mask)
          v.act.set(h.dataSync())
          h.dispose()
        } else if (cmd === Cmd.Backward) {
          const dh = tf.tensor2d(v.act.subarray(0, rows * cols), [rows, cols])
          slice.backward(dh)
          dh.dispose()
        } else if (cmd === Cmd.GetWeights) {
          const w = slice.weights()
          v.kernel.set(w.kernel)
          v.bias.set(w.bias)
        }
        answer(seq)
      } catch (err) {
        fail(v.error, err, '')
        answer(-seq)
      }
    }
  } catch (err) {
    fail(v.error, err, 'could not start: ')
    answer(-1)
  } finally {
    slice?.dispose()
  }
}

if (!isMainThread && parentPort && (workerData as Partial<PartnerInput> | null)?.[TAG]) void partnerMain(workerData as PartnerInput)

/** The training thread's handle on the partner. Every call blocks until the partner answers. */
export class Stage1Partner {
  private readonly worker: Worker
  private readonly v: ReturnType<typeof views>
  private readonly dim: number
  private readonly cols: number
  private seq = 0
  private pending = 0
  private dead: Error | null = null

  private constructor(worker: Worker, v: ReturnType<typeof views>, dim: number, cols: number) {
    this.worker = worker
    this.v = v
    this.dim = dim
    this.cols = cols
  }

  /** Starts a partner for `init`'s columns; null when no worker entry exists (then stage 1 runs in one thread). */
  static async start(backend: BackendFamily, init: SliceInit, maxRows: number): Promise<Stage1Partner | null> {
    const where = moduleWorkerEntry(import.meta.url, 'stage1-partner')
    if (!where) return null
    const { dim, cols } = init
    const shared: Shared = {
      ctl: new SharedArrayBuffer(16),
      input: new SharedArrayBuffer(maxRows * (dim + cols) * 4),
      act: new SharedArrayBuffer(maxRows * cols * 4),
      weights: new SharedArrayBuffer((dim * cols + cols) * 4),
      error: new SharedArrayBuffer(1024)
    }
    const v = views(shared, dim, cols, maxRows)
    Atomics.store(v.ctl, 1, -2) // not ready yet
    const input: PartnerInput = { [TAG]: true, backend, init, maxRows, shared, ...where }
    const worker = new Worker(WORKER_BOOT, { eval: true, workerData: input })
    worker.unref()
    const partner = new Stage1Partner(worker, v, dim, cols)
    worker.on('error', (err) => (partner.dead ??= err))
    worker.on('exit', (code) => (partner.dead ??= new Error(`the thread stopped (exit code ${code})`)))
    // Starting takes a while (the backend loads): waited for without blocking the event loop.
    const deadline = Date.now() + ANSWER_TIMEOUT_MS
    while (Atomics.load(v.ctl, 1) === -2 && !partner.dead && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    const state = Atomics.load(v.ctl, 1)
    if (state !== 0) {
      void worker.terminate()
      throw partner.failure(state === -2 && !partner.dead ? 'it did not start in time' : null)
    }
    return partner
  }

  private failure(reason: string | null): Error {
    const end = this.v.error.indexOf(0)
    const text = new TextDecoder().decode(this.v.error.slice(0, end < 0 ? this.v.error.length : end))
    return new Error(`stage 1's second thread failed: ${reason ?? (text || this.dead?.message || 'unknown error')}`)
  }

  private send(cmd: Cmd, rows: number): void {
    if (this.dead) throw this.failure(null)
    this.pending = ++this.seq
    Atomics.store(this.v.ctl, 2, cmd)
    Atomics.store(this.v.ctl, 3, rows)
    Atomics.store(this.v.ctl, 0, this.pending)
    Atomics.notify(this.v.ctl, 0)
  }

  /** Blocks until the partner has answered the last command. */
  private wait(): void {
    const seq = this.pending
    const deadline = Date.now() + ANSWER_TIMEOUT_MS
    for (;;) {
      const got = Atomics.load(this.v.ctl, 1)
      if (got === seq) return
      if (got === -seq || got === -1) throw this.failure(null)
      if (this.dead) throw this.failure(null)
      if (Date.now() > deadline) throw this.failure('no answer in time')
      Atomics.wait(this.v.ctl, 1, got, 1000)
    }
  }

  /** Hands the partner a step's rows and its columns' dropout mask, and starts its forward pass. */
  beginForward(x: Float32Array, rows: number, mask: Float32Array | null): void {
    this.v.x.set(x.subarray(0, rows * this.dim))
    if (mask) this.v.mask.set(mask.subarray(0, rows * this.cols))
    this.send(Cmd.Forward, mask ? rows : -rows)
  }

  /** Waits for the forward pass begun last; returns the partner's activations (rows x cols). */
  endForward(rows: number): Float32Array {
    this.wait()
    return this.v.act.slice(0, rows * this.cols)
  }

  /** Starts the backward pass (and Adam step) of the partner's columns; `endBackward` waits for it. */
  beginBackward(dh: Float32Array, rows: number): void {
    this.v.act.set(dh.subarray(0, rows * this.cols))
    this.send(Cmd.Backward, rows)
  }

  endBackward(): void {
    this.wait()
  }

  weights(): { kernel: Float32Array; bias: Float32Array } {
    this.send(Cmd.GetWeights, 0)
    this.wait()
    return { kernel: this.v.kernel.slice(), bias: this.v.bias.slice() }
  }

  async stop(): Promise<void> {
    try {
      if (!this.dead) {
        this.send(Cmd.Stop, 0)
        this.wait()
      }
    } catch {
      // stopping a partner that already failed: terminate below is enough
    }
    await this.worker.terminate()
  }
}
