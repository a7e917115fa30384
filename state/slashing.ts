import { BlockError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import type { Params } from '../genesis/params.js'
import { K } from './keys.js'
import {
  AddressListCodec, ChainMetaCodec, MarkerCodec, MissedCodec, StakeSnapshotCodec, UnbondingCodec, ValidatorCodec,
  type UnbondingEntry, type Validator,
} from './entities.js'
import { getMeta, type ExecContext } from './txContext.js'
import { computeValidatorSet, getValidatorSet } from './validatorSet.js'

/**
 * Slashing and jailing (DESIGN §5): double-sign evidence and downtime, the
 * stake they burn (bonded and unbonding, as bonded at the infraction
 * height) and the staking events they report. Called by executeBlock at the
 * start (evidence) and end (downtime) of a block.
 */

/** Double-sign evidence already verified by consensus: the offender and the height of its votes. */
export interface SlashEvidence {
  validator: Address
  height: number
}

export type SlashReason = 'doubleSign' | 'downtime'

/**
 * What a block did to validators, in execution order (evidence in block
 * order, then txs, then downtime by address, then set changes by address),
 * so that nodes can log and count punishments. Amounts in units.
 */
export type StakingEvent =
  | {
      kind: 'slash'; validator: Address; height: number; reason: SlashReason; infractionHeight: number
      /** everything burned: `bonded` + `unbonding` */
      amount: bigint; bonded: bigint; unbonding: bigint
      /** false when jailing would have emptied the validator set (the last validator is never jailed) */
      jailed: boolean
    }
  | { kind: 'jail'; validator: Address; height: number; reason: SlashReason; jailedUntil: number }
  | { kind: 'unjail'; validator: Address; height: number }
  | {
      kind: 'validatorSetChange'; validator: Address; height: number
      /** `height` is the block that made the change; it takes effect at `effectiveHeight` = height + 2 */
      effectiveHeight: number; power: bigint; previousPower: bigint
    }

/**
 * How many heights back evidence is accepted: evidence of height h may go
 * in blocks h + 1 … h + maxEvidenceAge. Older evidence is refused: the stake
 * bonded at h may have finished unbonding (Cosmos SDK: evidence older than
 * the unbonding period is refused). With evidence applied before the block
 * releases unbonding stake, every entry that was bonded at h (created at
 * h − 1 or later) is still held when the evidence arrives.
 */
export function maxEvidenceAge(params: Params): number {
  return Math.max(1, params.unbondingBlocks - 1)
}

/**
 * Slash for an infraction at `infractionHeight` (Cosmos SDK x/staking
 * Slash): burn `bps` of the stake that was bonded, with voting power, at that
 * height, and jail. Stake bonded later (delegated or staked after
 * infractionHeight − 2, DESIGN §5) is not part of it. First every unbonding
 * entry of this validator's stake created at infractionHeight − 1 or later
 * (it still had power then) loses `bps` of its initial amount; the rest of
 * the target comes from the current self-stake and delegated stake, capped
 * at what is left. Self-stake and delegated stake are slashed each against
 * its own part at the infraction height; within the delegated stake every
 * share loses alike (delegations are shares, as in the Cosmos SDK).
 */
function slashAndJail(ctx: ExecContext, address: Address, infractionHeight: number, bps: number, reason: SlashReason, events: StakingEvent[]): void {
  const s = ctx.state
  const at = s.get(StakeSnapshotCodec, K.stakeSnapshot(infractionHeight))?.members.find((m) => m.address === address)
  const fraction = (x: bigint): bigint => (x * BigInt(bps)) / 10_000n
  const fromUnbonding = slashUnbonding(ctx, address, infractionHeight, bps)
  const v = s.get(ValidatorCodec, K.validator(address)) as Validator
  const target = (bondedThen: bigint, cutFromUnbonding: bigint): bigint => {
    const rest = fraction(bondedThen) - cutFromUnbonding
    return rest > 0n ? rest : 0n
  }
  const selfCut = min(target(at?.selfStake ?? 0n, fromUnbonding.self), v.selfStake)
  const delegatedCut = min(target(at?.delegated ?? 0n, fromUnbonding.delegated), v.delegated)
  const slashed = { ...v, selfStake: v.selfStake - selfCut, delegated: v.delegated - delegatedCut }
  const jailed = { ...slashed, jailed: true, jailedUntil: ctx.height + ctx.params.jailBlocks }
  s.set(ValidatorCodec, K.validator(address), jailed)
  // the last validator is never jailed: nobody could ever make the block that unjails it
  const keepsSet = v.jailed || computeValidatorSet(s, ctx.params).members.length > 0
  if (!keepsSet) s.set(ValidatorCodec, K.validator(address), slashed)
  const bonded = selfCut + delegatedCut
  const unbonding = fromUnbonding.self + fromUnbonding.delegated
  const burned = bonded + unbonding
  const m = getMeta(s)
  s.set(ChainMetaCodec, K.meta(), { ...m, supply: m.supply - burned, burned: m.burned + burned })
  events.push({ kind: 'slash', validator: address, height: ctx.height, reason, infractionHeight, amount: burned, bonded, unbonding, jailed: keepsSet })
  if (keepsSet) events.push({ kind: 'jail', validator: address, height: ctx.height, reason, jailedUntil: jailed.jailedUntil })
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

/**
 * Slash the unbonding entries of `validator`'s stake that were still bonded
 * at `infractionHeight` (created at infractionHeight − 1 or later): each
 * loses `bps` of its initial amount, capped at what it holds; an entry
 * slashed to 0 is removed. Entries are found through the release queues of
 * the heights they can release at (bounded by the evidence window).
 */
function slashUnbonding(ctx: ExecContext, validator: Address, infractionHeight: number, bps: number): { self: bigint; delegated: bigint } {
  const s = ctx.state
  const cut = { self: 0n, delegated: 0n }
  const U = ctx.params.unbondingBlocks
  const holders = new Set<Address>()
  for (let r = Math.max(infractionHeight - 1 + U, ctx.height); r <= ctx.height + U; r++) {
    for (const a of s.get(AddressListCodec, K.unbondingQueue(r))?.items ?? []) holders.add(a)
  }
  for (const a of [...holders].sort()) {
    const u = s.get(UnbondingCodec, K.unbonding(a))
    if (!u) continue
    let changed = false
    const entries: UnbondingEntry[] = []
    for (const e of u.entries) {
      if (e.validator !== validator || e.creationHeight < infractionHeight - 1) {
        entries.push(e)
        continue
      }
      const c = min((e.initialAmount * BigInt(bps)) / 10_000n, e.amount)
      if (c > 0n) changed = true
      if (e.fromDelegation) cut.delegated += c
      else cut.self += c
      if (e.amount - c > 0n) entries.push({ ...e, amount: e.amount - c })
    }
    if (!changed) continue
    if (entries.length === 0) s.delete(UnbondingCodec, K.unbonding(a))
    else s.set(UnbondingCodec, K.unbonding(a), { entries })
  }
  return cut
}

/**
 * Double-sign evidence (verified by consensus): slash and jail for the
 * stake bonded at the evidence height. Evidence outside the window
 * (maxEvidenceAge), of a height whose set did not hold the validator, or
 * against an unknown validator makes the block invalid; a second piece of
 * evidence for one (validator, height) changes nothing.
 */
export function applyEvidence(ctx: ExecContext, ev: SlashEvidence, events: StakingEvent[]): void {
  const s = ctx.state
  const v = s.get(ValidatorCodec, K.validator(ev.validator))
  if (!v) throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence against unknown validator ${ev.validator}`)
  const age = ctx.height - ev.height
  if (age < 1 || age > maxEvidenceAge(ctx.params)) {
    throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence of height ${ev.height} is outside the window of blocks ${ev.height + 1} … ${ev.height + maxEvidenceAge(ctx.params)}`)
  }
  const marker = K.evidence(ev.validator, ev.height)
  if (s.get(MarkerCodec, marker)) return
  const snapshot = s.get(StakeSnapshotCodec, K.stakeSnapshot(ev.height))
  if (!snapshot?.members.some((m) => m.address === ev.validator)) {
    throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `${ev.validator} was not in the validator set of height ${ev.height}`)
  }
  s.set(MarkerCodec, marker, { height: ctx.height })
  slashAndJail(ctx, ev.validator, ev.height, ctx.params.slashDoubleSignBps, 'doubleSign', events)
}

