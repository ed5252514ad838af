import { createHash, randomUUID } from 'node:crypto'
import { open, readFile, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import type { ImportReport } from '../../shared/domain'
import { StudioError } from '../../shared/errors'
import { addAnnotations } from '../db/repos/annotations'
import { addClass, listClasses } from '../db/repos/classes'
import { insertImage } from '../db/repos/images'
import { audit } from '../db/repos/meta'
import { thumbnailStore } from '../db/repos/thumbnails'
import type { Project } from '../project/project'
import { analyseImage, ImageError, type AnalysedImage } from './decode'
import { writeFileAtomicAsync } from './files'
import { fer2013Source } from './sources/fer2013'
import { folderSource, type FolderLayout } from './sources/folder'
import { manifestSource } from './sources/manifest'
import type { ImportItem, ImportSource, Skipped } from './types'

export const MAX_FILE_BYTES = 256 * 1024 * 1024
/** Skipped files and rows listed one by one in a report; the rest are counted. */
export const MAX_LISTED_SKIPS = 1000
export type ImportFormat = 'folder' | 'csv' | 'fer2013'

export interface ImportOptions {
  /** Who the imported labels are attributed to when the source does not say. */
  annotator?: string
  /** Labels that are not classes yet: created, or the image is skipped. Default: create when the project has no classes. */
  newClasses?: 'create' | 'refuse'
  environment?: string
  signal?: AbortSignal
  onProgress?: (done: number, total: number | null, message: string) => void
  /** Images decoded at once; sharp works on libuv's threads, so a few more than cores pays. */
  concurrency?: number
  /** Images (with their thumbnails) committed per transaction. */
  batchSize?: number
}

export type { ImportReport }

interface Ready {
  seq: number
  item: ImportItem
  sha256: string
  bytes: number
  image: AnalysedImage
  storedPath: string | null
}

const EXT: Record<string, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif', heif: 'heic', tiff: 'tif', jp2: 'jp2' }

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'file not found'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'is a folder, not a file'
  if (code === 'ELOOP') return 'symlink loop'
  return `cannot read (${code ?? (err as Error).message})`
}

const DISK_FULL = new Set(['ENOSPC', 'EFBIG', 'EDQUOT'])

/** A full disk (or a file-size limit) named as such, with the file, instead of a bare errno or "disk I/O error". */
function diskError(err: unknown, what: string): unknown {
  const code = (err as { code?: unknown }).code
  if (typeof code !== 'string') return err
  if (DISK_FULL.has(code)) return new StudioError('io_error', `disk is full or the file is too large (${code}): cannot write ${what}`, what)
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new StudioError('io_error', `cannot save to the project database (${code}): the disk may be full; the batch being saved was rolled back`, what)
  }
  return err
}

