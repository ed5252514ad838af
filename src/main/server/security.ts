import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const TOKEN_COOKIE = 'ff_token'

/** Compares in constant time, so the token cannot be guessed a byte at a time. */
export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  if (a.length !== b.length) return false
  return timingSafeEqual(a, b)
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() !== name) continue
    try {
      return decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      return undefined // a malformed escape is a wrong token, not a server error
    }
  }
  return undefined
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined
}

/**
 * DNS rebinding defence: a page on evil.example that re-resolves to 127.0.0.1 still sends its own
 * Host and Origin, so only the loopback names with our port are accepted.
 */
export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`]
  if (!req.headers.host || !allowed.includes(req.headers.host.toLowerCase())) return false
  const origin = req.headers.origin
  if (origin === undefined) return true
  return allowed.some((h) => origin.toLowerCase() === `http://${h}`)
}

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: studio-file:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'"
].join('; ')
