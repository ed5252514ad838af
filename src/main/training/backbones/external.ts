// Backbones whose weights live outside the npm packages: downloaded ImageNet models (catalog.ts)
// and a user's own tfjs model folders. Registered folders are kept in one JSON file in the user's
// config folder, so any thread (the embedding workers) resolves their ids the same way.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { defaultConfigDir } from '../../project/recent'
import { downloadedDir, downloadModel, verifyDownload, type DownloadOptions } from '../download'
import { functionExtractor, modelExtractor, type FeatureExtractor } from './extractor'
import { blockBoundaries, folderArtifacts, loadLayersFeatureModel, readModelFolder, type ModelFolder } from './model-folder'
import type { Normalization } from '../preprocess'
import type { Backbone, BackboneStatus } from './types'

// ---- Loading ------------------------------------------------------------------------------

async function layersExtractor(b: Backbone, folder: ModelFolder, size: number, sourceLayer: string | undefined): Promise<FeatureExtractor> {
  const built = await loadLayersFeatureModel(folder, { size, featureLayer: sourceLayer })
  const problem =
    built.featureDim !== b.featureDim
      ? `gives ${built.featureDim}-d features, the registry says ${b.featureDim}`
      : b.blocks.filter((n) => !built.model.layers.some((l) => l.name === n)).map((n) => `has no block layer "${n}"`)[0]
  if (problem) {
    built.model.dispose()
    throw new Error(`${join(folder.dir, 'model.json')} ${problem}: it is not the model backbone ${b.id} was registered with; register it again`)
  }
  return modelExtractor(built.model, size)
}

async function graphExtractor(b: Backbone, folder: ModelFolder, size: number): Promise<FeatureExtractor> {
  const graph = await tf.loadGraphModel(tf.io.fromMemory(folderArtifacts(folder)))
  return functionExtractor(
    size,
    (batch) => {
      const out = graph.predict(batch) as tf.Tensor
      if (out.size !== batch.shape[0] * b.featureDim) throw new Error(`${b.id} gave output of shape [${out.shape.join(', ')}], expected [${batch.shape[0]}, ${b.featureDim}]`)
      return out.reshape([batch.shape[0], b.featureDim]) as tf.Tensor2D
    },
    () => graph.dispose()
  )
}

/** The model folder of an external backbone, checked (a download re-hashed), or a clear error. */
function folderOf(b: Backbone): ModelFolder {
  const src = b.source!
  if (src.kind === 'download') {
    const dir = downloadedDir(src.download)
    if (!dir) throw new Error(`backbone ${b.id} needs download: its weights are fetched from ${src.download.url} on first use`)
    verifyDownload(dir, src.download)
    return readModelFolder(dir)
  }
  if (src.kind === 'folder') return readModelFolder(src.dir)
  throw new Error(`backbone ${b.id} has no model folder`)
}

export async function loadExternal(b: Backbone, size: number): Promise<FeatureExtractor> {
  const src = b.source!
  const folder = folderOf(b)
  const sourceLayer = src.kind === 'bundled' ? undefined : src.sourceLayer
  return folder.format === 'graph-model' ? graphExtractor(b, folder, size) : layersExtractor(b, folder, size, sourceLayer)
}

export function externalStatus(b: Backbone): BackboneStatus {
  const src = b.source
  if (!src || src.kind === 'bundled') return 'ready'
  if (src.kind === 'download') return downloadedDir(src.download) ? 'ready' : 'needs download'
  return existsSync(join(src.dir, 'model.json')) ? 'ready' : 'missing'
}

/** Downloads a download backbone's weights if they are not cached yet; returns its folder. */
export async function ensureDownloaded(b: Backbone, opts: Omit<DownloadOptions, 'root'> = {}): Promise<string> {
  const src = b.source
  if (src?.kind !== 'download') throw new Error(`backbone ${b.id} is not downloaded from anywhere`)
  return downloadedDir(src.download) ?? downloadModel(src.download, opts)
}

// ---- A user's own folders -----------------------------------------------------------------

export const REGISTRY_FILE = 'backbones.json'

