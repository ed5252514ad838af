// The ten checks of the transfer-learning practice note (/work/shared/seed, "전이학습 체크리스트"),
// each a pure function of the resolved config and the data's facts. Thresholds are the studio's
// own, stated here once so the explanations can quote them.
import type { AugmentationProposal, CheckFix, CheckId, ProposedConfig, StageProposal, Verdict } from '../../../shared/insights'
import { headParamCount } from '../../training/head'
import type { Facts } from './facts'
import { trainingStartTakes, type Resolved } from './proposal'

export interface Judgement {
  verdict: Verdict
  explanation: string
  fix?: CheckFix
}

export interface CheckContext {
  config: Resolved
  facts: Facts
  /** Subjects on both sides of a held-out-environment or column split (facts.crossingSubjects). */
  crossing: number | null
}

export const LIMITS = {
  /** Upscaling a source by more than this only invents pixels. */
  upscale: 2,
  /** Share of images upscaled beyond that before it warns. */
  upscaledShare: 0.25,
  /** Largest over smallest class before imbalance matters, and before weights stop being enough. */
  balanced: 1.5,
  severe: 10,
  /** Head parameters per training image: beyond `head` warns, beyond `headFail` fails. */
  head: 1000,
  headFail: 10000,
  /** Augmentation: [sensible, excessive] bounds; between them warns. */
  rotation: [15, 30],
  crop: [0.15, 0.3],
  colour: [0.25, 0.5],
  hue: [10, 30],
  /** Top share of the backbone a fine-tuning stage should unfreeze at most (the seed: 10-30%). */
  unfreeze: 0.3,
  /** Fewer labeled images than this: keep the backbone frozen (the seed: "data 적음: 거의 freeze"). */
  fineTuneMinImages: 1000,
  /** Stage-2 learning rate at most this share of the head's. */
  lrShare: 0.2,
  recallFloor: 0.3
} as const

const pct = (x: number) => `${(x * 100).toFixed(0)}%`
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

function configFix(label: string, patch: ProposedConfig): CheckFix {
  return { kind: 'config', label, patch, applies: Object.keys(patch).every(trainingStartTakes) }
}

/** New later stages as a patch in the proposal's own terms: `stages` if it spelled them, else training.start's stage2. */
function stagePatch(config: Resolved, later: StageProposal[]): ProposedConfig {
  if (config.given.stages) return { stages: [config.stages[0], ...later] }
  const tuning = later.find((s) => s.unfreeze > 0)
  return { stage2: tuning ? { ...config.given.stage2, enabled: true, fraction: tuning.unfreeze, learningRate: tuning.learningRate } : { ...config.given.stage2, enabled: false } }
}

/** Clamped augmentation in the proposal's own terms: `augmentation`, or stage2.augment. */
function augmentPatch(config: Resolved, clamp: AugmentationProposal): ProposedConfig {
  if (config.given.augmentation || clamp.hue !== undefined || clamp.saturation !== undefined) return { augmentation: clamp }
  const augment = { ...config.given.stage2?.augment }
  if (clamp.rotation !== undefined) augment.rotateDeg = clamp.rotation
  if (clamp.brightness !== undefined) augment.brightness = clamp.brightness
  if (clamp.contrast !== undefined) augment.contrast = clamp.contrast
  if (clamp.crop !== undefined) augment.minCrop = Math.round((1 - clamp.crop) * 1000) / 1000
  return { stage2: { ...config.given.stage2, augment } }
}

// ---- 1. input resolution ----

