// The feature extractors the studio can put a head on. An entry is plain data (the UI lists it,
// a model card quotes its provenance); its loader lives in LOADERS under the same id. Adding a
// backbone means one BACKBONES entry plus one loader, and the registry test covers it.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { freezeAll, functionExtractor, modelExtractor, type FeatureExtractor } from './backbones/extractor'
import { DOWNLOADABLE, KERAS_MOBILENET_V2_BLOCKS } from './backbones/catalog'
import { ensureDownloaded, externalStatus, loadExternal, offeredIn, registeredFolders } from './backbones/external'
import { FACE_EXPRESSION_BLOCKS, loadFaceExpressionNet } from './backbones/face-expression'
import type { Backbone, BackboneStatus } from './backbones/types'
import type { DownloadOptions } from './download'
import type { PreprocessSpec, ResizePolicy } from './preprocess'

export type { FeatureExtractor } from './backbones/extractor'
export type { Backbone, BackboneSource, BackboneStatus } from './backbones/types'
export { registerFolderBackbone, unregisterFolderBackbone } from './backbones/external'

export const BACKBONES: Backbone[] = [
  {
    id: 'mobilenetv2-nsfwjs',
    name: 'MobileNetV2 (nsfwjs)',
    provenance:
      'MobileNetV2 (alpha 1.0) weights shipped, quantised to 8 bits, in the nsfwjs 4.4.0 npm package: Keras ImageNet ' +
      'weights that its authors (GantMan/nsfw_model) then trained at 224 px on pixels scaled to 0..1 to sort NSFW ' +
      'categories (drawings, hentai, neutral, porn, sexy), so its features serve that task, not ImageNet classification.',
    sizes: [96, 128, 160, 224],
    // 128 px: a third of 224's compute per image, which is what makes fine-tuning bearable on wasm.
    defaultSize: 128,
    // Not Keras MobileNetV2's usual -1..1: nsfwjs's infer() divides by 255 and nothing else, and
    // the nsfw_model training scripts rescaled by 1/255, so the shipped weights expect 0..1.
    normalization: 'zero1',
    featureDim: 1280,
    featureLayer: 'feature_pool',
    fineTunable: true,
    blocks: KERAS_MOBILENET_V2_BLOCKS
  },
  {
    id: 'face-expression-faceapi',
    name: 'Face expression net (face-api)',
    provenance:
      "The feature extractor of FaceExpressionNet shipped in the @vladmandic/face-api 1.7.15 npm package " +
      '(model/face_expression_model.bin, weights quantised to 8 bits; originally justadudewhohacks/face-api.js), ' +
      'whose code runs it on 112 px face crops to tell 7 expressions apart (neutral, happy, sad, angry, fearful, ' +
      'disgusted, surprised; the package does not document its training data); rebuilt here as Keras layers around ' +
      "those weights, with face-api's mean-RGB subtraction as its first layer and its 7-way classifier left out.",
    sizes: [96, 112, 128],
    // The size its weights were trained at, and the only one where features equal the library's.
    defaultSize: 112,
    // Pixels / 255 in; the model's own first layer, face_mean_rgb, then subtracts face-api's mean
    // RGB / 255, which together is face-api's (pixel - mean) / 255.
    normalization: 'zero1',
    featureDim: 256,
    featureLayer: 'feature_pool',
    fineTunable: true,
    blocks: FACE_EXPRESSION_BLOCKS
  },
  {
    id: 'pixels',
    name: 'Raw pixels (24x24 grey)',
    provenance:
      'No weights: the image downsampled to 24x24 and averaged to grey (ITU-R BT.601 luma), as a baseline that any ' +
      'pretrained backbone has to beat.',
    sizes: [24],
    defaultSize: 24,
    normalization: 'zero1',
    featureDim: 24 * 24,
    featureLayer: null,
    fineTunable: false,
    blocks: []
  },
  ...DOWNLOADABLE
]

const LUMA = [0.299, 0.587, 0.114]

function pixelsExtractor(size: number): FeatureExtractor {
  return functionExtractor(size, (batch) => batch.mul(tf.tensor1d(LUMA)).sum(3).reshape([batch.shape[0], size * size]) as tf.Tensor2D)
}

/** The files nsfwjs ships: a Keras 2.2.4 topology + manifest, and the weights as one base64 string. */
function nsfwjsArtifacts(): { topology: KerasModelJson; specs: tf.io.WeightsManifestEntry[]; weights: ArrayBuffer } {
  const require = createRequire(import.meta.url)
  // The package's exports map hides dist/models, so find it from the entry point it does export.
  const dir = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2')
  const json = require(join(dir, 'model.min.js')) as { modelTopology: KerasModelJson; weightsManifest: tf.io.WeightsManifestConfig }
  const shardFile = join(dir, 'group1-shard1of1.min.js')
  const shard = require(shardFile) as unknown
  // A 3.5 MB string nobody needs once decoded: keep it out of the module cache.
  delete require.cache[shardFile]
  if (typeof shard !== 'string') throw new Error(`${shardFile} did not export the weights as a base64 string`)
  const bytes = Buffer.from(shard, 'base64')
  return {
    topology: json.modelTopology,
    specs: json.weightsManifest.flatMap((group) => group.weights),
    weights: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  }
}

interface KerasLayerJson {
  name: string
  class_name: string
  config: Record<string, unknown>
  inbound_nodes: unknown[]
}

interface KerasModelJson {
  model_config: { class_name: string; config: { name: string; layers: KerasLayerJson[]; input_layers: unknown[]; output_layers: unknown[] } }
  [key: string]: unknown
}

