// Payload generators for fuzzing the contract: malformed variants of every channel's request,
// and well-formed requests full of hostile values, both derived from the zod schemas so channels
// added later are covered without a change here.
import type { z } from 'zod'

type Schema = z.ZodType
interface Def {
  type: string
  shape?: Record<string, Schema>
  innerType?: Schema
  element?: Schema
  options?: Schema[]
  entries?: Record<string, string>
  values?: unknown[]
  valueType?: Schema
  in?: Schema
  checks?: { _zod?: { def?: { check?: string; minimum?: number } } }[]
}

const def = (s: Schema): Def => (s as unknown as { def: Def }).def
const shapeOf = (s: Schema): Record<string, Schema> | undefined => (def(s).type === 'object' ? (s as unknown as { shape: Record<string, Schema> }).shape : undefined)

/** Values of the wrong kind for almost any field. */
export function junk(): unknown[] {
  const deep: unknown = JSON.parse('['.repeat(2000) + ']'.repeat(2000))
  return [
    null,
    42.5,
    -1,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'x'.repeat(1_000_000),
    true,
    [],
    [null, {}, 'x'],
    {},
    deep,
    JSON.parse('{"__proto__": {"polluted": true}}'),
    { constructor: { prototype: { polluted: true } } },
    { $ne: 1 },
    '1; DROP TABLE images;--'
  ]
}

/** Payloads that must all be refused by the schema: wrong top-level kinds, wrong fields, extra fields. */
export function malformed(schema: Schema): unknown[] {
  const out: unknown[] = [undefined, null, 0, 'garbage', [], [{}], true, 'x'.repeat(100_000)]
  out.push(JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'))
  out.push({ ['x'.repeat(10_000)]: 1 })
  const shape = shapeOf(schema)
  if (shape) {
    for (const key of Object.keys(shape)) for (const j of junk()) out.push({ [key]: j })
    const valid = wellFormed(schema, 'fuzz')
    if (valid && typeof valid === 'object') {
      out.push({ ...valid, extra: 1 })
      out.push(Object.assign(JSON.parse('{"__proto__": {"polluted": true}}') as object, valid))
      for (const key of Object.keys(shape)) for (const j of junk()) out.push({ ...valid, [key]: j })
    }
  }
  return out.filter((p) => !schema.safeParse(p).success)
}

const PATHY = /dir|path|source|folder|file|dest|out/i
const IDY = /(^id$|Id$|Ids$|^ids$)/

function minOf(s: Schema, kind: 'minValue' | 'minLength'): number | undefined {
  const v = (s as unknown as Record<string, number | null | undefined>)[kind]
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}
function maxOf(s: Schema, kind: 'maxValue' | 'maxLength'): number | undefined {
  const v = (s as unknown as Record<string, number | null | undefined>)[kind]
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/**
 * A request the schema accepts, with hostile but well-formed values: ids that do not exist,
 * markup and SQL in strings, paths under `base` that do not exist. Undefined when the schema
 * has a kind this does not know.
 */
export function wellFormed(schema: Schema, base: string, key = ''): unknown {
  const d = def(schema)
  switch (d.type) {
    case 'object': {
      const obj: Record<string, unknown> = {}
      for (const [k, s] of Object.entries(shapeOf(schema)!)) {
        const v = wellFormed(s, base, k)
        if (v !== undefined) obj[k] = v
      }
      return obj
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      return wellFormed(d.innerType!, base, key)
    case 'pipe':
      return wellFormed(d.in!, base, key)
    case 'string': {
      const text = PATHY.test(key) ? `${base}/no such 'dir'/<x>` : `<img src=x onerror=alert(1)>'; DROP TABLE images;--%s{0}`
      const max = maxOf(schema, 'maxLength') ?? 200
      const min = minOf(schema, 'minLength') ?? 0
      return text.padEnd(min, 'x').slice(0, max)
    }
    case 'number': {
      const lo = minOf(schema, 'minValue') ?? 0
      const hi = maxOf(schema, 'maxValue') ?? 2 ** 40
      if (IDY.test(key)) return Math.min(hi, Math.max(lo, 2 ** 40))
      // The smallest accepted value keeps started jobs cheap; an exclusive minimum needs a step up.
      return [lo, lo + 1e-3, lo + 1, Math.floor((lo + hi) / 2)].find((v) => schema.safeParse(v).success)
    }
    case 'boolean':
      return true
    case 'enum':
      return Object.values(d.entries!)[0]
    case 'literal':
      return d.values![0]
    case 'array': {
      const min = Math.max(1, ...(d.checks ?? []).map((c) => c._zod?.def?.minimum ?? 0))
      return Array.from({ length: min }, () => wellFormed(d.element!, base, key))
    }
    case 'union':
      return wellFormed(d.options![0], base, key)
    case 'record':
      return { '<k>': wellFormed(d.valueType!, base, key) }
    case 'null':
      return null
    default:
      return undefined
  }
}
