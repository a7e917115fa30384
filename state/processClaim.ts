import type { Hex } from '../core/tx.js'
import type { Address } from '../core/address.js'
import { K } from './keys.js'
import {
  AddressListCodec, DatanetCodec, DelegationCodec, IdRefCodec, RewardPositionCodec, RewardPositionsCodec, ValidatorCodec,
  type RewardPosition, type Datanet, type Validator, type Role,
} from './entities.js'
import { pending } from './pool.js'
import { takeSyntheticFrom, StateLineageWork, SynthPositionCodec, type SynthPosition } from './lineage.js'
import { addBalance, addLedger, type ExecContext, type ReceiptRecord } from './txContext.js'
import { settleDelegation, tokensOf, removeDelegation } from './processStaking.js'

/** The claim tx: what the sender has accrued in Datanet pools and delegator pools (DESIGN §4). */

/**
 * Most Datanet positions one `claim` pays (issue 12): a claim costs at most
 * this many pool reads whatever the sender's history. An address with more
 * positions is paid in turns: each claim starts where the last one stopped.
 */
export const MAX_CLAIM_POSITIONS = 256

/**
 * The synthetic royalty of what a synthetic reward position pays (DESIGN
 * §4.1: "every amount paid to that contribution's contributor … claimed
 * from a pool"): Y = ⌊owed·synthBps/10⁴⌋ to the source's lineage. As claim
 * pays the claimant directly (not through the block's fee distribution,
 * which holds only fees and minted units), the lineage's credits are paid
 * directly too: balances and ledgers at once, pool credits into their pools.
 * Returns Y; the claimant gets owed − Y.
 */
function claimSynthetic(ctx: ExecContext, sp: SynthPosition, owed: bigint): bigint {
  const s = ctx.state
  const direct = {
    add(address: string, role: string, amount: bigint): void {
      if (amount === 0n || role === 'datanetPool') return
      addBalance(s, address, amount)
      addLedger(s, address, role as Role, amount)
    },
  }
  const lw = new StateLineageWork(s)
  const Y = takeSyntheticFrom({ params: ctx.params, credits: direct, flows: null }, lw, sp.sourceModelId, sp.synthBps, owed)
  lw.flush()
  return Y
}

/** Pay out what the sender has accrued in Datanet pools (up to MAX_CLAIM_POSITIONS of them) and delegator pools (DESIGN §4). */
export function claim(ctx: ExecContext, from: Address): ReceiptRecord[] {
  const s = ctx.state
  let total = 0n
  const n = s.get(RewardPositionsCodec, K.rewardPositions(from))
  const turn = n ? Math.min(n.count, MAX_CLAIM_POSITIONS) : 0
  for (let i = 0; i < turn; i++) {
    const seq = ((n!.cursor - 1 + i) % n!.count) + 1
    // a position's id is its Datanet's id, or a synthetic position's id (state/lineage.ts SynthPosition)
    const positionId = (s.get(IdRefCodec, K.rewardPositionBySeq(from, seq)) as { id: Hex }).id
    const p = s.get(RewardPositionCodec, K.rewardPosition(from, positionId)) as RewardPosition
    const dn = s.get(DatanetCodec, K.datanet(p.datanetId)) as Datanet
    const owed = pending(dn.pool, p.shares, p.rewardDebt)
    if (owed === 0n) continue
    s.set(DatanetCodec, K.datanet(dn.id), { ...dn, pool: { ...dn.pool, balance: dn.pool.balance - owed } })
    s.set(RewardPositionCodec, K.rewardPosition(from, positionId), { ...p, rewardDebt: p.rewardDebt + owed, claimedAcc: dn.pool.accPerShare })
    const Y = positionId === p.datanetId ? 0n : claimSynthetic(ctx, s.get(SynthPositionCodec, K.synthPosition(positionId)) as SynthPosition, owed)
    addLedger(s, from, 'contributor', owed - Y)
    total += owed - Y
  }
  if (n && n.count > MAX_CLAIM_POSITIONS) s.set(RewardPositionsCodec, K.rewardPositions(from), { ...n, cursor: ((n.cursor - 1 + turn) % n.count) + 1 })
  const validators = s.get(AddressListCodec, K.delegationsOf(from))?.items ?? []
  for (const va of validators) {
    const v = s.get(ValidatorCodec, K.validator(va)) as Validator
    const owed = settleDelegation(ctx, from, v)
    const d = s.get(DelegationCodec, K.delegation(from, va))!
    const pool = { ...v.pool, balance: v.pool.balance - owed }
    if (tokensOf(v, d.shares) === 0n) {
      // slashed to 0 tokens and now paid out: nothing is left in it, close it
      s.set(ValidatorCodec, K.validator(va), { ...v, pool: { ...pool, totalShares: pool.totalShares - d.shares } })
      removeDelegation(s, from, va)
      continue
    }
    if (owed === 0n) continue
    s.set(DelegationCodec, K.delegation(from, va), { ...d, rewardDebt: d.rewardDebt + owed })
    s.set(ValidatorCodec, K.validator(va), { ...v, pool })
  }
  if (total > 0n) addBalance(s, from, total)
  return []
}
