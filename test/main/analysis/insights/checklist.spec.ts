import { describe, expect, it } from 'vitest'
import { checklistSnapshot, clearOverride, listOverrides, runChecklist, setOverride } from '../../../../src/main/analysis/insights/checklist'
import { StudioError } from '../../../../src/shared/errors'
import { CHECKS, type CheckId, type CheckResult } from '../../../../src/shared/insights'
import { Fixture } from './fixture'

/** Two classes, 60 images each, every image its own subject, two environments. */
function balanced(opts: { happy?: number; sad?: number; size?: [number, number]; subjects?: 'unique' | 'none' | 'repeated' } = {}): Fixture {
  const f = new Fixture(['happy', 'sad'])
  const subject = opts.subjects === 'none' ? undefined : opts.subjects === 'repeated' ? (k: number) => `p${k % 5}` : (k: number) => `u${k}`
  const happy = opts.happy ?? 60
  const sad = opts.sad ?? 60
  f.add({ cls: 'happy', n: Math.ceil(happy / 2), env: 'studio', subject, size: opts.size })
  f.add({ cls: 'happy', n: Math.floor(happy / 2), env: 'webcam', subject: subject && ((k) => `w${subject(k)}`), size: opts.size })
  f.add({ cls: 'sad', n: Math.ceil(sad / 2), env: 'studio', subject: subject && ((k) => `s${subject(k)}`), size: opts.size })
  f.add({ cls: 'sad', n: Math.floor(sad / 2), env: 'webcam', subject: subject && ((k) => `t${subject(k)}`), size: opts.size })
  return f
}

function check(f: Fixture, id: CheckId, config: object = {}): CheckResult {
  return runChecklist(f.db, config).checks.find((c) => c.id === id)!
}

