// ImageNet backbones that are not shipped in any npm package: downloaded on demand from the URLs
// their publishers serve them at (tfjs-models and Teachable Machine buckets on Google Cloud
// Storage; TF Hub, now served by Kaggle). The URLs are those the publishers' own tfjs code loads
// (tfjs-models' mobilenet package, @teachablemachine/image, the tfjs transfer-learning codelab).
// No sha256 is pinned: this machine cannot reach the hosts to measure them (DESIGN.md), so each
// file's hash is recorded at first download and checked on every load after (download.ts).
import type { Backbone } from './types'

/** Block ends of Keras MobileNetV2 (keras.applications naming, which nsfwjs's model keeps). */
export const KERAS_MOBILENET_V2_BLOCKS = [
  'expanded_conv_project_BN',
  'block_1_project_BN',
  'block_2_add',
  'block_3_project_BN',
  'block_4_add',
  'block_5_add',
  'block_6_project_BN',
  'block_7_add',
  'block_8_add',
  'block_9_add',
  'block_10_project_BN',
  'block_11_add',
  'block_12_add',
  'block_13_project_BN',
  'block_14_add',
  'block_15_add',
  'block_16_project_BN',
  'out_relu'
]

const TFHUB_QUERY = '?tfjs-format=file'

function tfhubFeatureVector(id: string, name: string, path: string, featureDim: number, what: string): Backbone {
  return {
    id,
    name,
    provenance:
      `Google's ${what} trained on ImageNet, the TF Hub feature-vector model converted to a tfjs GraphModel ` +
      `(https://tfhub.dev/google/tfjs-model/imagenet/${path}, now served by Kaggle), downloaded when first used; ` +
      'a frozen graph, so it can be used for features but not fine-tuned.',
    sizes: [224],
    defaultSize: 224,
    // TF Hub image models take colours in 0..1.
    normalization: 'zero1',
    featureDim,
    featureLayer: null,
    fineTunable: false,
    blocks: [],
    source: {
      kind: 'download',
      format: 'graph-model',
      download: { id, url: `https://tfhub.dev/google/tfjs-model/imagenet/${path}/model.json`, query: TFHUB_QUERY }
    }
  }
}

export const DOWNLOADABLE: Backbone[] = [
  {
    id: 'mobilenetv2-035-imagenet',
    name: 'MobileNetV2 0.35 ImageNet (download)',
    provenance:
      "Keras MobileNetV2 (alpha 0.35) ImageNet weights without the classifier, as Google's Teachable Machine " +
      'serves them as a tfjs LayersModel (storage.googleapis.com/teachable-machine-models), downloaded when first ' +
      'used; fine-tunable.',
    sizes: [96, 128, 160, 224],
    defaultSize: 128,
    // keras.applications.mobilenet_v2.preprocess_input: x / 127.5 - 1.
    normalization: 'minus1to1',
    featureDim: 1280,
    featureLayer: 'feature_pool',
    fineTunable: true,
    blocks: KERAS_MOBILENET_V2_BLOCKS,
    source: {
      kind: 'download',
      format: 'layers-model',
      sourceLayer: 'out_relu',
      download: {
        id: 'mobilenetv2-035-imagenet',
        url: 'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top/model.json'
      }
    }
  },
  {
    id: 'mobilenetv1-025-imagenet',
    name: 'MobileNetV1 0.25 ImageNet (download)',
    provenance:
      'Keras MobileNet (v1, alpha 0.25) ImageNet weights as the tfjs team publishes them for its transfer-learning ' +
      'examples (storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224), downloaded when first used; features ' +
      'pooled from conv_pw_13_relu; fine-tunable.',
    sizes: [128, 160, 224],
    defaultSize: 128,
    normalization: 'minus1to1',
    featureDim: 256,
    featureLayer: 'feature_pool',
    fineTunable: true,
    blocks: Array.from({ length: 13 }, (_, i) => `conv_pw_${i + 1}_relu`),
    source: {
      kind: 'download',
      format: 'layers-model',
      sourceLayer: 'conv_pw_13_relu',
      download: { id: 'mobilenetv1-025-imagenet', url: 'https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.25_224/model.json' }
    }
  },
  tfhubFeatureVector('mobilenetv2-100-imagenet-tfhub', 'MobileNetV2 1.0 ImageNet, TF Hub (download)', 'mobilenet_v2_100_224/feature_vector/3/default/1', 1280, 'MobileNetV2 (alpha 1.0)'),
  tfhubFeatureVector('mobilenetv3-small-imagenet', 'MobileNetV3 Small ImageNet, TF Hub (download)', 'mobilenet_v3_small_100_224/feature_vector/5/default/1', 1024, 'MobileNetV3 Small'),
  tfhubFeatureVector('mobilenetv3-large-imagenet', 'MobileNetV3 Large ImageNet, TF Hub (download)', 'mobilenet_v3_large_100_224/feature_vector/5/default/1', 1280, 'MobileNetV3 Large')
]
