// A large project made quickly for the browser benchmarks: n image rows over a few real demo
// faces (each row its own id and hash, sharing the files), each with its thumbnail row.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { generateDemo } from '../src/main/dataset/demo/generator'
import { recomputeConsensus } from '../src/main/db/repos/consensus'
import { thumbnailStore } from '../src/main/db/repos/thumbnails'
import { createProject } from '../src/main/project/project'
import { EMOTION7 } from '../src/shared/presets'

export async function makeScaleProject(dir: string, n: number, opts: { labeledShare?: number } = {}): Promise<void> {
  const project = createProject(dir, { classes: [...EMOTION7] })
  const src = join(dir, '..', 'faces')
  mkdirSync(src, { recursive: true })
  const faces: { path: string; thumb: Buffer }[] = []
  for await (const img of generateDemo({ images: 40, seed: 9, labelNoise: 0, imbalance: 1 })) {
    const path = join(src, img.fileName)
    writeFileSync(path, img.png)
    const thumb = await sharp(img.png).webp({ quality: 78 }).toBuffer()
    faces.push({ path, thumb })
  }
  const envs = ['studio', 'webcam', 'phone']
  const insert = project.db.prepare(
    `INSERT INTO images (sha256, phash, source_path, file_name, width, height, format, bytes, environment, subject_id, attributes, added_at)
     VALUES (?, ?, ?, ?, 112, 112, 'png', 5000, ?, ?, ?, ?)`
  )
  const label = project.db.prepare("INSERT INTO annotations (image_id, class_id, annotator, source, created_at) VALUES (?, ?, 'import', 'import', ?)")
  const now = new Date().toISOString()
  const putThumbnail = thumbnailStore(project.db)
  const labeled = opts.labeledShare ?? 0.5
  project.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const sha = createHash('sha256').update(`scale ${i}`).digest('hex')
      const face = faces[i % faces.length]
      const id = Number(
        insert.run(sha, sha.slice(0, 16), face.path, `img_${String(i).padStart(6, '0')}.png`, envs[i % 3], `s${i % 400}`, JSON.stringify({ age_band: ['18-29', '30-44', '45-59', '60+'][i % 4] }), now)
          .lastInsertRowid
      )
      if (i / n < labeled) label.run(id, (i % 7) + 1, now)
      putThumbnail(sha, face.thumb)
    }
    recomputeConsensus(project.db)
  })()
  project.close()
}
