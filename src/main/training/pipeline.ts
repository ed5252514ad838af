// The work of one training run, as the worker does it: backend, embeddings (cached), stage 1,
// evaluation, artifacts. It talks to the outside only through `emit`.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { initBackend } from './backend'
import { embed } from './embeddings'
import type { PlannedImage, RunSummary, TrainerEvent, TrainPlan } from './plan'
import { saveLayersModel } from './save'
import { evaluateSet, trainStage1, type EmbeddedSet } from './stage1'

function toSet(images: PlannedImage[], vectors: Map<string, Float32Array[]>, dim: number, allViews: boolean): EmbeddedSet {
  return {
    views: images.map((i) => (allViews ? vectors.get(i.sha256)! : [vectors.get(i.sha256)![0]])),
    labels: Int32Array.from(images, (i) => i.label),
    dim
  }
}

export async function runPipeline(plan: TrainPlan, emit: (e: TrainerEvent) => void, signal: AbortSignal): Promise<void> {
  const started = performance.now()
  try {
    const backend = await initBackend()
    emit({ type: 'backend', name: backend.name })
    emit({ type: 'stageBegin', stage: 0, description: `features from ${plan.backbone} at ${plan.size} px (cached)` })
    const emb = await embed(
      plan.cacheDir,
      plan.images.map((i) => ({ sha256: i.sha256, path: i.path })),
      {
        backbone: plan.backbone,
        size: plan.size,
        views: plan.flip ? ['orig', 'flip'] : ['orig'],
        signal,
        onProgress: (done, total) => emit({ type: 'progress', phase: 'embedding', done, total })
      }
    )
    if (signal.aborted) return emit({ type: 'runEnd', status: 'cancelled' })
    const train = plan.images.filter((i) => i.part === 'train')
    const val = plan.images.filter((i) => i.part === 'validation')
    const trainSet = toSet(train, emb.vectors, emb.dim, true)
    const valSet = toSet(val, emb.vectors, emb.dim, false)
    const classes = plan.classes.length

    emit({ type: 'stageBegin', stage: 1, description: 'head on the frozen backbone' })
    const r = await trainStage1(trainSet, val.length ? valSet : null, classes, plan.classWeights, plan.head, {
      signal,
      onEpoch: (metrics) => emit({ type: 'epochEnd', metrics })
    })
    emit({ type: 'stageEnd', stage: 1 })
    if (r.cancelled) {
      r.model.dispose()
      return emit({ type: 'runEnd', status: 'cancelled' })
    }

    let confusion: number[][] | null = null
    const perEnvironment: RunSummary['perEnvironment'] = []
    let valAccuracy: number | null = null
    let valLoss: number | null = null
    if (val.length) {
      const ev = evaluateSet(r.model, valSet, classes)
      valAccuracy = ev.accuracy
      valLoss = ev.loss
      confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
      const envs = new Map<string, { n: number; hit: number }>()
      val.forEach((img, k) => {
        const row = ev.probs.subarray(k * classes, (k + 1) * classes)
        let arg = 0
        for (let c = 1; c < classes; c++) if (row[c] > row[arg]) arg = c
        confusion![img.label][arg]++
        const key = img.environment ?? '(none)'
        const e = envs.get(key) ?? { n: 0, hit: 0 }
        e.n++
        if (arg === img.label) e.hit++
        envs.set(key, e)
      })
      for (const [environment, e] of envs) perEnvironment.push({ environment, images: e.n, accuracy: e.hit / e.n })
    }

    mkdirSync(plan.runDir, { recursive: true })
    await saveLayersModel(r.model, join(plan.runDir, 'head'))
    r.model.dispose()
    const summary: RunSummary = {
      backend: backend.name,
      backbone: plan.backbone,
      size: plan.size,
      trainImages: train.length,
      validationImages: val.length,
      bestEpoch: r.bestEpoch,
      stoppedEarly: r.stoppedEarly,
      valAccuracy,
      valLoss,
      confusion,
      perEnvironment,
      embedding: { computed: emb.computed, cached: emb.cached, imagesPerSecond: emb.imagesPerSecond },
      durationMs: performance.now() - started
    }
    writeFileSync(join(plan.runDir, 'metrics.json'), JSON.stringify({ summary, history: r.history, classes: plan.classes }, null, 2))
    emit({ type: 'runEnd', status: 'completed', summary })
  } catch (err) {
    emit({ type: 'runEnd', status: 'failed', error: err instanceof Error ? err.message : String(err) })
  }
}
