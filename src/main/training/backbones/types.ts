// A backbone registry entry is plain data: the UI lists it, a model card quotes its provenance,
// worker threads resolve it by id. Kept apart from the registry so loaders can name the type.
import type { DownloadSpec } from '../download'
import type { Normalization } from '../preprocess'
import type { ModelFormat } from './model-folder'

export type BackboneSource =
  | { kind: 'bundled' }
  | {
      kind: 'download'
      download: DownloadSpec
      format: ModelFormat
      /** LayersModel only: the layer the features come from (a global average pool is added if it is 4-d). */
      sourceLayer?: string
    }
  | {
      kind: 'folder'
      /** Absolute path of the folder holding model.json. */
      dir: string
      sourceLayer: string
      /** Offered in every project ('user'), or only in the project at this absolute path. */
      scope: 'user' | { project: string }
    }

/** ready: loads now. needs download: a download entry not yet cached. missing: a user folder that is gone. */
export type BackboneStatus = 'ready' | 'needs download' | 'missing'

export interface Backbone {
  id: string
  name: string
  /** Where the weights come from and what they were trained on, in one plain sentence. */
  provenance: string
  /** Input sizes (square, px) it can be built at. */
  sizes: number[]
  defaultSize: number
  /** What loadPixels must produce for it: the normalisation its weights were trained with. */
  normalization: Normalization
  featureDim: number
  /** Layer of the loaded model whose output is the feature vector; null without a model. */
  featureLayer: string | null
  fineTunable: boolean
  /**
   * Where the network can be cut for unfreezing, bottom to top: each name is the last layer of a
   * block, so "unfreeze the top k blocks" makes trainable every layer after blocks[length - k - 1].
   */
  blocks: string[]
  /** Where the weights are: in an npm package (the default), downloaded on demand, or a user's folder. */
  source?: BackboneSource
}