/** Streams a source into the project: decode, hash, thumbnail, commit in batches; never half an image. */
export async function runImport(project: Project, source: ImportSource & { ignored?: number }, label: { source: string; format: string }, opts: ImportOptions = {}): Promise<ImportReport> {
  const started = Date.now()
  const db = project.db
  const importId = randomUUID()
  const annotator = opts.annotator?.trim() || 'import'
  const classes = new Map(listClasses(db).map((c) => [c.name.toLowerCase(), c.id]))
  const newClasses = opts.newClasses ?? (classes.size === 0 ? 'create' : 'refuse')
  const known = () => [...listClasses(db).map((c) => c.name)].join(', ')
  const concurrency = Math.max(1, opts.concurrency ?? Math.max(4, availableParallelism() * 4))
  const batchSize = Math.max(1, opts.batchSize ?? 200)
  const hasSha = db.prepare('SELECT 1 FROM images WHERE sha256 = ?')
  const putThumbnail = thumbnailStore(db)

  const report: ImportReport = {
    source: label.source,
    format: label.format,
    seen: 0,
    added: 0,
    duplicates: 0,
    labeled: 0,
    classesCreated: [],
    skipped: [],
    ignored: source.ignored ?? 0,
    cancelled: false,
    durationMs: 0
  }
  let unlisted = 0
  const inFlightSha = new Set<string>()
  let pending: Ready[] = []
  let done = 0
  const progress = (message: string) => opts.onProgress?.(done, source.total, message)
  const skip = (s: Skipped) => {
    // Listed up to a cap: a million bad rows must not become a million objects in memory.
    if (report.skipped.length < MAX_LISTED_SKIPS) report.skipped.push(s)
    else unlisted++
    done++
  }
  const where = (item: ImportItem) => ({ file: item.path ?? item.origin, ...(item.line ? { line: item.line } : {}) })

  const flush = (): void => {
    if (!pending.length) return
    // Decodes finish out of order; keep the source's order within a batch for stable ids.
    const batch = pending.sort((a, b) => a.seq - b.seq)
    pending = []
    try {
      save(batch)
    } catch (err) {
      throw diskError(err, db.name)
    }
    for (const r of batch) inFlightSha.delete(r.sha256)
  }

  const save = (batch: Ready[]): void => {
    db.transaction(() => {
      const labels: { imageId: number; classId: number; annotator: string }[] = []
      for (const r of batch) {
        let classId: number | undefined
        if (r.item.label) {
          classId = classes.get(r.item.label.toLowerCase())
          if (classId === undefined) {
            const created = addClass(db, r.item.label)
            classes.set(created.name.toLowerCase(), created.id)
            report.classesCreated.push(created.name)
            classId = created.id
          }
        }
        const res = insertImage(db, {
          sha256: r.sha256,
          phash: r.image.phash,
          sourcePath: r.item.path ?? null,
          storedPath: r.storedPath,
          fileName: r.item.fileName,
          width: r.image.width,
          height: r.image.height,
          format: r.image.format,
          bytes: r.bytes,
          environment: r.item.environment ?? opts.environment ?? null,
          subjectId: r.item.subject ?? null,
          attributes: r.item.attributes,
          splitHint: r.item.splitHint ?? null
        })
        if (!res.created) {
          report.duplicates++
          continue
        }
        // In the image's own transaction: an image row never exists without its thumbnail.
        putThumbnail(r.sha256, r.image.thumbnail)
        report.added++
        if (classId !== undefined) labels.push({ imageId: res.id, classId, annotator: r.item.annotator?.trim() || annotator })
      }
      if (labels.length) addAnnotations(db, labels.map((l) => ({ ...l, source: 'import' })), importId)
      report.labeled += labels.length
    })()
  }

  const process = async (item: ImportItem, seq: number): Promise<void> => {
    let bytes: Buffer
    try {
      if (item.bytes) bytes = item.bytes
      else {
        const st = await stat(item.path!)
        if (st.isDirectory()) throw Object.assign(new Error('dir'), { code: 'EISDIR' })
        // A FIFO would block the read forever and /dev/zero never ends: only regular files are read.
        if (!st.isFile()) return skip({ ...where(item), reason: 'not a regular file (a FIFO, socket or device)' })
        if (st.size > MAX_FILE_BYTES) return skip({ ...where(item), reason: `file is ${st.size} bytes, over the ${MAX_FILE_BYTES}-byte limit` })
        bytes = await readFile(item.path!)
      }
    } catch (err) {
      return skip({ ...where(item), reason: describeReadError(err) })
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    if (inFlightSha.has(sha256) || hasSha.get(sha256)) {
      report.duplicates++
      done++
      return
    }
    inFlightSha.add(sha256)
    let image: AnalysedImage
    try {
      image = await analyseImage(bytes)
    } catch (err) {
      inFlightSha.delete(sha256)
      if (err instanceof ImageError) return skip({ ...where(item), reason: err.message })
      throw err
    }
    // Keyed by content: a file left over from a crash is simply overwritten.
    let storedPath: string | null = null
    if (item.bytes) {
      storedPath = join('images', item.storeIn ?? 'stored', `${sha256}.${EXT[image.format] ?? 'bin'}`)
      const stored = join(project.dir, storedPath)
      await writeFileAtomicAsync(stored, item.bytes).catch((err) => Promise.reject(diskError(err, stored)))
    }
    pending.push({ seq, item, sha256, bytes: bytes.length, image, storedPath })
    done++
    if (pending.length >= batchSize) flush()
    progress(item.fileName)
  }

  const running = new Set<Promise<void>>()
  let failure: unknown = null
  try {
    for await (const entry of source.entries) {
      if (opts.signal?.aborted) {
        report.cancelled = true
        break
      }
      if ('skipped' in entry) {
        skip(entry.skipped)
        continue
      }
      report.seen++
      const item = entry.item
      if (item.label && newClasses === 'refuse' && !classes.has(item.label.toLowerCase())) {
        skip({ ...where(item), reason: `unknown label "${item.label}" (classes: ${known() || 'none'}; use --new-classes create to add it)` })
        continue
      }
      const p = process(item, report.seen).catch((err) => {
        failure ??= err
      })
      running.add(p)
      void p.finally(() => running.delete(p))
      if (running.size >= concurrency) await Promise.race(running)
      if (failure) break
    }
  } finally {
    await Promise.all(running)
    flush()
  }
  if (failure) throw failure
  if (unlisted) {
    report.skippedTotal = report.skipped.length + unlisted
    report.skipped.push({ file: label.source, reason: `... and ${unlisted.toLocaleString('en')} more skipped (${report.skippedTotal.toLocaleString('en')} in all; the first ${MAX_LISTED_SKIPS.toLocaleString('en')} are listed)` })
  }
  report.durationMs = Date.now() - started
  progress(report.cancelled ? 'cancelled' : 'done')
  audit(db, 'dataset.import', {
    source: report.source,
    format: report.format,
    added: report.added,
    duplicates: report.duplicates,
    skipped: report.skippedTotal ?? report.skipped.length,
    cancelled: report.cancelled
  })
  return report
}

export interface ImportPathOptions extends ImportOptions {
  format?: ImportFormat
  layout?: FolderLayout
  allowAbsolute?: boolean
}

export async function guessFormat(path: string): Promise<ImportFormat> {
  const st = await stat(path).catch(() => null)
  if (!st) throw new StudioError('not_found', `${path} does not exist`, path)
  if (st.isDirectory()) return 'folder'
  if (!path.toLowerCase().endsWith('.csv')) throw new StudioError('invalid_payload', `${path} is neither a folder nor a .csv file`, path)
  const fh = await open(path, 'r')
  const buf = Buffer.alloc(400)
  const { bytesRead } = await fh.read(buf, 0, 400, 0).finally(() => fh.close())
  const head = buf.subarray(0, bytesRead).toString('utf8').toLowerCase()
  return head.includes('pixels') && head.includes('emotion') ? 'fer2013' : 'csv'
}

/** Imports a folder, a CSV manifest or a FER2013 CSV into an open project. */
export async function importPath(project: Project, path: string, opts: ImportPathOptions = {}): Promise<ImportReport> {
  const format = opts.format ?? (await guessFormat(path))
  const source =
    format === 'folder'
      ? await folderSource(path, { layout: opts.layout, environment: opts.environment })
      : format === 'csv'
        ? await manifestSource(path, { allowAbsolute: opts.allowAbsolute, environment: opts.environment })
        : await fer2013Source(path, { environment: opts.environment })
  return runImport(project, source, { source: path, format }, opts)
}