export interface RegisterFolderOptions {
  /** Layer to take features from; default the last pooled/flattened layer, else the last convolutional map. */
  featureLayer?: string
  /** Input size when the model does not fix one. */
  size?: number
  name?: string
  /** Offer it in every project (default) or only in this project folder. */
  project?: string
  /** What its inputs must be scaled to; model.json does not say. Default 'zero1' (pixel / 255). */
  normalization?: Normalization
}

function registryFile(): string {
  return join(defaultConfigDir(), REGISTRY_FILE)
}

let memo: { file: string; mtimeMs: number; size: number; entries: Backbone[] } | null = null

/** Registered folder backbones, read fresh when the file changed (cheap enough for every lookup). */
export function registeredFolders(): Backbone[] {
  const file = registryFile()
  if (!existsSync(file)) return []
  const st = statSync(file)
  if (memo && memo.file === file && memo.mtimeMs === st.mtimeMs && memo.size === st.size) return memo.entries
  let entries: Backbone[]
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { backbones?: Backbone[] }
    entries = Array.isArray(json.backbones) ? json.backbones : []
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); fix or delete it to reset the registered backbone folders`)
  }
  memo = { file, mtimeMs: st.mtimeMs, size: st.size, entries }
  return entries
}

function saveRegistered(entries: Backbone[]): void {
  const file = registryFile()
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify({ backbones: entries }, null, 2))
  renameSync(tmp, file)
  memo = null
}

function folderId(dir: string, layer: string): string {
  return `folder-${createHash('sha256').update(`${dir}\n${layer}`).digest('hex').slice(0, 10)}`
}

/**
 * Validates a tfjs LayersModel folder (model.json + shards), builds it once to find the feature
 * layer, its size and the block boundaries, and registers it. Re-registering replaces the entry.
 */
export async function registerFolderBackbone(dirIn: string, opts: RegisterFolderOptions = {}): Promise<Backbone> {
  const dir = resolve(dirIn)
  const folder = readModelFolder(dir)
  if (folder.format !== 'layers-model') {
    throw new Error(`${join(dir, 'model.json')} is a ${folder.format}; a folder backbone must be a LayersModel (tf.LayersModel.save or the converter's keras output) so it can be fine-tuned`)
  }
  const built = await loadLayersFeatureModel(folder, { size: opts.size, featureLayer: opts.featureLayer })
  try {
    const blocks = blockBoundaries(built.model, built.featureLayer)
    const entry: Backbone = {
      id: folderId(dir, built.featureLayer),
      name: opts.name ?? `${basename(dir)} (your model)`,
      provenance: `Your own tfjs LayersModel in ${dir}; features from its layer ${built.featureLayer}${built.outputLayer !== built.featureLayer ? ', globally average-pooled' : ''}. Its origin and training data are whatever you know of them.`,
      sizes: [built.inputSize],
      defaultSize: built.inputSize,
      // A user model's normalisation cannot be read from model.json; 0..1 is the tfjs default (tf.browser.fromPixels / 255).
      normalization: opts.normalization ?? 'zero1',
      featureDim: built.featureDim,
      featureLayer: built.outputLayer,
      fineTunable: blocks.length > 0,
      blocks,
      source: { kind: 'folder', dir, sourceLayer: built.featureLayer, scope: opts.project ? { project: resolve(opts.project) } : 'user' }
    }
    saveRegistered([...registeredFolders().filter((b) => b.id !== entry.id), entry])
    return entry
  } finally {
    built.model.dispose()
  }
}

export function unregisterFolderBackbone(id: string): boolean {
  const entries = registeredFolders()
  const kept = entries.filter((b) => b.id !== id)
  if (kept.length === entries.length) return false
  saveRegistered(kept)
  return true
}

/** Whether a registered folder is offered in a project (user-wide ones everywhere). */
export function offeredIn(b: Backbone, projectDir: string | null): boolean {
  const src = b.source
  if (src?.kind !== 'folder' || src.scope === 'user') return true
  return projectDir !== null && resolve(projectDir) === src.scope.project
}
