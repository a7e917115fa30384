import { formatAmount } from '../core/amount.js'
import type { Address } from '../core/address.js'
import type { Hex } from '../core/tx.js'
import { paramsToJson } from '../genesis/genesis.js'
import type { StateStore } from './store.js'
import { BlockState } from './blockState.js'
import { K } from './keys.js'
import {
  AccountCodec, AddressListCodec, ContributionCodec, DatanetCodec, DelegationCodec, IdRefCodec, LedgerCodec, RewardPositionCodec, RewardPositionsCodec,
  MarkerCodec, MissedCodec, ModelCodec, UnbondingCodec, ValidatorCodec, ValidatorSetCodec, ChainMetaCodec, AllowanceCodec, ROLES,
  type Contribution, type Datanet, type RewardPosition, type Model, type Validator, type ContributionStatus,
} from './entities.js'
import { pending, debtFor } from './pool.js'
import type { ChainConfig } from './executeBlock.js'
import { positionIdFor, SynthPositionCodec } from './lineage.js'

/**
 * Read-only queries with the result shapes of DESIGN §6.1, so that the RPC
 * layer is only transport. Amounts are decimal strings; unknown ids give null.
 */
export class StateQueries {
  constructor(private readonly store: StateStore, private readonly chain: ChainConfig) {}

  private view(): BlockState {
    return new BlockState(this.store)
  }

  params(): Record<string, unknown> {
    return paramsToJson(this.chain.params)
  }

  meta(): { height: number; datanets: number; models: number; supply: string; minted: string; burned: string } {
    const m = this.view().get(ChainMetaCodec, K.meta())
    if (!m) return { height: 0, datanets: 0, models: 0, supply: '0', minted: '0', burned: '0' }
    return { ...m, supply: formatAmount(m.supply), minted: formatAmount(m.minted), burned: formatAmount(m.burned) }
  }

  nonce(address: Address): number {
    return this.view().get(AccountCodec, K.account(address))?.nonce ?? 0
  }

  /** Nonce and balance (units of OPEN) of an account in one state read: what the mempool checks a tx against. */
  nonceAndBalance(address: Address): { nonce: number; balance: bigint } {
    const a = this.view().get(AccountCodec, K.account(address))
    return { nonce: a?.nonce ?? 0, balance: a?.balance ?? 0n }
  }

  balance(address: Address): bigint {
    return this.view().get(AccountCodec, K.account(address))?.balance ?? 0n
  }

  account(address: Address): { address: Address; balance: string; nonce: number; staked: string; unbonding: string; pendingRewards: string } {
    const s = this.view()
    const acct = s.get(AccountCodec, K.account(address)) ?? { balance: 0n, nonce: 0 }
    let staked = s.get(ValidatorCodec, K.validator(address))?.selfStake ?? 0n
    for (const d of this.delegationAmounts(s, address)) staked += d.amount
    const unbonding = (s.get(UnbondingCodec, K.unbonding(address))?.entries ?? []).reduce((sum, e) => sum + e.amount, 0n)
    return {
      address, balance: formatAmount(acct.balance), nonce: acct.nonce, staked: formatAmount(staked),
      unbonding: formatAmount(unbonding), pendingRewards: formatAmount(this.pendingRewards(s, address)),
    }
  }

  allowance(payer: Address, operator: Address): string {
    return formatAmount(this.view().get(AllowanceCodec, K.allowance(payer, operator))?.amount ?? 0n)
  }

  /**
   * Datanet pool rewards over the address's positions (one per Datanet it
   * has accepted contributions in; at most MAX_QUERY_POSITIONS are read, in
   * the order they were opened, so the cost does not grow with the number of
   * contributions, issue 12) plus delegator pool rewards.
   */
  private pendingRewards(s: BlockState, address: Address): bigint {
    let total = 0n
    const count = Math.min(s.get(RewardPositionsCodec, K.rewardPositions(address))?.count ?? 0, MAX_QUERY_POSITIONS)
    for (let n = 1; n <= count; n++) {
      const positionId = (s.get(IdRefCodec, K.rewardPositionBySeq(address, n)) as { id: Hex }).id
      const p = s.get(RewardPositionCodec, K.rewardPosition(address, positionId)) as RewardPosition
      const dn = s.get(DatanetCodec, K.datanet(p.datanetId)) as Datanet
      const owed = pending(dn.pool, p.shares, p.rewardDebt)
      // a synthetic position pays its source's lineage ⌊owed·synthBps/10⁴⌋ first (DESIGN §4.1, state/lineage.ts SynthPosition)
      const sp = positionId === p.datanetId ? undefined : s.get(SynthPositionCodec, K.synthPosition(positionId))
      total += sp === undefined ? owed : owed - (owed * BigInt(sp.synthBps)) / 10_000n
    }
    for (const va of s.get(AddressListCodec, K.delegationsOf(address))?.items ?? []) {
      const v = s.get(ValidatorCodec, K.validator(va)) as Validator
      const d = s.get(DelegationCodec, K.delegation(address, va))
      if (d) total += pending(v.pool, d.shares, d.rewardDebt)
    }
    return total
  }