describe('the checklist report', () => {
  it('has the ten checks of the practice note, in order, each with a verdict and a one-line explanation', () => {
    const r = runChecklist(balanced().db, {})
    expect(r.checks.map((c) => c.id)).toEqual(CHECKS.map((c) => c.id))
    expect(r.checks.map((c) => c.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    for (const c of r.checks) {
      expect(['pass', 'warn', 'fail']).toContain(c.verdict)
      expect(c.explanation.length).toBeGreaterThan(10)
      expect(c.explanation).not.toContain('\n')
    }
    expect(r.counts.pass + r.counts.warn + r.counts.fail).toBe(10)
    // the trainer's defaults, filled in
    expect(r.config).toMatchObject({ backbone: 'mobilenetv2-nsfwjs', size: 128, weights: 'inverse', flip: true, head: { hidden: 256, learningRate: 1e-3 } })
    expect(r.config.split).toEqual({ kind: 'subject', validation: 0.2, seed: 1 })
  })

  it('refuses a bad config naming the field', () => {
    const f = balanced()
    expect(() => runChecklist(f.db, { size: 'big' })).toThrow(/config\.size/)
    expect(() => runChecklist(f.db, { augmentation: { rotation: -5 } })).toThrow(/config\.augmentation\.rotation/)
    expect(() => runChecklist(f.db, { nonsense: true })).toThrow(StudioError)
    expect(() => runChecklist(f.db, { backbone: 'resnet9000' })).toThrow(/unknown backbone "resnet9000"/)
  })
})

describe('1. input resolution', () => {
  it('passes when images are scaled at most 2x', () => {
    const c = check(balanced({ size: [64, 64] }), 'input-resolution')
    expect(c.verdict).toBe('pass')
    expect(c.explanation).toContain('median scale 2.00x (up)')
  })
  it('warns when most images are blown up more than 2x, and offers a smaller input that fits', () => {
    const c = check(balanced({ size: [50, 70] }), 'input-resolution', { size: 160 })
    expect(c.verdict).toBe('warn')
    expect(c.explanation).toContain('100% of images are blown up more than 2x')
    expect(c.fix).toEqual({ kind: 'config', label: 'use 96 px', patch: { size: 96 }, applies: true })
    expect(check(balanced({ size: [50, 70] }), 'input-resolution', { size: 96 }).verdict).toBe('pass')
  })
  it('fails on a size the backbone cannot take', () => {
    const c = check(balanced(), 'input-resolution', { size: 100 })
    expect(c.verdict).toBe('fail')
    expect(c.fix).toMatchObject({ patch: { size: 128 }, applies: true })
  })
})

describe('2. normalisation', () => {
  it("passes with the backbone's own normalisation and fails with another", () => {
    const f = balanced()
    expect(check(f, 'normalization').verdict).toBe('pass')
    const c = check(f, 'normalization', { normalization: 'imagenet' })
    expect(c.verdict).toBe('fail')
    expect(c.explanation).toContain('zero1')
    // training.start has no normalisation option: the fix is stated but not applicable there
    expect(c.fix).toMatchObject({ kind: 'config', patch: { normalization: 'zero1' }, applies: false })
  })
})

describe('3. class imbalance', () => {
  it('passes when balanced, or imbalanced with class weights on', () => {
    expect(check(balanced(), 'class-imbalance').verdict).toBe('pass')
    const c = check(balanced({ happy: 60, sad: 20 }), 'class-imbalance')
    expect(c.verdict).toBe('pass')
    expect(c.explanation).toContain('Largest/smallest 3.00 ("happy" 60 vs "sad" 20)')
  })
  it('warns when imbalanced with weights off, and the fix is to use class weights', () => {
    const c = check(balanced({ happy: 60, sad: 20 }), 'class-imbalance', { weights: 'off' })
    expect(c.verdict).toBe('warn')
    expect(c.fix).toEqual({ kind: 'config', label: 'use class weights', patch: { weights: 'inverse' }, applies: true })
  })
  it('fails when severely imbalanced with weights off; with weights on it still warns', () => {
    const f = balanced({ happy: 120, sad: 10 })
    expect(check(f, 'class-imbalance', { weights: 'off' }).verdict).toBe('fail')
    const on = check(f, 'class-imbalance', { weights: 'effective' })
    expect(on.verdict).toBe('warn')
    expect(on.explanation).toContain('label more "sad"')
  })
  it('fails with fewer than two classes that have images', () => {
    const f = new Fixture(['happy', 'sad'])
    expect(check(f, 'class-imbalance').explanation).toContain('No class has labeled images')
    f.add({ cls: 'happy', n: 5 })
    const c = check(f, 'class-imbalance')
    expect(c.verdict).toBe('fail')
    expect(c.explanation).toContain('Only "happy" has labeled images')
  })

  it('judges an empty project without failing to run: every check answers', () => {
    const r = runChecklist(new Fixture(['a', 'b']).db, {})
    expect(r.checks).toHaveLength(10)
    expect(r.checks.find((c) => c.id === 'head-size')!.explanation).toContain('No labeled images yet')
  })
})

describe('4. augmentation', () => {
  it('passes within bounds, warns when strong, fails when excessive, and the fix clamps', () => {
    const f = balanced()
    expect(check(f, 'augmentation', { augmentation: { rotation: 10, crop: 0.1 } }).verdict).toBe('pass')
    const strong = check(f, 'augmentation', { augmentation: { rotation: 20 } })
    expect(strong.verdict).toBe('warn')
    expect(strong.explanation).toContain('rotation 20° (sensible up to 15°)')
    const bad = check(f, 'augmentation', { augmentation: { rotation: 45, brightness: 0.3 } })
    expect(bad.verdict).toBe('fail')
    expect(bad.fix).toMatchObject({ patch: { augmentation: { rotation: 15, brightness: 0.25 } }, applies: false })
    expect(check(f, 'augmentation', { augmentation: { verticalFlip: true } }).verdict).toBe('fail')
    expect(check(f, 'augmentation', bad.fix!.kind === 'config' ? bad.fix!.patch : {}).verdict).toBe('pass')
  })
})

describe('5. head size', () => {
  it('passes a small head, warns at over 1000 parameters per training image, fails beyond 10000', () => {
    const f = balanced() // 120 images, 96 train at 20% validation
    const small = check(f, 'head-size', { head: { hidden: 0 } })
    expect(small.verdict).toBe('pass')
    expect(small.explanation).toContain('2,562 parameters for ~96 training images')
    const big = check(f, 'head-size')
    expect(big.verdict).toBe('warn') // 1280*256+256+256*2+2 = 328,450 / 96
    expect(big.explanation).toContain('328,450 parameters')
    // Dense 64: 1280*64+64+64*2+2 = 82,114 / 96 = 855 per image, the largest that fits
    expect(big.fix).toMatchObject({ label: 'use a Dense 64 head', patch: { head: { hidden: 64 } }, applies: true }) // training.start takes a head
    // holding out webcam leaves exactly the 60 studio images to train on
    expect(check(f, 'head-size', { split: { kind: 'environment', validationEnvironments: ['webcam'] } }).explanation).toContain('~60 training images')
    const tiny = new Fixture(['a', 'b'])
    tiny.add({ cls: 'a', n: 10 })
    tiny.add({ cls: 'b', n: 10 })
    expect(check(tiny, 'head-size').verdict).toBe('fail')
  })
})

describe('6. backbone frozen in the first stage', () => {
  it('passes frozen, fails when stage 1 unfreezes, warns when later stages unfreeze too much', () => {
    const f = balanced()
    expect(check(f, 'frozen-first-stage').verdict).toBe('pass')
    const hot = check(f, 'frozen-first-stage', { stages: [{ unfreeze: 0.5, learningRate: 1e-3 }] })
    expect(hot.verdict).toBe('fail')
    expect(hot.fix).toMatchObject({ patch: { stages: [{ unfreeze: 0, learningRate: 1e-3 }] } })
    const deep = check(f, 'frozen-first-stage', { stages: [{ unfreeze: 0, learningRate: 1e-3 }, { unfreeze: 0.6, learningRate: 1e-4 }] })
    expect(deep.verdict).toBe('warn')
    expect(deep.explanation).toContain('60% of the backbone')
  })
})

describe('7. fine-tuning learning rate', () => {
  const stages = (lr2: number) => ({ stages: [{ unfreeze: 0, learningRate: 1e-3 }, { unfreeze: 0.2, learningRate: lr2 }] })
  it('passes a tenth of the head rate, warns when only a little lower, fails when not lower', () => {
    const f = balanced()
    expect(check(f, 'fine-tune-lr').verdict).toBe('pass')
    expect(check(f, 'fine-tune-lr', stages(1e-4)).verdict).toBe('pass')
    expect(check(f, 'fine-tune-lr', stages(5e-4)).verdict).toBe('warn')
    const same = check(f, 'fine-tune-lr', stages(1e-3))
    expect(same.verdict).toBe('fail')
    expect(same.fix).toMatchObject({ patch: { stages: [{ learningRate: 1e-3 }, { learningRate: 1e-4 }] } })
  })
})

describe('8. validation split', () => {
  it('passes a subject split with no duplicates', () => {
    const c = check(balanced({ subjects: 'repeated' }), 'validation-split')
    expect(c.verdict).toBe('pass')
    expect(c.explanation).toContain('Default: grouped by subject')
  })
  it('fails a random split when subjects have several images, and the fix splits by subject', () => {
    const c = check(balanced({ subjects: 'repeated' }), 'validation-split', { split: { kind: 'stratified', validation: 0.2, seed: 1 } })
    expect(c.verdict).toBe('fail')
    expect(c.explanation).toContain('20 subjects have several images')
    expect(c.fix).toEqual({ kind: 'config', label: 'split by subject', patch: { split: { kind: 'subject', validation: 0.2, seed: 1 } }, applies: true })
  })
  it('fails a held-out environment when the same subjects appear in both environments', () => {
    const f = new Fixture(['a', 'b'])
    f.add({ cls: 'a', n: 4, env: 'studio', subject: (k) => `p${k}` })
    f.add({ cls: 'a', n: 4, env: 'webcam', subject: (k) => `p${k}` })
    f.add({ cls: 'b', n: 4, env: 'studio', subject: (k) => `q${k}` })
    const c = check(f, 'validation-split', { split: { kind: 'environment', validationEnvironments: ['webcam'] } })
    expect(c.verdict).toBe('fail')
    expect(c.explanation).toContain('4 subjects have images on both sides')
  })
  it('warns about near-identical images, and when no subject is known', () => {
    const f = balanced({ subjects: 'unique' })
    const ids = f.db.prepare('SELECT id FROM images ORDER BY id LIMIT 2').pluck().all() as number[]
    f.db.prepare(`UPDATE images SET phash = 'abcdefabcdefabcd' WHERE id IN (${ids.join(',')})`).run()
    const dup = check(f, 'validation-split')
    expect(dup.verdict).toBe('warn')
    expect(dup.explanation).toContain('1 group of near-identical images')
    const anon = check(balanced({ subjects: 'none' }), 'validation-split')
    expect(anon.verdict).toBe('warn')
    expect(anon.explanation).toContain('no image has a subject id')
  })
})

describe('9. confusion matrix', () => {
  function withRun(recall: 'good' | 'poor'): { f: Fixture; runId: number } {
    const f = new Fixture(['happy', 'sad'])
    const a = f.add({ cls: 'happy', n: 4 })
    const b = f.add({ cls: 'sad', n: 4 })
    const parts = new Map<number, 'train' | 'validation'>([...a, ...b].map((id) => [id, 'validation']))
    const preds = [...a.map((id) => ({ imageId: id, label: 0, predicted: 0 })), ...b.map((id, i) => ({ imageId: id, label: 1, predicted: recall === 'good' || i === 0 ? 1 : 0 }))]
    return { f, runId: f.run(parts, ['happy', 'sad'], preds) }
  }
  it('passes before any run', () => {
    expect(check(balanced(), 'confusion-matrix').verdict).toBe('pass')
  })
  it('warns until the confusion matrix of the latest run has been opened, then passes', () => {
    const { f, runId } = withRun('good')
    const c = check(f, 'confusion-matrix')
    expect(c.verdict).toBe('warn')
    expect(c.fix).toEqual({ kind: 'navigate', label: 'open the confusion matrix', route: 'evaluate' })
    f.db.prepare('UPDATE runs SET confusion_viewed_at = ? WHERE id = ?').run(new Date().toISOString(), runId)
    const seen = check(f, 'confusion-matrix')
    expect(seen.verdict).toBe('pass')
    expect(seen.explanation).toContain('lowest class recall 100%')
  })
  it('fails when a class recall is under the floor, even when viewed', () => {
    const { f, runId } = withRun('poor')
    f.db.prepare('UPDATE runs SET confusion_viewed_at = ? WHERE id = ?').run(new Date().toISOString(), runId)
    const c = check(f, 'confusion-matrix')
    expect(c.verdict).toBe('fail')
    expect(c.explanation).toContain('"sad" 25% of 4')
  })
})

describe('10. production environment', () => {
  it('warns with one environment, warns with mixed environments and offers to hold the smallest out, passes when held out, fails on a missing one', () => {
    const one = new Fixture(['a', 'b'])
    one.add({ cls: 'a', n: 5, env: 'studio' })
    one.add({ cls: 'b', n: 5, env: 'studio' })
    const single = check(one, 'production-environment')
    expect(single.verdict).toBe('warn')
    expect(single.fix).toBeNull()

    const f = balanced()
    f.add({ cls: 'happy', n: 3, env: 'phone', subject: (k) => `ph${k}` })
    const mixed = check(f, 'production-environment')
    expect(mixed.verdict).toBe('warn')
    expect(mixed.fix).toEqual({ kind: 'config', label: 'hold out "phone"', patch: { split: { kind: 'environment', validationEnvironments: ['phone'] } }, applies: true })
    const held = check(f, 'production-environment', { split: { kind: 'environment', validationEnvironments: ['webcam'] } })
    expect(held.verdict).toBe('pass')
    expect(held.explanation).toContain('"webcam" (60 images)')
    expect(check(f, 'production-environment', { split: { kind: 'environment', validationEnvironments: ['car'] } }).verdict).toBe('fail')
  })
})

describe('overrides', () => {
  it('stores a reason per check, shows it on a non-passing check, audits it, and can be removed', () => {
    const f = balanced({ happy: 60, sad: 20 })
    const before = runChecklist(f.db, { weights: 'off' })
    setOverride(f.db, 'class-imbalance', '  the minority class is rare in production too  ', 'ana')
    const after = runChecklist(f.db, { weights: 'off' })
    const c = after.checks.find((x) => x.id === 'class-imbalance')!
    expect(c.verdict).toBe('warn') // the verdict stands; the override says why the user goes ahead
    expect(c.override).toMatchObject({ checkId: 'class-imbalance', reason: 'the minority class is rare in production too', annotator: 'ana' })
    expect(after.open).toBe(before.open - 1)
    // a passing check shows no stale override
    expect(runChecklist(f.db, { weights: 'inverse' }).checks.find((x) => x.id === 'class-imbalance')!.override).toBeNull()
    expect(f.db.prepare("SELECT count(*) FROM audit_log WHERE action = 'checklist.override'").pluck().get()).toBe(1)
    expect(clearOverride(f.db, 'class-imbalance')).toEqual([])
    expect(runChecklist(f.db, { weights: 'off' }).open).toBe(before.open)
  })

  it('refuses an empty reason', () => {
    const f = balanced()
    expect(() => setOverride(f.db, 'head-size', ' x ', null)).toThrow(/at least 3 characters/)
    expect(listOverrides(f.db)).toEqual([])
  })

  it("goes into a run's config as a snapshot of verdicts and standing overrides", () => {
    const f = balanced({ happy: 60, sad: 20 })
    setOverride(f.db, 'production-environment', 'webcam data comes next month', null)
    const snap = checklistSnapshot(f.p, { weights: 'off', split: { kind: 'stratified', validation: 0.2, seed: 3 } })
    expect(snap.checks).toHaveLength(10)
    expect(snap.checks.find((c) => c.id === 'class-imbalance')!.verdict).toBe('warn')
    expect(snap.overrides.map((o) => o.checkId)).toEqual(['production-environment'])
    expect(snap.error).toBeUndefined()
  })
})

describe("checks 4, 6 and 7 on training.start's stage-2 options", () => {
  it("judge the runner's own stage-2 plan: on by default for 300+ training images, at a tenth of the head's rate", () => {
    const f = balanced({ happy: 250, sad: 250 })
    const r = runChecklist(f.db, {})
    expect(r.config.stages).toHaveLength(2)
    expect(r.config.stages[1].learningRate).toBeCloseTo(1e-4, 12)
    const lr = r.checks.find((c) => c.id === 'fine-tune-lr')!
    expect(lr.verdict).toBe('pass')
    expect(lr.explanation).toContain('Fine-tuning at 0.0001')
    // 500 images is under the 1000 the practice wants before fine-tuning: warn, and offer to stay frozen
    const frozen = r.checks.find((c) => c.id === 'frozen-first-stage')!
    expect(frozen.verdict).toBe('warn')
    expect(frozen.fix).toEqual({ kind: 'config', label: 'train the head only', patch: { stage2: { enabled: false } }, applies: true })
    expect(check(f, 'frozen-first-stage', frozen.fix!.kind === 'config' ? frozen.fix!.patch : {}).verdict).toBe('pass')
  })

  it('fail a stage-2 rate equal to the head rate, with a fix training.start can take', () => {
    const f = balanced()
    const c = check(f, 'fine-tune-lr', { stage2: { fraction: 0.2, learningRate: 1e-3 } })
    expect(c.verdict).toBe('fail')
    expect(c.fix).toMatchObject({ patch: { stage2: { enabled: true, fraction: 0.2, learningRate: 1e-4 } }, applies: true })
  })

  it('warn on strong stage-2 augmentation and clamp it in stage2.augment', () => {
    const f = balanced()
    const c = check(f, 'augmentation', { stage2: { fraction: 0.2, augment: { rotateDeg: 18, minCrop: 0.75 } } })
    expect(c.verdict).toBe('warn')
    expect(c.explanation).toContain('rotation 18°')
    expect(c.explanation).toContain('crop 0.25 of a side')
    expect(c.fix).toMatchObject({ patch: { stage2: { fraction: 0.2, augment: { rotateDeg: 15, minCrop: 0.85 } } }, applies: true })
  })
})

describe('checklist facts', () => {
  it('are read again after the data changes, not before', () => {
    const f = balanced({ happy: 60, sad: 20 })
    expect(check(f, 'class-imbalance').explanation).toContain('"sad" 20')
    expect(check(f, 'class-imbalance', { weights: 'off' }).verdict).toBe('warn') // same data, another config
    f.add({ cls: 'sad', n: 40 })
    expect(check(f, 'class-imbalance').explanation).toContain('Largest/smallest 1.00')
  })
})
