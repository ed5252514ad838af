// A TensorFlow.js model saved as a folder (model.json + binary weight shards), as the converter,
// tf.LayersModel.save('file://...') and tfhub/Kaggle downloads produce it. Everything is checked
// before tfjs sees it, so a broken folder gives an error naming the file and what is wrong with
// it, rather than a stack trace from deep inside the loader.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'

export type ModelFormat = 'layers-model' | 'graph-model'

export interface ModelFolder {
  dir: string
  format: ModelFormat
  json: tf.io.ModelJSON
  /** Weight shard file names, as the manifest lists them. */
  shards: string[]
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8, string: 0 }

export class ModelFolderError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`)
    this.name = 'ModelFolderError'
  }
}

function entryBytes(w: tf.io.WeightsManifestEntry, file: string): number {
  const count = w.shape.reduce((a, b) => a * b, 1)
  const dtype = w.quantization?.dtype ?? w.dtype
  const size = BYTES[dtype]
  if (size === undefined || size === 0) throw new ModelFolderError(file, `weight "${w.name}" has dtype ${dtype}, which this loader does not read`)
  return count * size
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Converted Keras files wrap the model in "model_config"; tfjs's own save writes it bare. */
function kerasModel(json: tf.io.ModelJSON): { class_name: string; config: unknown } | null {
  const topology = json.modelTopology as Record<string, unknown>
  const model = isRecord(topology.model_config) ? topology.model_config : topology
  return typeof model.class_name === 'string' && model.config !== undefined ? (model as { class_name: string; config: unknown }) : null
}

/** Parses model.json and checks its shape: a topology, a format we know, a well-formed weights manifest. */
function parseModelJson(file: string): tf.io.ModelJSON {
  if (!existsSync(file)) throw new ModelFolderError(file, 'not found (a tfjs model folder holds model.json and its weight shards)')
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ModelFolderError(file, `is not valid JSON (${(err as Error).message})`)
  }
  if (!isRecord(json)) throw new ModelFolderError(file, 'must hold a JSON object')
  if (!isRecord(json.modelTopology)) throw new ModelFolderError(file, 'has no "modelTopology" object')
  const manifest = json.weightsManifest
  if (!Array.isArray(manifest) || manifest.length === 0) throw new ModelFolderError(file, 'has no "weightsManifest" list')
  manifest.forEach((group, g) => {
    if (!isRecord(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights) || group.paths.some((p) => typeof p !== 'string')) {
      throw new ModelFolderError(file, `weightsManifest[${g}] needs "paths" (file names) and "weights" (entries) lists`)
    }
    group.weights.forEach((w, i) => {
      if (!isRecord(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new ModelFolderError(file, `weightsManifest[${g}].weights[${i}] needs "name", "shape" and "dtype"`)
      }
    })
  })
  return json as unknown as tf.io.ModelJSON
}

function formatOf(json: tf.io.ModelJSON, file: string): ModelFormat {
  const topology = json.modelTopology as Record<string, unknown>
  if (json.format === 'graph-model' || Array.isArray(topology.node)) return 'graph-model'
  if (json.format === undefined || json.format === 'layers-model') {
    if (!isRecord(kerasModel(json))) throw new ModelFolderError(file, 'its modelTopology is not a Keras/LayersModel topology (no "model_config", no "class_name" + "config")')
    return 'layers-model'
  }
  throw new ModelFolderError(file, `has format "${String(json.format)}"; expected "layers-model" or "graph-model"`)
}

/** Every shard present, and each group's shards exactly as long as its weights need. */
function checkShards(dir: string, json: tf.io.ModelJSON): string[] {
  const shards: string[] = []
  for (const group of json.weightsManifest) {
    let have = 0
    for (const p of group.paths) {
      const file = join(dir, p)
      if (!existsSync(file)) throw new ModelFolderError(file, 'weight shard listed in model.json is missing')
      have += statSync(file).size
      shards.push(p)
    }
    const need = group.weights.reduce((a, w) => a + entryBytes(w, join(dir, 'model.json')), 0)
    if (have !== need) {
      throw new ModelFolderError(join(dir, group.paths[0]), `weight shards ${group.paths.join(', ')} hold ${have} bytes; model.json describes ${need}`)
    }
  }
  return shards
}

/** Reads and validates a model folder without building anything. */
export function readModelFolder(dir: string): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFolderError(dir, 'is not a folder')
  const file = join(dir, 'model.json')
  const json = parseModelJson(file)
  const format = formatOf(json, file)
  return { dir, format, json, shards: checkShards(dir, json) }
}

/** The folder's artifacts (topology + concatenated weights) for tf.io.fromMemory. */
export function folderArtifacts(folder: ModelFolder, json: tf.io.ModelJSON = folder.json): tf.io.ModelArtifacts {
  const specs: tf.io.WeightsManifestEntry[] = []
  const buffers: Buffer[] = []
  for (const group of folder.json.weightsManifest) {
    specs.push(...group.weights)
    for (const p of group.paths) buffers.push(readFileSync(join(folder.dir, p)))
  }
  const bytes = Buffer.concat(buffers)
  return tf.io.getModelArtifactsForJSONSync(json, specs, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
}

/** Keras layer classes whose output is one vector per image: where features usually are. */
const POOLED = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten', 'GlobalAveragePooling1D', 'GlobalMaxPooling1D'])
export const ADDED_POOL = 'feature_pool'

interface KerasLayerJson {
  class_name: string
  config: Record<string, unknown>
}

function topologyLayers(json: tf.io.ModelJSON): KerasLayerJson[] {
  const config = kerasModel(json)?.config
  const layers = Array.isArray(config) ? config : isRecord(config) && Array.isArray(config.layers) ? config.layers : []
  return layers as KerasLayerJson[]
}

/** A copy of model.json whose input is size x size (convolution weights do not depend on it). */
function resizedInput(json: tf.io.ModelJSON, size: number, file: string): tf.io.ModelJSON {
  const copy = structuredClone(json)
  const withShape = topologyLayers(copy).find((l) => Array.isArray(l.config.batch_input_shape))
  const shape = withShape?.config.batch_input_shape as (number | null)[] | undefined
  if (!shape || shape.length !== 4) throw new ModelFolderError(file, 'its model has no 4-d image input (batch, height, width, channels)')
  withShape!.config.batch_input_shape = [null, size, size, shape[3]]
  return copy
}

/** The input size a model was saved with: a number for square inputs, null when it takes any size. */
export function savedInputSize(json: tf.io.ModelJSON, file: string): number | null {
  const withShape = topologyLayers(json).find((l) => Array.isArray(l.config.batch_input_shape))
  const shape = withShape?.config.batch_input_shape as (number | null)[] | undefined
  if (!shape || shape.length !== 4) throw new ModelFolderError(file, 'its model has no 4-d image input (batch, height, width, channels)')
  if (shape[3] !== 3) throw new ModelFolderError(file, `its input has ${shape[3]} channels; the studio feeds RGB (3)`)
  if (shape[1] !== shape[2]) throw new ModelFolderError(file, `its input is ${shape[1]}x${shape[2]}; only square inputs are supported`)
  return shape[1]
}

/** The layer whose output becomes the features: the one asked for, else the last pooled/flattened one, else the last image-shaped one. */
function pickFeatureLayer(model: tf.LayersModel, wanted: string | undefined, file: string): tf.layers.Layer {
  if (wanted) {
    const found = model.layers.find((l) => l.name === wanted)
    if (!found) throw new ModelFolderError(file, `has no layer "${wanted}"; its last layers are ${model.layers.slice(-6).map((l) => l.name).join(', ')}`)
    return found
  }
  const layers = [...model.layers].reverse()
  const pooled = layers.find((l) => POOLED.has(l.getClassName()))
  const spatial = layers.find((l) => (l.outputShape as number[]).length === 4)
  const found = pooled ?? spatial
  if (!found) throw new ModelFolderError(file, 'has no pooled, flattened or convolutional layer to take features from; name one')
  return found
}

/** Layers after which nothing below is used again: cutting there leaves one tensor between the halves. */
export function cutPoints(model: tf.LayersModel): string[] {
  const index = new Map(model.layers.map((l, i) => [l, i]))
  // For each layer, the lowest-indexed layer it reads from.
  const lowestInput = model.layers.map((l) => {
    const inbound = l.inboundNodes.flatMap((n) => n.inboundLayers)
    return inbound.length ? Math.min(...inbound.map((x) => index.get(x) ?? Infinity)) : Infinity
  })
  const cuts: string[] = []
  let reach = Infinity // lowest layer read by anything at or after i + 1
  for (let i = model.layers.length - 2; i >= 0; i--) {
    reach = Math.min(reach, lowestInput[i + 1])
    if (reach >= i && model.layers[i].getClassName() !== 'InputLayer') cuts.unshift(model.layers[i].name)
  }
  return cuts
}

/**
 * Block ends for unfreezing, bottom to top, at most `max` spread evenly: cut points up to the
 * feature layer, each closing a stretch that holds at least one layer with weights.
 */
export function blockBoundaries(model: tf.LayersModel, featureLayer: string, max = 16): string[] {
  const position = new Map(model.layers.map((l, i) => [l.name, i]))
  const end = position.get(featureLayer) ?? model.layers.length - 1
  const cuts: string[] = []
  let from = 0
  for (const name of cutPoints(model)) {
    const i = position.get(name)!
    if (i > end) break
    if (model.layers.slice(from, i + 1).some((l) => l.weights.length > 0)) {
      cuts.push(name)
      from = i + 1
    }
  }
  if (cuts.length <= max) return cuts
  return Array.from({ length: max }, (_, k) => cuts[Math.round(((k + 1) * cuts.length) / max) - 1])
}

export interface LayersFeatureModel {
  model: tf.LayersModel
  /** The layer the features were taken from (before the added pool, if any). */
  featureLayer: string
  /** The model's last layer: featureLayer, or the global average pool added after it. */
  outputLayer: string
  featureDim: number
  inputSize: number
}

/**
 * Builds input -> features from a LayersModel folder, at `size` px when given (else the saved
 * size), all frozen. A 4-d feature layer gets a global average pool added after it.
 */
export async function loadLayersFeatureModel(folder: ModelFolder, opts: { size?: number; featureLayer?: string } = {}): Promise<LayersFeatureModel> {
  const file = join(folder.dir, 'model.json')
  const saved = savedInputSize(folder.json, file)
  const size = opts.size ?? saved
  if (!size) throw new ModelFolderError(file, 'its input size is not fixed; give one')
  const json = size === saved ? folder.json : resizedInput(folder.json, size, file)
  let full: tf.LayersModel
  try {
    full = await tf.loadLayersModel(tf.io.fromMemory(folderArtifacts(folder, json)), { strict: true })
  } catch (err) {
    throw new ModelFolderError(file, `tfjs could not build it: ${(err as Error).message.split('\n')[0]}`)
  }
  try {
    const layer = pickFeatureLayer(full, opts.featureLayer, file)
    const rank = (layer.outputShape as number[]).length
    if (rank !== 2 && rank !== 4) throw new ModelFolderError(file, `layer "${layer.name}" gives ${rank}-d output; features need a vector (2-d) or an image map (4-d)`)
    const pooled = rank === 4 ? (tf.layers.globalAveragePooling2d({ name: ADDED_POOL }).apply(layer.output) as tf.SymbolicTensor) : (layer.output as tf.SymbolicTensor)
    const model = tf.model({ inputs: full.inputs, outputs: pooled, name: `${full.name}_features` })
    // Layers above the features (a classifier) are not part of the new model: free their weights.
    for (const l of full.layers) if (!model.layers.includes(l)) l.dispose()
    for (const l of model.layers) l.trainable = false
    const featureDim = pooled.shape[1]
    if (!featureDim) throw new ModelFolderError(file, `layer "${layer.name}" has no fixed feature size`)
    return { model, featureLayer: layer.name, outputLayer: model.layers.at(-1)!.name, featureDim, inputSize: size }
  } catch (err) {
    full.dispose()
    throw err
  }
}