  private delegationAmounts(s: BlockState, address: Address): { validator: Address; amount: bigint }[] {
    return (s.get(AddressListCodec, K.delegationsOf(address))?.items ?? []).map((va) => {
      const v = s.get(ValidatorCodec, K.validator(va)) as Validator
      const d = s.get(DelegationCodec, K.delegation(address, va))
      const amount = d && v.pool.totalShares > 0n ? (d.shares * v.delegated) / v.pool.totalShares : 0n
      return { validator: va, amount }
    })
  }

  delegations(address: Address): { validator: Address; amount: string }[] {
    return this.delegationAmounts(this.view(), address).map((d) => ({ validator: d.validator, amount: formatAmount(d.amount) }))
  }

  /**
   * `staking_validators`: every validator record. `power` is its voting power
   * in the set that commits the next height (head + 1), in units: 0 when it
   * is jailed (from H + 2 when jailed in block H, as every set change),
   * outside the `maxValidators` highest or below minValidatorStake. Bonded
   * stake is `selfStake` + `delegated`.
   */
  validators(): Record<string, unknown>[] {
    const s = this.view()
    const items = s.get(AddressListCodec, K.validatorIndex())?.items ?? []
    const head = s.get(ChainMetaCodec, K.meta())?.height ?? 0
    const set = new Map((s.get(ValidatorSetCodec, K.validatorSet(head + 1))?.members ?? []).map((m) => [m.address, m.power]))
    return items.map((a) => {
      const v = s.get(ValidatorCodec, K.validator(a)) as Validator
      return {
        address: v.address, pubKey: v.pubKey, moniker: v.moniker, selfStake: formatAmount(v.selfStake), delegated: formatAmount(v.delegated),
        power: formatAmount(set.get(a) ?? 0n), commissionBps: v.commissionBps, jailed: v.jailed, jailedUntil: v.jailedUntil,
        missed: s.get(MissedCodec, K.missed(a))?.heights.length ?? 0,
      }
    })
  }

  /** Whether double-sign evidence of `validator` at `height` has been applied (state/slashing.ts applyEvidence: once per pair). */
  doubleSignPunished(validator: Address, height: number): boolean {
    return this.view().get(MarkerCodec, K.evidence(validator, height)) !== undefined
  }

  /** The set that commits `height` (known up to head + 2). */
  validatorSet(height: number): { address: Address; pubKey: Hex; power: bigint }[] | null {
    return this.view().get(ValidatorSetCodec, K.validatorSet(height))?.members ?? null
  }

  private datanetJson(dn: Datanet): Record<string, unknown> {
    return {
      id: dn.id, owner: dn.owner, name: dn.name, metadataUri: dn.metadataUri, contributionBond: formatAmount(dn.contributionBond),
      contributions: dn.contributions, accepted: dn.accepted, totalWeight: formatAmount(dn.pool.totalShares), earned: formatAmount(dn.earned),
    }
  }

  datanet(id: Hex): Record<string, unknown> | null {
    const dn = this.view().get(DatanetCodec, K.datanet(id))
    return dn ? this.datanetJson(dn) : null
  }

  datanets(opts: { owner?: Address; offset?: number; limit?: number } = {}): Record<string, unknown>[] {
    const s = this.view()
    const count = s.get(ChainMetaCodec, K.meta())?.datanets ?? 0
    const all = page(count, opts, (n) => s.get(DatanetCodec, K.datanet((s.get(IdRefCodec, K.datanetBySeq(n)) as { id: Hex }).id)) as Datanet, opts.owner ? (d) => d.owner === opts.owner : null)
    return all.map((d) => this.datanetJson(d))
  }

