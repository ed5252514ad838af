import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { CONSENSUS_SQL, consensusLabel, history } from '../../../src/main/db/repos/annotations'
import { listClasses } from '../../../src/main/db/repos/classes'
import { getImage } from '../../../src/main/db/repos/images'
import { label, redo, setField, undo, undoState } from '../../../src/main/labeling/actions'
import { classImpact, createClass, deleteClass, mergeClasses, recolourClass, renameClass, reorderClasses, setClassKey } from '../../../src/main/labeling/classes'
import { countImages, facets, imageDetail, queryIds, queryImages } from '../../../src/main/labeling/library'
import { createProject, openProject, type Project } from '../../../src/main/project/project'
import { StudioError } from '../../../src/shared/errors'
import { seedImages } from '../../helpers/seed'
import { tempDir } from '../../helpers/tmp'

let p: Project
let ids: number[]
let cls: Record<string, number>
beforeEach(() => {
  p = createProject(join(tempDir(), 'p'), { classes: ['angry', 'happy', 'sad'] })
  ids = seedImages(p.db, 10, {
    environment: (i) => (i < 6 ? 'studio' : 'webcam'),
    subject: (i) => `s${i % 3}`,
    attributes: (i) => ({ age_band: i % 2 ? '20-29' : '60+' })
  })
  cls = Object.fromEntries(listClasses(p.db).map((c) => [c.name, c.id]))
  return () => p.close()
})

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as StudioError).code
  }
  return 'no error'
}

