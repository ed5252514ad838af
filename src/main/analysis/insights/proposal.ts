// The training config the checklist judges. Its fields are training.start's (whatever that channel
// accepts today) plus the trainer's own options that channel does not carry yet (stages,
// augmentation, a normalisation override); defaults come from the trainer itself, so the
// checklist judges exactly what a click on Train would run.
import { z } from 'zod'
import { channels } from '../../../shared/contract'
import { StudioError } from '../../../shared/errors'
import type { ChecklistReport, ProposedConfig, SplitProposal, StageProposal } from '../../../shared/insights'
import { DEFAULT_AUGMENT } from '../../training/augment'
import { planStage2 } from '../../training/runner'
import { BACKBONES, getBackbone, type Backbone } from '../../training/backbones'
import { DEFAULT_HEAD } from '../../training/head'
import { describeMethod } from '../../training/splits'

// The head comes from training.start's own schema.
const EXTRAS = {
  stages: z
    .array(z.object({ unfreeze: z.number().min(0).max(1), learningRate: z.number().positive().max(1), epochs: z.number().int().min(1).max(500).optional() }).strict())
    .min(1)
    .max(5)
    .optional(),
  augmentation: z
    .object({
      flip: z.boolean().optional(),
      verticalFlip: z.boolean().optional(),
      rotation: z.number().min(0).max(180).optional(),
      crop: z.number().min(0).max(0.9).optional(),
      brightness: z.number().min(0).max(1).optional(),
      contrast: z.number().min(0).max(1).optional(),
      saturation: z.number().min(0).max(1).optional(),
      hue: z.number().min(0).max(180).optional()
    })
    .strict()
    .optional(),
  normalization: z.enum(['minus1to1', 'zero1', 'imagenet']).optional()
}

type Base = z.ZodObject<z.ZodRawShape>
const base = channels['training.start'].request as unknown as Base

/** Which top-level fields training.start takes: a fix can only be applied through those. */
export function trainingStartTakes(field: string): boolean {
  return Object.prototype.hasOwnProperty.call(base.shape, field)
}

// A field training.start gains later keeps its own schema; the extras only fill what it lacks.
const schema = base.extend(Object.fromEntries(Object.entries(EXTRAS).filter(([k]) => !trainingStartTakes(k))))

/** Parses a proposed config, naming the field that is wrong. */
export function parseProposal(raw: unknown): ProposedConfig {
  const parsed = schema.safeParse(raw ?? {})
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const field = issue.path.length ? `config.${issue.path.map(String).join('.')}` : 'config'
    throw new StudioError('invalid_payload', `${field}: ${issue.message}`, field)
  }
  return parsed.data as ProposedConfig
}

export type Resolved = ChecklistReport['config'] & {
  backboneInfo: Backbone
  normalization: string
  augmentation: NonNullable<ProposedConfig['augmentation']>
  /** True when the split was chosen by the trainer's default, not by the user. */
  splitDefaulted: boolean
  /** How the proposal spelled stages and augmentation, so a fix answers in the same terms. */
  given: Pick<ProposedConfig, 'stage2' | 'stages' | 'augmentation'>
  /** Training images the split would leave (estimated for random and column splits). */
  trainImages: number
}

/** Training images a split leaves: exact for held-out environments, by share otherwise (column: 80%). */
function trainEstimate(split: SplitProposal, labeled: number, environments: Record<string, number>): number {
  if (split.kind === 'environment') return labeled - split.validationEnvironments.reduce((a, e) => a + (environments[e] ?? 0), 0)
  return Math.round(labeled * (split.kind === 'column' ? 0.8 : 1 - split.validation))
}

/**
 * The stages the trainer would run: stage 1 trains the head on the frozen backbone; stage 2 is
 * what the runner's own planStage2 makes of the options and the (estimated) training images.
 */
function stagesOf(p: ProposedConfig, head: typeof DEFAULT_HEAD, backbone: Backbone, trainImages: number): { stages: StageProposal[]; augment: typeof DEFAULT_AUGMENT } {
  if (p.stages?.length) return { stages: p.stages, augment: { ...DEFAULT_AUGMENT, flip: p.flip ?? true } }
  const stage1 = { unfreeze: 0, learningRate: head.learningRate, epochs: p.epochs ?? DEFAULT_HEAD.epochs }
  let plan
  try {
    plan = planStage2(p.stage2, trainImages, head, backbone.fineTunable)
  } catch (err) {
    const e = err as StudioError
    throw new StudioError('invalid_payload', `config.${e.field ?? 'stage2'}: ${e.message}`, `config.${e.field ?? 'stage2'}`)
  }
  if (!plan) return { stages: [stage1], augment: { ...DEFAULT_AUGMENT, flip: p.flip ?? true } }
  return { stages: [stage1, { unfreeze: plan.fraction, learningRate: plan.learningRate, epochs: plan.epochs }], augment: plan.augment }
}

/** `data`: labeled active images, how many have a subject, per environment: the trainer's defaults follow from them. */
export function resolveProposal(p: ProposedConfig, data: { labeled: number; withSubject: number; environments: Record<string, number> }): Resolved {
  const labeled = data.labeled
  if (p.backbone && !BACKBONES.some((b) => b.id === p.backbone)) {
    throw new StudioError('invalid_payload', `config.backbone: unknown backbone "${p.backbone}"; known: ${BACKBONES.map((b) => b.id).join(', ')}`, 'config.backbone')
  }
  const backbone = getBackbone(p.backbone ?? 'mobilenetv2-nsfwjs')
  const seed = p.seed ?? 1
  // Same rule as the runner's defaultSplit: group by subject when most images have one.
  const split: SplitProposal = p.split ?? (labeled && data.withSubject / labeled > 0.5 ? { kind: 'subject', validation: 0.2, seed } : { kind: 'stratified', validation: 0.2, seed })
  const head = { hidden: p.head?.hidden ?? DEFAULT_HEAD.hidden, dropout: p.head?.dropout ?? DEFAULT_HEAD.dropout, learningRate: p.head?.learningRate ?? DEFAULT_HEAD.learningRate }
  const trainImages = trainEstimate(split, labeled, data.environments)
  const { stages, augment } = stagesOf(p, { ...DEFAULT_HEAD, ...head, seed }, backbone, trainImages)
  const flip = p.augmentation?.flip ?? augment.flip ?? p.flip ?? true
  // The trainer's augmentation in the checklist's terms; an explicit `augmentation` overrides it.
  const fromTrainer = { rotation: augment.rotateDeg, brightness: augment.brightness, contrast: augment.contrast, crop: Math.round((1 - augment.minCrop) * 1000) / 1000 }
  return {
    backbone: backbone.id,
    backboneInfo: backbone,
    size: p.size ?? backbone.defaultSize,
    weights: p.weights ?? 'inverse',
    flip,
    split,
    splitDescription: describeMethod(split),
    splitDefaulted: !p.split,
    head,
    stages,
    normalization: p.normalization ?? backbone.normalization,
    augmentation: { ...fromTrainer, ...p.augmentation, flip },
    given: { stage2: p.stage2, stages: p.stages, augmentation: p.augmentation },
    trainImages
  }
}
