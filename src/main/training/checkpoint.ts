// Checkpoints of a run under <runDir>/checkpoints: named tensors (weights, optimizer moments,
// the best weights so far) in one .bin and the loop's state in a .json that names it. Both are
// written atomically, the .json last, and `latest.json` is replaced only after the files it points
// to exist, so a crash at any moment leaves the previous checkpoint readable.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { writeFileAtomic } from '../dataset/files'

export interface CheckpointState {
  stage: number
  /** Last finished epoch of `stage`. */
  epoch: number
  /** Free-form loop state (history, best epoch, batch size...). */
  [key: string]: unknown
}

interface Pointer {
  name: string
  stage: number
  epoch: number
}

export function checkpointDir(runDir: string): string {
  return join(runDir, 'checkpoints')
}

export async function saveCheckpoint(runDir: string, state: CheckpointState, tensors: tf.NamedTensorMap): Promise<string> {
  const dir = checkpointDir(runDir)
  mkdirSync(dir, { recursive: true })
  const name = `stage${state.stage}-epoch${String(state.epoch).padStart(4, '0')}`
  const { data, specs } = await tf.io.encodeWeights(tensors)
  writeFileAtomic(join(dir, `${name}.bin`), Buffer.from(data as ArrayBuffer))
  writeFileAtomic(join(dir, `${name}.json`), JSON.stringify({ state, specs }))
  writeFileAtomic(join(dir, 'latest.json'), JSON.stringify({ name, stage: state.stage, epoch: state.epoch } satisfies Pointer))
  prune(dir, name, state.stage)
  return name
}

/** Keeps the newest checkpoint of each stage (stage 1's head is what stage 2 starts from). */
function prune(dir: string, keep: string, stage: number): void {
  for (const f of readdirSync(dir)) {
    const m = /^(stage(\d+)-epoch\d+)\.(bin|json)$/.exec(f)
    if (m && m[1] !== keep && Number(m[2]) === stage) rmSync(join(dir, f), { force: true })
  }
}

export interface Checkpoint {
  state: CheckpointState
  tensors: tf.NamedTensorMap
}

function read(dir: string, name: string): Checkpoint {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { state: CheckpointState; specs: tf.io.WeightsManifestEntry[] }
  const bin = readFileSync(join(dir, `${name}.bin`))
  const tensors = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), meta.specs)
  return { state: meta.state, tensors }
}

/** The newest checkpoint, or null when the run wrote none. A damaged file is an error naming it. */
export function loadLatestCheckpoint(runDir: string): Checkpoint | null {
  const dir = checkpointDir(runDir)
  const pointer = join(dir, 'latest.json')
  if (!existsSync(pointer)) return null
  let p: Pointer
  try {
    p = JSON.parse(readFileSync(pointer, 'utf8')) as Pointer
    return read(dir, p.name)
  } catch (err) {
    throw new Error(`cannot read the checkpoint in ${dir}: ${(err as Error).message}`, { cause: err })
  }
}

/** The newest checkpoint of one stage, if any (stage 1's head when stage 2 is being resumed). */
export function loadStageCheckpoint(runDir: string, stage: number): Checkpoint | null {
  const dir = checkpointDir(runDir)
  if (!existsSync(dir)) return null
  const names = readdirSync(dir)
    .filter((f) => f.startsWith(`stage${stage}-`) && f.endsWith('.json'))
    .sort()
  return names.length ? read(dir, names[names.length - 1].slice(0, -'.json'.length)) : null
}
