import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LATEST_SCHEMA } from '../../../src/main/db/migrations'
import { addAnnotations } from '../../../src/main/db/repos/annotations'
import { insertImage } from '../../../src/main/db/repos/images'
import { createProject, openProject, PROJECT_DIRS } from '../../../src/main/project/project'
import { RecentProjects } from '../../../src/main/project/recent'
import { StudioError } from '../../../src/shared/errors'
import { tempDir, treeHash } from '../../helpers/tmp'

function errorOf(fn: () => unknown): StudioError {
  try {
    fn()
  } catch (err) {
    if (err instanceof StudioError) return err
    throw err
  }
  throw new Error('expected an error')
}

describe('projects', () => {
  it('creates the folder layout and a summary with the classes in order', () => {
    const dir = join(tempDir(), 'new', 'nested')
    const p = createProject(dir, { classes: ['angry', 'happy', 'sad'], name: 'Emotions' })
    for (const sub of PROJECT_DIRS) expect(existsSync(join(dir, sub))).toBe(true)
    const s = p.summary()
    expect(s).toMatchObject({ name: 'Emotions', imageCount: 0, labeledShare: 0, classCount: 3, schemaVersion: LATEST_SCHEMA })
    expect(s.classes.map((c) => c.name)).toEqual(['angry', 'happy', 'sad'])
    p.close()
  })

  it('computes counts and the labeled share over images that are not excluded', () => {
    const p = createProject(tempDir(), { classes: ['a', 'b'] })
    const ids = [1, 2, 3, 4].map(
      (n) =>
        insertImage(p.db, {
          sha256: String(n).repeat(64),
          phash: null,
          sourcePath: `/x/${n}.png`,
          storedPath: null,
          fileName: `${n}.png`,
          width: 4,
          height: 4,
          format: 'png',
          bytes: 10,
          environment: n < 3 ? 'studio' : 'webcam'
        }).id
    )
    p.db.prepare('UPDATE images SET excluded = 1 WHERE id = ?').run(ids[3])
    addAnnotations(p.db, [
      { imageId: ids[0], classId: 1, annotator: 'me' },
      { imageId: ids[1], classId: 2, annotator: 'me' }
    ])
    const s = p.summary()
    expect(s.imageCount).toBe(4)
    expect(s.excludedCount).toBe(1)
    expect(s.labeledCount).toBe(2)
    expect(s.labeledShare).toBeCloseTo(2 / 3)
    expect(s.environments).toEqual([
      { name: 'studio', count: 2 },
      { name: 'webcam', count: 1 }
    ])
    p.close()
  })

  it('refuses to create over an existing project and refuses duplicate class names', () => {
    const dir = tempDir()
    createProject(dir).close()
    expect(errorOf(() => createProject(dir)).code).toBe('project_exists')
    const err = errorOf(() => createProject(join(tempDir(), 'p'), { classes: ['a', 'b', 'a'] }))
    expect(err.code).toBe('invalid_payload')
    expect(err.message).toContain('"a" is listed twice')
  })

  it('refuses folders that are not projects and leaves them untouched', () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'photos'))
    writeFileSync(join(dir, 'photos', 'a.jpg'), 'not really a jpeg')
    const before = treeHash(dir)
    expect(errorOf(() => openProject(dir)).code).toBe('not_a_project')
    expect(errorOf(() => openProject(join(dir, 'missing'))).code).toBe('not_a_project')
    expect(errorOf(() => openProject(join(dir, 'photos', 'a.jpg'))).code).toBe('not_a_project')
    expect(treeHash(dir)).toBe(before)
  })

  it('reopens a project with everything in it', () => {
    const dir = tempDir()
    createProject(dir, { classes: ['x'] }).close()
    const again = openProject(dir)
    expect(again.summary().classes.map((c) => c.name)).toEqual(['x'])
    again.close()
  })
})

describe('recent projects', () => {
  it('keeps the latest first without duplicates, and survives a damaged file', () => {
    const cfg = tempDir()
    const recent = new RecentProjects(cfg)
    recent.add('/a', 'A')
    recent.add('/b', 'B')
    recent.add('/a', 'A')
    expect(recent.list().map((r) => r.dir)).toEqual(['/a', '/b'])
    expect(recent.remove('/a').map((r) => r.dir)).toEqual(['/b'])
    writeFileSync(recent.file, '{ not json')
    expect(recent.list()).toEqual([])
    expect(recent.add('/c', 'C').map((r) => r.dir)).toEqual(['/c'])
  })
})

describe('leftovers of a crashed process', () => {
  it('removes the temporaries of atomic writes on open and keeps every real file', async () => {
    const dir = join(tempDir(), 'p')
    createProject(dir).close()
    const files = {
      thumbTmp: join(dir, 'thumbs', 'ab', 'ab12.webp.0badc0de.tmp'),
      thumb: join(dir, 'thumbs', 'ab', 'ab12.webp'),
      checkpointTmp: join(dir, 'runs', '3', 'checkpoints', 'latest.json.12345678.tmp'),
      checkpoint: join(dir, 'runs', '3', 'checkpoints', 'latest.json'),
      userTmp: join(dir, 'images', 'notes.tmp')
    }
    for (const f of Object.values(files)) {
      mkdirSync(join(f, '..'), { recursive: true })
      writeFileSync(f, 'x')
    }
    const modelTmp = join(dir, 'runs', '3', '.model-a1b2c3d4.tmp')
    mkdirSync(join(modelTmp, 'model'), { recursive: true })
    writeFileSync(join(modelTmp, 'model', 'model.json'), '{')

    const project = openProject(dir)
    expect(await project.swept).toBe(3)
    project.close()
    expect(existsSync(files.thumbTmp)).toBe(false)
    expect(existsSync(files.checkpointTmp)).toBe(false)
    expect(existsSync(modelTmp)).toBe(false)
    // Real files, and a .tmp the studio did not name, stay.
    expect(existsSync(files.thumb)).toBe(true)
    expect(existsSync(files.checkpoint)).toBe(true)
    expect(existsSync(files.userTmp)).toBe(true)
  })
})
