import { sha256 } from './hash.js'
import { toHex } from './bytes.js'
import { CodecError } from './errors.js'

/** An address: `0x` + 40 lowercase hex chars. */
export type Address = string

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/

/** `0x` + lowercase hex of the first 20 bytes of sha256(pubkey) (DESIGN §2). */
export function addressFromPubKey(pubKey: Uint8Array): Address {
  return toHex(sha256(pubKey).subarray(0, 20))
}

/** Accept any case, return lowercase. */
export function parseAddress(value: unknown, field = 'address'): Address {
  if (typeof value !== 'string' || !ADDRESS_RE.test(value)) {
    throw new CodecError('CODEC_ERROR_BAD_ADDRESS', `${field} must be a 0x-prefixed 20-byte hex address`, { field })
  }
  return value.toLowerCase()
}

export function isAddress(value: unknown): value is Address {
  return typeof value === 'string' && ADDRESS_RE.test(value)
}
