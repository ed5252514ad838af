// One flagging pass over a project: gather the labeled images, embed them (from the cache where
// possible), run each requested detector, and store every type's flags with the run they came
// from. Long work reports progress and stops on the signal; labels that change while it runs
// are noticed, and their images are left unflagged rather than flagged on old labels.
import { join } from 'node:path'
import { StudioError } from '../../../shared/errors'
import { FLAG_TYPES, type FlaggingReport, type FlagType, type NoiseEstimate } from '../../../shared/review'
import { CURRENT_SQL } from '../../db/repos/annotations'
import { listClasses } from '../../db/repos/classes'
import type { Project } from '../../project/project'
import { getBackbone } from '../../training/backbones'
import { embedParallel, type View } from '../../training/embeddings'
import { PIPELINE } from '../../training/preprocess'
import { gatherImages } from '../../training/runner'
import { argmax, confidentLearning, DEFAULT_FILTER, type FilterBy, type RankBy } from './confident-learning'
import { centroidOutliers, disagreements, nearDuplicatePairs } from './detectors'
import { outOfFoldProbs } from './folds'
import { CancelledError, standardize, Yielder } from './softmax'
import { createFlagRun, labelSnapshot, replaceFlags, versions, type NewFlag } from './store'

export interface FlaggingOptions {
  types?: FlagType[]
  folds?: number
  backbone?: string
  size?: number
  seed?: number
  rankBy?: RankBy
  /** Which examples count as likely mislabeled (see FilterBy). */
  filterBy?: FilterBy
  /** 'lowest_quality' only: share of the confident joint's off-diagonal count to flag. */
  countScale?: number
  /** Likely mislabeled: average each image's embedding with its mirror image's (the trainer caches both by default). */
  flip?: boolean
  /** Most bits of 64 two perceptual hashes may differ by to count as near-duplicates. */
  hamming?: number
  /** Modified z-score above which an image is an outlier. */
  outlierZ?: number
  /** Embedding worker threads (default: one per core). */
  workers?: number
}

export interface FlaggingHooks {
  signal?: AbortSignal
  onProgress?: (done: number, total: number, message: string) => void
}

export const DEFAULT_FLAGGING = { folds: 5, seed: 1, rankBy: 'confidence_and_margin' as RankBy, ...DEFAULT_FILTER, flip: true, hamming: 3, outlierZ: 3.5 }

interface Labeled {
  id: number
  sha256: string
  path: string
  classId: number
}

interface Detected {
  type: FlagType
  flags: NewFlag[]
  sourceVersion: string
  params: Record<string, unknown>
  stats: Record<string, unknown>
}

type ClassName = (id: number | null | undefined) => string

interface Context {
  project: Project
  opts: FlaggingOptions & typeof DEFAULT_FLAGGING
  hooks: FlaggingHooks
  warnings: string[]
  dataVersion: string
  className: ClassName
  progress: (fraction: number, message: string) => void
}

const PROGRESS_STEPS = 1000

function labeledImages(project: Project): Labeled[] {
  return gatherImages(project).rows.map((r) => ({ id: r.id, sha256: r.sha256, path: r.stored ? join(project.dir, r.stored) : r.source!, classId: r.classId }))
}

function fail(message: string, field?: string): never {
  throw new StudioError('conflict', message, field)
}

/** Embeddings of the labeled images, computed where the cache lacks them. */
/**
 * The features to use: the ones asked for, else those of the latest completed training run (their
 * embeddings are cached already, and flags then speak about the model the user has), else the
 * trainer's default backbone.
 */
function featureChoice(ctx: Context): { id: string; size: number | undefined } {
  if (ctx.opts.backbone) return { id: ctx.opts.backbone, size: ctx.opts.size }
  const run = ctx.project.db
    .prepare("SELECT json_extract(config, '$.backbone') AS backbone, json_extract(config, '$.size') AS size FROM runs WHERE status = 'completed' ORDER BY id DESC LIMIT 1")
    .get() as { backbone: string | null; size: number | null } | undefined
  if (run?.backbone) return { id: run.backbone, size: ctx.opts.size ?? run.size ?? undefined }
  return { id: 'mobilenetv2-nsfwjs', size: ctx.opts.size }
}

