// Nearest neighbours in embedding space for the review view: the images most like the one under
// review, with their labels, read from the embedding cache (never computed here) and held in
// memory per project until its images change.
import { join } from 'node:path'
import type { Neighbour } from '../../../shared/review'
import type { Db } from '../../db/connection'
import type { Project } from '../../project/project'
import { getBackbone } from '../../training/backbones'
import { embed } from '../../training/embeddings'
import { imageSetVersion } from './store'

interface Index {
  key: string
  ids: Int32Array
  /** Unit vectors, n x d. */
  unit: Float32Array
  d: number
}

let cached: Index | null = null

/** The backbone the latest embedding-based flags used, else the default. */
function backboneOf(db: Db): { backbone: string; size: number; runId: number } {
  const row = db.prepare("SELECT id, params FROM flag_runs WHERE type IN ('mislabeled', 'outlier') ORDER BY id DESC LIMIT 1").get() as { id: number; params: string } | undefined
  const params = row ? (JSON.parse(row.params) as { backbone?: string; size?: number }) : {}
  const backbone = getBackbone(params.backbone ?? 'mobilenetv2-nsfwjs')
  return { backbone: backbone.id, size: params.size ?? backbone.defaultSize, runId: row?.id ?? 0 }
}

async function buildIndex(project: Project, key: string, backbone: string, size: number): Promise<Index> {
  const rows = project.db
    .prepare('SELECT id, sha256, source_path AS source, stored_path AS stored FROM images WHERE excluded = 0 AND missing = 0 ORDER BY id')
    .all() as { id: number; sha256: string; source: string | null; stored: string | null }[]
  // An aborted signal makes embed() read the cache and compute nothing.
  const readOnly = new AbortController()
  readOnly.abort()
  const result = await embed(
    project.path('cache'),
    rows.map((r) => ({ sha256: r.sha256, path: r.stored ? join(project.dir, r.stored) : r.source! })),
    { backbone, size, signal: readOnly.signal }
  )
  const present = rows.filter((r) => result.vectors.has(r.sha256))
  const d = result.dim
  const unit = new Float32Array(present.length * d)
  present.forEach((r, i) => {
    const v = result.vectors.get(r.sha256)![0]
    let norm = 0
    for (let k = 0; k < d; k++) norm += v[k] * v[k]
    norm = Math.sqrt(norm) || 1
    for (let k = 0; k < d; k++) unit[i * d + k] = v[k] / norm
  })
  return { key, ids: Int32Array.from(present, (r) => r.id), unit, d }
}

/** The k images most similar to `imageId` (cosine), or a note saying why there are none. */
export async function nearestNeighbours(project: Project, imageId: number, k = 8): Promise<{ neighbours: Neighbour[]; note: string | null }> {
  const { backbone, size, runId } = backboneOf(project.db)
  // A new flagging run may have cached embeddings the index lacked: rebuild after each.
  const key = `${project.dir}|${backbone}@${size}|run ${runId}|${imageSetVersion(project.db)}`
  if (cached?.key !== key) cached = await buildIndex(project, key, backbone, size)
  const index = cached
  const self = index.ids.indexOf(imageId)
  if (self < 0) return { neighbours: [], note: `no cached ${backbone} embedding for this image yet; run flagging to compute it` }
  const { unit, d } = index
  const sims: { i: number; s: number }[] = []
  for (let i = 0; i < index.ids.length; i++) {
    if (i === self) continue
    let s = 0
    for (let c = 0; c < d; c++) s += unit[i * d + c] * unit[self * d + c]
    sims.push({ i, s })
  }
  sims.sort((a, b) => b.s - a.s)
  const top = sims.slice(0, k)
  const info = project.db.prepare('SELECT i.sha256, i.file_name AS fileName, l.class_id AS classId FROM images i LEFT JOIN image_labels l ON l.image_id = i.id WHERE i.id = ?')
  const neighbours = top.map(({ i, s }) => {
    const row = info.get(index.ids[i]) as { sha256: string; fileName: string; classId: number | null }
    return { imageId: index.ids[i], ...row, similarity: Math.round(s * 1000) / 1000 }
  })
  return { neighbours, note: null }
}

/** Drops the in-memory index (a project closed, or tests switching projects). */
export function forgetNeighbours(): void {
  cached = null
}
