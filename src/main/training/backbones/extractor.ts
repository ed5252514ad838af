// What every backbone loader returns, and the two ways to make one: a Keras-style model whose
// output is the feature vector, or a plain function on the batch (no weights to fine-tune).
import * as tf from '@tensorflow/tfjs'

export interface FeatureExtractor {
  /** The Keras-style model (input -> features) for fine-tuning, every layer frozen; null without one. */
  model: tf.LayersModel | null
  /** Preprocessed batch [n, size, size, 3] to features [n, featureDim], in inference mode. */
  extract(batch: tf.Tensor4D): tf.Tensor2D
  dispose(): void
}

export function checkBatch(batch: tf.Tensor4D, size: number): void {
  const [, h, w, c] = batch.shape
  if (h !== size || w !== size || c !== 3) throw new Error(`expected a batch of ${size}x${size}x3 images, got [${batch.shape.join(', ')}]`)
}

export function modelExtractor(model: tf.LayersModel, size: number): FeatureExtractor {
  return {
    model,
    extract: (batch) => {
      checkBatch(batch, size)
      return model.predict(batch, { batchSize: Math.max(1, batch.shape[0]) }) as tf.Tensor2D
    },
    dispose: () => model.dispose()
  }
}

/** A frozen extractor with no LayersModel (a GraphModel, or a computation without weights). */
export function functionExtractor(size: number, run: (batch: tf.Tensor4D) => tf.Tensor2D, dispose: () => void = () => {}): FeatureExtractor {
  return {
    model: null,
    extract: (batch) =>
      tf.tidy(() => {
        checkBatch(batch, size)
        return run(batch)
      }),
    dispose
  }
}

/** Loads named weights into a built model, strictly: a layer left with initialiser weights would be silently wrong features. */
export function loadNamedWeights(model: tf.LayersModel, values: Map<string, tf.Tensor[]>): void {
  for (const layer of model.layers) {
    const wanted = layer.weights.length
    if (!wanted) continue
    const given = values.get(layer.name)
    if (!given || given.length !== wanted) throw new Error(`no weights for layer ${layer.name} (wanted ${wanted}, got ${given?.length ?? 0})`)
    layer.setWeights(given)
  }
}

/** Every layer frozen: which blocks train is the trainer's decision alone. */
export function freezeAll(model: tf.LayersModel): tf.LayersModel {
  for (const layer of model.layers) layer.trainable = false
  return model
}
