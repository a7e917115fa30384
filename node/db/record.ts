import { decode, type Encodable } from '../../core/codec.js'
import { toHex } from '../../core/bytes.js'
import { parseAmount } from '../../core/amount.js'
import type { Hex } from '../../core/tx.js'
import { DbError } from './errors.js'

/**
 * Decoding a stored record: every check that fails throws DbError
 * DB_ERROR_CORRUPT naming the record ("stored receipt record is damaged:
 * expected an integer"), so a damaged data dir is refused, never misread.
 * Shared by the bucket records (buckets.ts) and the flow statistics record
 * (node/flowStats.ts).
 */

/** Throws DB_ERROR_CORRUPT: the stored `record` (a bucket's name, meta.record) does not decode; `why` says how. */
export function corrupt(record: string, why: string): never {
  throw new DbError('DB_ERROR_CORRUPT', `stored ${record} record is damaged: ${why}`, { record })
}

/** A stored record's canonical-codec bytes as an array of exactly `len` fields; anything else is corrupt. */
export function decodeRecord(bytes: Uint8Array, record: string, len: number): Encodable[] {
  let v: Encodable
  try {
    v = decode(bytes, bytes.length)
  } catch (e) {
    corrupt(record, (e as Error).message)
  }
  return arr(v, record, len)
}

/** `v` as an array (of `len` fields when given); else corrupt. */
export function arr(v: Encodable, record: string, len?: number): Encodable[] {
  if (!Array.isArray(v)) corrupt(record, 'expected an array')
  const a = v as Encodable[]
  if (len !== undefined && a.length !== len) corrupt(record, `expected ${len} fields, got ${a.length}`)
  return a
}

/** `v` as a codec integer; else corrupt. */
export function uint(v: Encodable, record: string): number {
  if (typeof v !== 'number') corrupt(record, 'expected an integer')
  return v as number
}

/** `v` as a string; else corrupt. */
export function str(v: Encodable, record: string): string {
  if (typeof v !== 'string') corrupt(record, 'expected a string')
  return v as string
}

/** `v` as bytes of one of the lengths `lens`, in 0x hex; else corrupt. */
export function hex(v: Encodable, record: string, ...lens: number[]): Hex {
  if (!(v instanceof Uint8Array) || !lens.includes(v.length)) corrupt(record, `expected ${lens.join(' or ')} bytes`)
  return toHex(v as Uint8Array)
}

/** `v` as an amount stored as decimal text (core/amount.ts parseAmount); else corrupt. */
export function amount(v: Encodable, record: string): bigint {
  try {
    return parseAmount(v, record)
  } catch (e) {
    corrupt(record, (e as Error).message)
  }
}

/** `v` as one of the keys of `allowed`; else corrupt. */
export function oneOf<T extends string>(v: Encodable, allowed: Record<T, true>, record: string): T {
  if (typeof v !== 'string' || !Object.hasOwn(allowed, v)) corrupt(record, `unknown value ${String(v)}`)
  return v as T
}
