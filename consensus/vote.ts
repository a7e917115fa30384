import type { Address } from '../core/address.js'
import { bytesEqual, fromHex, toHex, utf8 } from '../core/bytes.js'
import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { SIGNATURE_LENGTH, verifySignature } from '../core/keys.js'
import { bytesField, decodeStrict, malformed, uintField } from './wire.js'

export type VoteType = 'prevote' | 'precommit'

/** A vote before signing; `blockHash: null` is a vote for nil. */
export interface UnsignedVote {
  readonly type: VoteType
  readonly height: number
  readonly round: number
  readonly blockHash: Uint8Array | null
  readonly validator: Address
}

export interface Vote extends UnsignedVote {
  readonly signature: Uint8Array
}

export const HASH_LENGTH = 32
export const ADDRESS_LENGTH = 20

const VOTE_DOMAIN = utf8('attrchain/vote/v1')
const TYPE_BYTE: Record<VoteType, number> = { prevote: 1, precommit: 2 }

export function voteTypeByte(type: VoteType): number {
  return TYPE_BYTE[type]
}

/** sha256("attrchain/vote/v1" ‖ encode([chainId, height, round, type, blockHash | null])). */
export function voteSignBytes(chainId: string, vote: UnsignedVote): Uint8Array {
  return sha256(VOTE_DOMAIN, encode([chainId, vote.height, vote.round, TYPE_BYTE[vote.type], vote.blockHash]))
}

export function verifyVoteSignature(chainId: string, vote: Vote, pubKey: Uint8Array): boolean {
  return verifySignature(pubKey, voteSignBytes(chainId, vote), vote.signature)
}

/** The hex key of a vote's value, `"nil"` for nil: vote tallies are keyed by it. */
export function valueKey(blockHash: Uint8Array | null): string {
  return blockHash === null ? 'nil' : toHex(blockHash)
}

export function sameValue(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : bytesEqual(a, b)
}

/** Wire form: `[type(1|2), height, round, blockHash | null, validator(20), signature(64)]`. */
export function voteToEncodable(vote: Vote): Encodable {
  return [TYPE_BYTE[vote.type], vote.height, vote.round, vote.blockHash, fromHex(vote.validator), vote.signature]
}

export function encodeVote(vote: Vote): Uint8Array {
  return encode(voteToEncodable(vote))
}

export function voteFromEncodable(value: Encodable, field = 'vote'): Vote {
  if (!Array.isArray(value) || value.length !== 6) throw malformed(`${field} must be [type, height, round, blockHash, validator, signature]`)
  const [type, height, round, blockHash, validator, signature] = value as Encodable[]
  if (type !== 1 && type !== 2) throw malformed(`${field}.type must be 1 (prevote) or 2 (precommit)`)
  return {
    type: type === 1 ? 'prevote' : 'precommit',
    height: uintField(height, `${field}.height`, 1),
    round: uintField(round, `${field}.round`),
    blockHash: blockHash === null ? null : bytesField(blockHash, HASH_LENGTH, `${field}.blockHash`),
    validator: toHex(bytesField(validator, ADDRESS_LENGTH, `${field}.validator`)),
    signature: bytesField(signature, SIGNATURE_LENGTH, `${field}.signature`),
  }
}

export function decodeVote(bytes: Uint8Array): Vote {
  return voteFromEncodable(decodeStrict(bytes, 'vote'))
}
