import { fromHex, toHex } from '../../core/bytes.js'
import { parseAddress } from '../../core/address.js'
import { KeyPair } from '../../core/keys.js'
import { usage } from './command.js'

/**
 * Validators of command-line values: each returns the parsed value or
 * throws a usage error (exit code 2) naming the argument and what it got.
 */

/** A 0x-prefixed 20-byte address (lowercased). */
export function argAddress(v: string, name: string): string {
  try {
    return parseAddress(v, name)
  } catch {
    usage(`${name} must be a 0x-prefixed 20-byte hex address, got "${v}"`)
  }
}

/** A 0x-prefixed 32-byte id (lowercased). */
export function argHash(v: string, name: string): string {
  try {
    return toHex(fromHex(v, name, 32))
  } catch {
    usage(`${name} must be a 0x-prefixed 32-byte hex id, got "${v}"`)
  }
}

/** A block height (a safe non-negative integer) or "latest". */
export function argHeight(v: string, name = 'HEIGHT'): number | 'latest' {
  if (v === 'latest') return v
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) usage(`${name} must be a block height or "latest", got "${v}"`)
  return Number(v)
}

/** A safe non-negative integer, or undefined when not given. */
export function argUint(v: string, name: string): number
export function argUint(v: string | undefined, name: string): number | undefined
export function argUint(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) usage(`${name} must be a non-negative integer, got "${v}"`)
  return Number(v)
}

/** Exactly `len` bytes of 0x hex (lowercased). */
export function argBytes(v: string, name: string, len: number): string {
  if (!/^0x[0-9a-fA-F]*$/.test(v) || v.length !== 2 + 2 * len) usage(`${name} must be ${len} bytes of 0x hex, got "${v}"`)
  return v.toLowerCase()
}

/** An Ed25519 key from a 0x-prefixed 32-byte seed. */
export function keyFromSeed(seed: string, name: string): KeyPair {
  try {
    return new KeyPair(fromHex(seed, name, 32))
  } catch {
    usage(`${name} must be a 0x-prefixed 32-byte hex seed ("attrchain keys show NAME --private" prints one), or sign with --from NAME`)
  }
}
