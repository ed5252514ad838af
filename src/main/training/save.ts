import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { writeFileAtomic } from '../dataset/files'

/** Writes a LayersModel as model.json + one weights.bin that plain @tensorflow/tfjs can load. */
export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData ? Buffer.from(artifacts.weightData as ArrayBuffer) : Buffer.alloc(0)
      writeFileAtomic(join(dir, 'weights.bin'), weights)
      writeFileAtomic(
        join(dir, 'model.json'),
        JSON.stringify(
          {
            format: 'layers-model',
            generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
            convertedBy: null,
            modelTopology: artifacts.modelTopology,
            weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }]
          },
          null,
          1
        )
      )
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } }
    })
  )
}
