// Figures kept per connection until the next write. total_changes() counts every row the
// connection has changed, and a project's exclusive lock makes that connection its only writer,
// so an unchanged count means unchanged data; repeated looks then cost nothing. The count is read
// after computing: the figures' own bookkeeping (live.ts) writes to TEMP tables, and those writes
// must not look like new data at the next look.
import type { Db } from '../../db/connection'

export function untilWrite<T>(compute: (db: Db) => T): (db: Db) => T {
  const cache = new WeakMap<Db, { changes: number; value: T }>()
  const changes = (db: Db) => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n
  return (db) => {
    const hit = cache.get(db)
    if (hit && hit.changes === changes(db)) return hit.value
    const value = compute(db)
    cache.set(db, { changes: changes(db), value })
    return value
  }
}
