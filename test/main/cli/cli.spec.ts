import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { main } from '../../../src/main/cli/main'
import type { Io } from '../../../src/main/cli/io'
import { tempDir } from '../../helpers/tmp'

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: Io = { out: (t) => (out += t + '\n'), err: (t) => (err += t + '\n') }
  const code = await main(argv, io)
  return { code, out, err }
}

describe('studio CLI', () => {
  it('init then info --json prints the classes', async () => {
    const dir = join(tempDir(), 'p')
    const init = await run('init', dir, '--classes', 'angry,happy,sad')
    expect(init.code).toBe(0)
    expect(init.out).toContain('3 classes: angry, happy, sad')
    const info = await run('info', dir, '--json')
    expect(info.code).toBe(0)
    const doc = JSON.parse(info.out)
    expect(doc.classes.map((c: { name: string }) => c.name)).toEqual(['angry', 'happy', 'sad'])
    expect(Object.keys(doc)).toEqual([
      'dir', 'name', 'createdAt', 'schemaVersion', 'imageCount', 'excludedCount', 'missingCount', 'labeledCount',
      'labeledShare', 'classCount', 'classes', 'environments', 'annotators'
    ])
  })

  it('takes a preset and prints a readable summary', async () => {
    const dir = join(tempDir(), 'p')
    expect((await run('init', dir, '--preset', 'emotion7')).code).toBe(0)
    const info = await run('info', dir)
    expect(info.out).toContain('classes (7): angry=0, disgust=0, fear=0, happy=0, sad=0, surprise=0, neutral=0')
  })

  it('exits 2 on usage errors with one line on stderr', async () => {
    for (const argv of [[], ['frobnicate'], ['init'], ['info', 'a', 'b'], ['init', '/tmp/x', '--bogus'], ['init', '/tmp/x', '--classes', 'a,,b'], ['serve', '--port', 'eighty']]) {
      const r = await run(...argv)
      expect(r.code, argv.join(' ')).toBe(2)
      if (argv.length) expect(r.err.trim().split('\n'), argv.join(' ')).toHaveLength(1)
    }
  })

  it('exits 1 with the reason when the work fails', async () => {
    const dir = tempDir()
    const r = await run('info', dir)
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^studio info: .* is not a Freezeframe project/)
    expect(r.err.trim().split('\n')).toHaveLength(1)
    const dup = await run('init', join(dir, 'p'), '--classes', 'a,b,a')
    expect(dup.code).toBe(1)
    expect(dup.err).toContain('"a" is listed twice')
  })

  it('prints help for every command with exit 0', async () => {
    for (const name of ['init', 'info', 'serve']) {
      const r = await run(name, '--help')
      expect(r.code).toBe(0)
      expect(r.out).toContain(`usage: studio ${name}`)
    }
    expect((await run('--help')).out).toContain('commands:')
  })

  it('runs as a real process through bin/studio.mjs with its exit codes', async () => {
    const dir = join(tempDir(), 'p')
    const exec = promisify(execFile)
    const ok = await exec(process.execPath, ['bin/studio.mjs', 'init', dir, '--classes', 'x,y', '--json'])
    expect(JSON.parse(ok.stdout).classCount).toBe(2)
    const failed = await exec(process.execPath, ['bin/studio.mjs', 'init', dir]).catch((e: { code: number; stderr: string }) => e)
    expect(failed).toMatchObject({ code: 1 })
    expect((failed as { stderr: string }).stderr).toContain('already holds a project')
  })
})
