// What a backbone probe of a project looks at: its labeled, included images with their class
// index, gathered exactly as a training run gathers them (runner.gatherImages).
import { join } from 'node:path'
import type { ProbeReport } from '../../shared/probe'
import type { Project } from '../project/project'
import { probeBackbones, type ProbeImage, type ProbeOptions } from './probe'
import { gatherImages } from './runner'

export interface ProbeInputs {
  images: ProbeImage[]
  /** Classes with at least one labeled image, in class order; ProbeImage.label indexes this. */
  classes: { id: number; name: string }[]
  cacheDir: string
}

export function probeInputs(project: Project): ProbeInputs {
  const { rows } = gatherImages(project)
  const used = [...new Set(rows.map((r) => r.classId))]
  const names = new Map((project.db.prepare('SELECT id, name, position FROM classes').all() as { id: number; name: string; position: number }[]).map((c) => [c.id, c]))
  used.sort((a, b) => (names.get(a)?.position ?? 0) - (names.get(b)?.position ?? 0) || a - b)
  const index = new Map(used.map((id, i) => [id, i]))
  return {
    images: rows.map((r) => ({ sha256: r.sha256, path: r.stored ? join(project.dir, r.stored) : r.source!, label: index.get(r.classId)! })),
    classes: used.map((id) => ({ id, name: names.get(id)?.name ?? `class ${id}` })),
    cacheDir: project.path('cache')
  }
}

export type ProbeRequest = Pick<ProbeOptions, 'samplePerClass' | 'backbones' | 'folds' | 'seed' | 'download'>

/** What the 'training.probe' job runs: the probe of a project, progress as one bar over all backbones. */
export async function probeProject(
  project: Project,
  req: ProbeRequest,
  ctx: { signal: AbortSignal; progress(done: number, total: number | null, message?: string): void }
): Promise<ProbeReport> {
  const inputs = probeInputs(project)
  const result = await probeBackbones(inputs.images, inputs.classes.length, {
    ...req,
    cacheDir: inputs.cacheDir,
    projectDir: project.dir,
    signal: ctx.signal,
    onProgress: (p) => {
      const within = p.phase === 'fitting' ? 0.9 + (0.1 * p.done) / Math.max(1, p.total) : (0.9 * p.done) / Math.max(1, p.total)
      ctx.progress(Math.round((p.index + within) * 1000), p.count * 1000, `${p.backbone}: ${p.phase} ${p.done}/${p.total}`)
    }
  })
  return { ...result, classes: inputs.classes.map((c) => c.name) }
}
