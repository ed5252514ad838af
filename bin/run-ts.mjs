#!/usr/bin/env node
// Runs a TypeScript script (benchmarks, tools) with the project's loader.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
// Image work (sharp) and file reads share libuv's thread pool; 4 threads starve one or the other.
// Must be set before the pool first starts, so it is the first thing here.
process.env.UV_THREADPOOL_SIZE ??= '8'
const { register } = await import('tsx/esm/api')

register()
const [script, ...args] = process.argv.slice(2)
if (!script) {
  console.error('usage: node bin/run-ts.mjs <script.ts> [args...]')
  process.exit(2)
}
process.argv = [process.argv[0], script, ...args]
await import(pathToFileURL(resolve(script)).href)
