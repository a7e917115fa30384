import type { Address } from '../core/address.js'
import { bytesEqual } from '../core/bytes.js'
import { encode } from '../core/codec.js'
import { SIGNATURE_LENGTH } from '../core/keys.js'
import { ConsensusError } from './errors.js'
import { proposalSignBytes, type Proposal, type UnsignedProposal } from './proposal.js'
import { voteSignBytes, type UnsignedVote, type Vote } from './vote.js'
import { bytesField, decodeStrict, malformed, uintField } from './wire.js'

/** CometBFT's step order within a round: proposal, then prevote, then precommit. */
export type SignStep = 1 | 2 | 3
export const SIGN_STEP = { proposal: 1, prevote: 2, precommit: 3 } as const

/** What a validator last signed: enough to refuse a conflicting or older signature. */
export interface LastSigned {
  readonly height: number
  readonly round: number
  readonly step: SignStep
  readonly signBytes: Uint8Array
  readonly signature: Uint8Array
}

/**
 * Where the last-signed state lives (DESIGN §5). `save` must resolve only
 * once the state is durable (the node syncs a file): the signature is
 * returned after it, so no vote leaves before it is recorded.
 */
export interface WalStore {
  load(): Promise<LastSigned | null>
  save(state: LastSigned): Promise<void>
}

/** The simulator's store: survives a simulated crash because the simulator keeps the object. */
export class MemoryWalStore implements WalStore {
  private state: LastSigned | null = null

  async load(): Promise<LastSigned | null> {
    return this.state
  }

  async save(state: LastSigned): Promise<void> {
    this.state = state
  }
}

/** The key a PrivValidator signs with; `KeyPair` of core/keys.ts is one. */
export interface Signer {
  readonly address: Address
  sign(message: Uint8Array): Uint8Array
}

/** `[height, round, step, signBytes, signature]`, for stores that keep bytes. */
export function encodeLastSigned(s: LastSigned): Uint8Array {
  return encode([s.height, s.round, s.step, s.signBytes, s.signature])
}

export function decodeLastSigned(bytes: Uint8Array): LastSigned {
  const value = decodeStrict(bytes, 'last signed state')
  if (!Array.isArray(value) || value.length !== 5) throw malformed('last signed state must be [height, round, step, signBytes, signature]')
  const step = value[2]
  if (step !== 1 && step !== 2 && step !== 3) throw malformed('last signed step must be 1, 2 or 3')
  return {
    height: uintField(value[0], 'height'),
    round: uintField(value[1], 'round'),
    step,
    signBytes: bytesField(value[3], 32, 'signBytes'),
    signature: bytesField(value[4], SIGNATURE_LENGTH, 'signature'),
  }
}

/** Negative, zero or positive as (h, r, s) is below, equal to or above `last`. */
function compareHrs(h: number, r: number, s: SignStep, last: LastSigned): number {
  return h !== last.height ? h - last.height : r !== last.round ? r - last.round : s - last.step
}

/**
 * Signing safety (DESIGN §5), as CometBFT's FilePV: never two different
 * signatures for one (height, round, step), never one below the last, and
 * the identical request after a restart gets the identical signature back.
 * Requests are serialised, so concurrent callers cannot race the check.
 */
export class PrivValidator {
  private last: LastSigned | null
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly key: Signer,
    private readonly store: WalStore,
    last: LastSigned | null,
  ) {
    this.last = last
  }

  static async open(key: Signer, store: WalStore): Promise<PrivValidator> {
    return new PrivValidator(key, store, await store.load())
  }

  get address(): Address {
    return this.key.address
  }

  get lastSigned(): LastSigned | null {
    return this.last
  }

  async signVote(chainId: string, vote: UnsignedVote): Promise<Vote> {
    this.checkSigner(vote.validator)
    const signature = await this.sign(vote.height, vote.round, SIGN_STEP[vote.type], voteSignBytes(chainId, vote))
    return { ...vote, signature }
  }

  async signProposal(chainId: string, proposal: UnsignedProposal): Promise<Proposal> {
    this.checkSigner(proposal.proposer)
    const signature = await this.sign(proposal.height, proposal.round, SIGN_STEP.proposal, proposalSignBytes(chainId, proposal))
    return { ...proposal, signature }
  }

  private checkSigner(address: Address): void {
    if (address !== this.key.address) {
      throw new ConsensusError('CONSENSUS_ERROR_NOT_A_VALIDATOR', `asked to sign as ${address} with the key of ${this.key.address}`)
    }
  }

  private sign(height: number, round: number, step: SignStep, signBytes: Uint8Array): Promise<Uint8Array> {
    const next = this.queue.then(() => this.signNow(height, round, step, signBytes))
    this.queue = next.catch(() => undefined)
    return next
  }

  private async signNow(height: number, round: number, step: SignStep, signBytes: Uint8Array): Promise<Uint8Array> {
    const last = this.last
    const order = last === null ? 1 : compareHrs(height, round, step, last)
    const meta = { height, round, step }
    if (last !== null && order === 0) {
      if (bytesEqual(last.signBytes, signBytes)) return last.signature
      throw new ConsensusError('CONSENSUS_ERROR_DOUBLE_SIGN', `refusing a second, different signature at height ${height} round ${round} step ${step}`, meta)
    }
    if (order < 0) {
      throw new ConsensusError('CONSENSUS_ERROR_SIGN_REGRESSION', `refusing to sign height ${height} round ${round} step ${step} below the last signed`, meta)
    }
    const state: LastSigned = { height, round, step, signBytes, signature: this.key.sign(signBytes) }
    await this.store.save(state)
    this.last = state
    return state.signature
  }
}