describe('labeling actions', () => {
  it('labels, undoes and redoes by appending history, per annotator', () => {
    label(p.db, 'ann', [ids[0]], cls.happy)
    label(p.db, 'ann', [ids[0]], cls.sad)
    label(p.db, 'bob', [ids[0]], cls.angry)
    expect(undo(p.db, 'ann').images).toEqual([ids[0]])
    expect(imageDetail(p.db, ids[0], 'ann', false).mine).toBe(cls.happy)
    undo(p.db, 'ann')
    expect(imageDetail(p.db, ids[0], 'ann', false).mine).toBeNull()
    expect(code(() => undo(p.db, 'ann'))).toBe('conflict') // the start of ann's history
    expect(imageDetail(p.db, ids[0], 'bob', false).mine).toBe(cls.angry) // bob untouched
    redo(p.db, 'ann')
    redo(p.db, 'ann')
    expect(imageDetail(p.db, ids[0], 'ann', false).mine).toBe(cls.sad)
    expect(code(() => redo(p.db, 'ann'))).toBe('conflict')
    expect(history(p.db, ids[0])).toHaveLength(7) // 3 labels + 2 undos + 2 redos, nothing rewritten
  })

  it('makes a bulk label one undo step, and a new action ends the redo chain', () => {
    const ten = ids.slice(0, 10)
    label(p.db, 'ann', ten, cls.happy)
    expect(countImages(p.db, { classIds: [cls.happy] })).toBe(10)
    undo(p.db, 'ann')
    expect(countImages(p.db, { unlabeled: true })).toBe(10)
    expect(undoState(p.db, 'ann')).toEqual({ canUndo: false, canRedo: true })
    label(p.db, 'ann', [ids[0]], cls.sad)
    expect(undoState(p.db, 'ann')).toEqual({ canUndo: true, canRedo: false })
  })

  it('survives a restart: undo works on a reopened project', () => {
    label(p.db, 'ann', [ids[1]], cls.happy)
    label(p.db, 'ann', [ids[1]], cls.angry)
    const dir = p.dir
    p.close()
    p = openProject(dir)
    undo(p.db, 'ann')
    expect(consensusLabel(p.db, ids[1])).toBe(cls.happy)
  })

  it('excludes and edits metadata in bulk, undoably', () => {
    setField(p.db, 'ann', [ids[0], ids[1]], { kind: 'exclude' }, true)
    expect(countImages(p.db, {})).toBe(8)
    expect(countImages(p.db, { excluded: 'only' })).toBe(2)
    setField(p.db, 'ann', [ids[2]], { kind: 'attribute', name: 'glasses' }, 'yes')
    setField(p.db, 'ann', [ids[2], ids[3]], { kind: 'environment' }, 'phone')
    expect(getImage(p.db, ids[2])).toMatchObject({ environment: 'phone', attributes: { age_band: '60+', glasses: 'yes' } })
    undo(p.db, 'ann')
    expect(getImage(p.db, ids[3])?.environment).toBe('studio')
    undo(p.db, 'ann')
    expect(getImage(p.db, ids[2])?.attributes).toEqual({ age_band: '60+' })
    undo(p.db, 'ann')
    expect(countImages(p.db, {})).toBe(10)
  })

  it('refuses labels for images deleted meanwhile and for unknown classes, changing nothing', () => {
    p.db.prepare('DELETE FROM images WHERE id = ?').run(ids[9])
    expect(code(() => label(p.db, 'ann', [ids[0], ids[9]], cls.happy))).toBe('not_found')
    expect(consensusLabel(p.db, ids[0])).toBeNull() // the whole action was refused
    expect(code(() => label(p.db, 'ann', [ids[0]], 999))).toBe('not_found')
    expect(code(() => label(p.db, 'ann', [], cls.happy))).toBe('invalid_payload')
  })

  it('keeps the consensus and its ties in step with the labels', () => {
    label(p.db, 'ann', [ids[0]], cls.sad)
    label(p.db, 'bob', [ids[0]], cls.happy)
    let d = imageDetail(p.db, ids[0], 'cy', false)
    expect(d).toMatchObject({ tie: true, disagreement: true, votes: 2, classId: cls.happy })
    expect(d.distribution).toHaveLength(2)
    label(p.db, 'cy', [ids[0]], cls.sad)
    d = imageDetail(p.db, ids[0], 'cy', false)
    expect(d).toMatchObject({ tie: false, classId: cls.sad, votes: 3 })
    const blind = imageDetail(p.db, ids[0], 'dee', true)
    expect(blind).toMatchObject({ mine: null, classId: null, labels: [], distribution: [], disagreement: false })
  })

  it('settles a tie on the newest label, whatever the class ids, and keeps it marked', () => {
    // 'import' stands for labels that came with the dataset; 'me' relabels in the app.
    label(p.db, 'import', [ids[0], ids[1]], cls.angry)
    label(p.db, 'me', [ids[0]], cls.sad) // a higher class id than the imported label's
    label(p.db, 'me', [ids[1]], cls.happy)
    expect(imageDetail(p.db, ids[0], 'me', false)).toMatchObject({ classId: cls.sad, tie: true, disagreement: true })
    expect(consensusLabel(p.db, ids[1])).toBe(cls.happy)
    // The importer labeling again (even the same class) makes theirs the newest: it wins the tie.
    label(p.db, 'import', [ids[0]], cls.angry)
    expect(consensusLabel(p.db, ids[0])).toBe(cls.angry)
    // Undoing that brings the relabel back on top; a majority still beats recency.
    undo(p.db, 'import')
    expect(consensusLabel(p.db, ids[0])).toBe(cls.sad)
    label(p.db, 'third', [ids[0]], cls.angry)
    label(p.db, 'me', [ids[0]], cls.sad)
    expect(imageDetail(p.db, ids[0], 'me', false)).toMatchObject({ classId: cls.angry, tie: false, votes: 3 })
    // The consensus kept in image_labels is the one the plain SQL derivation gives.
    const stored = p.db.prepare('SELECT image_id, class_id FROM image_labels ORDER BY image_id').all()
    expect(stored).toEqual(p.db.prepare(`SELECT image_id, class_id FROM (${CONSENSUS_SQL}) ORDER BY image_id`).all())
  })

  it('gives back the exact consensus on undo and redo, though they append rows', () => {
    label(p.db, 'ann', [ids[0]], cls.happy)
    label(p.db, 'bob', [ids[0]], cls.sad)
    expect(consensusLabel(p.db, ids[0])).toBe(cls.sad) // bob's is newer
    label(p.db, 'ann', [ids[0]], cls.angry)
    expect(consensusLabel(p.db, ids[0])).toBe(cls.angry)
    // The undo row restating ann's happy is the newest row, but happy was given before bob's sad.
    undo(p.db, 'ann')
    expect(imageDetail(p.db, ids[0], 'ann', false)).toMatchObject({ mine: cls.happy, classId: cls.sad, tie: true })
    redo(p.db, 'ann')
    expect(consensusLabel(p.db, ids[0])).toBe(cls.angry)
    undo(p.db, 'ann')
    expect(consensusLabel(p.db, ids[0])).toBe(cls.sad)
    // A later action undone: the label it restates is itself a restated one (the chain is followed).
    label(p.db, 'ann', [ids[0]], cls.angry)
    undo(p.db, 'ann')
    expect(consensusLabel(p.db, ids[0])).toBe(cls.sad)
    // Labeling again is new, even with the same class: now ann's happy is the newest.
    label(p.db, 'ann', [ids[0]], cls.happy)
    expect(consensusLabel(p.db, ids[0])).toBe(cls.happy)
  })
})

