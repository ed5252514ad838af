// Prediction off the main thread gives exactly what in-thread prediction gives, reports
// progress, names a broken model, and stops on cancel with what it finished.
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { predictOffThread } from '../../../src/main/evaluate/predict-worker'
import { saveRunModel } from '../../../src/main/training/artifacts'
import { initBackend } from '../../../src/main/training/backend'
import { preprocessSpecFor } from '../../../src/main/training/backbones'
import { buildHead } from '../../../src/main/training/head'
import { picture, put } from '../../helpers/images'
import { tempDir } from '../../helpers/tmp'

beforeAll(async () => {
  await initBackend(['wasm', 'cpu'])
})

async function setup(n: number): Promise<{ runDir: string; paths: string[] }> {
  const dir = tempDir()
  const paths: string[] = []
  for (let i = 0; i < n; i++) paths.push(put(join(dir, `i${i}.png`), await picture(i + 3)))
  const head = buildHead(576, 3, { hidden: 8, dropout: 0.5, seed: 2 })
  const runDir = join(dir, 'run')
  await saveRunModel(runDir, { backbone: null, head, spec: preprocessSpecFor('pixels', 24), backboneId: 'pixels', classes: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }] })
  head.dispose()
  return { runDir, paths }
}

describe('predictOffThread', () => {
  it('in a worker matches in-thread prediction and reports progress', async () => {
    const { runDir, paths } = await setup(20)
    const seen: number[] = []
    const worker = await predictOffThread(runDir, paths, { onProgress: (d) => seen.push(d) })
    const thread = await predictOffThread(runDir, paths, { forceInThread: true })
    expect(worker).toHaveLength(20)
    worker.forEach((w, i) => {
      expect(w.path).toBe(paths[i])
      w.probs!.forEach((p, k) => expect(Math.abs(p - thread[i].probs![k])).toBeLessThan(1e-6))
    })
    expect(seen.at(-1)).toBe(20)
  })

  it('names a missing shard from inside the worker', async () => {
    const { runDir, paths } = await setup(2)
    rmSync(join(runDir, 'model', 'weights.bin'))
    await expect(predictOffThread(runDir, paths)).rejects.toThrow(/missing the weight shard weights\.bin/)
  })

  it('stops on cancel with the predictions finished so far', async () => {
    const { runDir, paths } = await setup(40)
    const ctrl = new AbortController()
    const got = await predictOffThread(runDir, paths, { signal: ctrl.signal, onProgress: () => ctrl.abort() })
    expect(got.length).toBeGreaterThan(0)
    expect(got.length).toBeLessThan(40)
    const threadCtrl = new AbortController()
    const inThread = await predictOffThread(runDir, paths, { forceInThread: true, signal: threadCtrl.signal, onProgress: () => threadCtrl.abort() })
    expect(inThread).toHaveLength(8)
  })
})
