// `studio evaluate`: the same numbers as the core, subsets from the command line, run comparison,
// and clear usage errors.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSubset } from '../../../src/main/cli/commands/evaluate'
import type { Io } from '../../../src/main/cli/io'
import { main } from '../../../src/main/cli/main'
import { runTraining, type RunOutcome } from '../../../src/main/training/runner'
import { trainedProject } from './fixture'

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  const code = await main(argv, io)
  return { code, out, err }
}

let dir: string
let projectDir: string
let first: RunOutcome
let second: RunOutcome

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ff-cli-eval-'))
  const t = await trainedProject(dir, 120)
  first = t.run
  second = await runTraining(t.project, { backbone: 'pixels', split: { kind: 'stratified', validation: 0.3, seed: 1 }, head: { epochs: 4, hidden: 0 }, seed: 1 })
  projectDir = t.project.dir
  t.project.close()
}, 180_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('studio evaluate', () => {
  it('prints the latest run by default, and the same numbers as JSON', async () => {
    const json = await cli('evaluate', projectDir, '--json')
    expect(json.code).toBe(0)
    const ev = JSON.parse(json.out)
    expect(ev.runId).toBe(second.runId)
    expect(ev.confusion).toEqual(second.summary!.confusion)
    const human = await cli('evaluate', projectDir, '--run', String(second.runId))
    expect(human.code).toBe(0)
    expect(human.out).toContain(`run ${second.runId} on the run's validation split: ${ev.images} images scored`)
    expect(human.out).toContain(`accuracy ${(ev.overall.accuracy * 100).toFixed(1)}%`)
    expect(human.out).toMatch(/confusion \(rows true, columns predicted\): angry, disgust/)
    expect(human.out).toContain('by environment:')
  })

  it('evaluates a subset and compares runs side by side', async () => {
    const env = await cli('evaluate', projectDir, '--run', String(first.runId), '--subset', 'environment:studio', '--json')
    expect(env.code).toBe(0)
    expect(JSON.parse(env.out).perEnvironment.groups.map((g: { group: string }) => g.group)).toEqual(['studio'])
    const cmp = await cli('evaluate', projectDir, '--compare', `${first.runId},${second.runId}`, '--json')
    expect(cmp.code).toBe(0)
    const c = JSON.parse(cmp.out)
    expect(c.runIds).toEqual([first.runId, second.runId])
    expect(c.config.map((d: { key: string }) => d.key)).toEqual(expect.arrayContaining(['head.epochs', 'head.hidden']))
    expect(c.config.find((d: { key: string }) => d.key === 'head.hidden').values).toEqual(['256', '0'])
    const acc = c.metrics.find((m: { metric: string }) => m.metric === 'accuracy')
    expect(acc.values[1]).toBeCloseTo(second.summary!.valAccuracy!, 10)
    expect(c.missing).toEqual([])
    const human = await cli('evaluate', projectDir, '--compare', `${first.runId},${second.runId}`)
    expect(human.out).toMatch(/head\.hidden\s+256\s+0/)
  })

  it('refuses bad arguments with exit 2 and names the problem', async () => {
    expect(() => parseSubset('attribute:age')).toThrow(/needs NAME=VALUE/)
    expect(() => parseSubset('filter:{"colour":1}')).toThrow(/Unrecognized key|colour/)
    expect(parseSubset('filter:{"classIds":[1]}')).toEqual({ kind: 'filter', filter: { classIds: [1] } })
    expect(parseSubset('attribute:age=18-29')).toEqual({ kind: 'attribute', name: 'age', value: '18-29' })
    const bad = await cli('evaluate', projectDir, '--subset', 'webcam')
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/--subset must be validation, environment:NAME/)
    const one = await cli('evaluate', projectDir, '--compare', '1')
    expect(one.code).toBe(2)
    const missing = await cli('evaluate', projectDir, '--run', '99')
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/run 99 does not exist/)
    const noRun = await cli('export', projectDir, '--out', join(dir, 'x'))
    expect(noRun.code).toBe(2)
    expect(noRun.err).toMatch(/--run ID is required/)
  })
})