function inputResolution({ config, facts }: CheckContext): Judgement {
  const b = config.backboneInfo
  if (!b.sizes.includes(config.size)) {
    return {
      verdict: 'fail',
      explanation: `${b.name} takes ${b.sizes.join(', ')} px inputs, not ${config.size} px.`,
      fix: configFix(`use ${b.defaultSize} px`, { size: b.defaultSize })
    }
  }
  const total = facts.sizes.reduce((a, s) => a + s.n, 0)
  if (!total) return { verdict: 'pass', explanation: `Every image is resized to ${config.size}x${config.size} (no labeled images yet to measure scaling).` }
  // Centre crop: the short side is what gets scaled to the input size.
  const scales = facts.sizes.map((s) => ({ scale: config.size / Math.min(s.width, s.height), n: s.n })).sort((a, b) => a.scale - b.scale)
  let seen = 0
  const median = scales.find((s) => (seen += s.n) >= total / 2)!.scale
  const upscaled = scales.filter((s) => s.scale > LIMITS.upscale).reduce((a, s) => a + s.n, 0)
  const how = `Fixed at ${config.size}x${config.size}; median scale ${fmt(median)}x (${median > 1 ? 'up' : 'down'})`
  if (upscaled / total > LIMITS.upscaledShare) {
    const fitting = [...b.sizes].reverse().find((px) => px <= config.size && scales.filter((s) => (s.scale * px) / config.size > LIMITS.upscale).reduce((a, s) => a + s.n, 0) / total <= LIMITS.upscaledShare)
    return {
      verdict: 'warn',
      explanation: `${how}, and ${pct(upscaled / total)} of images are blown up more than ${LIMITS.upscale}x, which adds blur, not detail.`,
      ...(fitting && fitting !== config.size ? { fix: configFix(`use ${fitting} px`, { size: fitting }) } : {})
    }
  }
  return { verdict: 'pass', explanation: `${how}; ${upscaled ? `${pct(upscaled / total)} upscaled more than ${LIMITS.upscale}x` : `none upscaled more than ${LIMITS.upscale}x`}.` }
}

// ---- 2. normalisation ----

function normalization({ config }: CheckContext): Judgement {
  const b = config.backboneInfo
  if (config.normalization !== b.normalization) {
    return {
      verdict: 'fail',
      explanation: `${b.name} was trained on ${b.normalization} inputs but this config feeds ${config.normalization}: its features would be off.`,
      fix: configFix(`use ${b.normalization}`, { normalization: b.normalization as ProposedConfig['normalization'] })
    }
  }
  if (!b.featureLayer) return { verdict: 'pass', explanation: `${b.name} has no pretrained weights; pixels are scaled ${b.normalization}.` }
  return { verdict: 'pass', explanation: `Pixels are prepared as ${b.name}'s weights expect (${b.normalization}), by the same function in training, evaluation and export.` }
}

// ---- 3. class imbalance ----

function classImbalance({ config, facts }: CheckContext): Judgement {
  const present = facts.classes.filter((c) => facts.counts[c.id] > 0)
  if (present.length < 2) {
    const some = present.length === 1 ? `Only "${present[0].name}" has` : 'No class has'
    return { verdict: 'fail', explanation: `${some} labeled images; training needs at least two classes with images.` }
  }
  const sorted = [...present].sort((a, b) => facts.counts[b.id] - facts.counts[a.id])
  const big = sorted[0]
  const small = sorted[sorted.length - 1]
  const ratio = facts.counts[big.id] / facts.counts[small.id]
  const empty = facts.classes.filter((c) => !facts.counts[c.id]).map((c) => `"${c.name}"`)
  const what = `Largest/smallest ${fmt(ratio)} ("${big.name}" ${facts.counts[big.id]} vs "${small.name}" ${facts.counts[small.id]})`
  const weighted = config.weights !== 'off'
  const useWeights = configFix('use class weights', { weights: 'inverse' })
  if (empty.length) return { verdict: 'warn', explanation: `${empty.join(', ')} ha${empty.length === 1 ? 's' : 've'} no labeled images and will be left out; ${what}.` }
  if (ratio <= LIMITS.balanced) return { verdict: 'pass', explanation: `${what}: balanced enough${weighted ? `; ${config.weights} class weights on` : ''}.` }
  if (!weighted) {
    return { verdict: ratio >= LIMITS.severe ? 'fail' : 'warn', explanation: `${what} and class weights are off: the model will favour "${big.name}".`, fix: useWeights }
  }
  if (ratio >= LIMITS.severe) {
    return { verdict: 'warn', explanation: `${what}: ${config.weights} class weights are on, but weights cannot invent variety; label more "${small.name}".` }
  }
  return { verdict: 'pass', explanation: `${what}; ${config.weights} class weights are on.` }
}

