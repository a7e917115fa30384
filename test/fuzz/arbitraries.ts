import fc from 'fast-check'
import type { Encodable } from '../../core/codec.js'

/**
 * Arbitraries shared by the fuzz targets. `encodable` is any value the
 * canonical codec can write (core/codec.ts): null, booleans, non-negative
 * integers up to 2^64 − 1, strings, byte strings and arrays, nested.
 */
const leaf: fc.Arbitrary<Encodable> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.nat({ max: 300 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '0', '01', '-1', '1.5', '1e3', '340282366920938463463374607431768211456', '1000000000000000', 'transfer', 'submitReceipts', 'attrchain-devnet'),
  fc.uint8Array({ maxLength: 70 }),
  fc.constantFrom(20, 32, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
)

export const encodable: fc.Arbitrary<Encodable> = fc.letrec<{ v: Encodable }>((tie) => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('v'), { maxLength: 6 })),
})).v

/** Every path to a node of `v` (arrays are walked), root included as []. */
export function pathsOf(v: Encodable, prefix: number[] = [], out: number[][] = []): number[][] {
  out.push(prefix)
  if (Array.isArray(v)) (v as Encodable[]).forEach((c, i) => pathsOf(c, [...prefix, i], out))
  return out
}

/** A copy of `v` with the node at `path` replaced by `f(node)`; `f` returning undefined deletes it from its array. */
export function edit(v: Encodable, path: number[], f: (node: Encodable) => Encodable | undefined): Encodable {
  if (path.length === 0) return f(v) ?? null
  const arr = [...(v as Encodable[])]
  const [i, ...rest] = path
  if (rest.length === 0) {
    const next = f(arr[i]!)
    if (next === undefined) arr.splice(i!, 1)
    else arr[i!] = next
  } else {
    arr[i!] = edit(arr[i!]!, rest, f)
  }
  return arr
}

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'splice'; at: number; del: number; ins: Uint8Array }
  | { kind: 'setByte'; at: number; value: number }

/** Byte-level mutations of a valid input (positions are taken modulo its length). */
export const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), del: fc.nat({ max: 40 }), ins: fc.uint8Array({ maxLength: 40 }) }),
  // msgpack type tags: fixarray/fixstr/bin8/str8/uint64/float64/map/ext/nil/true/false/negative fixint
  fc.record({ kind: fc.constant('setByte' as const), at: fc.nat(), value: fc.constantFrom(0x90, 0x93, 0xa0, 0xc4, 0xd9, 0xcf, 0xcb, 0x80, 0xde, 0xd4, 0xc7, 0xc0, 0xc3, 0xc2, 0xff, 0xdc, 0xdd, 0xc6, 0xdb) }),
)

export function applyMutations(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Buffer.from(bytes)
  for (const m of ms) {
    const n = b.length
    switch (m.kind) {
      case 'flip': if (n > 0) b[m.at % n]! ^= 1 << m.bit; break
      case 'truncate': b = b.subarray(0, n === 0 ? 0 : m.at % n); break
      case 'extend': b = Buffer.concat([b, m.extra]); break
      case 'splice': { const at = n === 0 ? 0 : m.at % n; b = Buffer.concat([b.subarray(0, at), m.ins, b.subarray(Math.min(n, at + m.del))]); break }
      case 'setByte': if (n > 0) b[m.at % n] = m.value; break
    }
  }
  return new Uint8Array(b)
}

export type TreeMutation =
  | { kind: 'replace'; pick: number; value: Encodable }
  | { kind: 'delete'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'wrap'; pick: number }

/** Structural mutations of a decoded msgpack value: a node replaced by a value of any type (a type swap), deleted, doubled, wrapped. */
export const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: encodable }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('wrap' as const), pick: fc.nat() }),
)

export function applyTreeMutation(v: Encodable, m: TreeMutation): Encodable {
  const paths = pathsOf(v)
  const path = paths[m.pick % paths.length]!
  switch (m.kind) {
    case 'replace': return edit(v, path, () => m.value)
    case 'delete': return path.length === 0 ? null : edit(v, path, () => undefined)
    case 'duplicate': {
      if (path.length === 0) return [v, v]
      const parent = path.slice(0, -1)
      const i = path[path.length - 1]!
      return edit(v, parent, (p) => { const a = [...(p as Encodable[])]; a.splice(i, 0, a[i]!); return a })
    }
    case 'wrap': return edit(v, path, (node) => [node])
  }
}
