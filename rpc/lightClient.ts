import { AttrchainError } from '../core/errors.js'
import { isAddress, type Address } from '../core/address.js'
import { bytesEqual, fromHex, toHex } from '../core/bytes.js'
import type { Hex } from '../core/tx.js'
import { blockHash, type Header } from '../state/block.js'
import {
  ConsensusError, ValidatorSet, verifyCommit, verifyVoteSignature, type Commit, type Validator, type Vote,
} from '../consensus/index.js'
import { StateProofError, verifyStateProof } from '../core/stateProof.js'
import { decodeProvenValue, proofKey, ProofSpecError, type ProofKind } from '../state/proofSpec.js'
import type { AttrchainClient } from './client.js'

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

function invalid(h: Header, message: string, meta: Record<string, unknown> = {}): never {
  throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `header ${h.height}: ${message}`, { height: h.height, ...meta })
}

/** The trusted base a step starts from: a verified header, or the genesis "header" at height 0. */
interface Trusted {
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

function checkOptions(o: LightClientOptions): void {
  const { numerator: n, denominator: d } = o.trustLevel
  if (d <= 0n || 3n * n < d || n > d) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', `trust level must be within [1/3, 1], got ${n}/${d}`)
  if (!(o.trustingPeriodMs > 0) || !(o.maxClockDriftMs >= 0) || !(o.maxFetches >= 1)) {
    throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', 'trustingPeriodMs and maxFetches must be positive, maxClockDriftMs not negative')
  }
}

export interface LightClientModules {
  provider: LightProvider
  /** the local clock (ms since the epoch); injected so tests can move it */
  now(): number
}

/**
 * Verifies headers from a trust root against one provider. Verified
 * headers are kept: later verifications start from the highest one below
 * the target. Not safe for concurrent `verifyHeight` calls on one instance.
 */
export class LightClient {
  readonly opts: LightClientOptions
  private readonly modules: LightClientModules
  private readonly root: TrustRoot
  private readonly verified = new Map<number, VerifiedHeader>()
  private genesisBase: Trusted | null = null
  private started = false
  /** heights fetched so far, in order (tests read it to see bisection at work) */
  readonly fetched: number[] = []

  constructor(opts: Partial<LightClientOptions> & { chainId: string }, root: TrustRoot, modules: LightClientModules) {
    this.opts = { ...defaultLightClientOptions, ...opts }
    checkOptions(this.opts)
    this.root = root
    this.modules = modules
  }

  /** The highest verified header, or null before anything is verified. */
  get latest(): VerifiedHeader | null {
    let best: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (best === null || v.header.height > best.header.height) best = v
    return best
  }

  /**
   * Verify the header of `height` ('latest': the provider's latest height)
   * from the trust root and what was verified before. Throws a
   * LightClientError on anything that does not check out; a provider that
   * lies is caught here, never believed.
   */
  async verifyHeight(height: number | 'latest'): Promise<VerifiedHeader> {
    await this.start()
    const target = height === 'latest' ? await this.modules.provider.latestHeight() : height
    if (!Number.isSafeInteger(target) || target < 1) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', `height must be a positive integer, got ${target}`)
    const known = this.verified.get(target)
    if (known) return known
    const base = this.baseBelow(target)
    if (base !== null) return this.forward(base, await this.fetch(target))
    return this.backward(target)
  }

  private async start(): Promise<void> {
    if (this.started) return
    if (this.root.kind === 'genesis') {
      this.genesisBase = { height: 0, hash: null, timeMs: this.root.timeMs, validators: this.root.validators }
    } else {
      const { height, hash } = this.root
      const b = await this.fetch(height)
      const actual = blockHash(b.header)
      if (actual !== hash.toLowerCase()) {
        throw new LightClientError('LIGHT_ERROR_CHECKPOINT_MISMATCH', `the header served at the trusted height ${height} hashes to ${actual}, not the trusted ${hash}`, { height, actual, expected: hash })
      }
      // CometBFT checks the root's commit too (initializeWithTrustOptions): a served set that did not sign it is refused
      const power = verifyHeaderCommit(this.opts.chainId, b)
      this.keep({ header: b.header, hash: actual, validators: b.validators, signedPower: power, signers: b.commit.signatures.length, via: 'root' })
    }
    this.started = true
  }

