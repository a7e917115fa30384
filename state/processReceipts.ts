import { toHex, fromHex } from '../core/bytes.js'
import { receiptId, type SignedTx, type Receipt, type Hex } from '../core/tx.js'
import type { Address } from '../core/address.js'
import type { BlockState } from './blockState.js'
import { K } from './keys.js'
import {
  AccountCodec, AllowanceCodec, DatanetCodec, ContributionCodec, ModelCodec,
  type Codec, type Datanet, type Contribution, type Model,
} from './entities.js'
import { creditPool } from './pool.js'
import { LineageWork, FlowList, distributeLineage, payoutsOfFlows } from './lineage.js'
import { fail, getAccount, type ExecContext, type Payout, type ReceiptRecord } from './txContext.js'

/** The receipt tx family (DESIGN §4): submitReceipts, each receipt's fee split among its parties. */

/**
 * The entities a `submitReceipts` body touches, read once and updated in
 * place receipt by receipt: a 1000-receipt tx of one model reads its model
 * once instead of a thousand times. The body is all-or-nothing (a failing
 * receipt fails the tx), so writing the working copies back once at the end
 * leaves exactly the state that writing after every receipt would.
 */
class ReceiptWork {
  private readonly models = new Map<Hex, Model>()
  private readonly contributions = new Map<Hex, Contribution>()
  private readonly datanets = new Map<Hex, Datanet>()
  private readonly balances = new Map<Address, bigint>()
  private readonly allowances = new Map<Address, bigint>()
  /** terms, stacks and synthetic sources (DESIGN §4.1), sharing the working copies above */
  readonly lineage: LineageWork

  constructor(private readonly s: BlockState, readonly operator: Address) {
    this.lineage = new LineageWork(s, (id) => this.datanet(id), (id) => this.model(id))
  }

  model(id: Hex): Model | undefined {
    return this.copyOf(this.models, ModelCodec, id, K.model)
  }

  contribution(id: Hex): Contribution | undefined {
    return this.copyOf(this.contributions, ContributionCodec, id, K.contribution)
  }

  datanet(id: Hex): Datanet {
    return this.copyOf(this.datanets, DatanetCodec, id, K.datanet) as Datanet
  }

  /** The working copy of an entity: first use copies it out of the block state. */
  private copyOf<T extends object>(cache: Map<Hex, T>, codec: Codec<T>, id: Hex, key: (id: Hex) => string): T | undefined {
    let v = cache.get(id)
    if (v === undefined) {
      const stored = this.s.get(codec, key(id))
      if (stored === undefined) return undefined
      v = { ...stored }
      cache.set(id, v)
    }
    return v
  }

  /** Take a receipt's fee from its payer: own balance when the payer is the operator, else allowance and balance. */
  charge(payer: Address, fee: bigint, i: number): void {
    if (payer !== this.operator) {
      const allowance = this.allowances.get(payer) ?? this.s.get(AllowanceCodec, K.allowance(payer, this.operator))?.amount ?? 0n
      if (allowance < fee) fail('TX_ERROR_ALLOWANCE_EXCEEDED', `${at(i, '[1]')}: payer's allowance to this operator is ${allowance}, fee is ${fee}`, { field: at(i, '[1]') })
      this.allowances.set(payer, allowance - fee)
    }
    const bal = this.balances.get(payer) ?? getAccount(this.s, payer).balance
    if (bal < fee) fail('TX_ERROR_INSUFFICIENT_BALANCE', `${at(i, '[1]')}: payer balance ${bal} cannot pay fee ${fee}`, { field: at(i, '[1]') })
    this.balances.set(payer, bal - fee)
  }