  private contributionJson(s: BlockState, c: Contribution): Record<string, unknown> {
    if (c.status !== 'accepted') return this.contributionFields(c, c.earned, 0n)
    const dn = s.get(DatanetCodec, K.datanet(c.datanetId)) as Datanet
    // pool rewards since acceptance, and the part of them accrued since the contributor's last claim in this Datanet
    const w = BigInt(c.weight)
    const fromPool = pending(dn.pool, w, c.rewardDebt)
    const claimedAcc = s.get(RewardPositionCodec, K.rewardPosition(c.contributor, positionIdFor(s, c.id, c.datanetId, false)))?.claimedAcc ?? 0n
    const claimedDebt = debtFor({ ...dn.pool, accPerShare: claimedAcc }, w)
    const unclaimed = pending(dn.pool, w, claimedDebt > c.rewardDebt ? claimedDebt : c.rewardDebt)
    return this.contributionFields(c, c.earned + fromPool, unclaimed)
  }

  private contributionFields(c: Contribution, earned: bigint, unclaimed: bigint): Record<string, unknown> {
    return {
      id: c.id, datanetId: c.datanetId, contributor: c.contributor, dataHash: c.dataHash, metadataUri: c.metadataUri, status: c.status,
      weight: c.weight, bond: formatAmount(c.bond), receipts: c.receipts, weightSharePpm: c.weightSharePpm,
      earned: formatAmount(earned), unclaimed: formatAmount(unclaimed),
    }
  }

  contribution(id: Hex): Record<string, unknown> | null {
    const s = this.view()
    const c = s.get(ContributionCodec, K.contribution(id))
    return c ? this.contributionJson(s, c) : null
  }

  contributions(datanetId: Hex, opts: { status?: ContributionStatus; offset?: number; limit?: number } = {}): Record<string, unknown>[] | null {
    const s = this.view()
    const dn = s.get(DatanetCodec, K.datanet(datanetId))
    if (!dn) return null
    const get = (n: number) => s.get(ContributionCodec, K.contribution((s.get(IdRefCodec, K.datanetContribution(datanetId, n)) as { id: Hex }).id)) as Contribution
    return page(dn.contributions, opts, get, opts.status ? (c) => c.status === opts.status : null).map((c) => this.contributionJson(s, c))
  }

  private modelJson(m: Model): Record<string, unknown> {
    return {
      id: m.id, owner: m.owner, name: m.name, baseModel: m.baseModel, datanets: m.datanets, minFee: formatAmount(m.minFee),
      receipts: m.receipts, feesTotal: formatAmount(m.feesTotal),
    }
  }

  model(id: Hex): Record<string, unknown> | null {
    const m = this.view().get(ModelCodec, K.model(id))
    return m ? this.modelJson(m) : null
  }

  models(opts: { owner?: Address; offset?: number; limit?: number } = {}): Record<string, unknown>[] {
    const s = this.view()
    const count = s.get(ChainMetaCodec, K.meta())?.models ?? 0
    const get = (n: number) => s.get(ModelCodec, K.model((s.get(IdRefCodec, K.modelBySeq(n)) as { id: Hex }).id)) as Model
    return page(count, opts, get, opts.owner ? (m) => m.owner === opts.owner : null).map((m) => this.modelJson(m))
  }

  attribution(address: Address): { address: Address; earned: Record<string, string>; total: string } {
    const l = this.view().get(LedgerCodec, K.ledger(address))
    const earned: Record<string, string> = {}
    let total = 0n
    for (const role of ROLES) {
      const v = l?.[role] ?? 0n
      earned[role] = formatAmount(v)
      total += v
    }
    return { address, earned, total: formatAmount(total) }
  }
}

/** Most Datanet positions `account_get`'s pendingRewards reads (an address with more sees the sum over its first 1,000). */
export const MAX_QUERY_POSITIONS = 1000

export const DEFAULT_PAGE_LIMIT = 100
export const MAX_PAGE_LIMIT = 1000

/**
 * Items 1..count by sequence, filtered, then offset/limit (limit ≤ MAX_PAGE_LIMIT).
 * Without a filter the page is read directly (offset + 1 … offset + limit),
 * so a deep page costs no more than the first (issue 12).
 */
function page<T>(count: number, opts: { offset?: number; limit?: number }, get: (n: number) => T, keep: ((t: T) => boolean) | null): T[] {
  const offset = opts.offset ?? 0
  const limit = Math.min(opts.limit ?? DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)
  const out: T[] = []
  if (keep === null) {
    for (let n = offset + 1; n <= count && out.length < limit; n++) out.push(get(n))
    return out
  }
  let skipped = 0
  for (let n = 1; n <= count && out.length < limit; n++) {
    const item = get(n)
    if (!keep(item)) continue
    if (skipped < offset) {
      skipped++
      continue
    }
    out.push(item)
  }
  return out
}
