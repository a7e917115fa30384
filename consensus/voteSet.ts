import type { Address } from '../core/address.js'
import { isTwoThirds } from './commit.js'
import { valueKey, type Vote, type VoteType } from './vote.js'

export type AddVoteResult = { readonly kind: 'added' } | { readonly kind: 'conflict'; readonly existing: Vote }

/**
 * The votes of one (height, round, type). Counting is by voting power, never
 * by number of votes (DESIGN §5). Only a validator's first vote counts: a
 * second, different one is returned as a conflict for evidence. Signatures
 * and membership are checked by the caller, which knows the chain id.
 */
export class VoteSet {
  private readonly votes = new Map<Address, Vote>()
  private readonly powerByValue = new Map<string, bigint>()
  private votedPower = 0n

  constructor(
    readonly type: VoteType,
    readonly round: number,
    readonly totalPower: bigint,
  ) {}

  get(validator: Address): Vote | undefined {
    return this.votes.get(validator)
  }

  add(vote: Vote, power: bigint): AddVoteResult {
    const existing = this.votes.get(vote.validator)
    if (existing) return { kind: 'conflict', existing }
    this.votes.set(vote.validator, vote)
    const key = valueKey(vote.blockHash)
    this.powerByValue.set(key, (this.powerByValue.get(key) ?? 0n) + power)
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

  /** 2f + 1 votes of any value (Algorithm 1 lines 34 and 47). */
  hasTwoThirdsAny(): boolean {
    return isTwoThirds(this.votedPower, this.totalPower)
  }

  /**
   * The non-nil value holding more than 2/3 of the power, if any. At most one
   * can, since each validator counts once, so the scan order cannot matter.
   */
  twoThirdsBlock(): Uint8Array | null {
    for (const [key, power] of this.powerByValue) {
      if (key === 'nil' || !isTwoThirds(power, this.totalPower)) continue
      for (const v of this.votes.values()) if (v.blockHash !== null && valueKey(v.blockHash) === key) return v.blockHash
    }
    return null
  }

  votesFor(blockHash: Uint8Array | null): Vote[] {
    const key = valueKey(blockHash)
    return [...this.votes.values()].filter((v) => valueKey(v.blockHash) === key)
  }

  get size(): number {
    return this.votes.size
  }
}
