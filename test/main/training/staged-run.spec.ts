import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { getRun, runEpochs } from '../../../src/main/db/repos/runs'
import { createProject, type Project } from '../../../src/main/project/project'
import * as tf from '@tensorflow/tfjs'
import { loadRunModel } from '../../../src/main/training/artifacts'
import { initBackend } from '../../../src/main/training/backend'
import { loadPixels } from '../../../src/main/training/preprocess'
import type { TrainerEvent } from '../../../src/main/training/plan'
import { runTraining } from '../../../src/main/training/runner'
import { EMOTION7 } from '../../../src/shared/presets'
import { tempDir } from '../../helpers/tmp'

async function demo(images: number): Promise<Project> {
  const p = createProject(join(tempDir(), 'p'), { classes: [...EMOTION7] })
  await importDemo(p, { images, seed: 5, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
  return p
}

// MobileNetV2 at its smallest input keeps these runs to seconds; the top ~10% is unfrozen.
const SMALL = { backbone: 'mobilenetv2-nsfwjs', size: 96, split: { kind: 'stratified' as const, validation: 0.25, seed: 1 }, head: { epochs: 8 } }

describe('a staged run (head, then top blocks + head)', () => {
  it('runs both stages in a worker, stores stage-2 epochs, predictions and the fine-tuned backbone', async () => {
    await initBackend(['wasm', 'cpu'])
    const p = await demo(96)
    const events: TrainerEvent[] = []
    const out = await runTraining(p, { ...SMALL, stage2: { fraction: 0.1, epochs: 2 } }, { onEvent: (e) => events.push(e) })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe('completed')
    const stages = events.filter((e) => e.type === 'stageBegin').map((e) => (e as { stage: number }).stage)
    expect(stages).toEqual([0, 1, 2])
    const begin2 = events.find((e) => e.type === 'stageBegin' && e.stage === 2) as { description: string }
    expect(begin2.description).toMatch(/boundary activations after block_15_add cached/)
    const batches = events.filter((e) => e.type === 'batchEnd').map((e) => (e as Extract<TrainerEvent, { type: 'batchEnd' }>).progress)
    expect(batches.some((b) => b.stage === 2 && b.imagesPerSecond > 0 && b.etaMs >= 0)).toBe(true)
    const s = out.summary!
    expect(s.stage2).toMatchObject({ path: 'cached', boundary: 'block_15_add', learningRate: 1e-4 })
    expect(s.stage2Skipped).toBeNull()
    expect(s.embedding.workers).toBeGreaterThanOrEqual(1)
    expect(s.valAccuracy).not.toBeNull()
    const epochs = runEpochs(p.db, out.runId)
    expect(epochs.filter((e) => e.stage === 2).map((e) => e.epoch)).toEqual([1, 2])
    // validation predictions are stored with the run's end, one row per validation image
    const preds = p.db.prepare('SELECT part, label, predicted, probs FROM run_predictions WHERE run_id = ?').all(out.runId) as { part: string; label: number; predicted: number; probs: string }[]
    expect(preds.length).toBe(s.validationImages)
    expect(preds.every((r) => r.part === 'validation')).toBe(true)
    const probs = JSON.parse(preds[0].probs) as number[]
    expect(probs).toHaveLength(7)
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3)
    const hits = preds.filter((r) => r.label === r.predicted).length
    expect(hits / preds.length).toBeCloseTo(s.valAccuracy!, 5)
    const dir = join(p.dir, 'runs', String(out.runId))
    // one model (fine-tuned backbone + head) that reproduces the validation predictions
    const loaded = await loadRunModel(dir)
    expect(loaded.model.outputs[0].shape).toEqual([null, 7])
    const one = p.db.prepare('SELECT r.probs, i.stored_path AS stored FROM run_predictions r JOIN images i ON i.id = r.image_id WHERE r.run_id = ? LIMIT 1').get(out.runId) as { probs: string; stored: string }
    const pixels = await loadPixels(join(p.dir, one.stored), loaded.spec)
    const predicted = tf.tidy(() => (loaded.model.predict(tf.tensor4d(pixels, [1, 96, 96, 3])) as tf.Tensor).dataSync())
    const stored = JSON.parse(one.probs) as number[]
    stored.forEach((v, c) => expect(Math.abs(v - predicted[c])).toBeLessThan(1e-4))
    loaded.dispose()
    expect(existsSync(join(dir, 'checkpoints', 'latest.json'))).toBe(true)
    // the main process stayed responsive while the worker trained
    expect(out.eventLoopDelayP99Ms).toBeLessThan(200)
    p.close()
  }, 240_000)

  it('survives a real wasm heap exhaustion in stage 2 by halving the batch, and completes', async () => {
    const p = await demo(96)
    // Batches above 8 really fill the wasm heap (tfjs tensors of 1 GiB up to its 4 GiB limit) until
    // an allocation fails, as a too-large batch would; in a worker thread the module survives that.
    const out = await runTraining(p, { ...SMALL, stage2: { fraction: 0.1, epochs: 2, batchSize: 16 }, faults: { exhaustMemoryAbove: 8 } })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe('completed')
    expect(out.summary!.stage2).toMatchObject({ batchSize: 8 })
    expect(runEpochs(p.db, out.runId).filter((e) => e.stage === 2).map((e) => e.epoch)).toEqual([1, 2])
    p.close()
  }, 300_000)

  it('goes on in a fresh worker at half the batch when running out of memory leaves the backend unusable', async () => {
    const p = await demo(96)
    const events: TrainerEvent[] = []
    const out = await runTraining(p, { ...SMALL, stage2: { fraction: 0.1, epochs: 2, batchSize: 16 }, faults: { loseBackendAbove: 8 } }, { onEvent: (e) => events.push(e) })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe('completed')
    const notes = events.filter((e) => e.type === 'stageBegin').map((e) => (e as { description: string }).description)
    expect(notes).toContain('the training backend ran out of memory; the run went on in a fresh worker from its last checkpoint with batch size 8')
    expect(out.warnings).toContain('the training backend ran out of memory; the run went on in a fresh worker from its last checkpoint with batch size 8')
    expect(out.summary!.stage2).toMatchObject({ batchSize: 8 })
    expect(out.summary!.resumed).toBe(true)
    expect(runEpochs(p.db, out.runId).filter((e) => e.stage === 2).map((e) => e.epoch)).toEqual([1, 2])
    expect(getRun(p.db, out.runId)!.status).toBe('completed')
    p.close()
  }, 300_000)

  it('cancels during stage 2 and leaves the earlier run intact', async () => {
    const p = await demo(64)
    const first = await runTraining(p, { ...SMALL, stage2: { enabled: false } })
    expect(first.status).toBe('completed')
    expect(first.summary!.stage2Skipped).toMatch(/off/)
    const controller = new AbortController()
    const out = await runTraining(p, { ...SMALL, stage2: { fraction: 0.1, epochs: 50 } }, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'batchEnd' && e.progress.stage === 2) controller.abort()
      }
    })
    expect(out.status).toBe('cancelled')
    expect(getRun(p.db, out.runId)!.status).toBe('cancelled')
    expect(runEpochs(p.db, out.runId).filter((e) => e.stage === 2).length).toBeLessThan(50)
    expect(getRun(p.db, first.runId)!.status).toBe('completed')
    expect(existsSync(join(p.dir, 'runs', String(first.runId), 'model', 'model.json'))).toBe(true)
    p.close()
  }, 240_000)
})
