#!/usr/bin/env node
// better-sqlite3 is a NAN addon: Electron needs a build for its own ABI, while the tests and the
// CLI need the Node build in node_modules. This builds the Electron one into build-electron/
// from a copy of the package, leaving node_modules untouched. It needs Electron's headers from
// the network; where they are out of reach it says so and exits 0, so `npm run dev` still tries.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, copyFileSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const out = join('build-electron', 'better_sqlite3.node')
const electronVersion = JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version
const stamp = join('build-electron', `electron-${electronVersion}`)
if (existsSync(out) && existsSync(stamp)) process.exit(0)

const work = join('build-electron', 'src')
rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
cpSync('node_modules/better-sqlite3', work, { recursive: true, filter: (p) => !p.includes(`${join('better-sqlite3', 'build')}`) })
// npm hands its own node-gyp to scripts it runs.
const gyp = process.env.npm_config_node_gyp
if (!gyp || !existsSync(gyp)) {
  console.warn('node-gyp not found (run this through npm: npm run dev); skipping the Electron build of better-sqlite3')
  process.exit(0)
}
const r = spawnSync(
  process.execPath,
  [gyp, 'rebuild', '--release', `--target=${electronVersion}`, '--runtime=electron', '--dist-url=https://electronjs.org/headers'],
  // This machine's npm points nodedir at Node's own headers, which would build the wrong ABI
  // and report success: drop it so node-gyp fetches Electron's.
  { cwd: work, stdio: 'inherit', env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.toLowerCase() !== 'npm_config_nodedir')) }
)
if (r.status !== 0) {
  console.warn(`could not build better-sqlite3 for Electron ${electronVersion} (headers unreachable?); the window will fail to open projects until this succeeds`)
  process.exit(0)
}
copyFileSync(join(work, 'build', 'Release', 'better_sqlite3.node'), out)
copyFileSync(out, stamp)
console.log(`built ${out} for Electron ${electronVersion}`)