/**
 * Downtime (DESIGN §5): the set of height − 1 against the signers of its
 * commit. A validator that missed more than downtimeMissedBps of the last
 * downtimeWindow heights is slashed slashDowntimeBps and jailed.
 */
export function trackDowntime(ctx: ExecContext, signers: Address[], events: StakingEvent[]): void {
  const s = ctx.state
  const h = ctx.height - 1
  const set = getValidatorSet(s, h)
  if (!set) return
  const signed = new Set(signers)
  const { downtimeWindow, downtimeMissedBps, slashDowntimeBps } = ctx.params
  for (const m of set.members) {
    const key = K.missed(m.address)
    const before = s.get(MissedCodec, key)?.heights ?? []
    const heights = before.filter((x) => x > h - downtimeWindow)
    if (!signed.has(m.address)) heights.push(h)
    const v = s.get(ValidatorCodec, K.validator(m.address)) as Validator
    if (!v.jailed && heights.length * 10_000 > downtimeWindow * downtimeMissedBps) {
      slashAndJail(ctx, m.address, h, slashDowntimeBps, 'downtime', events)
      s.delete(MissedCodec, key)
    } else if (heights.length === 0) {
      if (before.length > 0) s.delete(MissedCodec, key)
    } else if (heights.length !== before.length || heights.some((x, i) => x !== before[i])) {
      s.set(MissedCodec, key, { heights })
    }
  }
}
