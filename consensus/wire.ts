import { decode, type Encodable } from '../core/codec.js'
import { ConsensusError } from './errors.js'

/** Shared strict-decoding helpers: every malformed input becomes a ConsensusError. */
export function decodeStrict(bytes: Uint8Array, what: string): Encodable {
  if (!(bytes instanceof Uint8Array)) throw malformed(`${what} must be bytes`)
  try {
    return decode(bytes)
  } catch (e) {
    throw new ConsensusError('CONSENSUS_ERROR_MALFORMED', `${what}: ${(e as Error).message}`)
  }
}

export function malformed(message: string): ConsensusError {
  return new ConsensusError('CONSENSUS_ERROR_MALFORMED', message)
}

export function bytesField(v: Encodable | undefined, len: number, field: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len) throw malformed(`${field} must be ${len} bytes`)
  return v
}

export function uintField(v: Encodable | undefined, field: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw malformed(`${field} must be an integer ≥ ${min}`)
  return v
}
