// `studio backbones` and `studio probe`: the CLI tells which backbones need a download, adds and
// removes a user's folder (a broken one named), fails clearly offline, and ranks a project.
import { rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { tempDir } from '../../helpers/tmp'
import { tinyConvNet, writeModelFolder } from '../../helpers/tfjs-model-folder'

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  return { code: await main(argv, io), out, err }
}

const KEYS = ['FREEZEFRAME_HOME', 'FREEZEFRAME_MODEL_CACHE', 'FREEZEFRAME_MODEL_MIRROR'] as const
let saved: Partial<Record<(typeof KEYS)[number], string>>
beforeEach(() => {
  saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]))
  process.env.FREEZEFRAME_HOME = tempDir('ff-home-')
  process.env.FREEZEFRAME_MODEL_CACHE = tempDir('ff-models-')
  delete process.env.FREEZEFRAME_MODEL_MIRROR
})
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k]
    else process.env[k] = saved[k]
  }
})

describe('studio backbones', () => {
  it('lists every backbone with its status', async () => {
    const r = await run('backbones', '--json')
    expect(r.code).toBe(0)
    const list = JSON.parse(r.out) as { id: string; status: string; source: string }[]
    expect(list.find((b) => b.id === 'mobilenetv2-nsfwjs')).toMatchObject({ status: 'ready', source: 'bundled' })
    expect(list.find((b) => b.id === 'mobilenetv3-large-imagenet')).toMatchObject({ status: 'needs download', source: 'download' })
    const text = await run('backbones')
    expect(text.out).toMatch(/face-expression-faceapi\s+ready\s+256-d\s+96\/112\/128 px\s+fine-tunable/)
    expect(text.out).toMatch(/mobilenetv3-small-imagenet\s+needs download\s+1024-d\s+224 px\s+frozen/)
  })

  it('adds a folder (refusing a broken one, naming the file), lists it, and removes it', async () => {
    const dir = tempDir('ff-model-')
    const model = tinyConvNet(16)
    await writeModelFolder(model, dir)
    model.dispose()
    rmSync(join(dir, 'group1-shard1of1.bin'))
    const broken = await run('backbones', 'add', dir)
    expect(broken.code).toBe(1)
    expect(broken.err).toMatch(/studio backbones: .*group1-shard1of1\.bin: weight shard listed in model\.json is missing/)
    await writeModelFolder(tinyConvNet(16), dir)
    const added = await run('backbones', 'add', dir, '--layer', 'res_add', '--json')
    expect(added.code).toBe(0)
    const entry = JSON.parse(added.out) as { id: string; featureDim: number; featureLayer: string }
    expect(entry).toMatchObject({ featureDim: 4, featureLayer: 'feature_pool' })
    expect((await run('backbones')).out).toContain(`${entry.id}`)
    expect((await run('backbones', 'remove', entry.id)).code).toBe(0)
    expect((await run('backbones')).out).not.toContain(entry.id)
    expect((await run('backbones', 'remove', entry.id)).code).toBe(1)
    expect((await run('backbones', 'add', dir, '--normalization', 'weird')).code).toBe(2)
    expect((await run('backbones', 'frobnicate')).code).toBe(2)
  })

  it('fails a download clearly when the host cannot be reached', async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    process.env.FREEZEFRAME_MODEL_MIRROR = `http://127.0.0.1:${port}`
    const r = await run('backbones', 'download', 'mobilenetv3-small-imagenet')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/studio backbones: cannot download model\.json from .*cannot be reached \(ECONNREFUSED\); the machine looks offline/)
    expect((await run('backbones', '--json')).out).toContain('"needs download"')
  })
})

describe('studio probe', () => {
  it('ranks the backbones on a project', async () => {
    const dir = join(tempDir(), 'p')
    expect((await run('demo', dir, '--images', '40', '--seed', '2')).code).toBe(0)
    const r = await run('probe', dir, '--backbones', 'pixels', '--per-class', '4', '--folds', '2', '--json')
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out) as { best: string; ranking: { backbone: string; accuracy: number }[]; classes: string[]; sample: { folds: number } }
    expect(report.best).toBe('pixels')
    expect(report.ranking[0].accuracy).toBeGreaterThanOrEqual(0)
    expect(report.sample.folds).toBe(2)
    expect(report.classes.length).toBeGreaterThan(1)
    const text = await run('probe', dir, '--backbones', 'pixels,mobilenetv3-small-imagenet', '--per-class', '4', '--folds', '2')
    expect(text.out).toMatch(/1\. pixels\s+balanced/)
    expect(text.out).toMatch(/2\. mobilenetv3-small-imagenet .*needs download/)
    expect((await run('probe', dir, '--folds', 'x')).code).toBe(2)
  })
})