async function embeddings(ctx: Context, images: Labeled[], views: View[]): Promise<{ vectors: Float32Array[][]; backbone: string; size: number }> {
  const choice = featureChoice(ctx)
  const backbone = getBackbone(choice.id)
  const size = choice.size ?? backbone.defaultSize
  if (!backbone.sizes.includes(size)) throw new StudioError('invalid_payload', `${backbone.id} takes input sizes ${backbone.sizes.join(', ')} (got ${size})`, 'size')
  const result = await embedParallel(ctx.project.path('cache'), images, {
    backbone: backbone.id,
    size,
    views,
    signal: ctx.hooks.signal,
    workers: ctx.opts.workers,
    onProgress: (done, total) => ctx.progress((0.4 * done) / Math.max(1, total), `embedding images with ${backbone.name}: ${done} of ${total}`)
  })
  // All cached means nothing to cancel in there: a cancel that came meanwhile is honoured here.
  if (result.cancelled || ctx.hooks.signal?.aborted) throw new CancelledError()
  const vectors = images.map((im) => result.vectors.get(im.sha256) ?? [])
  const lost = images.findIndex((_, i) => vectors[i].length !== views.length || vectors[i].some((v) => !v))
  if (lost >= 0) throw new Error(`no embedding for ${images[lost].path}`)
  return { vectors: vectors as Float32Array[][], backbone: backbone.id, size }
}

/** The element-wise mean of an image's views (the original and its mirror image). */
export function meanOfViews(views: Float32Array[]): Float32Array {
  if (views.length === 1) return views[0]
  const out = new Float32Array(views[0].length)
  for (const v of views) for (let k = 0; k < out.length; k++) out[k] += v[k] / views.length
  return out
}

/** Class indices 0..m-1 over the classes that have enough images for the detector. */
function indexClasses(ctx: Context, images: Labeled[], minPerClass: number, purpose: string): { kept: Labeled[]; classIds: number[] } {
  const counts = new Map<number, number>()
  for (const im of images) counts.set(im.classId, (counts.get(im.classId) ?? 0) + 1)
  for (const c of listClasses(ctx.project.db)) {
    const n = counts.get(c.id) ?? 0
    if (n === 0) ctx.warnings.push(`${purpose}: class "${c.name}" has no labeled images; it is left out`)
    else if (n < minPerClass) ctx.warnings.push(`${purpose}: class "${c.name}" has only ${n} labeled image; at least ${minPerClass} are needed, so its images are left out`)
  }
  const classIds = [...counts].filter(([, n]) => n >= minPerClass).map(([id]) => id).sort((a, b) => a - b)
  if (classIds.length < 2) fail(`${purpose} needs at least two classes with at least ${minPerClass} labeled images each (found ${classIds.length}); label more images first`)
  const keep = new Set(classIds)
  return { kept: images.filter((im) => keep.has(im.classId)), classIds }
}

