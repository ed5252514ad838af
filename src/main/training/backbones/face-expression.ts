// face-api's FaceExpressionNet feature extractor (@vladmandic/face-api 1.7.15, src/faceFeatureExtractor)
// rebuilt as a tfjs LayersModel around the weights the package ships in model/face_expression_model*,
// so the studio can fine-tune it like any Keras model. The library's forward pass, read from its
// source: pixels 0..255 minus the mean RGB (122.782, 117.001, 104.298), divided by 255; four
// "dense blocks" (conv0 with stride 2 - a plain 3x3 conv in the first block, a separable conv in
// the others - then three separable convs, each fed the ReLU of the sum of everything before it
// in the block); a 7x7 average pool over the final 7x7x256 map; then fc (256 -> 7). No BatchNorm.
// Here the pool is a global average pool (the same thing at 112 px) and fc is left out.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { freezeAll, loadNamedWeights } from './extractor'

/** face-api's FaceFeatureExtractor.forwardInput subtracts this from 0..255 pixels before dividing by 255. */
export const FACE_API_MEAN_RGB = [122.782, 117.001, 104.298] as const
export const FACE_EXPRESSION_BLOCKS = ['dense0_out', 'dense1_out', 'dense2_out', 'dense3_out']
const CHANNELS = [32, 64, 128, 256]

type SymbolicTensor = tf.SymbolicTensor

function modelDir(): string {
  const require = createRequire(import.meta.url)
  // The package has no exports map; its package.json sits at the root beside model/.
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model')
}

/** The shipped weights, decoded (uint8-quantised entries dequantised exactly as tf.io does for the library). */
export function faceExpressionWeights(): tf.NamedTensorMap {
  const dir = modelDir()
  const manifestFile = join(dir, 'face_expression_model-weights_manifest.json')
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as tf.io.WeightsManifestConfig
  const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(dir, p))))
  const bytes = Buffer.concat(buffers)
  const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  return tf.io.decodeWeights(data, manifest.flatMap((group) => group.weights))
}

function separable(name: string, filters: number, strides: number): tf.layers.Layer {
  return tf.layers.separableConv2d({ name, filters, kernelSize: 3, strides, padding: 'same', useBias: true, depthMultiplier: 1 })
}

function relu(name: string, x: SymbolicTensor): SymbolicTensor {
  return tf.layers.reLU({ name }).apply(x) as SymbolicTensor
}

function add(name: string, a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  return tf.layers.add({ name }).apply([a, b]) as SymbolicTensor
}

/** One of face-api's denseBlock4s; the sums are nested in the library's order so rounding matches. */
function denseBlock(x: SymbolicTensor, b: number, first: boolean): SymbolicTensor {
  const p = `dense${b}`
  const filters = CHANNELS[b]
  const conv0 = first
    ? tf.layers.conv2d({ name: `${p}_conv0`, filters, kernelSize: 3, strides: 2, padding: 'same', useBias: true, activation: 'relu' })
    : separable(`${p}_conv0`, filters, 2)
  let out1 = conv0.apply(x) as SymbolicTensor
  if (!first) out1 = relu(`${p}_conv0_relu`, out1)
  const out2 = separable(`${p}_conv1`, filters, 1).apply(out1) as SymbolicTensor
  const in3 = relu(`${p}_relu1`, add(`${p}_add1`, out1, out2))
  const out3 = separable(`${p}_conv2`, filters, 1).apply(in3) as SymbolicTensor
  const in4 = relu(`${p}_relu2`, add(`${p}_add2b`, out1, add(`${p}_add2a`, out2, out3)))
  const out4 = separable(`${p}_conv3`, filters, 1).apply(in4) as SymbolicTensor
  return relu(`${p}_out`, add(`${p}_add3c`, out1, add(`${p}_add3b`, out2, add(`${p}_add3a`, out3, out4))))
}

/**
 * The topology at `size` px (the weights were trained at 112). Input is pixels / 255; the first
 * layer, `face_mean_rgb`, subtracts face-api's mean RGB / 255 as a 1x1 depthwise conv with unit
 * kernel and bias -mean/255, so the model stays plain Keras layers (savable, exportable) and the
 * studio's shared preprocessing ('zero1') feeds it. It must never be unfrozen: it is not a block.
 */
export function faceExpressionTopology(size: number, featureLayer: string): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3], name: 'input' })
  let x = tf.layers
    .depthwiseConv2d({ name: 'face_mean_rgb', kernelSize: 1, depthMultiplier: 1, useBias: true, trainable: false })
    .apply(input) as SymbolicTensor
  for (let b = 0; b < 4; b++) x = denseBlock(x, b, b === 0)
  const features = tf.layers.globalAveragePooling2d({ name: featureLayer }).apply(x) as SymbolicTensor
  return tf.model({ inputs: input, outputs: features, name: 'face_expression_features' })
}

/** Shipped tensors per Keras layer, in the order each layer's getWeights() lists them. */
function weightsByLayer(map: tf.NamedTensorMap): Map<string, tf.Tensor[]> {
  const byLayer = new Map<string, tf.Tensor[]>()
  byLayer.set('face_mean_rgb', [tf.ones([1, 1, 3, 1]), tf.tensor1d(FACE_API_MEAN_RGB.map((m) => -m / 255))])
  for (let b = 0; b < 4; b++) {
    for (let c = 0; c < 4; c++) {
      const p = `dense${b}/conv${c}`
      const w = (k: string) => {
        const t = map[`${p}/${k}`]
        if (!t) throw new Error(`face_expression_model is missing weight ${p}/${k}`)
        return t
      }
      const plain = b === 0 && c === 0
      byLayer.set(`dense${b}_conv${c}`, plain ? [w('filters'), w('bias')] : [w('depthwise_filter'), w('pointwise_filter'), w('bias')])
    }
  }
  return byLayer
}

export async function loadFaceExpressionNet(size: number, featureLayer: string): Promise<tf.LayersModel> {
  const model = faceExpressionTopology(size, featureLayer)
  const decoded = faceExpressionWeights()
  const extra: tf.Tensor[] = []
  try {
    const byLayer = weightsByLayer(decoded)
    extra.push(...byLayer.get('face_mean_rgb')!)
    loadNamedWeights(model, byLayer)
  } catch (err) {
    model.dispose()
    throw err
  } finally {
    tf.dispose([...Object.values(decoded), ...extra])
  }
  return freezeAll(model)
}