describe('library queries', () => {
  it('combines filters and counts, sorts, pages and searches', () => {
    label(p.db, 'ann', [ids[0], ids[1], ids[6]], cls.happy)
    label(p.db, 'bob', [ids[1]], cls.sad)
    // ids[1] is a happy/sad tie: the newest label (bob's sad) is its consensus
    expect(countImages(p.db, { classIds: [cls.happy], environments: ['studio'] })).toBe(1)
    expect(countImages(p.db, { disagreement: true })).toBe(1)
    expect(countImages(p.db, { unlabeled: true })).toBe(7)
    expect(countImages(p.db, { environments: ['webcam'], attributes: { age_band: '60+' } })).toBe(2)
    expect(countImages(p.db, { subjects: ['s0'] })).toBe(4)
    expect(countImages(p.db, { annotator: 'bob' })).toBe(1)
    expect(countImages(p.db, { search: 'img_00000' })).toBe(10)
    expect(countImages(p.db, { search: '%' })).toBe(0) // wildcards are literal
    const flag = p.db.prepare("INSERT INTO flags (image_id, type, score, created_at, status, stale) VALUES (?, 'mislabeled', 0.9, 'now', ?, ?)")
    flag.run(ids[2], 'open', 0)
    flag.run(ids[3], 'kept', 0) // decided: no longer flagged
    flag.run(ids[4], 'open', 1) // stale: the labels changed since
    expect(queryIds(p.db, { flagged: true }, 'added')).toEqual([ids[2]])
    const page = queryImages(p.db, {}, 'name', 2, 3)
    expect(page.total).toBe(10)
    expect(page.items.map((i) => i.fileName)).toEqual(['img_000002.png', 'img_000003.png', 'img_000004.png'])
    expect(queryIds(p.db, { unlabeled: true }, 'added')).toEqual(ids.filter((_, i) => ![0, 1, 6].includes(i)))
    const f = facets(p.db)
    expect(f.environments).toEqual([{ name: 'studio', count: 6 }, { name: 'webcam', count: 4 }])
    expect(f.attributes[0]).toMatchObject({ name: 'age_band' })
    expect(f.annotators).toEqual(['ann', 'bob'])
  })
})

describe('class management', () => {
  it('renames verbatim, refuses duplicates and empty names, remaps keys and reorders', () => {
    renameClass(p.db, cls.sad, '<img src=x onerror=alert(1)>')
    expect(listClasses(p.db).find((c) => c.id === cls.sad)?.name).toBe('<img src=x onerror=alert(1)>')
    expect(code(() => renameClass(p.db, cls.sad, 'happy'))).toBe('conflict')
    expect(code(() => renameClass(p.db, cls.sad, '   '))).toBe('invalid_payload')
    expect(code(() => setClassKey(p.db, cls.sad, '1'))).toBe('conflict')
    setClassKey(p.db, cls.sad, 'q')
    expect(code(() => recolourClass(p.db, cls.sad, 'red'))).toBe('invalid_payload')
    reorderClasses(p.db, [cls.sad, cls.angry, cls.happy])
    expect(listClasses(p.db).map((c) => c.id)).toEqual([cls.sad, cls.angry, cls.happy])
    expect(code(() => reorderClasses(p.db, [cls.sad]))).toBe('invalid_payload')
  })

  it('reports the impact, refuses to orphan labels, merges, and deletes on confirmation', () => {
    label(p.db, 'ann', [ids[0], ids[1]], cls.angry)
    label(p.db, 'bob', [ids[1]], cls.angry)
    expect(classImpact(p.db, cls.angry)).toMatchObject({ labels: 3, images: 2, consensus: 2 })
    expect(code(() => deleteClass(p.db, cls.angry))).toBe('conflict')
    expect(mergeClasses(p.db, cls.angry, cls.happy).moved).toBe(3)
    expect(consensusLabel(p.db, ids[1])).toBe(cls.happy)
    expect(listClasses(p.db).map((c) => c.name)).toEqual(['happy', 'sad'])
    createClass(p.db, 'angry') // the name is free again
    label(p.db, 'ann', [ids[2]], cls.sad)
    expect(deleteClass(p.db, cls.sad, true).cleared).toBe(1)
    expect(consensusLabel(p.db, ids[2])).toBeNull()
    expect(history(p.db, ids[2]).map((h) => h.classId)).toEqual([cls.sad, null]) // history kept
  })
})

describe('two windows on one project', () => {
  it('share one connection, and interleaved labels on the same image are all kept once', async () => {
    const { Session } = await import('../../../src/main/app/session')
    const { createHandlers } = await import('../../../src/main/app/handlers')
    const { dispatch } = await import('../../../src/main/app/dispatch')
    const dir = p.dir
    p.close()
    const a = new Session({ configDir: tempDir(), transport: 'electron', nativeDialogs: true })
    const b = new Session({ configDir: tempDir(), transport: 'electron', nativeDialogs: true })
    await a.open(dir)
    await b.open(dir) // the second window reuses the first's connection instead of being locked out
    expect(b.project).toBe(a.project)
    const ha = createHandlers(a)
    const hb = createHandlers(b)
    const calls = []
    for (let i = 0; i < 10; i++) {
      calls.push(dispatch(ha, 'label.set', { imageIds: [ids[0]], classId: cls.happy, annotator: 'ann' }))
      calls.push(dispatch(hb, 'label.set', { imageIds: [ids[0]], classId: cls.sad, annotator: 'bob' }))
    }
    const results = await Promise.all(calls)
    expect(results.every((r) => r.ok)).toBe(true)
    const db = a.requireProject().db
    expect(db.prepare('SELECT count(*) FROM annotations WHERE image_id = ?').pluck().get(ids[0])).toBe(20)
    expect(imageDetail(db, ids[0], 'x', false).labels).toEqual([
      { annotator: 'ann', classId: cls.happy },
      { annotator: 'bob', classId: cls.sad }
    ])
    await a.dispose()
    expect(b.requireProject().db.open).toBe(true) // still open for the other window
    await b.dispose()
    p = openProject(dir) // released: the afterEach can close it
  })
})
