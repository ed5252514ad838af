// Pretrained weights fetched on demand from their published URLs (tfhub/Kaggle, Google Cloud
// Storage), kept in a per-user cache folder and checked by sha256 every time they are used.
// A download goes into a temporary folder and is renamed into place only when every file is in
// and valid, so a cancelled or failed download leaves nothing half-written behind.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { readModelFolder } from './backbones/model-folder'

export interface DownloadSpec {
  /** Folder name in the cache; one per model. */
  id: string
  /** URL of model.json. */
  url: string
  /** Appended to model.json's and every shard's URL (tfhub/Kaggle want "?tfjs-format=file"). */
  query?: string
  /** Expected sha256 (hex) per file name (model.json, shards). Files not listed are recorded on first download and checked from then on. */
  sha256?: Record<string, string>
}

export interface DownloadProgress {
  file: string
  /** Bytes received so far, all files together. */
  bytes: number
  /** Files finished of the total (model.json counts; the total is known once model.json is in). */
  filesDone: number
  filesTotal: number | null
}

export interface DownloadOptions {
  /** Cache root; default modelCacheRoot(). */
  root?: string
  signal?: AbortSignal
  onProgress?: (p: DownloadProgress) => void
}

export interface DownloadRecord {
  url: string
  downloadedAt: string
  files: { name: string; bytes: number; sha256: string; pinned: boolean }[]
}

export const RECORD_FILE = 'download.json'

/** $FREEZEFRAME_MODEL_CACHE, else $XDG_CACHE_HOME/freezeframe-studio/models, else ~/.cache/freezeframe-studio/models. */
export function modelCacheRoot(): string {
  if (process.env.FREEZEFRAME_MODEL_CACHE) return process.env.FREEZEFRAME_MODEL_CACHE
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME || process.cwd(), '.cache')
  return join(base, 'freezeframe-studio', 'models')
}

/**
 * Where a published URL is fetched from: itself, or under $FREEZEFRAME_MODEL_MIRROR as
 * <mirror>/<host>/<path> (a local copy of the hosts, for machines that cannot reach them).
 */
export function fetchUrl(url: string): string {
  const mirror = process.env.FREEZEFRAME_MODEL_MIRROR
  if (!mirror) return url
  const u = new URL(url)
  return `${mirror.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`
}

export class DownloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DownloadError'
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Why a fetch failed, in words a person offline recognises. */
function networkReason(err: unknown, url: string): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  const code = cause?.code ?? ''
  const host = new URL(url).host
  if (['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return `${host} cannot be reached (${code}); the machine looks offline or the host is blocked. Connect and try again, or choose a backbone that ships with the studio`
  }
  return `${cause?.message ?? (err as Error).message}`
}

async function fetchFile(url: string, name: string, signal: AbortSignal | undefined, onBytes: (n: number) => void): Promise<Uint8Array> {
  let res: Response
  try {
    res = await fetch(url, { signal, redirect: 'follow' })
  } catch (err) {
    if (signal?.aborted) throw new DownloadError('download cancelled', { cause: err })
    throw new DownloadError(`cannot download ${name} from ${url}: ${networkReason(err, url)}`, { cause: err })
  }
  if (!res.ok || !res.body) throw new DownloadError(`cannot download ${name} from ${url}: HTTP ${res.status} ${res.statusText}`)
  const chunks: Uint8Array[] = []
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk)
      onBytes(chunk.byteLength)
    }
  } catch (err) {
    if (signal?.aborted) throw new DownloadError('download cancelled', { cause: err })
    throw new DownloadError(`download of ${name} from ${url} broke off: ${(err as Error).message}`, { cause: err })
  }
  return Buffer.concat(chunks)
}

function checkPinned(spec: DownloadSpec, name: string, digest: string, url: string): boolean {
  const want = spec.sha256?.[name]
  if (!want) return false
  if (want.toLowerCase() !== digest) throw new DownloadError(`${name} from ${url} has sha256 ${digest}, expected ${want}: refusing it (corrupted or changed at the source)`)
  return true
}