// ---- 4. augmentation ----

function augmentation({ config }: CheckContext): Judgement {
  const a = config.augmentation
  const rules: { name: string; value: number | undefined; bounds: readonly [number, number]; unit: string; key: keyof typeof a }[] = [
    { name: 'rotation', value: a.rotation, bounds: LIMITS.rotation, unit: '°', key: 'rotation' },
    { name: 'crop', value: a.crop, bounds: LIMITS.crop, unit: ' of a side', key: 'crop' },
    { name: 'brightness', value: a.brightness, bounds: LIMITS.colour, unit: '', key: 'brightness' },
    { name: 'contrast', value: a.contrast, bounds: LIMITS.colour, unit: '', key: 'contrast' },
    { name: 'saturation', value: a.saturation, bounds: LIMITS.colour, unit: '', key: 'saturation' },
    { name: 'hue', value: a.hue, bounds: LIMITS.hue, unit: '°', key: 'hue' }
  ]
  const over = rules.filter((r) => r.value !== undefined && r.value > r.bounds[0])
  const bad = over.filter((r) => r.value! > r.bounds[1])
  const clamp: AugmentationProposal = { ...(config.given.augmentation ?? {}), ...(a.verticalFlip ? { verticalFlip: false } : {}) }
  for (const r of over) (clamp as Record<string, unknown>)[r.key] = r.bounds[0]
  const fix = configFix('clamp augmentation to sensible bounds', augmentPatch(config, clamp))
  if (a.verticalFlip) return { verdict: 'fail', explanation: 'Vertical flips show upside-down faces, which no camera in production will.', fix }
  const list = (rs: typeof over) => rs.map((r) => `${r.name} ${r.value}${r.unit} (sensible up to ${r.bounds[0]}${r.unit})`).join(', ')
  if (bad.length) return { verdict: 'fail', explanation: `Excessive: ${list(bad)}; an expression can change meaning under that much.`, fix }
  if (over.length) return { verdict: 'warn', explanation: `Strong: ${list(over)}.`, fix }
  const used = [a.flip ? 'horizontal flip' : null, ...rules.filter((r) => r.value).map((r) => `${r.name} ${r.value}${r.unit}`)].filter(Boolean)
  return { verdict: 'pass', explanation: used.length ? `Within bounds: ${used.join(', ')}.` : 'No augmentation: nothing excessive (the flip view is off).' }
}

// ---- 5. head size ----

function headSize({ config, facts }: CheckContext): Judgement {
  const classes = Math.max(2, facts.classes.filter((c) => facts.counts[c.id] > 0).length)
  const dim = config.backboneInfo.featureDim
  const params = headParamCount(dim, config.head.hidden, classes)
  if (!facts.labeled) return { verdict: 'warn', explanation: `No labeled images yet to weigh the head's ${headParamCount(dim, config.head.hidden, classes).toLocaleString('en-US')} parameters against.` }
  const train = Math.max(1, config.trainImages)
  const perImage = params / train
  const shape = config.head.hidden > 0 ? `Dense ${config.head.hidden} + softmax` : 'softmax only'
  const what = `${shape}: ${params.toLocaleString('en-US')} parameters for ~${train.toLocaleString('en-US')} training images (${fmt(perImage)} per image)`
  if (perImage <= LIMITS.head) return { verdict: 'pass', explanation: `${what}, within ${LIMITS.head} per image.` }
  const hidden = [128, 64, 32, 16].find((h) => h < config.head.hidden && headParamCount(dim, h, classes) / train <= LIMITS.head) ?? 0
  const fix = configFix(hidden ? `use a Dense ${hidden} head` : 'drop the hidden layer', { head: { hidden } })
  return { verdict: perImage > LIMITS.headFail ? 'fail' : 'warn', explanation: `${what}: too big for the data, it will memorise (budget ${LIMITS.head} per image).`, fix }
}

// ---- 6. frozen first stage ----

