import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
}

/** Peak resident memory of this process so far, in MiB (Linux reports it in KiB). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Prints the table and keeps the numbers beside the benchmark, for the next person to compare. */
export function writeResult(name: string, result: Record<string, unknown>, markdown: string): void {
  const dir = join('bench', 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), machine: machine(), ...result }, null, 2) + '\n')
  console.log(`\n${markdown}\n\nmachine: ${machine()}\nwritten: bench/results/${name}.json`)
}
