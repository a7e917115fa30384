import type { Address } from '../core/address.js'
import { isTwoThirds } from './commit.js'
import { valueKey, type Vote, type VoteType } from './vote.js'

export type AddVoteResult =
  | { readonly kind: 'added' }
  | { readonly kind: 'duplicate' }
  /** Counted for its value, but the validator had voted for another: evidence. */
  | { readonly kind: 'conflict'; readonly existing: Vote }
  /** The validator already spread its votes over MAX_VALUES_PER_VALIDATOR values: not kept. */
  | { readonly kind: 'ignored'; readonly existing: Vote }

/**
 * An equivocator's votes count for each value it signed, as in the paper's
 * message log (a Byzantine process may send different messages to different
 * processes; quorums of 2f + 1 still intersect in a correct one). Otherwise
 * honest nodes that saw its votes in different orders would disagree on
 * which polka exists and could stall, the liveness problem CometBFT's
 * peer-maj23 tracking addresses. Bounded so that equivocation cannot grow
 * memory without limit.
 */
export const MAX_VALUES_PER_VALIDATOR = 4

/**
 * The votes of one (height, round, type). Counting is by voting power, never
 * by number of votes (DESIGN §5). Signatures and membership are checked by
 * the caller, which knows the chain id.
 */
export class VoteSet {
  /** Each validator's first vote: what "2f + 1 of any value" counts, once per validator. */
  private readonly first = new Map<Address, Vote>()
  private readonly byValue = new Map<string, Map<Address, Vote>>()
  private readonly powerByValue = new Map<string, bigint>()
  private readonly valuesPerValidator = new Map<Address, number>()
  private votedPower = 0n

  constructor(
    readonly type: VoteType,
    readonly round: number,
    readonly totalPower: bigint,
  ) {}

  /** The validator's first vote in this set. */
  get(validator: Address): Vote | undefined {
    return this.first.get(validator)
  }

  hasVote(validator: Address, blockHash: Uint8Array | null): boolean {
    return this.byValue.get(valueKey(blockHash))?.has(validator) ?? false
  }

  add(vote: Vote, power: bigint): AddVoteResult {
    const key = valueKey(vote.blockHash)
    if (this.byValue.get(key)?.has(vote.validator)) return { kind: 'duplicate' }
    const existing = this.first.get(vote.validator)
    const values = this.valuesPerValidator.get(vote.validator) ?? 0
    if (existing && values >= MAX_VALUES_PER_VALIDATOR) return { kind: 'ignored', existing }
    this.valuesPerValidator.set(vote.validator, values + 1)
    let signers = this.byValue.get(key)
    if (!signers) this.byValue.set(key, (signers = new Map()))
    signers.set(vote.validator, vote)
    this.powerByValue.set(key, (this.powerByValue.get(key) ?? 0n) + power)
    if (existing) return { kind: 'conflict', existing }
    this.first.set(vote.validator, vote)
    this.votedPower += power
    return { kind: 'added' }
  }

  powerFor(blockHash: Uint8Array | null): bigint {
    return this.powerByValue.get(valueKey(blockHash)) ?? 0n
  }

  /** 2f + 1 votes for this value (`null`: nil). */
  hasTwoThirdsFor(blockHash: Uint8Array | null): boolean {
    return isTwoThirds(this.powerFor(blockHash), this.totalPower)
  }

  /** 2f + 1 votes of any value, each validator counted once (Algorithm 1 lines 34 and 47). */
  hasTwoThirdsAny(): boolean {
    return isTwoThirds(this.votedPower, this.totalPower)
  }

  /**
   * The non-nil value holding more than 2/3 of the power, if any. Two can
   * only with more than 1/3 equivocating; the smallest hash is then chosen
   * so that the answer never depends on arrival or Map order.
   */
  twoThirdsBlock(): Uint8Array | null {
    let best: string | null = null
    for (const [key, power] of this.powerByValue) {
      if (key !== 'nil' && isTwoThirds(power, this.totalPower) && (best === null || key < best)) best = key
    }
    return best === null ? null : this.byValue.get(best)!.values().next().value!.blockHash
  }

  /** Every vote for this value, an equivocator's included (its signature is as good for a commit). */
  votesFor(blockHash: Uint8Array | null): Vote[] {
    return [...(this.byValue.get(valueKey(blockHash))?.values() ?? [])]
  }
}