function frozenFirstStage({ config, facts }: CheckContext): Judgement {
  const [first, ...later] = config.stages
  const frozenFix = configFix('freeze the backbone in stage 1', { stages: [{ ...first, unfreeze: 0 }, ...later] }) // only `stages` can unfreeze stage 1
  if (first.unfreeze > 0) {
    return { verdict: 'fail', explanation: `Stage 1 unfreezes ${pct(first.unfreeze)} of the backbone while the head is still random: its gradients wreck the pretrained features.`, fix: frozenFix }
  }
  const deepest = Math.max(0, ...later.map((s) => s.unfreeze))
  if (deepest === 0) return { verdict: 'pass', explanation: 'The backbone stays frozen; only the head trains.' }
  if (!config.backboneInfo.fineTunable) return { verdict: 'fail', explanation: `${config.backboneInfo.name} cannot be fine-tuned; later stages would unfreeze nothing.`, fix: configFix('train the head only', stagePatch(config, [])) }
  if (deepest > LIMITS.unfreeze || facts.labeled < LIMITS.fineTuneMinImages) {
    const why = deepest > LIMITS.unfreeze ? `${pct(deepest)} of the backbone is unfrozen later (the practice: top 10-30%)` : `only ${facts.labeled} labeled images to fine-tune on (keep it frozen under ${LIMITS.fineTuneMinImages})`
    return { verdict: 'warn', explanation: `Frozen in stage 1, but ${why}.`, fix: configFix(facts.labeled < LIMITS.fineTuneMinImages ? 'train the head only' : 'unfreeze the top 20%', stagePatch(config, facts.labeled < LIMITS.fineTuneMinImages ? [] : later.map((s) => ({ ...s, unfreeze: Math.min(s.unfreeze, 0.2) })))) }
  }
  return { verdict: 'pass', explanation: `Frozen in stage 1; later the top ${pct(deepest)} is unfrozen.` }
}

// ---- 7. fine-tuning learning rate ----

function fineTuneRate({ config }: CheckContext): Judgement {
  const [first, ...later] = config.stages
  const tuning = later.filter((s) => s.unfreeze > 0)
  if (!tuning.length) return { verdict: 'pass', explanation: 'No fine-tuning stage: nothing pretrained is updated.' }
  const highest = Math.max(...tuning.map((s) => s.learningRate))
  const ratio = highest / first.learningRate
  const fix = configFix(`use ${first.learningRate / 10} (a tenth of the head's)`, stagePatch(config, later.map((s) => (s.unfreeze > 0 ? { ...s, learningRate: first.learningRate / 10 } : s))))
  const what = `Fine-tuning at ${highest} vs the head's ${first.learningRate} (${fmt(ratio)}x)`
  if (ratio >= 1) return { verdict: 'fail', explanation: `${what}: not lower, so the unfrozen layers lose what they learned.`, fix }
  if (ratio > LIMITS.lrShare) return { verdict: 'warn', explanation: `${what}: lower, but less than ${Math.round(1 / LIMITS.lrShare)}x lower.`, fix }
  return { verdict: 'pass', explanation: `${what}.` }
}

// ---- 8. validation split ----

function validationSplit({ config, facts, crossing }: CheckContext): Judgement {
  const s = config.split
  const said = `${config.splitDefaulted ? 'Default' : 'Chosen'}: ${config.splitDescription}`
  const bySubject = configFix('split by subject', { split: { kind: 'subject', validation: 0.2, seed: 1 } })
  if (facts.repeatedSubjects > 0) {
    if (s.kind === 'stratified') {
      return { verdict: 'fail', explanation: `${said}, but ${facts.repeatedSubjects} subjects have several images: the same faces land on both sides and inflate validation.`, fix: bySubject }
    }
    if (crossing) return { verdict: 'fail', explanation: `${said}, but ${crossing} subjects have images on both sides.`, ...(s.kind === 'column' ? { fix: bySubject } : {}) }
  }
  const dupes = facts.duplicateGroups + facts.leakageFlags
  if (dupes > 0) {
    const parts = [facts.duplicateGroups ? `${facts.duplicateGroups} group${facts.duplicateGroups === 1 ? "" : "s"} of near-identical images (same perceptual hash)` : '', facts.leakageFlags ? `${facts.leakageFlags} open leakage flags` : ''].filter(Boolean)
    return { verdict: 'warn', explanation: `${said}; ${parts.join(' and ')} may sit on both sides: review them.`, fix: { kind: 'navigate', label: 'review duplicates', route: 'review' } }
  }
  if (facts.labeled && facts.withSubject === 0 && (s.kind === 'stratified' || s.kind === 'column')) {
    return { verdict: 'warn', explanation: `${said}; no image has a subject id, so leakage of the same person cannot be ruled out.` }
  }
  return { verdict: 'pass', explanation: `${said}; no subject or duplicate crosses it.` }
}

