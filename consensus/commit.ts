import type { Address } from '../core/address.js'
import { bytesEqual, fromHex, toHex } from '../core/bytes.js'
import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { SIGNATURE_LENGTH } from '../core/keys.js'
import { ConsensusError } from './errors.js'
import type { ValidatorSet } from './validatorSet.js'
import { ADDRESS_LENGTH, HASH_LENGTH, verifyVoteSignature, type Vote } from './vote.js'
import { bytesField, decodeStrict, malformed, uintField } from './wire.js'

export interface CommitSignature {
  readonly validator: Address
  readonly signature: Uint8Array
}

/**
 * A commit certificate: the precommits for `blockHash` in `round` that
 * decided `height` (DESIGN §5: block H + 1 carries the one of H), sorted by
 * validator address so that the same signatures always encode the same way.
 */
export interface Commit {
  readonly height: number
  readonly round: number
  readonly blockHash: Uint8Array
  readonly signatures: readonly CommitSignature[]
}

/** True when `power` is more than two thirds of `total` (every quorum, DESIGN §5). */
export function isTwoThirds(power: bigint, total: bigint): boolean {
  return 3n * power > 2n * total
}

/** True when `power` is more than one third of `total` (round skip, Algorithm 1 line 55). */
export function isOneThird(power: bigint, total: bigint): boolean {
  return 3n * power > total
}

/**
 * A commit with one more precommit for its (height, round, block), or null
 * when the vote adds nothing: another height, round, type or value, a
 * validator outside `validators`, one already in the commit, or a signature
 * that does not verify. As CometBFT, a node keeps collecting precommits for
 * the height it decided during the commit pause (timeout_commit), and the
 * next block's lastCommit carries every one it received: a validator whose
 * precommit arrived after the first +2/3 is not counted absent (DESIGN §5
 * downtime).
 */
export function addPrecommit(commit: Commit, vote: Vote, validators: ValidatorSet, chainId: string): Commit | null {
  if (vote.type !== 'precommit' || vote.height !== commit.height || vote.round !== commit.round) return null
  if (vote.blockHash === null || !bytesEqual(vote.blockHash, commit.blockHash)) return null
  const member = validators.get(vote.validator)
  if (!member || commit.signatures.some((s) => s.validator === vote.validator)) return null
  if (!verifyVoteSignature(chainId, vote, member.pubKey)) return null
  const signatures = [...commit.signatures, { validator: vote.validator, signature: vote.signature }]
    .sort((a, b) => (a.validator < b.validator ? -1 : a.validator > b.validator ? 1 : 0))
  return { ...commit, signatures }
}

export function makeCommit(height: number, round: number, blockHash: Uint8Array, precommits: Iterable<Vote>): Commit {
  const signatures = [...precommits]
    .map((v) => ({ validator: v.validator, signature: v.signature }))
    .sort((a, b) => (a.validator < b.validator ? -1 : a.validator > b.validator ? 1 : 0))
  return { height, round, blockHash, signatures }
}

/** Wire form: `[height, round, blockHash, [[validator(20), signature(64)]…]]`. */
export function commitToEncodable(c: Commit): Encodable {
  return [c.height, c.round, c.blockHash, c.signatures.map((s) => [fromHex(s.validator), s.signature])]
}

export function encodeCommit(c: Commit): Uint8Array {
  return encode(commitToEncodable(c))
}

/** lastCommitHash of the next block's header. */
export function commitHash(c: Commit): Uint8Array {
  return sha256(encodeCommit(c))
}

export function commitFromEncodable(value: Encodable): Commit {
  if (!Array.isArray(value) || value.length !== 4 || !Array.isArray(value[3])) throw malformed('commit must be [height, round, blockHash, signatures]')
  const [height, round, blockHash, rows] = value as [Encodable, Encodable, Encodable, Encodable[]]
  const signatures = rows.map((row, i) => {
    if (!Array.isArray(row) || row.length !== 2) throw malformed(`commit.signatures[${i}] must be [validator, signature]`)
    return {
      validator: toHex(bytesField(row[0], ADDRESS_LENGTH, `commit.signatures[${i}].validator`)),
      signature: bytesField(row[1], SIGNATURE_LENGTH, `commit.signatures[${i}].signature`),
    }
  })
  for (let i = 1; i < signatures.length; i++) {
    if (signatures[i - 1]!.validator >= signatures[i]!.validator) throw malformed('commit.signatures must be strictly sorted by validator')
  }
  return {
    height: uintField(height, 'commit.height', 1),
    round: uintField(round, 'commit.round'),
    blockHash: bytesField(blockHash, HASH_LENGTH, 'commit.blockHash'),
    signatures,
  }
}

export function decodeCommit(bytes: Uint8Array): Commit {
  return commitFromEncodable(decodeStrict(bytes, 'commit'))
}

export interface CommitExpectation {
  readonly height?: number
  readonly blockHash?: Uint8Array
}

/**
 * Anyone can check a commit from the validator set of its height: every
 * signature is a precommit for the block by a distinct member, and together
 * they hold more than 2/3 of the power. Returns the signed power.
 */
export function verifyCommit(commit: Commit, validators: ValidatorSet, chainId: string, expected: CommitExpectation = {}): bigint {
  checkExpectation(commit, expected)
  let power = 0n
  let previous = ''
  for (const { validator, signature } of commit.signatures) {
    if (validator <= previous) {
      throw new ConsensusError('CONSENSUS_ERROR_DUPLICATE_SIGNER', 'commit signatures must be strictly sorted by validator', { validator })
    }
    previous = validator
    const member = validators.get(validator)
    if (!member) throw new ConsensusError('CONSENSUS_ERROR_UNKNOWN_VALIDATOR', `commit signed by ${validator}, not a validator at height ${commit.height}`, { validator })
    const vote: Vote = { type: 'precommit', height: commit.height, round: commit.round, blockHash: commit.blockHash, validator, signature }
    if (!verifyVoteSignature(chainId, vote, member.pubKey)) {
      throw new ConsensusError('CONSENSUS_ERROR_BAD_SIGNATURE', `precommit of ${validator} does not verify for this block`, { validator })
    }
    power += member.power
  }
  if (!isTwoThirds(power, validators.totalPower)) {
    throw new ConsensusError('CONSENSUS_ERROR_INSUFFICIENT_POWER', `commit holds ${power} of ${validators.totalPower} power, needs more than 2/3`, {
      power: power.toString(),
      total: validators.totalPower.toString(),
    })
  }
  return power
}

function checkExpectation(commit: Commit, expected: CommitExpectation): void {
  if (expected.height !== undefined && commit.height !== expected.height) {
    throw new ConsensusError('CONSENSUS_ERROR_COMMIT_MISMATCH', `commit is for height ${commit.height}, expected ${expected.height}`)
  }
  if (expected.blockHash !== undefined && !bytesEqual(commit.blockHash, expected.blockHash)) {
    throw new ConsensusError('CONSENSUS_ERROR_COMMIT_MISMATCH', `commit is for block ${toHex(commit.blockHash)}, expected ${toHex(expected.blockHash)}`)
  }
}
