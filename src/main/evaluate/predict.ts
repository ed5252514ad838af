// `studio predict`: an exported (or run) model folder and images in, class probabilities out,
// with no project. The model, labels and preprocessing all come from the folder.
import { readdirSync, statSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import type { PredictionRow } from '../../shared/evaluate'
import { loadRunModel, predictFiles, type PredictOptions } from '../training/artifacts'
import { IMAGE_EXTENSIONS } from '../dataset/sources/folder'
import { ensureBackend } from './runs'

/** Files as given, folders walked (sorted, images by extension); a missing path is an error. */
export function expandImageInputs(inputs: string[]): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith('.')) continue
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p)
    }
  }
  for (const raw of inputs) {
    const p = resolve(raw)
    let st
    try {
      st = statSync(p)
    } catch {
      throw new Error(`${raw}: no such file or folder`)
    }
    if (st.isDirectory()) walk(p)
    else out.push(p)
  }
  return out
}

export async function predictWithModelDir(modelDir: string, inputs: string[], opts: PredictOptions = {}): Promise<{ classes: string[]; rows: PredictionRow[] }> {
  const files = expandImageInputs(inputs)
  await ensureBackend()
  const loaded = await loadRunModel(modelDir)
  try {
    const classes = loaded.labels.classes.map((c) => c.name)
    const preds = await predictFiles(loaded.model, loaded.spec, files, opts)
    return {
      classes,
      rows: preds.map((p) =>
        p.probs
          ? { path: p.path, predicted: classes[p.predicted], probs: Object.fromEntries(classes.map((c, i) => [c, p.probs![i]])) }
          : { path: p.path, predicted: null, probs: null, error: p.error }
      )
    }
  } finally {
    loaded.dispose()
  }
}