/** The shard file names model.json lists, each a plain name inside the model's folder. */
function shardNames(modelJson: Uint8Array, url: string): string[] {
  let json: tf.io.ModelJSON
  try {
    json = JSON.parse(Buffer.from(modelJson).toString('utf8')) as tf.io.ModelJSON
  } catch (err) {
    throw new DownloadError(`model.json from ${url} is not valid JSON (${(err as Error).message}); the URL may not point at a tfjs model`)
  }
  const names = (json.weightsManifest ?? []).flatMap((g) => g.paths ?? [])
  if (!names.length) throw new DownloadError(`model.json from ${url} lists no weight files`)
  for (const n of names) if (n.includes('..') || n.startsWith('/') || n.includes('\\')) throw new DownloadError(`model.json from ${url} lists an unsafe weight path "${n}"`)
  return names
}

/**
 * Downloads model.json and its shards into <root>/<id>, checking pinned sha256s and validating the
 * folder, and records every file's sha256. Resolves with the folder. Throws DownloadError with a
 * clear reason when offline, on a bad hash or HTTP error, or 'download cancelled' on abort.
 */
export async function downloadModel(spec: DownloadSpec, opts: DownloadOptions = {}): Promise<string> {
  const root = opts.root ?? modelCacheRoot()
  const final = join(root, spec.id)
  const tmp = join(root, `.${spec.id}.partial-${process.pid}-${Date.now()}`)
  const query = spec.query ?? ''
  let bytes = 0
  let filesDone = 0
  let filesTotal: number | null = null
  const progress = (file: string) => opts.onProgress?.({ file, bytes, filesDone, filesTotal })
  const files: DownloadRecord['files'] = []
  mkdirSync(tmp, { recursive: true })
  try {
    const get = async (name: string, url: string) => {
      const data = await fetchFile(url, name, opts.signal, (n) => {
        bytes += n
        progress(name)
      })
      const digest = sha256(data)
      const pinned = checkPinned(spec, name, digest, url)
      writeFileSync(join(tmp, name), data)
      files.push({ name, bytes: data.byteLength, sha256: digest, pinned })
      filesDone++
      progress(name)
      return data
    }
    const url = fetchUrl(spec.url)
    const modelJson = await get('model.json', url + query)
    const shards = shardNames(modelJson, url)
    filesTotal = shards.length + 1
    for (const name of shards) await get(name, new URL(name, url).href + query)
    try {
      readModelFolder(tmp)
    } catch (err) {
      throw new DownloadError(`the files downloaded from ${spec.url} are not a usable tfjs model: ${(err as Error).message.replace(tmp, final)}`)
    }
    const record: DownloadRecord = { url: spec.url, downloadedAt: new Date().toISOString(), files }
    writeFileSync(join(tmp, RECORD_FILE), JSON.stringify(record, null, 2))
    rmSync(final, { recursive: true, force: true })
    renameSync(tmp, final)
    return final
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The cached folder if a complete download is there (not re-hashed: see verifyDownload). */
export function downloadedDir(spec: Pick<DownloadSpec, 'id'>, root = modelCacheRoot()): string | null {
  const dir = join(root, spec.id)
  return existsSync(join(dir, RECORD_FILE)) ? dir : null
}

/** Re-hashes every file of a cached download against its record (and pins); throws naming the first file that differs. */
export function verifyDownload(dir: string, spec?: DownloadSpec): DownloadRecord {
  const recordFile = join(dir, RECORD_FILE)
  let record: DownloadRecord
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as DownloadRecord
  } catch (err) {
    throw new DownloadError(`${recordFile} is unreadable (${(err as Error).message}); delete ${dir} and download again`)
  }
  for (const f of record.files) {
    const file = join(dir, f.name)
    if (!existsSync(file)) throw new DownloadError(`${file} is missing from the downloaded model; delete ${dir} and download again`)
    const digest = sha256(readFileSync(file))
    const want = spec?.sha256?.[f.name] ?? f.sha256
    if (digest !== want.toLowerCase()) throw new DownloadError(`${file} has sha256 ${digest}, expected ${want}: the cached download is damaged; delete ${dir} and download again`)
  }
  return record
}
