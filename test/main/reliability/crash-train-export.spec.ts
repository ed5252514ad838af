// Real kills of `studio train` and `studio export`, from outside the process, at a moment the
// process does not choose: the run is marked interrupted and `--resume` finishes it from its
// last checkpoint; an export leaves either nothing or a complete folder, never half of one.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importDemo } from '../../../src/main/dataset/demo-import'
import { getRun } from '../../../src/main/db/repos/runs'
import { label } from '../../../src/main/labeling/actions'
import { createProject, openProject } from '../../../src/main/project/project'
import { EMOTION7 } from '../../../src/shared/presets'
import { tempDir } from '../../helpers/tmp'
import { closed, filesUnder, integrity, lines, spawnTs, until } from './helpers'

const TRAIN = ['--backbone', 'mobilenetv2-nsfwjs', '--size', '96', '--epochs', '6', '--stage2-epochs', '3', '--unfreeze', '0.1', '--workers', '1']

function labels(dir: string): unknown {
  const p = openProject(dir)
  try {
    return p.db.prepare('SELECT id, image_id, class_id, annotator FROM annotations ORDER BY id').raw().all()
  } finally {
    p.close()
  }
}

describe('killed during training and during an export', () => {
  it('marks the killed run interrupted, resumes it from its checkpoint, and never shows half an export', async () => {
    const root = tempDir()
    const dir = join(root, 'p')
    const p0 = createProject(dir, { classes: [...EMOTION7] })
    await importDemo(p0, { images: 72, seed: 6, labelNoise: 0, imbalance: 1, environments: { studio: 1 } })
    label(p0.db, 'kim', [1, 2, 3], 2)
    p0.close()
    const before = labels(dir)

    // Training: killed once stage 2 has written its first checkpoint, wherever it is by then.
    const step = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`)
    const t0 = Date.now()
    const train = spawnTs(['bin/studio.mjs', 'train', dir, ...TRAIN])
    const trainOut = lines(train)
    const ckpt = join(dir, 'runs', '1', 'checkpoints', 'stage2-epoch0001.json')
    await until('the first stage-2 checkpoint', () => existsSync(ckpt) || train.exitCode !== null, 240_000)
    expect(train.exitCode, trainOut.err()).toBeNull()
    train.kill('SIGKILL')
    expect((await closed(train)).signal).toBe('SIGKILL')
    step('training killed after the first stage-2 checkpoint')

    let p = openProject(dir)
    expect(integrity(p.db)).toBe('ok')
    expect(getRun(p.db, 1)!.status).toBe('interrupted')
    p.close()
    expect(labels(dir)).toEqual(before)
    // Every checkpoint file under its final name is whole; the pointer names files that exist.
    const cdir = dirname(ckpt)
    for (const f of readdirSync(cdir).filter((n) => n.endsWith('.json'))) JSON.parse(readFileSync(join(cdir, f), 'utf8'))
    const latest = JSON.parse(readFileSync(join(cdir, 'latest.json'), 'utf8')) as { name: string }
    expect(existsSync(join(cdir, `${latest.name}.bin`))).toBe(true)

    const resume = spawnTs(['bin/studio.mjs', 'train', dir, '--resume', '1', '--workers', '1', '--json'])
    const resumeOut = lines(resume)
    expect((await closed(resume)).code, resumeOut.err()).toBe(0)
    const text = resumeOut.out.join('\n')
    const outcome = JSON.parse(text.slice(text.indexOf('{'))) as { status: string; summary?: { resumed?: boolean } }
    expect(outcome).toMatchObject({ status: 'completed', summary: { resumed: true } })
    step('run resumed and completed')

    // Export: killed as soon as it starts writing; the destination is absent or complete.
    const out = join(root, 'export')
    const exp = spawnTs(['bin/studio.mjs', 'export', dir, '--run', '1', '--out', out, '--dataset', 'imagefolder'])
    const expOut = lines(exp)
    const started = () => readdirSync(root).some((n) => n !== 'p' && n !== 'export') || existsSync(out)
    await until('the export to start writing', () => started() || exp.exitCode !== null, 120_000)
    exp.kill('SIGKILL')
    await closed(exp)
    step(`export killed; the destination ${existsSync(out) ? 'exists' : 'does not exist'}`)
    const visible = existsSync(out) ? filesUnder(out) : []
    if (visible.length) expect(visible, expOut.err()).toEqual(expect.arrayContaining(['model/model.json', 'labels.json', 'model-card.md']))

    const again = spawnTs(['bin/studio.mjs', 'export', dir, '--run', '1', '--out', out, '--dataset', 'imagefolder', '--force', '--json'])
    const againOut = lines(again)
    expect((await closed(again)).code, againOut.err()).toBe(0)
    const files = filesUnder(out)
    expect(files).toEqual(expect.arrayContaining(['model/model.json', 'labels.json', 'preprocessing.json', 'metrics.json', 'model-card.md']))
    expect(files.filter((f) => f.startsWith('dataset/')).length).toBeGreaterThan(0)
    JSON.parse(readFileSync(join(out, 'model', 'model.json'), 'utf8'))

    // Disk full during an export (RLIMIT_FSIZE, see disk-full.spec.ts): a clear error, no folder.
    const full = join(root, 'full-export')
    const limited = spawnTs(['bin/studio.mjs', 'export', dir, '--run', '1', '--out', full, '--dataset', 'imagefolder'], { shell: 'ulimit -f 48' })
    const limitedOut = lines(limited)
    expect((await closed(limited)).code).toBe(1)
    expect(limitedOut.err()).toMatch(/export to .*full-export failed, nothing was written: (EFBIG|ENOSPC)/)
    expect(existsSync(full)).toBe(false)
    expect(readdirSync(root).filter((n) => n.includes('full-export'))).toEqual([]) // its temporary folder was removed
    // What the killed export left is a hidden temporary folder, never something under the destination's name.
    expect(readdirSync(root).filter((n) => !['export', 'p'].includes(n) && !n.startsWith('.'))).toEqual([])
    step('export on a full disk refused')

    expect(labels(dir)).toEqual(before)
    p = openProject(dir)
    expect(integrity(p.db)).toBe('ok')
    expect(getRun(p.db, 1)!.status).toBe('completed')
    p.close()
  }, 600_000)
})
