// Tiny tfjs model folders (model.json + one weight shard) written the way tf.LayersModel.save
// writes them, for tests of folder backbones and downloads.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'

/** A small convnet: two conv blocks with a residual add, a global pool, and a classifier on top. */
export function tinyConvNet(size = 16, seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3], name: 'image' })
  const c1 = tf.layers.conv2d({ name: 'conv1', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor
  const c2 = tf.layers.conv2d({ name: 'conv2', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(c1) as tf.SymbolicTensor
  const sum = tf.layers.add({ name: 'res_add' }).apply([c1, c2]) as tf.SymbolicTensor
  const c3 = tf.layers.conv2d({ name: 'conv3', filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }).apply(sum) as tf.SymbolicTensor
  const pool = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c3) as tf.SymbolicTensor
  const out = tf.layers.dense({ name: 'classes', units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }) }).apply(pool) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out, name: 'tiny' })
}

/** Writes a model as model.json + group1-shard1of1.bin into dir; returns the artifacts' files' bytes. */
export async function writeModelFolder(model: tf.LayersModel, dir: string): Promise<{ modelJson: Buffer; shard: Buffer }> {
  mkdirSync(dir, { recursive: true })
  let files: { modelJson: Buffer; shard: Buffer } | null = null
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const shard = Buffer.from(a.weightData as ArrayBuffer)
      const json = {
        modelTopology: a.modelTopology,
        format: 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }]
      }
      const modelJson = Buffer.from(JSON.stringify(json))
      writeFileSync(join(dir, 'model.json'), modelJson)
      writeFileSync(join(dir, 'group1-shard1of1.bin'), shard)
      files = { modelJson, shard }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    })
  )
  return files!
}
