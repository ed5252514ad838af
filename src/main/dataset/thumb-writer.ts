// Thumbnails written by a thread of their own. Creating a file is the slow part of writing one on
// some disks (up to 1.6 ms per open() measured here, on ext4 mounted with online discard), and
// neither place it could go was free: on libuv's pool each write waited behind the decodes that
// fill it, and on the main thread it stalled the loop that feeds the decodes. One writer thread
// takes the files in order, atomically (temporary name, then rename), and answers each.
import { Worker } from 'node:worker_threads'

/** The writer's code: plain CommonJS, so the bundle needs no entry for it. */
const WRITER = `const { parentPort } = require('node:worker_threads')
const { mkdirSync, renameSync, rmSync, writeFileSync } = require('node:fs')
const { dirname } = require('node:path')
const made = new Set()
function write(id, file, data, retry) {
  const dir = dirname(file)
  const tmp = file + '.w' + id + '.tmp'
  try {
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true })
      made.add(dir)
    }
    writeFileSync(tmp, data)
    renameSync(tmp, file)
    parentPort.postMessage({ id })
  } catch (err) {
    try { rmSync(tmp, { force: true }) } catch {}
    // the folder may have been removed since it was made (a deleted project re-created)
    if (err.code === 'ENOENT' && made.delete(dir) && retry) return write(id, file, data, false)
    parentPort.postMessage({ id, error: { code: err.code, message: err.message } })
  }
}
parentPort.on('message', (m) => write(m.id, m.file, m.data, true))`

export interface ThumbWriter {
  /** Resolves when `file` holds `data` in full; rejects with the file system's error (and its code). */
  write(file: string, data: Uint8Array): Promise<void>
  close(): Promise<void>
}

export function thumbWriter(): ThumbWriter {
  const worker = new Worker(WRITER, { eval: true })
  worker.unref()
  let next = 0
  const waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>()
  let broken: Error | null = null
  worker.on('message', (m: { id: number; error?: { code?: string; message: string } }) => {
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
    else w.resolve()
  })
  const fail = (err: Error) => {
    broken = err
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(broken ?? new Error(`the thumbnail writer stopped (exit code ${code})`)))
  return {
    write(file, data) {
      if (broken) return Promise.reject(broken)
      const id = next++
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        worker.postMessage({ id, file, data })
      })
    },
    async close() {
      fail(broken ?? new Error('the thumbnail writer is closed'))
      await worker.terminate()
    }
  }
}
