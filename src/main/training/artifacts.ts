// A run's model as it leaves the trainer: backbone and head composed into ONE tfjs LayersModel
// (preprocessed pixels in, softmax out), with the class list and the preprocessing beside it.
// The same files make an export, so what the studio predicts and what `studio predict` or a
// plain @tensorflow/tfjs program predicts come from one model fed one way (loadPixels).
//
//   <dir>/model/model.json + weight shards   tfjs layers-model format
//   <dir>/labels.json                         { classes: [{ index, id, name }] }
//   <dir>/preprocessing.json                  PreprocessSpec + backbone + describeSpec text
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { getBackbone } from './backbones'
import { describeSpec, loadPixels, PIPELINE, type PreprocessSpec } from './preprocess'
import { saveLayersModel } from './save'

export interface RunModelParts {
  /** The feature extractor (frozen or fine-tuned); null for backbones without a model ('pixels'). */
  backbone: tf.LayersModel | null
  /** Features -> softmax; its first Dense already has the feature standardization folded in. */
  head: tf.LayersModel
  spec: PreprocessSpec
  backboneId: string
  /** In the order of the head's outputs. */
  classes: { id: number; name: string }[]
}

export interface LabelsFile {
  format: 'freezeframe-labels'
  version: 1
  classes: { index: number; id: number; name: string }[]
}

export interface PreprocessingFile {
  format: 'freezeframe-preprocessing'
  version: 1
  backbone: string
  spec: PreprocessSpec
  /** [batch, height, width, channels] the model takes. */
  inputShape: [null, number, number, 3]
  dtype: 'float32'
  layout: 'NHWC'
  pipeline: typeof PIPELINE
  description: string
}

export interface LoadedRunModel {
  model: tf.LayersModel
  spec: PreprocessSpec
  labels: LabelsFile
  preprocessing: PreprocessingFile
  /** The folder that held model.json. */
  modelDir: string
  dispose(): void
}

export interface FilePrediction {
  path: string
  /** Softmax over the classes, in labels.json order; null when the image could not be read. */
  probs: number[] | null
  /** Index of the largest probability; -1 when the image could not be read. */
  predicted: number
  error?: string
}

export const MODEL_DIR = 'model'
export const LABELS_FILE = 'labels.json'
export const PREPROCESSING_FILE = 'preprocessing.json'

/**
 * The 'pixels' backbone's features as layers: a 1x1 convolution with the BT.601 luma weights and
 * no bias is exactly sum_c pixel_c * luma_c per pixel, and Flatten of [size, size, 1] gives the
 * same row-major order as backbones.ts's reshape.
 */
function pixelsFeatureLayers(input: tf.SymbolicTensor, featureDim: number): tf.SymbolicTensor {
  const luma = tf.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, trainable: false, name: 'pixels_luma' })
  const grey = luma.apply(input) as tf.SymbolicTensor
  luma.setWeights([tf.tensor4d([0.299, 0.587, 0.114], [1, 1, 3, 1])])
  const flat = tf.layers.flatten({ name: 'pixels_flatten' }).apply(grey) as tf.SymbolicTensor
  if (flat.shape[1] !== featureDim) throw new Error(`pixels features are ${flat.shape[1]}-d, the head expects ${featureDim}`)
  return flat
}

/**
 * Backbone output -> head layers, as one functional model. The head's layers are applied anew
 * (shared, not copied), so their weights are the trained ones without a copy step.
 */
export function composeRunModel(parts: Pick<RunModelParts, 'backbone' | 'head' | 'spec' | 'backboneId'>): tf.LayersModel {
  const featureDim = parts.head.inputs[0].shape[1] as number
  let input: tf.SymbolicTensor
  let features: tf.SymbolicTensor
  if (parts.backbone) {
    input = parts.backbone.inputs[0]
    features = parts.backbone.outputs[0]
  } else {
    if (getBackbone(parts.backboneId).featureLayer !== null) throw new Error(`backbone ${parts.backboneId} needs its model to be saved`)
    input = tf.input({ shape: [parts.spec.size, parts.spec.size, 3], name: 'image' })
    features = pixelsFeatureLayers(input, featureDim)
  }
  const [, h, w, c] = input.shape
  if (h !== parts.spec.size || w !== parts.spec.size || c !== 3) {
    throw new Error(`the backbone takes [${input.shape.join(', ')}], the preprocessing produces ${parts.spec.size}x${parts.spec.size}x3`)
  }
  if (features.shape[1] !== featureDim) throw new Error(`the backbone gives ${features.shape[1]}-d features, the head takes ${featureDim}`)
  let x = features
  for (const layer of parts.head.layers) x = layer.apply(x) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: x, name: 'freezeframe_classifier' })
}

export function labelsFile(classes: { id: number; name: string }[]): LabelsFile {
  return { format: 'freezeframe-labels', version: 1, classes: classes.map((c, index) => ({ index, id: c.id, name: c.name })) }
}