async function mislabeled(ctx: Context, { kept, classIds }: { kept: Labeled[]; classIds: number[] }, vectors: Map<number, Float32Array>, source: string): Promise<Detected> {
  const m = classIds.length
  const index = new Map(classIds.map((id, j) => [id, j]))
  const labels = Int32Array.from(kept, (im) => index.get(im.classId)!)
  const d = vectors.get(kept[0].id)!.length
  const data = new Float32Array(kept.length * d)
  kept.forEach((im, i) => data.set(vectors.get(im.id)!, i * d))
  const x = { data, n: kept.length, d }
  standardize(x)
  const oof = await outOfFoldProbs(x, labels, m, {
    folds: ctx.opts.folds,
    seed: ctx.opts.seed,
    signal: ctx.hooks.signal,
    classNames: classIds.map((id) => ctx.className(id)),
    onProgress: (f, total) => ctx.progress(0.4 + (0.5 * f) / total, `cross-validating: fold ${f} of ${total} done`)
  })
  if (oof.note) ctx.warnings.push(`likely mislabeled: ${oof.note}`)
  const probs = { data: oof.probs, n: kept.length, m }
  const cl = confidentLearning(probs, labels, ctx.opts.rankBy, { filterBy: ctx.opts.filterBy, countScale: ctx.opts.countScale })
  const flags: NewFlag[] = []
  kept.forEach((im, i) => {
    if (!cl.issues[i]) return
    const row = Array.from(oof.probs.subarray(i * m, (i + 1) * m))
    const suggested = classIds[argmax(row, 0, m)]
    const self = row[labels[i]]
    const top = row
      .map((p, j) => ({ classId: classIds[j], p: round(p) }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 3)
    flags.push({
      imageId: im.id,
      score: round(1 - cl.quality[i]),
      suggestedClassId: suggested,
      evidence: {
        givenClassId: im.classId,
        probs: top,
        selfConfidence: round(self),
        margin: round(self - Math.max(...row.filter((_, j) => j !== labels[i]))),
        summary: `A head that never saw this image gives "${ctx.className(im.classId)}" ${pct(self)} and "${ctx.className(suggested)}" ${pct(Math.max(...row))}.`
      }
    })
  })
  const matrix = (a: Float64Array, scale = 1) => classIds.map((_, i) => classIds.map((__, j) => round(a[i * m + j] * scale)))
  const noise: NoiseEstimate = {
    classes: classIds.map((id) => ({ id, name: ctx.className(id) })),
    noise: matrix(cl.noise),
    joint: matrix(cl.joint),
    thresholds: Array.from(cl.thresholds, round),
    estimatedNoisy: cl.estimatedNoisy,
    folds: oof.folds,
    foldNote: oof.note,
    images: kept.length
  }
  return {
    type: 'mislabeled',
    flags,
    sourceVersion: source,
    params: {
      folds: ctx.opts.folds,
      seed: ctx.opts.seed,
      rankBy: ctx.opts.rankBy,
      filterBy: ctx.opts.filterBy,
      countScale: ctx.opts.filterBy === 'lowest_quality' ? ctx.opts.countScale : null,
      flip: ctx.opts.flip,
      method: `confident learning, filter ${ctx.opts.filterBy}`
    },
    stats: { noise, offDiagonal: cl.offDiagonal }
  }
}

async function outliers(ctx: Context, images: Labeled[], vectors: Map<number, Float32Array>, source: string): Promise<Detected> {
  const classIds = [...new Set(images.map((im) => im.classId))].sort((a, b) => a - b)
  const index = new Map(classIds.map((id, j) => [id, j]))
  const { outliers: found } = await centroidOutliers(
    images.map((im) => vectors.get(im.id)!),
    Int32Array.from(images, (im) => index.get(im.classId)!),
    classIds.length,
    ctx.opts.outlierZ,
    new Yielder(ctx.hooks.signal)
  )
  const flags = found.map((o) => {
    const im = images[o.index]
    return {
      imageId: im.id,
      score: round(o.z / (o.z + ctx.opts.outlierZ)),
      suggestedClassId: null,
      evidence: {
        givenClassId: im.classId,
        centroidDistance: round(o.distance),
        z: round(o.z),
        nearestClassId: classIds[o.nearestClass],
        summary: `Far from every class in embedding space (robust z ${o.z.toFixed(1)}; nearest is "${ctx.className(classIds[o.nearestClass])}"): maybe not a face, or a bad crop.`
      }
    }
  })
  return { type: 'outlier', flags, sourceVersion: source, params: { zThreshold: ctx.opts.outlierZ, distance: 'cosine to class centroid' }, stats: {} }
}

function disagreement(ctx: Context): Detected {
  const db = ctx.project.db
  // Images whose latest annotation is a review decision were settled in the queue already.
  const ratings = db
    .prepare(
      `SELECT c.image_id AS imageId, c.annotator, c.class_id AS classId FROM (${CURRENT_SQL}) c JOIN images i ON i.id = c.image_id
       WHERE c.class_id IS NOT NULL AND i.excluded = 0 AND i.missing = 0
         AND (SELECT source FROM annotations a WHERE a.image_id = c.image_id ORDER BY a.id DESC LIMIT 1) != 'review'`
    )
    .all() as { imageId: number; annotator: string; classId: number }[]
  const snapshot = labelSnapshot(db)
  const flags = disagreements(ratings).map((g) => {
    const labels = ratings.filter((r) => r.imageId === g.imageId).map((r) => ({ annotator: r.annotator, classId: r.classId }))
    return {
      imageId: g.imageId,
      score: round(g.score),
      suggestedClassId: g.majority,
      evidence: {
        givenClassId: snapshot.get(g.imageId) ?? null,
        labels,
        entropy: round(g.entropy),
        summary: `${labels.length} annotators: ${labels.map((l) => `${l.annotator} says "${ctx.className(l.classId)}"`).join(', ')}.`
      }
    }
  })
  return { type: 'disagreement', flags, sourceVersion: `annotations|data:${ctx.dataVersion}`, params: {}, stats: {} }
}

function hashed(ctx: Context): { id: number; phash: string }[] {
  return ctx.project.db.prepare('SELECT id, phash FROM images WHERE phash IS NOT NULL AND excluded = 0 AND missing = 0').all() as { id: number; phash: string }[]
}

function duplicates(ctx: Context, pairs: { a: number; b: number; distance: number }[]): Detected {
  const snapshot = labelSnapshot(ctx.project.db)
  // One flag per image: its closest differently-labeled near-duplicate.
  const byImage = new Map<number, NewFlag>()
  for (const { a, b, distance } of pairs) {
    const la = snapshot.get(a) ?? null
    const lb = snapshot.get(b) ?? null
    if (la === null || lb === null || la === lb) continue
    for (const [self, other, mine, theirs] of [
      [a, b, la, lb],
      [b, a, lb, la]
    ] as const) {
      const had = byImage.get(self)
      if (had && had.evidence.distance! <= distance) continue
      byImage.set(self, {
        imageId: self,
        score: round(1 - distance / 64),
        suggestedClassId: theirs,
        evidence: {
          givenClassId: mine,
          otherImageId: other,
          otherClassId: theirs,
          distance,
          summary: `A near-duplicate (${distance} of 64 hash bits differ) is labeled "${ctx.className(theirs)}", this one "${ctx.className(mine)}".`
        }
      })
    }
  }
  return { type: 'duplicate', flags: [...byImage.values()], sourceVersion: `phash<=${ctx.opts.hamming}|data:${ctx.dataVersion}`, params: { hamming: ctx.opts.hamming }, stats: { pairs: pairs.length } }
}

function leakage(ctx: Context, pairs: { a: number; b: number; distance: number }[]): Detected {
  const db = ctx.project.db
  const run = db.prepare('SELECT id, split_id AS splitId FROM runs WHERE split_id IS NOT NULL ORDER BY id DESC LIMIT 1').get() as { id: number; splitId: number } | undefined
  const source = `run:${run?.id ?? 'none'}|phash<=${ctx.opts.hamming}|data:${ctx.dataVersion}`
  if (!run) {
    ctx.warnings.push('leakage: no training run yet, so there is no train/validation split to check')
    return { type: 'leakage', flags: [], sourceVersion: source, params: { hamming: ctx.opts.hamming }, stats: {} }
  }
  const parts = new Map(
    (db.prepare('SELECT image_id AS id, part FROM split_assignments WHERE split_id = ?').all(run.splitId) as { id: number; part: string }[]).map((r) => [r.id, r.part])
  )
  const snapshot = labelSnapshot(db)
  const byImage = new Map<number, NewFlag>()
  const add = (f: NewFlag) => {
    const had = byImage.get(f.imageId)
    if (!had || had.score < f.score) byImage.set(f.imageId, f)
  }
  for (const { a, b, distance } of pairs) {
    const pa = parts.get(a)
    const pb = parts.get(b)
    if (!pa || !pb || pa === pb || (pa !== 'train' && pb !== 'train')) continue
    const [held, train] = pa === 'train' ? [b, a] : [a, b]
    add({
      imageId: held,
      score: round(1 - distance / 64),
      suggestedClassId: null,
      evidence: {
        givenClassId: snapshot.get(held) ?? null,
        otherImageId: train,
        otherClassId: snapshot.get(train) ?? null,
        distance,
        part: parts.get(held),
        otherPart: 'train',
        runId: run.id,
        summary: `In ${parts.get(held)} of run ${run.id}, but a near-duplicate (${distance} of 64 bits differ) is in train: the score it gets is inflated.`
      }
    })
  }
  const subjects = db
    .prepare('SELECT a.image_id AS id, i.subject_id AS subject FROM split_assignments a JOIN images i ON i.id = a.image_id WHERE a.split_id = ? AND i.subject_id IS NOT NULL')
    .all(run.splitId) as { id: number; subject: string }[]
  const trainCount = new Map<string, number>()
  for (const s of subjects) if (parts.get(s.id) === 'train') trainCount.set(s.subject, (trainCount.get(s.subject) ?? 0) + 1)
  for (const s of subjects) {
    const n = trainCount.get(s.subject) ?? 0
    if (parts.get(s.id) === 'train' || n === 0) continue
    add({
      imageId: s.id,
      score: 0.5,
      suggestedClassId: null,
      evidence: {
        givenClassId: snapshot.get(s.id) ?? null,
        subject: s.subject,
        part: parts.get(s.id),
        otherPart: 'train',
        runId: run.id,
        summary: `Subject "${s.subject}" is in ${parts.get(s.id)} of run ${run.id} and also has ${n} image${n === 1 ? '' : 's'} in train: split by subject.`
      }
    })
  }
  return { type: 'leakage', flags: [...byImage.values()], sourceVersion: source, params: { hamming: ctx.opts.hamming, runId: run.id }, stats: {} }
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000
}

function pct(p: number): string {
  return `${Math.round(p * 100)}%`
}

async function detect(ctx: Context, types: Set<FlagType>): Promise<Detected[]> {
  const out: Detected[] = []
  if (types.has('mislabeled') || types.has('outlier')) {
    const images = labeledImages(ctx.project)
    if (images.length === 0) fail('no labeled images to check; label some images first')
    // Checked before embedding, so a project that cannot be cross-validated fails at once.
    const classes = types.has('mislabeled') ? indexClasses(ctx, images, 2, 'likely mislabeled') : null
    const views: View[] = classes && ctx.opts.flip ? ['orig', 'flip'] : ['orig']
    const emb = await embeddings(ctx, images, views)
    const vectors = new Map(images.map((im, i) => [im.id, emb.vectors[i][0]]))
    const averaged = views.length > 1 ? new Map(images.map((im, i) => [im.id, meanOfViews(emb.vectors[i])])) : vectors
    const source = `${emb.backbone}@${emb.size}:v${PIPELINE.version}|data:${ctx.dataVersion}`
    if (classes) out.push(await mislabeled(ctx, classes, averaged, views.length > 1 ? `${source}|views:orig+flip` : source))
    if (types.has('outlier')) out.push(await outliers(ctx, images, vectors, source))
    for (const d of out) d.params = { ...d.params, backbone: emb.backbone, size: emb.size }
  }
  ctx.progress(0.92, 'annotator disagreement, near-duplicates, leakage')
  if (types.has('disagreement')) out.push(disagreement(ctx))
  if (types.has('duplicate') || types.has('leakage')) {
    const pairs = nearDuplicatePairs(hashed(ctx), ctx.opts.hamming)
    if (types.has('duplicate')) out.push(duplicates(ctx, pairs))
    if (types.has('leakage')) out.push(leakage(ctx, pairs))
  }
  return out
}

/** Runs the requested detectors (all by default) and stores their flags; see FlaggingReport. */
export async function runFlagging(project: Project, options: FlaggingOptions = {}, hooks: FlaggingHooks = {}): Promise<FlaggingReport> {
  const started = performance.now()
  const opts = { ...DEFAULT_FLAGGING, ...stripUndefined(options) }
  const types = new Set(opts.types?.length ? opts.types : FLAG_TYPES)
  const db = project.db
  const before = versions(db)
  const labelsBefore = labelSnapshot(db)
  const classes = new Map(listClasses(db).map((c) => [c.id, c.name]))
  const ctx: Context = {
    project,
    opts,
    hooks,
    warnings: [],
    dataVersion: before.dataVersion,
    className: (id) => (id == null ? 'unlabeled' : (classes.get(id) ?? `class ${id}`)),
    progress: (fraction, message) => hooks.onProgress?.(Math.round(fraction * PROGRESS_STEPS), PROGRESS_STEPS, message)
  }
  let detected: Detected[]
  try {
    detected = await detect(ctx, types)
  } catch (err) {
    if (err instanceof CancelledError) return { runs: [], warnings: ctx.warnings, images: labelsBefore.size, durationMs: performance.now() - started, cancelled: true }
    throw err
  }
  // A cancel that came after the last check (the last fold's progress, say) still means: keep the flags from before.
  if (hooks.signal?.aborted) return { runs: [], warnings: ctx.warnings, images: labelsBefore.size, durationMs: performance.now() - started, cancelled: true }
  const changed = changedLabels(labelsBefore, labelSnapshot(db))
  if (changed.size) ctx.warnings.push(`${changed.size} image${changed.size === 1 ? '' : 's'} changed label or left the data while flagging ran; they were not flagged this time (run again to include them)`)
  const runs = db.transaction(() =>
    detected.map((d) => {
      const flags = d.flags.filter((f) => !changed.has(f.imageId))
      const stats = { ...d.stats, dataVersion: before.dataVersion, imageSet: before.imageSet, flagged: flags.length, warnings: ctx.warnings }
      const runId = createFlagRun(db, d.type, d.sourceVersion, d.params, stats)
      const { inserted, skippedKept } = replaceFlags(db, d.type, runId, flags, d.sourceVersion)
      db.prepare('UPDATE flag_runs SET stats = json_set(stats, \'$.flagged\', ?) WHERE id = ?').run(inserted, runId)
      return { type: d.type, runId, flagged: inserted, skippedKept }
    })
  )()
  ctx.progress(1, 'done')
  return { runs, warnings: ctx.warnings, images: labelsBefore.size, durationMs: Math.round(performance.now() - started), cancelled: false }
}

function changedLabels(before: Map<number, number | null>, after: Map<number, number | null>): Set<number> {
  const out = new Set<number>()
  for (const [id, label] of before) if (!after.has(id) || after.get(id) !== label) out.add(id)
  return out
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
