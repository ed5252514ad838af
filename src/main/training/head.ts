// The head the seed prescribes ("how to judge"): on top of the backbone's pooled features, one
// small Dense(relu) layer, Dropout, and a softmax over the classes, trained with categorical
// cross-entropy. Stage 1 trains it alone on cached embeddings, which is ~20x faster than running
// the frozen backbone every epoch (DESIGN.md).
import * as tf from '@tensorflow/tfjs'
import { headParamCount } from '../../shared/head'

export interface HeadConfig {
  /** Units of the hidden Dense layer; 0 for a plain softmax on the features. */
  hidden: number
  dropout: number
  learningRate: number
  epochs: number
  batchSize: number
  /** Epochs without a better validation loss before stopping; the best weights are restored. */
  patience: number
  seed: number
}

export const DEFAULT_HEAD: HeadConfig = { hidden: 256, dropout: 0.5, learningRate: 1e-3, epochs: 40, batchSize: 32, patience: 6, seed: 1 }

/** The first field of a head config that no head can train with, as [field, what it must be], or null. */
export function badHeadField(h: HeadConfig): [keyof HeadConfig, string] | null {
  if (!Number.isInteger(h.hidden) || h.hidden < 0 || h.hidden > 8192) return ['hidden', 'an integer 0..8192 (0: softmax only)']
  if (!(h.dropout >= 0 && h.dropout <= 0.95)) return ['dropout', 'a number 0..0.95']
  if (!(h.learningRate > 0 && h.learningRate <= 1)) return ['learningRate', 'a number above 0, at most 1']
  if (!Number.isInteger(h.epochs) || h.epochs < 1) return ['epochs', 'a positive integer']
  if (!Number.isInteger(h.batchSize) || h.batchSize < 1) return ['batchSize', 'a positive integer']
  if (!Number.isInteger(h.patience) || h.patience < 1) return ['patience', 'a positive integer']
  return null
}

/**
 * Stage 1's batch size for a training set: 32 (the default) up to 4,095 images, then doubling while
 * an epoch keeps at least 64 optimizer steps. Each Adam step updates
 * all ~330k head weights whatever the batch, so on 10,000 cached embeddings batch 128 makes an
 * epoch about 2x shorter than batch 32 on wasm (bench/stage2.ts).
 */
export function stage1BatchSize(trainImages: number): number {
  let batch = DEFAULT_HEAD.batchSize
  while (batch < 256 && trainImages / (batch * 2) >= 64) batch *= 2
  return batch
}

/** Trainable parameters of the head: what the checklist compares with the data size. */
export { headParamCount }

export function buildHead(featureDim: number, classes: number, cfg: Pick<HeadConfig, 'hidden' | 'dropout' | 'seed'>): tf.Sequential {
  const model = tf.sequential({ name: 'head' })
  if (cfg.hidden > 0) {
    model.add(
      tf.layers.dense({
        inputShape: [featureDim],
        units: cfg.hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: cfg.seed }),
        name: 'head_dense'
      })
    )
    model.add(tf.layers.dropout({ rate: cfg.dropout, seed: cfg.seed + 1, name: 'head_dropout' }))
  }
  model.add(
    tf.layers.dense({
      ...(cfg.hidden > 0 ? {} : { inputShape: [featureDim] }),
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: cfg.seed + 2 }),
      name: 'head_softmax'
    })
  )
  return model
}

/**
 * The head's forward pass in training: its layers in order, dropout drawn from `seed`. A Dropout
 * layer built with a seed draws the same mask at every call (tfjs seeds each draw afresh), so
 * every batch dropped the same units at each row position; the trainers pass a seed per step.
 */
export function headTrainingForward(model: tf.LayersModel, x: tf.Tensor, seed: number): tf.Tensor2D {
  let h = x
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue
    const rate = layer.getClassName() === 'Dropout' ? (layer.getConfig().rate as number) : null
    h = rate === null ? (layer.apply(h) as tf.Tensor) : rate > 0 ? tf.dropout(h, rate, undefined, seed) : h
  }
  return h as tf.Tensor2D
}

/** Stage 1's loss: class-weighted cross-entropy, mean over the batch; `onHits` gets the correct count. */
export function headLoss(model: tf.LayersModel, x: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor1D, seed: number, onHits?: (hits: tf.Tensor) => void): tf.Scalar {
  const probs = headTrainingForward(model, x, seed)
  onHits?.(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(y, 1)), 'float32')))
  const ce = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), 1))
  return tf.mean(tf.mul(ce, w)) as tf.Scalar
}
