import type { Db } from '../connection'

export function getMeta(db: Db, key: string): string | undefined {
  return (db.prepare('SELECT value FROM project_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value)
}

export function audit(db: Db, action: string, details: Record<string, unknown> = {}, actor: string | null = null): void {
  db.prepare('INSERT INTO audit_log (at, actor, action, details) VALUES (?, ?, ?, ?)').run(
    new Date().toISOString(),
    actor,
    action,
    JSON.stringify(details)
  )
}

export function auditEntries(db: Db, limit = 100): { at: string; actor: string | null; action: string; details: Record<string, unknown> }[] {
  return (
    db.prepare('SELECT at, actor, action, details FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as {
      at: string
      actor: string | null
      action: string
      details: string
    }[]
  ).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }))
}
