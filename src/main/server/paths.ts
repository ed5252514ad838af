import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The folder holding the app's package.json, found from this module whether run from src or a bundle. */
export function appRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'freezeframe-studio') return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the freezeframe-studio package folder')
    dir = up
  }
}

export function rendererDir(): string {
  return process.env.FREEZEFRAME_RENDERER_DIR ?? join(appRoot(), 'out', 'renderer')
}