export function preprocessingFile(spec: PreprocessSpec, backboneId: string): PreprocessingFile {
  return {
    format: 'freezeframe-preprocessing',
    version: 1,
    backbone: backboneId,
    spec: { ...spec },
    inputShape: [null, spec.size, spec.size, 3],
    dtype: 'float32',
    layout: 'NHWC',
    pipeline: { ...PIPELINE },
    description: describeSpec(spec)
  }
}

/** Moves `from` onto `to`, replacing what was there. */
function replaceWith(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true })
  renameSync(from, to)
}

/**
 * Writes <runDir>/model/, labels.json and preprocessing.json. Everything is written into a
 * temporary folder first; the two JSON files are renamed into place, then model/ last, so a
 * run dir with model/ always has a complete set and a failure leaves no partial model.
 */
export async function saveRunModel(runDir: string, parts: RunModelParts): Promise<void> {
  const outputs = parts.head.outputs[0].shape[1]
  if (outputs !== parts.classes.length) throw new Error(`the head has ${outputs} outputs but ${parts.classes.length} classes were given`)
  const model = composeRunModel(parts)
  mkdirSync(runDir, { recursive: true })
  const tmp = join(runDir, `.model-${randomBytes(4).toString('hex')}.tmp`)
  try {
    await saveLayersModel(model, join(tmp, MODEL_DIR))
    writeJson(join(tmp, LABELS_FILE), labelsFile(parts.classes))
    writeJson(join(tmp, PREPROCESSING_FILE), preprocessingFile(parts.spec, parts.backboneId))
    rmSync(join(runDir, MODEL_DIR), { recursive: true, force: true })
    replaceWith(join(tmp, LABELS_FILE), join(runDir, LABELS_FILE))
    replaceWith(join(tmp, PREPROCESSING_FILE), join(runDir, PREPROCESSING_FILE))
    renameSync(join(tmp, MODEL_DIR), join(runDir, MODEL_DIR))
  } finally {
    // Only the composed graph is new: its layers belong to (and are disposed with) backbone and head.
    rmSync(tmp, { recursive: true, force: true })
  }
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n')
}