  /** Write every working copy back (the block's write set is sorted by key, so the order here is not observable). */
  flush(): void {
    const s = this.s
    for (const [id, m] of this.models) s.set(ModelCodec, K.model(id), m)
    for (const [id, c] of this.contributions) s.set(ContributionCodec, K.contribution(id), c)
    for (const [id, d] of this.datanets) s.set(DatanetCodec, K.datanet(id), d)
    for (const [payer, amount] of this.allowances) s.set(AllowanceCodec, K.allowance(payer, this.operator), { amount })
    for (const [a, balance] of this.balances) s.set(AccountCodec, K.account(a), { ...getAccount(s, a), balance })
    this.lineage.flush()
  }
}

/** The field name of receipt i's part, for errors only (built on failure: the hot path allocates no closures). */
function at(i: number, suffix: string): string {
  return `body[${i}]${suffix}`
}

function inProvenance(model: Model, datanetId: Hex): boolean {
  for (const d of model.datanets) if (d.datanetId === datanetId) return true
  return false
}

/** `submitReceipts`: every receipt of the body, all or nothing, one ReceiptRecord each (receipt id from the tx hash and index). */
export function submitReceipts(ctx: ExecContext, stx: SignedTx, receipts: Receipt[]): ReceiptRecord[] {
  const work = new ReceiptWork(ctx.state, stx.sender)
  // ids hashed off the main thread at admission or block validation, when they were
  const ids = stx.receiptIds !== undefined && stx.receiptIds.length === receipts.length * 32 ? stx.receiptIds : null
  const txHash = ids === null ? fromHex(stx.hash, 'txHash', 32) : null
  const out: ReceiptRecord[] = new Array(receipts.length)
  for (let i = 0; i < receipts.length; i++) {
    const id = ids !== null ? toHex(ids.subarray(i * 32, i * 32 + 32)) : receiptId(txHash!, i)
    out[i] = applyReceipt(ctx, work, stx, id, receipts[i], i)
  }
  work.flush()
  return out
}

/**
 * One receipt: charge the fee, split it per params.feeSplit (DESIGN §4) and
 * record the payouts. Every unit of the fee lands with exactly one party.
 */
function applyReceipt(ctx: ExecContext, work: ReceiptWork, stx: SignedTx, id: Hex, r: Receipt, i: number): ReceiptRecord {
  const operator = work.operator
  const model = work.model(r.modelId) ?? fail('TX_ERROR_UNKNOWN_MODEL', `${at(i, '[0]')}: no model ${r.modelId}`, { field: at(i, '[0]') })
  if (r.fee < model.minFee) fail('TX_ERROR_FEE_BELOW_MODEL_MIN', `${at(i, '[2]')}: fee ${r.fee} is below the model's minFee ${model.minFee}`, { field: at(i, '[2]') })
  const n = r.attribution.length
  const contributions: Contribution[] = new Array(n)
  for (let j = 0; j < n; j++) {
    const id = r.attribution[j].contributionId
    const c = work.contribution(id) ?? fail('TX_ERROR_UNKNOWN_CONTRIBUTION', `${at(i, `[5][${j}][0]`)}: no contribution ${id}`, { field: at(i, `[5][${j}][0]`) })
    if (c.status !== 'accepted') fail('TX_ERROR_CONTRIBUTION_NOT_ACCEPTED', `${at(i, `[5][${j}][0]`)}: contribution is ${c.status}`, { field: at(i, `[5][${j}][0]`) })
    if (!inProvenance(model, c.datanetId)) fail('TX_ERROR_ATTRIBUTION_OUTSIDE_MODEL', `${at(i, `[5][${j}][0]`)}: contribution's Datanet is not in the model's provenance`, { field: at(i, `[5][${j}][0]`) })
    contributions[j] = c
  }
  work.charge(r.payer, r.fee, i)

  const { feeSplit, treasury } = ctx.params
  const fee = r.fee
  const C = (fee * BigInt(feeSplit.contributors)) / 10_000n
  const ownerCut = (fee * BigInt(feeSplit.modelOwner)) / 10_000n
  const operatorCut = (fee * BigInt(feeSplit.operator)) / 10_000n
  const validatorsCut = (fee * BigInt(feeSplit.validators)) / 10_000n
  let treasuryCut = fee - C - ownerCut - operatorCut - validatorsCut
  if (work.lineage.involved(model, r, contributions)) {
    const flows = new FlowList()
    distributeLineage({ params: ctx.params, credits: ctx.credits, flows }, work.lineage, model, r, contributions, { C, owner: ownerCut, operator: operatorCut, validators: validatorsCut, treasury: treasuryCut })
    ctx.credits.add(operator, 'operator', operatorCut)
    ctx.credits.addToValidatorPool(validatorsCut)
    ctx.credits.add(treasury, 'treasury', treasuryCut)
    flows.add(operator, 'operator', operatorCut, 'split', null)
    flows.add(null, 'validators', validatorsCut, 'split', null)
    flows.add(treasury, 'treasury', treasuryCut, 'split', null)
    model.receipts += 1
    model.feesTotal += fee
    return { id, txHash: stx.hash, height: ctx.height, index: i, operator, receipt: r, payouts: payoutsOfFlows(flows.items), flows: flows.items }
  }
  const payouts: Payout[] = []

  if (n > 0) {
    treasuryCut += payContributors(ctx, work, r, contributions, C, payouts)
  } else {
    treasuryCut += payDatanetPools(ctx, work, model, C, payouts)
  }
  ctx.credits.add(model.owner, 'modelOwner', ownerCut)
  ctx.credits.add(operator, 'operator', operatorCut)
  ctx.credits.addToValidatorPool(validatorsCut)
  ctx.credits.add(treasury, 'treasury', treasuryCut)
  payouts.push(
    { address: model.owner, role: 'modelOwner', amount: ownerCut },
    { address: operator, role: 'operator', amount: operatorCut },
    { address: null, role: 'validators', amount: validatorsCut },
    { address: treasury, role: 'treasury', amount: treasuryCut },
  )
  model.receipts += 1
  model.feesTotal += fee
  return { id, txHash: stx.hash, height: ctx.height, index: i, operator, receipt: r, payouts }
}