  private baseBelow(target: number): Trusted | null {
    let best: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (v.header.height < target && (best === null || v.header.height > best.header.height)) best = v
    if (best !== null) return { height: best.header.height, hash: best.hash, timeMs: best.header.timeMs, validators: best.validators }
    return this.genesisBase
  }

  /** light/client.go verifySkipping: try the target; on too little overlap verify a pivot half-way first. */
  private async forward(base: Trusted, target: LightBlock): Promise<VerifiedHeader> {
    const pending: LightBlock[] = [target]
    let trusted = base
    for (;;) {
      const next = pending[pending.length - 1]!
      let step: { power: bigint; via: 'sequential' | 'skipping' }
      try {
        step = verifyStep(this.opts, trusted, next, this.modules.now())
      } catch (e) {
        if (!(e instanceof LightClientError) || e.code !== 'LIGHT_ERROR_NOT_TRUSTED' || next.header.height === trusted.height + 1) throw e
        pending.push(await this.fetch(trusted.height + Math.floor((next.header.height - trusted.height) / 2)))
        continue
      }
      const v = this.keep({ header: next.header, hash: blockHash(next.header), validators: next.validators, signedPower: step.power, signers: next.commit.signatures.length, via: step.via })
      pending.pop()
      if (pending.length === 0) return v
      trusted = { height: v.header.height, hash: v.hash, timeMs: v.header.timeMs, validators: v.validators }
    }
  }

  /** light/client.go backwards: below the lowest verified header, each header must hash to its successor's prevHash. */
  private async backward(target: number): Promise<VerifiedHeader> {
    let above: VerifiedHeader | null = null
    for (const v of this.verified.values()) if (v.header.height > target && (above === null || v.header.height < above.header.height)) above = v
    if (above === null) throw new LightClientError('LIGHT_ERROR_NOT_TRUSTED', `nothing verified to start from for height ${target}`)
    let expected = above.header.prevHash
    for (let h = above.header.height - 1; h >= target; h--) {
      const b = await this.fetch(h)
      const hash = blockHash(b.header)
      if (hash !== expected) invalid(b.header, `hashes to ${hash}, but the verified header ${h + 1} links to ${expected}`)
      expected = b.header.prevHash
      if (h === target) return this.keep({ header: b.header, hash, validators: b.validators, signedPower: verifyHeaderCommit(this.opts.chainId, b), signers: b.commit.signatures.length, via: 'hashChain' })
    }
    throw new LightClientError('LIGHT_ERROR_NOT_FOUND', `height ${target} not reached`)
  }

  private async fetch(height: number): Promise<LightBlock> {
    if (this.fetched.length >= this.opts.maxFetches) throw new LightClientError('LIGHT_ERROR_NOT_TRUSTED', `more than ${this.opts.maxFetches} light blocks needed; start from a nearer checkpoint`)
    this.fetched.push(height)
    const b = await this.modules.provider.lightBlock(height)
    if (b.header.height !== height) throw new LightClientError('LIGHT_ERROR_INVALID_HEADER', `asked for header ${height}, got ${b.header.height}`, { height })
    return b
  }

