#!/usr/bin/env node
// Runs the TypeScript CLI directly: the same core the app and the tests use, no build step.
// Image work (sharp) and file reads share libuv's thread pool; 4 threads starve one or the other.
// Must be set before the pool first starts, so it is the first thing here.
process.env.UV_THREADPOOL_SIZE ??= '8'
const { register } = await import('tsx/esm/api')

register()
const { main } = await import('../src/main/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
