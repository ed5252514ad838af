// Predicting with a saved run model (what evaluation on a subset and `studio predict` do):
// images per second and the longest event-loop block per batch size, MobileNetV2 at 128 px on
// the backend initBackend picks, then the way evaluation runs it (a worker thread, or in-thread
// one image at a time where no worker can start). Evaluation predicts in the main process between awaits, so the
// longest block is how long the core stops answering requests at worst.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import sharp from 'sharp'
import { loadRunModel, predictFiles, saveRunModel } from '../src/main/training/artifacts'
import { initBackend } from '../src/main/training/backend'
import { loadFeatureExtractor, preprocessSpecFor } from '../src/main/training/backbones'
import { buildHead } from '../src/main/training/head'
import { predictOffThread } from '../src/main/evaluate/predict-worker'
import { table, writeResult } from './common'

const IMAGES = 96
const SIZE = 128

async function main(): Promise<void> {
  const backend = await initBackend()
  const dir = mkdtempSync(join(tmpdir(), 'ff-bench-eval-'))
  try {
    const paths: string[] = []
    for (let i = 0; i < IMAGES; i++) {
      const raw = Buffer.alloc(200 * 160 * 3, (i * 37) & 255)
      for (let k = 0; k < raw.length; k += 7) raw[k] = (k * i) & 255
      const p = join(dir, `img${i}.jpg`)
      await sharp(raw, { raw: { width: 200, height: 160, channels: 3 } }).jpeg().toFile(p)
      paths.push(p)
    }
    const ex = await loadFeatureExtractor('mobilenetv2-nsfwjs', SIZE)
    const head = buildHead(1280, 7, { hidden: 256, dropout: 0.5, seed: 1 })
    await saveRunModel(join(dir, 'run'), { backbone: ex.model, head, spec: preprocessSpecFor('mobilenetv2-nsfwjs', SIZE), backboneId: 'mobilenetv2-nsfwjs', classes: Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `c${i}` })) })
    ex.dispose()
    const t0 = performance.now()
    const loaded = await loadRunModel(join(dir, 'run'))
    const loadMs = performance.now() - t0
    await predictFiles(loaded.model, loaded.spec, paths.slice(0, 8)) // warm-up
    const rows: (string | number)[][] = []
    const result: Record<string, unknown>[] = []
    for (const batch of [1, 8, 16, 32]) {
      const h = monitorEventLoopDelay({ resolution: 5 })
      h.enable()
      const start = performance.now()
      await predictFiles(loaded.model, loaded.spec, paths, { batchSize: batch })
      const ms = performance.now() - start
      h.disable()
      const perSecond = IMAGES / (ms / 1000)
      const maxBlockMs = h.max / 1e6
      rows.push([`predictFiles, batch ${batch}`, perSecond.toFixed(1), maxBlockMs.toFixed(0)])
      result.push({ batch, imagesPerSecond: perSecond, maxEventLoopBlockMs: maxBlockMs })
    }
    loaded.dispose()
    for (const mode of ['worker', 'in-thread'] as const) {
      const h = monitorEventLoopDelay({ resolution: 5 })
      h.enable()
      const start = performance.now()
      await predictOffThread(join(dir, 'run'), paths, { forceInThread: mode === 'in-thread' })
      const ms = performance.now() - start
      h.disable()
      const label = mode === 'worker' ? 'evaluation: worker thread, batch 16' : 'evaluation: in-thread fallback, batch 1'
      rows.push([label, (IMAGES / (ms / 1000)).toFixed(1), (h.max / 1e6).toFixed(0)])
      result.push({ mode, imagesPerSecond: IMAGES / (ms / 1000), maxEventLoopBlockMs: h.max / 1e6, includesModelLoad: true })
    }
    const md = `MobileNetV2 ${SIZE} px + head as one model, ${IMAGES} JPEGs 200x160, backend ${backend.name}; model load ${loadMs.toFixed(0)} ms\n\n` + table(['how', 'images/s', 'longest event-loop block (ms)'], rows)
    writeResult('evaluate', { backend: backend.name, images: IMAGES, size: SIZE, loadMs, runs: result }, md)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
