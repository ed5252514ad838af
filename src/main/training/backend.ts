// Picks the fastest TensorFlow.js backend that really works here and says which one it got.
// Order: native TensorFlow (GPU, then CPU build) -> wasm (with our composed gradient kernels) ->
// pure-JS cpu. tfjs-node(-gpu) are optional dependencies whose install fails where libtensorflow
// cannot be downloaded, so they are imported by a name the bundler cannot see and may be absent.
// tfjs falls back to cpu silently when a backend fails to initialise, so every switch is checked.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { registerWasmGradients } from './wasm-grads'

export type BackendFamily = 'tensorflow' | 'wasm' | 'cpu'

export interface BackendChoice {
  /** The tfjs backend now active: 'tensorflow', 'wasm' or 'cpu'. */
  name: string
  /** wasm only: whether the SIMD build runs; null for other backends. */
  simd: boolean | null
  /** wasm only: whether it runs multi-threaded (never in Node); null for other backends. */
  threads: boolean | null
  /** Every attempt in order, with the reason it was passed over. */
  tried: { name: string; error?: string }[]
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String(e.message) : String(e)
  return text.split('\n')[0]
}

/** setBackend resolves false or quietly lands on cpu when initialisation fails; both count as failure. */
async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name)
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tf.setBackend('${name}') left backend '${tf.getBackend()}' active`)
  }
}

async function tryNative(pkg: string): Promise<void> {
  // A variable specifier keeps bundlers from resolving (and failing on) an absent optional package.
  const specifier: string = pkg
  await import(/* @vite-ignore */ specifier)
  await activate('tensorflow')
}

async function tryWasm(): Promise<{ simd: boolean; threads: boolean }> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  // Threads need a worker from a blob: URL, which Node lacks: force them off rather than let
  // the threaded binary fail and tfjs fall back to cpu.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  wasm.setThreadsCount(1)
  try {
    // Point at the package's own .wasm files, wherever bundling put this module.
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')
    wasm.setWasmPaths(join(dirname(entry), '/'))
  } catch {
    // Already initialised (paths are then fixed) or not resolvable: the default lookup still works.
  }
  await activate('wasm')
  registerWasmGradients()
  return {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: wasm.getThreadsCount() > 1
  }
}

/**
 * Activates the first backend in `prefer` order that works ('tensorflow' tries the GPU build
 * first) and reports what was tried. cpu always works, so this only rejects if cpu is excluded
 * and everything else failed.
 */
export async function initBackend(prefer: BackendFamily[] = ['tensorflow', 'wasm', 'cpu']): Promise<BackendChoice> {
  const tried: BackendChoice['tried'] = []
  for (const family of prefer) {
    if (family === 'tensorflow') {
      for (const pkg of NATIVE_PACKAGES) {
        const name = pkg.replace('@tensorflow/', '')
        try {
          await tryNative(pkg)
          tried.push({ name })
          return { name: 'tensorflow', simd: null, threads: null, tried }
        } catch (e) {
          tried.push({ name, error: message(e) })
        }
      }
    } else if (family === 'wasm') {
      try {
        const { simd, threads } = await tryWasm()
        tried.push({ name: 'wasm' })
        return { name: 'wasm', simd, threads, tried }
      } catch (e) {
        tried.push({ name: 'wasm', error: message(e) })
      }
    } else {
      try {
        await activate('cpu')
        tried.push({ name: 'cpu' })
        return { name: 'cpu', simd: null, threads: null, tried }
      } catch (e) {
        tried.push({ name: 'cpu', error: message(e) })
      }
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`)
}
