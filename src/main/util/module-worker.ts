// Starting a worker thread on one of our own modules (embedding, prediction). Workers do not
// inherit the tsx loader the main thread was started with (Node 20), so from source the worker
// registers tsx's ESM hooks itself before importing the .ts file. In the app bundle the module is
// inlined into a chunk; electron-vite also builds it as an entry of its own (electron.vite.config.ts),
// and the worker starts from that file.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface WorkerEntry {
  /** URL of the module the worker imports. */
  entry: string
  /** URL of tsx's ESM API when the entry is TypeScript source, else null. */
  loader: string | null
}

/** The worker's eval'd boot script: it reads `entry` and `loader` from its workerData. */
export const WORKER_BOOT = `const { workerData } = require('node:worker_threads')
const loader = workerData.loader ? import(workerData.loader).then((m) => m.register()) : Promise.resolve()
loader.then(() => import(workerData.entry))`

function tsxLoader(from: string): string {
  const require = createRequire(from)
  const pkgFile = require.resolve('tsx/package.json')
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import?: { default?: string } }> }
  const api = pkg.exports['./esm/api']?.import?.default
  if (!api) throw new Error(`${pkgFile} does not export ./esm/api`)
  return pathToFileURL(join(dirname(pkgFile), api)).href
}

/**
 * Where a worker can import the module named `name` (without extension): the module whose
 * `import.meta.url` is `selfUrl` itself, its bundled entry beside it, or (from source) its .ts
 * neighbour; null when there is no such file (the caller works in-thread).
 */
export function moduleWorkerEntry(selfUrl: string, name: string): WorkerEntry | null {
  const path = fileURLToPath(selfUrl)
  if (new RegExp(`[\\\\/]${name}\\.(ts|js|mjs)$`).test(path)) return { entry: selfUrl, loader: path.endsWith('.ts') ? tsxLoader(selfUrl) : null }
  const here = dirname(path)
  for (const candidate of [join(here, `${name}.js`), join(here, '..', `${name}.js`)]) {
    if (existsSync(candidate)) return { entry: pathToFileURL(candidate).href, loader: null }
  }
  // From source, a module may start a worker on its TypeScript neighbour.
  const source = join(here, `${name}.ts`)
  if (path.endsWith('.ts') && existsSync(source)) return { entry: pathToFileURL(source).href, loader: tsxLoader(selfUrl) }
  return null
}