/** model.json's folder: `dir/model/` (run or export folder) or `dir` itself. */
export function findModelDir(dir: string): string {
  if (existsSync(join(dir, MODEL_DIR, 'model.json'))) return join(dir, MODEL_DIR)
  if (existsSync(join(dir, 'model.json'))) return dir
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist`)
  throw new Error(`${dir} holds no model: expected ${join(dir, MODEL_DIR, 'model.json')} (a run or export folder) or ${join(dir, 'model.json')}`)
}

function readJson<T>(file: string, what: string): T {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw new Error(`${what} ${file} is not valid JSON: ${(err as Error).message}`)
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 }

function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1)
  const dtype = spec.quantization?.dtype ?? spec.dtype
  const bytes = DTYPE_BYTES[dtype]
  if (!bytes) throw new Error(`weight ${spec.name} has an unknown dtype ${dtype}`)
  return count * bytes
}

interface ModelJson {
  modelTopology?: unknown
  weightsManifest?: { paths?: unknown; weights?: tf.io.WeightsManifestEntry[] }[]
  format?: string
}

/**
 * A tfjs IOHandler over a folder with model.json and its shards, for plain @tensorflow/tfjs in
 * Node (which has no file:// loader). Every shard is checked before any weight is decoded, so a
 * missing or short shard is named instead of surfacing as a shape error.
 */
export function fileModelHandler(modelDir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const jsonFile = join(modelDir, 'model.json')
      const json = readJson<ModelJson>(jsonFile, 'model file')
      if (!json.modelTopology || typeof json.modelTopology !== 'object') throw new Error(`model file ${jsonFile} has no modelTopology`)
      if (!Array.isArray(json.weightsManifest)) throw new Error(`model file ${jsonFile} has no weightsManifest`)
      const specs: tf.io.WeightsManifestEntry[] = []
      const buffers: Buffer[] = []
      json.weightsManifest.forEach((group, g) => {
        if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) throw new Error(`model file ${jsonFile}: weightsManifest[${g}] needs "paths" and "weights" arrays`)
        const parts = group.paths.map((p) => {
          if (typeof p !== 'string' || p.includes('..') || p.startsWith('/')) throw new Error(`model file ${jsonFile}: weightsManifest[${g}] lists an unsafe shard path ${JSON.stringify(p)}`)
          const shard = join(modelDir, p)
          if (!existsSync(shard)) throw new Error(`model folder ${modelDir} is missing the weight shard ${p} that model.json lists`)
          return readFileSync(shard)
        })
        const got = parts.reduce((a, b) => a + b.length, 0)
        const want = group.weights.reduce((a, s) => a + specBytes(s), 0)
        if (got !== want) throw new Error(`model folder ${modelDir}: weight shards ${group.paths.join(', ')} hold ${got} bytes, model.json expects ${want} (a shard is truncated or from another model)`)
        buffers.push(...parts)
        specs.push(...group.weights)
      })
      const all = Buffer.concat(buffers)
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        format: json.format,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)
      }
    }
  }
}

function checkSpecFile(p: PreprocessingFile, file: string): PreprocessSpec {
  const s = p?.spec
  if (!s || typeof s.size !== 'number' || !['minus1to1', 'zero1', 'imagenet'].includes(s.normalization) || !['crop', 'pad'].includes(s.resize)) {
    throw new Error(`${file} does not describe the preprocessing (needs spec.size, spec.normalization, spec.resize)`)
  }
  return { size: s.size, normalization: s.normalization, resize: s.resize, colour: 'rgb' }
}

/** Loads a run folder or an export folder (or a bare model folder with the JSON files beside it). */
export async function loadRunModel(dir: string): Promise<LoadedRunModel> {
  const modelDir = findModelDir(dir)
  const metaDir = existsSync(join(modelDir, LABELS_FILE)) ? modelDir : basename(modelDir) === MODEL_DIR ? dirname(modelDir) : modelDir
  const labelsPath = join(metaDir, LABELS_FILE)
  const prepPath = join(metaDir, PREPROCESSING_FILE)
  const labels = readJson<LabelsFile>(labelsPath, 'labels file')
  if (!Array.isArray(labels?.classes) || labels.classes.some((c) => typeof c?.name !== 'string')) throw new Error(`labels file ${labelsPath} needs a "classes" list of { index, id, name }`)
  const preprocessing = readJson<PreprocessingFile>(prepPath, 'preprocessing file')
  const spec = checkSpecFile(preprocessing, prepPath)
  let model: tf.LayersModel
  try {
    model = await tf.loadLayersModel(fileModelHandler(modelDir))
  } catch (err) {
    const msg = (err as Error).message
    throw new Error(msg.includes(modelDir) ? msg : `model ${join(modelDir, 'model.json')} cannot be built: ${msg}`)
  }
  const outputs = (model.outputs[0].shape as number[])[1]
  const [, h, w] = model.inputs[0].shape
  if (outputs !== labels.classes.length || h !== spec.size || w !== spec.size) {
    model.dispose()
    throw new Error(`model in ${modelDir} takes ${h}x${w} and has ${outputs} outputs, but ${prepPath} says ${spec.size} px and ${labelsPath} lists ${labels.classes.length} classes`)
  }
  return { model, spec, labels, preprocessing, modelDir, dispose: () => model.dispose() }
}

export interface PredictOptions {
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
  /** Images per forward pass; default 32. */
  batchSize?: number
}

/**
 * Runs the model on image files, prepared with the same loadPixels as training. An unreadable
 * image gets its error and the others still run; a cancel stops between batches with what is done.
 */
export async function predictFiles(model: tf.LayersModel, spec: PreprocessSpec, paths: string[], opts: PredictOptions = {}): Promise<FilePrediction[]> {
  const out: FilePrediction[] = []
  const batch = Math.max(1, opts.batchSize ?? 32)
  const stride = spec.size * spec.size * 3
  for (let s = 0; s < paths.length; s += batch) {
    if (opts.signal?.aborted) break
    const chunk = paths.slice(s, s + batch)
    const loaded = await Promise.all(chunk.map((p) => loadPixels(p, spec).then((px) => ({ px }), (err: Error) => ({ err: describeReadError(p, err) }))))
    const ok = loaded.flatMap((l, k) => ('px' in l ? [k] : []))
    const probs = ok.length ? await runBatch(model, ok.map((k) => (loaded[k] as { px: Float32Array }).px), stride, spec.size) : new Float32Array(0)
    const classes = (model.outputs[0].shape as number[])[1]
    const byChunk = new Map(ok.map((k, j) => [k, Array.from(probs.subarray(j * classes, (j + 1) * classes))]))
    chunk.forEach((path, k) => {
      const p = byChunk.get(k)
      const l = loaded[k]
      out.push(p ? { path, probs: p, predicted: argmax(p) } : { path, probs: null, predicted: -1, error: 'err' in l ? l.err : 'not read' })
    })
    opts.onProgress?.(out.length, paths.length)
  }
  return out
}

async function runBatch(model: tf.LayersModel, pixels: Float32Array[], stride: number, size: number): Promise<Float32Array> {
  const flat = new Float32Array(pixels.length * stride)
  pixels.forEach((p, i) => flat.set(p, i * stride))
  const y = tf.tidy(() => model.predict(tf.tensor4d(flat, [pixels.length, size, size, 3])) as tf.Tensor)
  try {
    return (await y.data()) as Float32Array
  } finally {
    y.dispose()
  }
}

function describeReadError(path: string, err: Error): string {
  let what = err.message.split('\n')[0]
  try {
    if (statSync(path).isDirectory()) what = 'is a folder, not an image'
  } catch {
    what = 'file not found'
  }
  return `${path}: cannot read the image (${what})`
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i
  return best
}
