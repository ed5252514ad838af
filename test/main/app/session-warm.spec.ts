import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { computeDashboard, dashboard } from '../../../src/main/analysis/insights/dashboard'
import { freshLook, isKept } from '../../../src/main/analysis/insights/live'
import { Session } from '../../../src/main/app/session'
import { label } from '../../../src/main/labeling/actions'
import { seedImages } from '../../helpers/seed'
import { tempDir } from '../../helpers/tmp'

const until = async (ok: () => boolean, ms: number) => {
  const end = Date.now() + ms
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  return ok()
}

describe('a session reads the dashboard figures in the background after a project opens', () => {
  it('keeps them ready for the first look, current after writes, and stops quietly when the project closes', async () => {
    const session = new Session({ configDir: tempDir(), transport: 'http', nativeDialogs: false })
    const dir = join(tempDir(), 'p')
    await session.create(dir, { classes: ['happy', 'sad'] })
    const db = session.requireProject().db
    const ids = seedImages(db, 300, { environment: (i) => (i % 3 ? 'studio' : 'webcam') })
    label(db, 'ann', ids.slice(0, 200), 1)
    expect(isKept(db)).toBe(false)
    expect(await until(() => isKept(db), 10_000)).toBe(true)
    label(db, 'bo', ids.slice(100, 250), 2)
    const strip = (d: ReturnType<typeof computeDashboard>) => ({ ...d, ms: 0, timings: {} })
    expect(strip(dashboard(db))).toEqual(strip(freshLook(db, () => computeDashboard(db))))
    // closed right after opening: the pending read finds the database closed and ends
    await session.open(dir) // same project: no new read
    await session.close()
    await session.create(join(tempDir(), 'q'), { classes: ['a'] })
    await session.close()
    await new Promise((r) => setTimeout(r, 2_000))
  }, 30_000)
})
