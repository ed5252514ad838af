import type { z } from 'zod'
import { channels, isChannelName } from '../../shared/contract'
import { toErrorInfo, type Envelope } from '../../shared/errors'
import type { Handlers } from './handlers'

/** Field names and messages echo the payload (an unknown 10,000-character key): keep them short. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text)

function describeIssue(issue: z.core.$ZodIssue): { field: string; message: string } {
  const field = clip(issue.path.length ? issue.path.map(String).join('.') : '(payload)', 200)
  return { field, message: clip(`${field}: ${issue.message}`, 500) }
}

/**
 * The single entry of every transport: checks the channel exists, parses the payload with its
 * schema, runs the handler, and always answers with an envelope instead of throwing.
 */
export async function dispatch(handlers: Handlers, channel: unknown, payload: unknown): Promise<Envelope<unknown>> {
  if (!isChannelName(channel)) {
    return { ok: false, error: { code: 'unknown_channel', message: `unknown channel ${JSON.stringify(String(channel).slice(0, 100))}` } }
  }
  const parsed = channels[channel].request.safeParse(payload)
  if (!parsed.success) {
    const first = describeIssue(parsed.error.issues[0])
    return { ok: false, error: { code: 'invalid_payload', message: `${channel}: ${first.message}`, field: first.field } }
  }
  try {
    const handler = handlers[channel] as (req: unknown) => unknown
    return { ok: true, value: await handler(parsed.data) }
  } catch (err) {
    const info = toErrorInfo(err)
    if (info.code === 'internal') console.error(`${channel} failed:`, err)
    return { ok: false, error: info }
  }
}