  private keep(v: VerifiedHeader): VerifiedHeader {
    this.verified.set(v.header.height, v)
    return v
  }
}

// ---------------------------------------------------------------- state proofs

/** A state entry proven under a verified header's stateRoot: present with its record, or proven absent. */
export interface VerifiedEntry {
  readonly kind: ProofKind
  readonly id: string
  /** the state key, computed here from (kind, id) (state/proofSpec.ts), never taken from the node */
  readonly key: string
  readonly header: VerifiedHeader
  /** the record decoded from the proven bytes; null when the proof shows the key absent */
  readonly value: Record<string, unknown> | null
  /** the proven bytes as 0x-hex; null when absent */
  readonly rawValue: Hex | null
}

/** What `state_getProof` answers, as far as the check needs it (rpc/api.ts declares the whole shape). */
export interface StateProofAnswer {
  height: number
  value: unknown
  rawValue: string | null
  proof: string[]
  header: unknown
}

function proofFailure(message: string, meta: Record<string, unknown> = {}): never {
  throw new LightClientError('LIGHT_ERROR_PROOF', message, meta)
}

/**
 * Check a `state_getProof` answer against a header the light client
 * verified: the answer's header must be that header (same hash), the proof
 * must lead from the key — computed here from (kind, id) — to its
 * stateRoot (core/stateProof.ts `verifyStateProof`), and the value the node
 * shows (decoded and raw) must be the proven one. Returns what is proven;
 * throws LIGHT_ERROR_PROOF (or LIGHT_ERROR_INVALID_HEADER / MALFORMED).
 */
export function checkStateProof(verified: VerifiedHeader, kind: ProofKind, id: string, answer: StateProofAnswer): VerifiedEntry {
  let key: string
  try {
    key = proofKey(kind, id)
  } catch (e) {
    if (e instanceof ProofSpecError) throw new LightClientError('LIGHT_ERROR_BAD_OPTIONS', e.reason)
    throw e
  }
  if (!isRecord(answer) || !Array.isArray(answer.proof)) malformed('state proof must be {height, value, rawValue, proof, header}')
  const served = headerFromJson(answer.header)
  const servedHash = blockHash(served)
  if (served.height !== verified.header.height || servedHash !== verified.hash) {
    invalid(served, `the proof comes with block ${servedHash} at height ${served.height}, not the verified ${verified.hash} at ${verified.header.height}`)
  }
  const proof = answer.proof.map((n: unknown, i) => {
    try {
      return fromHex(n, `proof[${i}]`)
    } catch {
      malformed(`proof[${i}] must be 0x-hex`)
    }
  })
  let proven: Uint8Array | null
  try {
    proven = verifyStateProof(fromHex(verified.header.stateRoot), key, proof)
  } catch (e) {
    if (e instanceof StateProofError) proofFailure(`${kind} ${id} at height ${verified.header.height}: ${e.reason} (${e.code})`, { cause: e.code })
    throw e
  }
  const rawValue = proven === null ? null : toHex(proven)
  if ((answer.rawValue ?? null) !== rawValue) proofFailure(`${kind} ${id}: the node's rawValue is not the proven value`, { served: answer.rawValue, proven: rawValue })
  let value: Record<string, unknown> | null = null
  if (proven !== null) {
    try {
      value = decodeProvenValue(kind, proven)
    } catch (e) {
      proofFailure(`${kind} ${id}: the proven bytes are not a ${kind} record: ${(e as Error).message}`)
    }
  }
  if (!sameJson(answer.value ?? null, value)) proofFailure(`${kind} ${id}: the value the node shows differs from the proven one`, { served: answer.value, proven: value })
  return { kind, id, key, header: verified, value, rawValue }
}

/** Deep equality of JSON values, object keys in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
  if (!isRecord(a) || !isRecord(b)) return false
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
}

/**
 * Ask the node for (kind, id) at `height` ('latest': the node's head) with
 * `state_getProof`, verify the header of the height it answers for with the
 * light client, and check the proof against it (`checkStateProof`).
 */
export async function verifyStateEntry(lc: LightClient, client: AttrchainClient, kind: ProofKind, id: string, height: number | 'latest'): Promise<VerifiedEntry> {
  const answer = await client.call('state_getProof', height === 'latest' ? [{ kind, id }] : [{ kind, id }, height]) as unknown as StateProofAnswer
  if (!isRecord(answer)) malformed('state proof must be an object')
  const h = uintField(answer.height, 'state proof height')
  if (height !== 'latest' && h !== height) malformed(`asked for height ${height}, the proof is for ${h}`)
  return checkStateProof(await lc.verifyHeight(h), kind, id, answer)
}

// ---------------------------------------------------------------- over JSON-RPC

function malformed(what: string): never {
  throw new LightClientError('LIGHT_ERROR_MALFORMED', `the node's answer is malformed: ${what}`)
}

function hexField(v: unknown, len: number, field: string): Hex {
  try {
    return toHex(fromHex(v, field, len))
  } catch {
    malformed(`${field} must be ${len} bytes of 0x-hex`)
  }
}

function uintField(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) malformed(`${field} must be a non-negative integer`)
  return v
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** A header from its JSON (chain_getBlock's `header`); every field checked, nothing extra kept. */
export function headerFromJson(v: unknown): Header {
  if (!isRecord(v)) malformed('header must be an object')
  if (typeof v.chainId !== 'string') malformed('header.chainId must be a string')
  return {
    chainId: v.chainId, height: uintField(v.height, 'header.height'), timeMs: uintField(v.timeMs, 'header.timeMs'),
    prevHash: hexField(v.prevHash, 32, 'header.prevHash'), txRoot: hexField(v.txRoot, 32, 'header.txRoot'),
    stateRoot: hexField(v.stateRoot, 32, 'header.stateRoot'), validatorsHash: hexField(v.validatorsHash, 32, 'header.validatorsHash'),
    proposer: hexField(v.proposer, 20, 'header.proposer'), lastCommitHash: hexField(v.lastCommitHash, 32, 'header.lastCommitHash'),
  }
}

/** A commit from its JSON (chain_getCommit). */
export function commitFromJson(v: unknown): Commit {
  if (!isRecord(v) || !Array.isArray(v.signatures)) malformed('commit must be {height, round, blockHash, signatures}')
  return {
    height: uintField(v.height, 'commit.height'), round: uintField(v.round, 'commit.round'), blockHash: fromHex(hexField(v.blockHash, 32, 'commit.blockHash')),
    signatures: v.signatures.map((s: unknown, i) => {
      if (!isRecord(s)) malformed(`commit.signatures[${i}] must be {validator, signature}`)
      return { validator: hexField(s.validator, 20, `commit.signatures[${i}].validator`), signature: fromHex(hexField(s.signature, 64, `commit.signatures[${i}].signature`)) }
    }),
  }
}

/**
 * The most validators a served set may have. The chain caps its active set
 * at `params.maxValidators` (default 100); a node that serves a much larger
 * set only makes the client hash and index it (CometBFT checks the new set
 * last for the same reason), so it is refused before any work.
 */
export const MAX_LIGHT_VALIDATORS = 10_000

/** A validator set from its JSON (chain_getValidatorSet); address, key and power checked by `ValidatorSet`. */
export function validatorSetFromJson(v: unknown): ValidatorSet {
  if (!isRecord(v) || !Array.isArray(v.validators)) malformed('validator set must be {validators: [...]}')
  if (v.validators.length > MAX_LIGHT_VALIDATORS) malformed(`a validator set of ${v.validators.length} members exceeds ${MAX_LIGHT_VALIDATORS}`)
  const validators: Validator[] = v.validators.map((x: unknown, i) => {
    if (!isRecord(x) || typeof x.power !== 'string' || !/^[1-9][0-9]{0,38}$/.test(x.power)) malformed(`validators[${i}] must be {address, pubKey, power (decimal string)}`)
    if (typeof x.address !== 'string' || !isAddress(x.address)) malformed(`validators[${i}].address must be an address`)
    return { address: x.address.toLowerCase(), pubKey: fromHex(hexField(x.pubKey, 32, `validators[${i}].pubKey`)), power: BigInt(x.power), priority: 0n }
  })
  try {
    // priorities and proposer are not hashed (validatorsHash): only the members count here
    return ValidatorSet.fromValidators(validators, null)
  } catch (e) {
    if (e instanceof ConsensusError) malformed(e.reason)
    throw e
  }
}

/**
 * Light blocks over JSON-RPC: `chain_getBlock` (header), `chain_getCommit`
 * and `chain_getValidatorSet` of the height, `chain_status` for the latest
 * height. Parses strictly; verifies nothing (the LightClient does).
 */
export class RpcLightProvider implements LightProvider {
  constructor(private readonly client: AttrchainClient) {}

  async lightBlock(height: number): Promise<LightBlock> {
    const [block, commit, set] = await Promise.all([
      this.client.getBlock(height),
      this.client.getCommit(height),
      this.client.getValidatorSet(height),
    ])
    if (block === null || commit === null || set === null) throw new LightClientError('LIGHT_ERROR_NOT_FOUND', `the node has no block, commit or validator set at height ${height}`, { height })
    if (!isRecord(block)) malformed('block must be an object')
    return { header: headerFromJson(block.header), commit: commitFromJson(commit), validators: validatorSetFromJson(set) }
  }

  async latestHeight(): Promise<number> {
    return uintField((await this.client.status()).height, 'status.height')
  }
}