/**
 * Explicit attribution: ⌊C·wᵢ/W⌋ to each contributor; returns the remainder
 * (for the treasury). The lineage path's twin is `attributed` in
 * state/lineage.ts (curation and synthetic royalties, flows): a change to
 * this split goes in both.
 */
function payContributors(ctx: ExecContext, work: ReceiptWork, r: Receipt, cs: Contribution[], C: bigint, payouts: Payout[]): bigint {
  let weights = 0
  for (const a of r.attribution) weights += a.weight
  const W = BigInt(weights)
  let paid = 0n
  for (let j = 0; j < cs.length; j++) {
    const c = cs[j]
    const w = BigInt(r.attribution[j].weight)
    const amount = (C * w) / W
    paid += amount
    ctx.credits.add(c.contributor, 'contributor', amount)
    payouts.push({ address: c.contributor, role: 'contributor', amount })
    c.receipts += 1
    c.weightSharePpm += Number((1_000_000n * w) / W)
    c.earned += amount
    work.datanet(c.datanetId).earned += amount
  }
  return C - paid
}

/** Empty attribution: C over the model's Datanets by provenance weight, into their pools. */
function payDatanetPools(ctx: ExecContext, work: ReceiptWork, model: Model, C: bigint, payouts: Payout[]): bigint {
  const W = model.datanets.reduce((sum, d) => sum + BigInt(d.weight), 0n)
  let credited = 0n
  for (const d of model.datanets) {
    const amount = (C * BigInt(d.weight)) / W
    const dn = work.datanet(d.datanetId)
    const { pool, dust } = creditPool(dn.pool, amount)
    const held = amount - dust
    credited += held
    if (held === 0n) continue
    dn.pool = pool
    dn.earned += held
    ctx.credits.add(dn.id, 'datanetPool', held)
    payouts.push({ address: dn.id, role: 'datanetPool', amount: held })
  }
  return C - credited
}
