// Errors cross process and network boundaries as plain data: Electron's IPC and JSON both drop
// Error subclasses, so every failure is carried as { code, message, field? } and rebuilt on the
// other side.
export const ERROR_CODES = [
  'invalid_payload',
  'unknown_channel',
  'forbidden',
  'no_project',
  'not_a_project',
  'project_exists',
  'corrupt_project',
  'schema_too_new',
  'project_locked',
  'not_found',
  'conflict',
  'unsupported',
  'cancelled',
  'io_error',
  'internal'
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export interface ErrorInfo {
  code: ErrorCode
  message: string
  /** The payload field, file or line the error is about, when there is one. */
  field?: string
}

export class StudioError extends Error {
  readonly code: ErrorCode
  readonly field?: string
  constructor(code: ErrorCode, message: string, field?: string) {
    super(message)
    this.name = 'StudioError'
    this.code = code
    this.field = field
  }
  toInfo(): ErrorInfo {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field }
  }
}

export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof StudioError) return err.toInfo()
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'internal', message }
}

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo }
