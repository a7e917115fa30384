import { AttrchainError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import { bytesEqual, fromHex, toHex } from '../core/bytes.js'
import type { Hex } from '../core/tx.js'
import { blockHash, type Header } from '../state/block.js'
import {
  ConsensusError, ValidatorSet, verifyCommit, verifyVoteSignature, type Commit, type Vote,
} from '../consensus/index.js'

/**
 * A light client (issue 15 item 3): it follows the chain from a trusted
 * root — the genesis validator set, or a checkpoint (height + block hash)
 * the user trusts — to any height, checking headers by their commits, never
 * by what a node says. The rules are CometBFT's light client
 * (cometbft/light/verifier.go `Verify`, `VerifyAdjacent`,
 * `VerifyNonAdjacent`; light/client.go `verifySkipping`, `backwards`):
 *
 * - a trusted header is usable for `trustingPeriodMs` after its time
 *   (`HeaderExpired`); past it, nothing is verified from it;
 * - a new header must be for the chain id, higher, later than the trusted
 *   one and not more than `maxClockDriftMs` in the future, and its
 *   `validatorsHash` must equal the hash of the validator set served with it;
 * - its commit must hold more than 2/3 of that set's power for its block id
 *   (consensus/commit.ts `verifyCommit`, the check every node runs);
 * - sequential step: when the new header is the next height and its
 *   validator set is the trusted one, that is enough (`VerifyAdjacent`);
 * - skipping step: otherwise validators of the trusted set holding more than
 *   `trustLevel` (default 1/3) of its power must also have signed the new
 *   commit (`VerifyCommitLightTrusting`): at least one of them is honest
 *   while the trusting period lasts;
 * - bisection: when a skip fails that overlap test only, the client verifies
 *   the height half-way first and tries again from there (`verifySkipping`);
 * - below the root, headers are checked by the hash chain: header H's hash
 *   is header H + 1's `prevHash` (`backwards`).
 *
 * One difference from CometBFT: our header has no `nextValidatorsHash`, so
 * the sequential step applies only while the set is unchanged; a header
 * whose set differs from the trusted one is crossed by the skipping rule
 * (> 1/3 of the trusted set), which is CometBFT's own rule for any header
 * it cannot link by `nextValidatorsHash`.
 *
 * The SDK imports nothing from node/ or p2p/: a client needs only an RPC URL
 * (or any `LightProvider`).
 */

/** What the light client refuses (STYLE.md: typed errors, one doc line per code). */
export type LightClientErrorCode =
  /** a node's answer is not of the documented shape */
  | 'LIGHT_ERROR_MALFORMED'
  /** the node has no block, commit or validator set at the height asked */
  | 'LIGHT_ERROR_NOT_FOUND'
  /** the trusted header is older than the trusting period: start from a newer checkpoint */
  | 'LIGHT_ERROR_EXPIRED'
  /** a header, its commit or its validator set does not check out (the node lies or serves another chain) */
  | 'LIGHT_ERROR_INVALID_HEADER'
  /** too little of the trusted set signed and no bisection step is left (or nothing trusted to start from) */
  | 'LIGHT_ERROR_NOT_TRUSTED'
  /** the header at the checkpoint height does not hash to the checkpoint hash */
  | 'LIGHT_ERROR_CHECKPOINT_MISMATCH'
  /** the node serves another chain than the trusted genesis */
  | 'LIGHT_ERROR_GENESIS_MISMATCH'
  /** options out of range (trust level outside [1/3, 1], non-positive periods) */
  | 'LIGHT_ERROR_BAD_OPTIONS'
  /** a state proof does not prove the value against the verified header's state root */
  | 'LIGHT_ERROR_PROOF'

export class LightClientError extends AttrchainError<LightClientErrorCode> {}

/** A header with what proves it: the commit of its height and the validator set that signed it. */
export interface LightBlock {
  readonly header: Header
  readonly commit: Commit
  readonly validators: ValidatorSet
}

/** A header the client has verified, with the power that signed its commit. */
export interface VerifiedHeader {
  readonly header: Header
  /** blockHash(header), computed here */
  readonly hash: Hex
  readonly validators: ValidatorSet
  /** power of the signatures in the commit of this height (verified); of `validators.totalPower` */
  readonly signedPower: bigint
  /** how many validators signed that commit */
  readonly signers: number
  /** how it was verified: the root itself, a sequential or skipping step, or the hash chain below the root */
  readonly via: 'root' | 'sequential' | 'skipping' | 'hashChain'
}

/** Where light blocks come from: an RPC node (`RpcLightProvider`) or anything that serves them. Nothing it says is trusted. */
export interface LightProvider {
  /** the block of `height` with its commit and validator set; throws LIGHT_ERROR_NOT_FOUND when the source has none */
  lightBlock(height: number): Promise<LightBlock>
  /** the source's latest height */
  latestHeight(): Promise<number>
}

export interface TrustLevel {
  readonly numerator: bigint
  readonly denominator: bigint
}

export interface LightClientOptions {
  chainId: string
  /**
   * How long a verified header may serve as a base (ms after its time).
   * CometBFT's default is 168 h (one week) and it must stay below the
   * unbonding period, so that a validator set that signs a fork can still
   * be slashed for it.
   */
  trustingPeriodMs: number
  /** how far a header's time may be ahead of the local clock (CometBFT's default 10 s) */
  maxClockDriftMs: number
  /** the share of the trusted set's power that must have signed a skipped-to header, in [1/3, 1] (default 1/3) */
  trustLevel: TrustLevel
  /** bound on the light blocks fetched for one verification (bisection and hash chain) */
  maxFetches: number
}

export const defaultLightClientOptions: Omit<LightClientOptions, 'chainId'> = {
  trustingPeriodMs: 168 * 3_600_000,
  maxClockDriftMs: 10_000,
  trustLevel: { numerator: 1n, denominator: 3n },
  maxFetches: 10_000,
}

/** The root of trust: the genesis validator set and time, or a header the user trusts by its hash. */
export type TrustRoot =
  | { kind: 'genesis'; timeMs: number; validators: ValidatorSet }
  | { kind: 'checkpoint'; height: number; hash: Hex }

/** The genesis validators as a set (validatorsHash of block 1): power = stake (DESIGN §5). */
export function genesisValidatorSet(validators: readonly { address: Address; pubKey: Uint8Array; stake: bigint }[]): ValidatorSet {
  return ValidatorSet.create(validators.map((v) => ({ address: v.address, pubKey: v.pubKey, power: v.stake })))
}

/**
 * Verify that `commit` commits `header`: the commit is for the header's
 * height and block hash, `validators` hashes to the header's
 * `validatorsHash`, and more than 2/3 of its power signed (the node's own
 * `verifyCommit`, consensus/commit.ts). Returns the signed power.
 * Throws LIGHT_ERROR_INVALID_HEADER naming what failed.
 */
export function verifyHeaderCommit(chainId: string, block: LightBlock): bigint {
  const { header, commit, validators } = block
  if (header.chainId !== chainId) invalid(header, `header is for chain "${header.chainId}", not "${chainId}"`)
  if (!bytesEqual(validators.hash(), fromHex(header.validatorsHash))) {
    invalid(header, `validator set served hashes to ${toHex(validators.hash())}, the header says ${header.validatorsHash}`)
  }
  try {
    return verifyCommit(commit, validators, chainId, { height: header.height, blockHash: fromHex(blockHash(header)) })
  } catch (e) {
    if (e instanceof ConsensusError) invalid(header, e.reason, { cause: e.code })
    throw e
  }
}

/**
 * CometBFT's `VerifyCommitLightTrusting`: the power of the commit's
 * signatures by members of `trusted` (a signer unknown to it is skipped,
 * each signature checked with the trusted member's key) must exceed
 * `level` of `trusted`'s total. Returns that power; throws
 * LIGHT_ERROR_NOT_TRUSTED when it does not, LIGHT_ERROR_INVALID_HEADER on a
 * bad signature.
 */
export function verifyCommitTrusting(chainId: string, commit: Commit, trusted: ValidatorSet, level: TrustLevel): bigint {
  let power = 0n
  let previous = ''
  for (const { validator, signature } of commit.signatures) {
    if (validator <= previous) throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `commit of ${commit.height}: signatures not strictly sorted by validator`, { height: commit.height })
    previous = validator
    const member = trusted.get(validator)
    if (!member) continue
    const vote: Vote = { type: 'precommit', height: commit.height, round: commit.round, blockHash: commit.blockHash, validator, signature }
    if (!verifyVoteSignature(chainId, vote, member.pubKey)) {
      throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `commit of ${commit.height}: precommit of ${validator} does not verify`, { height: commit.height, validator })
    }
    power += member.power
  }
  if (!(power * level.denominator > trusted.totalPower * level.numerator)) {
    throw new LightClientError('LIGHT_ERROR_NOT_TRUSTED', `commit of ${commit.height} holds ${power} of the trusted set's ${trusted.totalPower}, needs more than ${level.numerator}/${level.denominator}`, {
      height: commit.height, power: power.toString(), total: trusted.totalPower.toString(),
    })
  }
  return power
}

/** Throws LIGHT_ERROR_INVALID_HEADER for header `h`. */
export function invalid(h: Header, message: string, meta: Record<string, unknown> = {}): never {
  throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `header ${h.height}: ${message}`, { height: h.height, ...meta })
}

/** The trusted base a step starts from: a verified header, or the genesis "header" at height 0. */
export interface Trusted {
  readonly height: number
  readonly hash: Hex | null
  readonly timeMs: number
  readonly validators: ValidatorSet
}

/**
 * CometBFT `Verify` (light/verifier.go) for our header: expiry, the new
 * header's basic checks, then the sequential step (next height, same set:
 * +2/3 of it) or the skipping step (> trustLevel of the trusted set, then
 * +2/3 of the new set, last because the new set may be made large to slow
 * the client down). Returns the power that signed the new header.
 */
export function verifyStep(opts: LightClientOptions, trusted: Trusted, untrusted: LightBlock, nowMs: number): { power: bigint; via: 'sequential' | 'skipping' } {
  const h = untrusted.header
  if (trusted.timeMs + opts.trustingPeriodMs <= nowMs) {
    throw new LightClientError('LIGHT_ERROR_EXPIRED', `trusted header ${trusted.height} (time ${new Date(trusted.timeMs).toISOString()}) is older than the trusting period (${opts.trustingPeriodMs} ms); start from a newer checkpoint`, {
      height: trusted.height, timeMs: trusted.timeMs,
    })
  }
  if (h.height <= trusted.height) invalid(h, `not above the trusted height ${trusted.height}`)
  // block 1 may carry the genesis time itself; every later header is strictly later (node/chain.ts validateBlock)
  if (trusted.height === 0 ? h.timeMs < trusted.timeMs : h.timeMs <= trusted.timeMs) invalid(h, `time ${h.timeMs} is not after the trusted header's ${trusted.timeMs}`)
  if (h.timeMs >= nowMs + opts.maxClockDriftMs) invalid(h, `time ${new Date(h.timeMs).toISOString()} is in the future (max clock drift ${opts.maxClockDriftMs} ms)`)
  const adjacent = h.height === trusted.height + 1
  if (adjacent && trusted.hash !== null && h.prevHash !== trusted.hash) invalid(h, `prevHash ${h.prevHash} is not the trusted header ${trusted.hash}`)
  if (adjacent && bytesEqual(fromHex(h.validatorsHash), trusted.validators.hash())) {
    return { power: verifyHeaderCommit(opts.chainId, untrusted), via: 'sequential' }
  }
  if (h.chainId !== opts.chainId) invalid(h, `header is for chain "${h.chainId}", not "${opts.chainId}"`)
  verifyCommitTrusting(opts.chainId, untrusted.commit, trusted.validators, opts.trustLevel)
  return { power: verifyHeaderCommit(opts.chainId, untrusted), via: 'skipping' }
}

export function checkOptions(o: LightClientOptions): void {
  const { numerator: n, denominator: d } = o.trustLevel
  if (d <= 0n || 3n * n < d || n > d) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', `trust level must be within [1/3, 1], got ${n}/${d}`)
  if (!(o.trustingPeriodMs > 0) || !(o.maxClockDriftMs >= 0) || !(o.maxFetches >= 1)) {
    throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', 'trustingPeriodMs and maxFetches must be positive, maxClockDriftMs not negative')
  }
}