/**
 * nsfwjs's network ends in AveragePooling2D(7x7) + Flatten + its NSFW classifier, which only fits
 * a 224 px input. The topology is rewritten before anything is built: the input resized, every
 * layer after out_relu dropped, and a global average pool added as the output. At 224 px that
 * pool computes exactly what the 7x7 pool + Flatten did; at other sizes it still gives 1280-d.
 * Convolution weights do not depend on spatial size, so the shipped weights load unchanged.
 */
function nsfwjsTopologyAt(topology: KerasModelJson, size: number, featureLayer: string): KerasModelJson {
  const copy = structuredClone(topology)
  const config = copy.model_config.config
  const cut = config.layers.findIndex((l) => l.name === 'out_relu')
  if (cut < 0 || config.layers[0].class_name !== 'InputLayer') throw new Error('the nsfwjs MobileNetV2 topology is not the one this loader knows')
  config.layers = config.layers.slice(0, cut + 1)
  config.layers[0].config.batch_input_shape = [null, size, size, 3]
  config.layers.push({
    name: featureLayer,
    class_name: 'GlobalAveragePooling2D',
    config: { name: featureLayer, trainable: true, data_format: 'channels_last' },
    inbound_nodes: [[['out_relu', 0, 0, {}]]]
  })
  config.output_layers = [[featureLayer, 0, 0]]
  delete copy.training_config
  return copy
}

async function loadNsfwjsMobileNetV2(size: number, featureLayer: string): Promise<tf.LayersModel> {
  const { topology, specs, weights } = nsfwjsArtifacts()
  type ModelConfig = Parameters<typeof tf.models.modelFromJSON>[0]
  const model = await tf.models.modelFromJSON({ modelTopology: nsfwjsTopologyAt(topology, size, featureLayer) } as unknown as ModelConfig)
  const kept = new Set(model.weights.map((w) => w.originalName))
  const decoded = tf.io.decodeWeights(weights, specs)
  try {
    const values: tf.NamedTensorMap = {}
    for (const [name, tensor] of Object.entries(decoded)) if (kept.has(name)) values[name] = tensor
    // Strict: a layer left with initialiser weights would be silently wrong features.
    model.loadWeights(values, true)
  } catch (err) {
    model.dispose()
    throw err
  } finally {
    tf.dispose(decoded)
  }
  // The file still carries its authors' last fine-tuning (frozen below block_11_expand); start
  // from all-frozen instead, so which blocks train is the trainer's decision alone.
  return freezeAll(model)
}

const LOADERS: Record<string, (backbone: Backbone, size: number) => Promise<FeatureExtractor>> = {
  'mobilenetv2-nsfwjs': async (b, size) => modelExtractor(await loadNsfwjsMobileNetV2(size, b.featureLayer!), size),
  'face-expression-faceapi': async (b, size) => modelExtractor(await loadFaceExpressionNet(size, b.featureLayer!), size),
  pixels: async (_, size) => pixelsExtractor(size)
}

/** A built-in, downloadable or registered-folder backbone by id. */
export function getBackbone(id: string): Backbone {
  const found = BACKBONES.find((b) => b.id === id) ?? registeredFolders().find((b) => b.id === id)
  if (!found) throw new Error(`unknown backbone "${id}"; known backbones: ${[...BACKBONES, ...registeredFolders()].map((b) => b.id).join(', ')}`)
  return found
}

/** Whether it loads now, needs its weights downloaded first, or is a registered folder that is gone. */
export function backboneStatus(id: string): BackboneStatus {
  return externalStatus(getBackbone(id))
}

/**
 * Makes a backbone loadable: downloads a download backbone's weights if they are not cached yet
 * (with progress and cancel), checks a folder backbone's folder; nothing to do for the others.
 * Call it on the main thread before embedding, so worker threads never race to download.
 */
export async function prepareBackbone(id: string, opts: Omit<DownloadOptions, 'root'> = {}): Promise<void> {
  const backbone = getBackbone(id)
  const status = externalStatus(backbone)
  if (status === 'needs download') await ensureDownloaded(backbone, opts)
  else if (status === 'missing') throw new Error(`backbone ${id} is a folder that is gone: ${join((backbone.source as { dir: string }).dir, 'model.json')} not found`)
}

/** Every backbone offered in a project (null: outside any project), with its status. */
export function listBackbones(projectDir: string | null = null): (Backbone & { status: BackboneStatus })[] {
  return [...BACKBONES, ...registeredFolders().filter((b) => offeredIn(b, projectDir))].map((b) => ({ ...b, status: externalStatus(b) }))
}

function checkSize(backbone: Backbone, size: number): void {
  if (!backbone.sizes.includes(size)) throw new Error(`backbone ${backbone.id} takes input sizes ${backbone.sizes.join(', ')} (got ${size})`)
}

/** The preprocessing a backbone's inputs need at a given size. */
export function preprocessSpecFor(id: string, size: number, resize: ResizePolicy = 'crop'): PreprocessSpec {
  const backbone = getBackbone(id)
  checkSize(backbone, size)
  return { size, normalization: backbone.normalization, resize, colour: 'rgb' }
}

/** Builds the backbone at `size` on the active tfjs backend; the caller disposes it. */
export async function loadFeatureExtractor(id: string, size: number): Promise<FeatureExtractor> {
  const backbone = getBackbone(id)
  checkSize(backbone, size)
  const loader = LOADERS[id]
  return loader ? loader(backbone, size) : loadExternal(backbone, size)
}
