import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, type Db } from '../../../src/main/db/connection'
import { addAnnotations, annotatorCounts, consensusLabel, history, labeledImageCount } from '../../../src/main/db/repos/annotations'
import { addClass, classByName, classesWithCounts, listClasses } from '../../../src/main/db/repos/classes'
import { getImage, imageBySha, imageCounts, insertImage, type NewImage } from '../../../src/main/db/repos/images'
import { audit, auditEntries, getMeta, setMeta } from '../../../src/main/db/repos/meta'
import { createRun, finishRun, getRun, markInterruptedRuns, recordEpoch, runEpochs } from '../../../src/main/db/repos/runs'
import { tempDir } from '../../helpers/tmp'

let db: Db
beforeEach(() => {
  db = openDatabase(join(tempDir(), 'studio.sqlite'), { create: true })
  return () => db.close()
})

function image(n: number, extra: Partial<NewImage> = {}): NewImage {
  return {
    sha256: n.toString(16).padStart(64, '0'),
    phash: 'ffff0000ffff0000',
    sourcePath: `/data/img${n}.png`,
    storedPath: null,
    fileName: `img${n}.png`,
    width: 48,
    height: 48,
    format: 'png',
    bytes: 1000 + n,
    ...extra
  }
}

describe('classes', () => {
  it('assigns keys and colours by position and refuses a duplicate name', () => {
    const a = addClass(db, 'angry')
    const h = addClass(db, 'happy')
    expect([a.key, h.key]).toEqual(['1', '2'])
    expect(a.colour).not.toBe(h.colour)
    expect(() => addClass(db, 'angry')).toThrow(/already exists/)
    expect(listClasses(db).map((c) => c.name)).toEqual(['angry', 'happy'])
  })

  it('stores names verbatim, HTML included', () => {
    addClass(db, '<b>bold</b> & "quoted"')
    expect(classByName(db, '<b>bold</b> & "quoted"')?.name).toBe('<b>bold</b> & "quoted"')
  })
})

describe('images', () => {
  it('identifies images by content: the same sha256 is one image', () => {
    const first = insertImage(db, image(1, { attributes: { age_band: '20-29' }, environment: 'webcam' }))
    const again = insertImage(db, image(1, { sourcePath: '/elsewhere/copy.png' }))
    expect(first.created).toBe(true)
    expect(again).toEqual({ id: first.id, created: false })
    const row = getImage(db, first.id)!
    expect(row.attributes).toEqual({ age_band: '20-29' })
    expect(row.environment).toBe('webcam')
    expect(row.sourcePath).toBe('/data/img1.png')
    expect(imageBySha(db, image(1).sha256)?.id).toBe(first.id)
    expect(imageCounts(db)).toEqual({ total: 1, excluded: 0, missing: 0 })
  })

  it('refuses a malformed hash at the database level', () => {
    expect(() => insertImage(db, image(2, { sha256: 'abc' }))).toThrow(/CHECK/)
  })
})

describe('annotations', () => {
  it('keeps the full history and uses each annotator\'s latest label for the consensus', () => {
    const angry = addClass(db, 'angry').id
    const happy = addClass(db, 'happy').id
    const sad = addClass(db, 'sad').id
    const img = insertImage(db, image(1)).id
    const img2 = insertImage(db, image(2)).id
    insertImage(db, image(3)) // never labeled

    addAnnotations(db, [{ imageId: img, classId: angry, annotator: 'ann' }])
    addAnnotations(db, [{ imageId: img, classId: happy, annotator: 'ann' }]) // ann changes her mind
    addAnnotations(db, [{ imageId: img, classId: happy, annotator: 'bob' }])
    addAnnotations(db, [{ imageId: img, classId: sad, annotator: 'cy' }])
    expect(history(db, img).map((h) => h.classId)).toEqual([angry, happy, happy, sad])
    expect(consensusLabel(db, img)).toBe(happy) // 2 happy vs 1 sad; ann's angry is superseded

    addAnnotations(db, [{ imageId: img2, classId: sad, annotator: 'ann' }])
    addAnnotations(db, [{ imageId: img2, classId: null, annotator: 'ann' }]) // cleared
    expect(consensusLabel(db, img2)).toBeNull()
    expect(labeledImageCount(db)).toBe(1)
    expect(annotatorCounts(db)).toEqual([
      { name: 'ann', count: 1 },
      { name: 'bob', count: 1 },
      { name: 'cy', count: 1 }
    ])
    expect(classesWithCounts(db).map((c) => [c.name, c.imageCount])).toEqual([
      ['angry', 0],
      ['happy', 1],
      ['sad', 0]
    ])
  })

  it('groups a bulk label under one action id', () => {
    const c = addClass(db, 'x').id
    const ids = [1, 2, 3].map((n) => insertImage(db, image(n)).id)
    const action = addAnnotations(db, ids.map((imageId) => ({ imageId, classId: c, annotator: 'a', source: 'bulk' })))
    expect(db.prepare('SELECT count(*) AS n FROM annotations WHERE action_id = ?').get(action)).toEqual({ n: 3 })
  })
})

describe('runs, meta and audit', () => {
  it('records epochs and marks runs left running as interrupted', () => {
    const done = createRun(db, { epochs: 2 }, { backend: 'wasm', backbone: 'mobilenetv2' })
    recordEpoch(db, done, { stage: 1, epoch: 1, loss: 1.2, accuracy: 0.4, valLoss: 1.3, valAccuracy: 0.35, imagesPerSecond: 100, durationMs: 500 })
    finishRun(db, done, 'completed', { summary: { valAccuracy: 0.35 } })
    const crashed = createRun(db, { epochs: 5 })
    expect(markInterruptedRuns(db)).toBe(1)
    expect(getRun(db, crashed)?.status).toBe('interrupted')
    expect(getRun(db, done)?.status).toBe('completed')
    expect(getRun(db, done)?.config).toEqual({ epochs: 2 })
    expect(runEpochs(db, done)).toHaveLength(1)
    expect(runEpochs(db, done)[0].valAccuracy).toBeCloseTo(0.35)
  })

  it('keeps meta values and an audit trail', () => {
    setMeta(db, 'name', 'one')
    setMeta(db, 'name', 'two')
    expect(getMeta(db, 'name')).toBe('two')
    audit(db, 'x.did', { n: 1 }, 'ann')
    expect(auditEntries(db)[0]).toMatchObject({ action: 'x.did', actor: 'ann', details: { n: 1 } })
  })
})
