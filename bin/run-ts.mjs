#!/usr/bin/env node
// Runs a TypeScript script (benchmarks, tools) with the project's loader.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { register } from 'tsx/esm/api'

register()
const [script, ...args] = process.argv.slice(2)
if (!script) {
  console.error('usage: node bin/run-ts.mjs <script.ts> [args...]')
  process.exit(2)
}
process.argv = [process.argv[0], script, ...args]
await import(pathToFileURL(resolve(script)).href)
