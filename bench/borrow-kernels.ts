// What tfjs offers on wasm without our gradient kernels: the cpu backend's kernels run on copies
// of the data. Shared by bench/wasm-grads.ts and bench/stage2.ts.
import * as tf from '@tensorflow/tfjs'
import { registerWasmGradients, unregisterWasmGradients } from '../src/main/training/wasm-grads'

export const BORROWED = ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']

export type Mode = 'composed' | 'borrowed'

/**
 * What tfjs offers when wasm lacks a kernel: run the cpu backend's one on copies of the data.
 * wasm's own Conv2DBackpropInput stays in place, as it would without our kernels.
 */
export function borrowFromCpu(kernelName: string): tf.KernelConfig {
  const cpuKernel = tf.getKernel(kernelName, 'cpu')
  if (!cpuKernel) throw new Error(`cpu has no ${kernelName}`)
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const wasm = backend as tf.KernelBackend
    const cpu = tf.engine().findBackend('cpu')
    const moved: Record<string, tf.TensorInfo> = {}
    for (const [name, t] of Object.entries(inputs)) {
      if (!t) continue
      const values = wasm.readSync(t.dataId) as Float32Array
      moved[name] = { dataId: cpu.write(values, t.shape, t.dtype), shape: t.shape, dtype: t.dtype }
    }
    const out = cpuKernel.kernelFunc({ inputs: moved, backend: cpu, attrs }) as tf.TensorInfo
    const values = cpu.readSync(out.dataId) as Float32Array
    for (const t of [...Object.values(moved), out]) cpu.disposeData(t.dataId)
    return { dataId: wasm.write(values, out.shape, out.dtype), shape: out.shape, dtype: out.dtype }
  }
  return { kernelName, backendName: 'wasm', kernelFunc }
}

export function useKernels(mode: Mode): void {
  unregisterWasmGradients()
  for (const name of BORROWED) if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm')
  if (mode === 'composed') registerWasmGradients()
  else for (const name of BORROWED) tf.registerKernel(borrowFromCpu(name))
}

