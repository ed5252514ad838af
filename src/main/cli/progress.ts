import type { Io } from './io'

/** A one-line progress meter on stderr, only when a person is watching (a TTY). */
export function progressPrinter(io: Io, label: string, enabled = Boolean(process.stderr.isTTY)): {
  update(done: number, total: number | null): void
  end(): void
} {
  let last = 0
  let shown = false
  return {
    update(done, total) {
      if (!enabled) return
      const now = Date.now()
      if (now - last < 200) return
      last = now
      shown = true
      process.stderr.write(`\r${label}: ${done}${total ? ` / ${total} (${Math.round((100 * done) / total)}%)` : ''}   `)
    },
    end() {
      if (shown) io.err('') // ends the meter's line
    }
  }
}

/** Ctrl+C cancels the work cleanly (committed batches stay) instead of killing the process. */
export function cancelOnSigint(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  return { signal: controller.signal, dispose: () => process.off('SIGINT', stop) }
}
