import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { ImportItem, ImportSource, Skipped, SourceEntry } from '../types'

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jfif', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp'])

/**
 * class: <root>/<class>/<file>; split/class and env/class: <root>/<split or env>/<class>/<file>;
 * none: no labels from folders. Files above the class level are imported unlabeled.
 */
export type FolderLayout = 'class' | 'split/class' | 'env/class' | 'none'

export interface FolderOptions {
  layout?: FolderLayout
  environment?: string
}

interface Found {
  path: string
  parts: string[]
}

async function walk(root: string, out: Found[], skipped: Skipped[], ignored: { count: number }): Promise<void> {
  const seen = new Set<string>()
  const visit = async (dir: string, parts: string[]): Promise<void> => {
    let real: string
    try {
      real = await realpath(dir)
    } catch (err) {
      skipped.push({ file: dir, reason: `cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` })
      return
    }
    if (seen.has(real)) {
      skipped.push({ file: dir, reason: `symlink loop: ${dir} leads back to ${real}, already visited` })
      return
    }
    seen.add(real)
    let names: string[]
    try {
      names = (await readdir(dir)).sort()
    } catch (err) {
      skipped.push({ file: dir, reason: `cannot list folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` })
      return
    }
    for (const name of names) {
      if (name.startsWith('.')) continue
      const p = join(dir, name)
      let st
      try {
        const l = await lstat(p)
        st = l.isSymbolicLink() ? await stat(p) : l
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        skipped.push({ file: p, reason: `cannot read (${code === 'ENOENT' ? 'broken symlink' : code === 'ELOOP' ? 'symlink loop: the link leads back to itself' : code})` })
        continue
      }
      if (st.isDirectory()) await visit(p, [...parts, name])
      else if (IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) out.push({ path: p, parts })
      else ignored.count++
    }
  }
  await visit(root, [])
}

function toItem(f: Found, root: string, opts: FolderOptions): ImportItem {
  const layout = opts.layout ?? 'class'
  const item: ImportItem = { origin: f.path, path: f.path, fileName: relative(root, f.path).split(sep).join('/') }
  if (opts.environment) item.environment = opts.environment
  if (layout === 'class' && f.parts.length >= 1) item.label = f.parts[0]
  if (layout === 'split/class' || layout === 'env/class') {
    if (f.parts.length >= 1) {
      if (layout === 'split/class') item.splitHint = f.parts[0]
      else item.environment = f.parts[0]
    }
    if (f.parts.length >= 2) item.label = f.parts[1]
  }
  return item
}

export async function folderSource(root: string, opts: FolderOptions = {}): Promise<ImportSource & { ignored: number }> {
  const st = await stat(root).catch(() => null)
  if (!st) throw new StudioError('not_found', `${root} does not exist`, root)
  if (!st.isDirectory()) throw new StudioError('invalid_payload', `${root} is not a folder (use --format csv or fer2013 for files)`, root)
  const found: Found[] = []
  const skipped: Skipped[] = []
  const ignored = { count: 0 }
  await walk(root, found, skipped, ignored)
  async function* entries(): AsyncGenerator<SourceEntry> {
    for (const s of skipped) yield { skipped: s }
    for (const f of found) yield { item: toItem(f, root, opts) }
  }
  return { total: found.length + skipped.length, entries: entries(), ignored: ignored.count }
}