// ---- 9. confusion matrix ----

function confusionMatrix({ facts }: CheckContext): Judgement {
  const run = facts.lastRun
  if (!run) return { verdict: 'pass', explanation: 'No finished run yet: after this one, open its confusion matrix in Evaluate.' }
  const open: CheckFix = { kind: 'navigate', label: 'open the confusion matrix', route: 'evaluate' }
  const weak = run.recall.filter((r) => r.recall < LIMITS.recallFloor).sort((a, b) => a.recall - b.recall)
  if (weak.length) {
    const list = weak.map((r) => `"${r.name}" ${pct(r.recall)} of ${r.evaluated}`).join(', ')
    return { verdict: 'fail', explanation: `Run ${run.id} recalls ${list} on validation, under the ${pct(LIMITS.recallFloor)} floor.`, fix: open }
  }
  if (!run.recall.length) return { verdict: 'warn', explanation: `Run ${run.id} stored no validation predictions, so per-class recall is unknown.`, fix: open }
  if (!run.confusionViewedAt) return { verdict: 'warn', explanation: `Run ${run.id}'s confusion matrix has not been opened yet (every class recall at least ${pct(LIMITS.recallFloor)}).`, fix: open }
  const lowest = Math.min(...run.recall.map((r) => r.recall))
  return { verdict: 'pass', explanation: `Run ${run.id}'s confusion matrix was reviewed; lowest class recall ${pct(lowest)}.` }
}

// ---- 10. production environment ----

function productionEnvironment({ config, facts }: CheckContext): Judgement {
  const envs = Object.entries(facts.environments).filter(([name]) => name !== '(none)').sort((a, b) => b[1] - a[1])
  const s = config.split
  if (s.kind === 'environment') {
    const held = s.validationEnvironments
    const missing = held.filter((e) => !facts.environments[e])
    const heldImages = held.reduce((a, e) => a + (facts.environments[e] ?? 0), 0)
    if (missing.length) return { verdict: 'fail', explanation: `Held-out environment ${missing.map((e) => `"${e}"`).join(', ')} has no labeled images.` }
    if (heldImages >= facts.labeled) return { verdict: 'fail', explanation: 'Every labeled image is held out: nothing is left to train on.' }
    return { verdict: 'pass', explanation: `Validates on ${held.map((e) => `"${e}"`).join(', ')} (${heldImages} images) that training never sees.` }
  }
  if (envs.length < 2) {
    return { verdict: 'warn', explanation: envs.length ? `Every image comes from "${envs[0][0]}": nothing tests another environment.` : 'No image records its environment (studio, webcam, phone...): nothing tests the production setting.' }
  }
  // Hold out the smallest environment: usually the new setting (webcams) the model must survive.
  const target = envs[envs.length - 1][0]
  return {
    verdict: 'warn',
    explanation: `${envs.length} environments (${envs.map(([e, n]) => `${e} ${n}`).join(', ')}) are mixed into training and validation; none is held out.`,
    fix: configFix(`hold out "${target}"`, { split: { kind: 'environment', validationEnvironments: [target] } })
  }
}

export const CHECK_FUNCTIONS: Record<CheckId, (ctx: CheckContext) => Judgement> = {
  'input-resolution': inputResolution,
  normalization,
  'class-imbalance': classImbalance,
  augmentation,
  'head-size': headSize,
  'frozen-first-stage': frozenFirstStage,
  'fine-tune-lr': fineTuneRate,
  'validation-split': validationSplit,
  'confusion-matrix': confusionMatrix,
  'production-environment': productionEnvironment
}
