import type { SignedTx, Hex } from '../core/tx.js'
import type { Address } from '../core/address.js'
import type { BlockState } from './blockState.js'
import { K } from './keys.js'
import { DatanetCodec, ContributionCodec, IdRefCodec, RewardPositionCodec, RewardPositionsCodec, type Datanet } from './entities.js'
import { emptyPool, debtFor } from './pool.js'
import { positionIdFor } from './lineage.js'
import { fail, addBalance, addLedger, nextMeta, type ExecContext, type ReceiptRecord } from './txContext.js'

/**
 * The Datanet tx family (DESIGN §3): registerDatanet, contribute and
 * reviewContribution, which opens or adds to the contributor's reward
 * position in the Datanet's pool.
 */

/** `registerDatanet`: a new Datanet whose id is the tx hash, owned (curated) by the sender. */
export function registerDatanet(ctx: ExecContext, stx: SignedTx, name: string, metadataUri: string, bond: bigint): ReceiptRecord[] {
  const s = ctx.state
  const meta = nextMeta(s, (m) => ({ ...m, datanets: m.datanets + 1 }))
  const id = stx.hash
  s.set(DatanetCodec, K.datanet(id), {
    id, owner: stx.sender, name, metadataUri, contributionBond: bond, contributions: 0, accepted: 0, earned: 0n,
    pool: emptyPool(), seq: meta.datanets,
  })
  s.set(IdRefCodec, K.datanetBySeq(meta.datanets), { id })
  return []
}

/** The Datanet `id`, or TX_ERROR_UNKNOWN_DATANET naming `field`. */
export function requireDatanet(s: BlockState, id: Hex, field: string): Datanet {
  return s.get(DatanetCodec, K.datanet(id)) ?? fail('TX_ERROR_UNKNOWN_DATANET', `${field}: no Datanet ${id}`, { field })
}

/** `contribute`: a pending contribution (id = tx hash) that holds the Datanet's contribution bond from the sender. */
export function contribute(ctx: ExecContext, stx: SignedTx, datanetId: Hex, dataHash: Hex, metadataUri: string): ReceiptRecord[] {
  const s = ctx.state
  const dn = requireDatanet(s, datanetId, 'body[0]')
  addBalance(s, stx.sender, -dn.contributionBond)
  const seq = dn.contributions + 1
  s.set(DatanetCodec, K.datanet(datanetId), { ...dn, contributions: seq })
  s.set(ContributionCodec, K.contribution(stx.hash), {
    id: stx.hash, datanetId, contributor: stx.sender, dataHash, metadataUri, status: 'pending', weight: 0, bond: dn.contributionBond,
    receipts: 0, weightSharePpm: 0, earned: 0n, rewardDebt: 0n, seq,
  })
  s.set(IdRefCodec, K.datanetContribution(datanetId, seq), { id: stx.hash })
  return []
}

/** `reviewContribution`: the Datanet's owner accepts (bond back, weight into the pool) or rejects (bond to the treasury) a pending contribution. */
export function review(ctx: ExecContext, from: Address, id: Hex, accept: boolean, weight: number): ReceiptRecord[] {
  const s = ctx.state
  const c = s.get(ContributionCodec, K.contribution(id)) ?? fail('TX_ERROR_UNKNOWN_CONTRIBUTION', `body[0]: no contribution ${id}`, { field: 'body[0]' })
  const dn = requireDatanet(s, c.datanetId, 'body[0]')
  if (dn.owner !== from) fail('TX_ERROR_NOT_CURATOR', `only the Datanet's owner ${dn.owner} may review its contributions`)
  if (c.status !== 'pending') fail('TX_ERROR_ALREADY_REVIEWED', `contribution is already ${c.status}`)
  if (!accept) {
    addBalance(s, ctx.params.treasury, c.bond)
    addLedger(s, ctx.params.treasury, 'treasury', c.bond)
    s.set(ContributionCodec, K.contribution(id), { ...c, status: 'rejected', bond: 0n })
    return []
  }
  addBalance(s, c.contributor, c.bond)
  const pool = { ...dn.pool, totalShares: dn.pool.totalShares + BigInt(weight) }
  s.set(DatanetCodec, K.datanet(dn.id), { ...dn, accepted: dn.accepted + 1, pool })
  const rewardDebt = debtFor(pool, BigInt(weight))
  s.set(ContributionCodec, K.contribution(id), { ...c, status: 'accepted', weight, bond: 0n, rewardDebt })
  addToPosition(s, c.contributor, positionIdFor(s, id, dn.id, true), dn.id, BigInt(weight), rewardDebt, pool.accPerShare)
  return []
}

/**
 * Add an accepted contribution's weight and debt to its contributor's
 * position in the Datanet's pool, opening the position on first use. One
 * position per (contributor, Datanet) whatever the number of contributions
 * (issue 12). Paying `⌊Σw·acc⌋ − Σ⌈w·acc_join⌉` never exceeds the exact sum
 * of the contributions' shares, so the pool stays solvent (state/pool.ts).
 */
function addToPosition(s: BlockState, contributor: Address, positionId: Hex, datanetId: Hex, weight: bigint, debt: bigint, acc: bigint): void {
  const key = K.rewardPosition(contributor, positionId)
  const p = s.get(RewardPositionCodec, key)
  if (p) {
    s.set(RewardPositionCodec, key, { ...p, shares: p.shares + weight, rewardDebt: p.rewardDebt + debt })
    return
  }
  const n = s.get(RewardPositionsCodec, K.rewardPositions(contributor)) ?? { count: 0, cursor: 1 }
  const seq = n.count + 1
  s.set(RewardPositionsCodec, K.rewardPositions(contributor), { ...n, count: seq })
  s.set(IdRefCodec, K.rewardPositionBySeq(contributor, seq), { id: positionId })
  s.set(RewardPositionCodec, key, { datanetId, shares: weight, rewardDebt: debt, claimedAcc: acc, seq })
}
