import { compareBytes, toHex } from '../core/bytes.js'
import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { ConsensusError } from './errors.js'
import type { ValidatorSet } from './validatorSet.js'
import { sameValue, verifyVoteSignature, voteFromEncodable, voteToEncodable, type Vote } from './vote.js'
import { decodeStrict, malformed } from './wire.js'

/**
 * Two conflicting signed votes of one validator for one (height, round,
 * type) (DESIGN §5: included in a block, they slash and jail). Ordered by
 * block hash, nil first, so that one equivocation has one encoding.
 */
export interface Evidence {
  readonly voteA: Vote
  readonly voteB: Vote
}

function compareValues(a: Vote, b: Vote): number {
  if (a.blockHash === null) return b.blockHash === null ? 0 : -1
  return b.blockHash === null ? 1 : compareBytes(a.blockHash, b.blockHash)
}

export function makeEvidence(first: Vote, second: Vote): Evidence {
  return compareValues(first, second) <= 0 ? { voteA: first, voteB: second } : { voteA: second, voteB: first }
}

/** Wire and block form: `[voteA, voteB]`, each as `voteToEncodable` gives it. */
export function evidenceToEncodable(e: Evidence): Encodable {
  return [voteToEncodable(e.voteA), voteToEncodable(e.voteB)]
}

export function encodeEvidence(e: Evidence): Uint8Array {
  return encode(evidenceToEncodable(e))
}

export function evidenceHash(e: Evidence): Uint8Array {
  return sha256(encodeEvidence(e))
}

export function evidenceFromEncodable(value: Encodable): Evidence {
  if (!Array.isArray(value) || value.length !== 2) throw malformed('evidence must be [voteA, voteB]')
  const voteA = voteFromEncodable(value[0]!, 'evidence.voteA')
  const voteB = voteFromEncodable(value[1]!, 'evidence.voteB')
  if (compareValues(voteA, voteB) >= 0) throw malformed('evidence votes must be ordered by block hash, nil first, and differ')
  return { voteA, voteB }
}

export function decodeEvidence(bytes: Uint8Array): Evidence {
  return evidenceFromEncodable(decodeStrict(bytes, 'evidence'))
}

/** Throws unless both votes are validly signed by one member of `validators` and conflict. */
export function verifyEvidence(e: Evidence, validators: ValidatorSet, chainId: string): void {
  const { voteA: a, voteB: b } = e
  if (a.validator !== b.validator || a.height !== b.height || a.round !== b.round || a.type !== b.type) {
    throw new ConsensusError('CONSENSUS_ERROR_BAD_EVIDENCE', 'evidence votes must share validator, height, round and type')
  }
  if (sameValue(a.blockHash, b.blockHash)) throw new ConsensusError('CONSENSUS_ERROR_BAD_EVIDENCE', 'evidence votes must be for different blocks')
  const member = validators.get(a.validator)
  if (!member) throw new ConsensusError('CONSENSUS_ERROR_UNKNOWN_VALIDATOR', `${a.validator} is not a validator at height ${a.height}`)
  for (const v of [a, b]) {
    if (!verifyVoteSignature(chainId, v, member.pubKey)) {
      throw new ConsensusError('CONSENSUS_ERROR_BAD_SIGNATURE', `evidence vote for ${v.blockHash === null ? 'nil' : toHex(v.blockHash)} does not verify`)
    }
  }
}
