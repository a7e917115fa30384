import { InvariantError, TxError, type TxErrorCode } from '../core/errors.js'
import { toHex, fromHex } from '../core/bytes.js'
import { receiptId, type SignedTx, type TxCall, type Receipt, type Hex } from '../core/tx.js'
import type { Address } from '../core/address.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import type { CreditBook } from './distribution.js'
import { K } from './keys.js'
import {
  AccountCodec, AllowanceCodec, ValidatorCodec, AddressListCodec, DelegationCodec, UnbondingCodec, DatanetCodec,
  ContributionCodec, ModelCodec, LedgerCodec, ChainMetaCodec, IdRefCodec, RewardPositionCodec, RewardPositionsCodec,
  type RewardPosition, type Codec, type Account, type Validator, type Datanet, type Contribution, type Model, type ChainMeta, type Role, type Ledger,
} from './entities.js'
import { emptyPool, creditPool, pending, debtFor } from './pool.js'
import { computeValidatorSet } from './validatorSet.js'
import {
  LineageWork, FlowList, distributeLineage, payoutsOfFlows, setModelTerms, setDatanetTerms, buildStack, registerLineage, recordSyntheticSource, type Flow,
  positionIdFor, takeSyntheticFrom, StateLineageWork, SynthPositionCodec, type SynthPosition,
} from './lineage.js'
import { setCheckpointKey, signCheckpoint } from './checkpoint.js'

export interface ExecContext {
  chainId: string
  height: number
  timeMs: number
  params: Params
  state: BlockState
  credits: CreditBook
}

export interface Payout {
  address: string | null
  role: 'contributor' | 'datanetPool' | 'modelOwner' | 'operator' | 'validators' | 'treasury' | 'royalty' | 'curator'
  amount: bigint
}

/** What the receipt index keeps for `receipt_get` (DESIGN §6.1). */
export interface ReceiptRecord {
  id: Hex
  txHash: Hex
  height: number
  index: number
  operator: Address
  receipt: Receipt
  payouts: Payout[]
  /**
   * Every flow with its rule (DESIGN §4.1), kept for receipts on the lineage
   * path (royalty stack, curator share or synthetic contribution); a plain
   * receipt's flows follow from its payouts (state/explain.ts).
   */
  flows?: Flow[]
}

export interface TxResult {
  hash: Hex
  status: 'ok' | 'failed'
  error?: { code: string; message: string }
  receipts: ReceiptRecord[]
}

function fail(code: TxErrorCode, message: string, meta: Record<string, unknown> = {}): never {
  throw new TxError(code, message, meta)
}

// ---------------------------------------------------------------- accessors

const ZERO_ACCOUNT: Account = { balance: 0n, nonce: 0 }

export function getAccount(s: BlockState, a: Address): Account {
  return s.get(AccountCodec, K.account(a)) ?? ZERO_ACCOUNT
}

function addBalance(s: BlockState, a: Address, delta: bigint): void {
  const acct = getAccount(s, a)
  const balance = acct.balance + delta
  if (balance < 0n) fail('TX_ERROR_INSUFFICIENT_BALANCE', `balance of ${a} is ${acct.balance}, needs ${-delta}`, { address: a })
  s.set(AccountCodec, K.account(a), { ...acct, balance })
}

export function getMeta(s: BlockState): ChainMeta {
  const m = s.get(ChainMetaCodec, K.meta())
  // not the tx's fault: an InvariantError refuses the block instead of failing the tx
  if (!m) throw new InvariantError('STATE_ERROR_NOT_INITIALIZED', 'state has no chain meta; initialize it from genesis')
  return m
}

function requireValidator(s: BlockState, a: Address): Validator {
  return s.get(ValidatorCodec, K.validator(a)) ?? fail('TX_ERROR_UNKNOWN_VALIDATOR', `${a} is not a validator`, { validator: a })
}

export function addLedger(s: BlockState, a: Address, role: Role, amount: bigint): void {
  if (amount === 0n) return
  const l = s.get(LedgerCodec, K.ledger(a)) ?? emptyLedger()
  s.set(LedgerCodec, K.ledger(a), { ...l, [role]: l[role] + amount })
}

export function emptyLedger(): Ledger {
  return { contributor: 0n, modelOwner: 0n, operator: 0n, validator: 0n, delegator: 0n, treasury: 0n, royalty: 0n, curator: 0n }
}

// ---------------------------------------------------------------- checks shared with the mempool

/**
 * Checks of a signed tx against state that decide whether it may enter a
 * block at all (DESIGN §3): chain id, nonce, fee ≥ minTxFee, balance ≥ fee.
 * `exactNonce` is false for mempool admission of future nonces.
 */
export function checkTxEnvelope(chainId: string, params: Params, account: Account, stx: SignedTx, exactNonce: boolean): void {
  const { tx } = stx
  if (tx.chainId !== chainId) fail('TX_ERROR_WRONG_CHAIN', `chain id "${tx.chainId}" is not "${chainId}"`, { field: 'chainId' })
  if (tx.nonce < account.nonce) fail('TX_ERROR_BAD_NONCE', `nonce ${tx.nonce} already used; account nonce is ${account.nonce}`, { field: 'nonce', expected: account.nonce })
  if (exactNonce && tx.nonce !== account.nonce) fail('TX_ERROR_BAD_NONCE', `nonce ${tx.nonce} is not the account nonce ${account.nonce}`, { field: 'nonce', expected: account.nonce })
  if (tx.fee < params.minTxFee) fail('TX_ERROR_FEE_TOO_LOW', `fee ${tx.fee} is below minTxFee ${params.minTxFee}`, { field: 'fee' })
  if (tx.call.type === 'submitReceipts' && tx.call.receipts.length > params.maxReceiptsPerTx) {
    fail('TX_ERROR_TOO_MANY_RECEIPTS', `${tx.call.receipts.length} receipts exceed maxReceiptsPerTx ${params.maxReceiptsPerTx}`, { field: 'body' })
  }
  if (tx.call.type === 'submitReceipts') {
    for (const [i, r] of tx.call.receipts.entries()) {
      if (r.attribution.length > params.maxAttribution) fail('TX_ERROR_TOO_MANY_ATTRIBUTIONS', `body[${i}][5] exceeds maxAttribution ${params.maxAttribution}`, { field: `body[${i}][5]` })
    }
  }
  if (account.balance < tx.fee) fail('TX_ERROR_INSUFFICIENT_BALANCE', `balance ${account.balance} cannot pay fee ${tx.fee}`, { field: 'fee' })
}

// ---------------------------------------------------------------- execution

/**
 * Execute one tx whose signature was verified at decode or admission. The
 * envelope (nonce, fee) is applied even if the body fails; a failed body's
 * effects and credits are reverted (DESIGN §3). Envelope failures throw: a
 * block containing such a tx is invalid.
 */
export function executeTx(ctx: ExecContext, stx: SignedTx): TxResult {
  const { state: s } = ctx
  const sender = stx.sender
  const acct = getAccount(s, sender)
  checkTxEnvelope(ctx.chainId, ctx.params, acct, stx, true)
  s.set(AccountCodec, K.account(sender), { balance: acct.balance - stx.tx.fee, nonce: acct.nonce + 1 })
  ctx.credits.addToValidatorPool(stx.tx.fee)

  s.beginTx()
  ctx.credits.beginTx()
  try {
    const receipts = executeCall(ctx, stx, stx.tx.call)
    s.commitTx()
    ctx.credits.commitTx()
    return { hash: stx.hash, status: 'ok', receipts }
  } catch (e) {
    s.rollbackTx()
    ctx.credits.rollbackTx()
    if (!(e instanceof TxError)) throw e
    return { hash: stx.hash, status: 'failed', error: { code: e.code, message: e.reason }, receipts: [] }
  }
}

function executeCall(ctx: ExecContext, stx: SignedTx, call: TxCall): ReceiptRecord[] {
  const s = ctx.state
  const from = stx.sender
  switch (call.type) {
    case 'transfer':
      addBalance(s, from, -call.amount)
      addBalance(s, call.to, call.amount)
      return []
    case 'createValidator': return createValidator(ctx, stx, call.amount, call.moniker, call.commissionBps)
    case 'stake': {
      const v = requireValidator(s, from)
      addBalance(s, from, -call.amount)
      s.set(ValidatorCodec, K.validator(from), { ...v, selfStake: v.selfStake + call.amount })
      return []
    }
    case 'unstake': return unstake(ctx, from, call.amount)
    case 'delegate': return delegate(ctx, from, call.validator, call.amount)
    case 'undelegate': return undelegate(ctx, from, call.validator, call.amount)
    case 'unjail': {
      const v = requireValidator(s, from)
      if (!v.jailed) fail('TX_ERROR_NOT_JAILED', `${from} is not jailed`)
      if (ctx.height < v.jailedUntil) fail('TX_ERROR_UNJAIL_TOO_EARLY', `jailed until height ${v.jailedUntil}; now ${ctx.height}`, { jailedUntil: v.jailedUntil })
      if (v.selfStake < ctx.params.minValidatorStake) fail('TX_ERROR_STAKE_TOO_LOW', `self-stake ${v.selfStake} is below minValidatorStake; stake first`)
      s.set(ValidatorCodec, K.validator(from), { ...v, jailed: false })
      return []
    }
    case 'registerDatanet': return registerDatanet(ctx, stx, call.name, call.metadataUri, call.contributionBond)
    case 'contribute':
      contribute(ctx, stx, call.datanetId, call.dataHash, call.metadataUri)
      if (call.sourceModelId !== undefined) recordSyntheticSource(s, stx.hash, call.sourceModelId)
      return []
    case 'reviewContribution': return review(ctx, from, call.contributionId, call.accept, call.weight)
    case 'registerModel': return registerModel(ctx, stx, call)
    case 'approveOperator':
      s.set(AllowanceCodec, K.allowance(from, call.operator), { amount: call.amount })
      return []
    case 'submitReceipts': return submitReceipts(ctx, stx, call.receipts)
    case 'claim': return claim(ctx, from)
    case 'setModelTerms':
      setModelTerms(s, from, call)
      return []
    case 'setDatanetTerms':
      setDatanetTerms(s, ctx.params, from, call)
      return []
    case 'setCheckpointKey':
      setCheckpointKey(s, from, call.ethAddress)
      return []
    case 'signCheckpoint':
      signCheckpoint(s, ctx.chainId, from, call.height, call.signature)
      return []
  }
}

function createValidator(ctx: ExecContext, stx: SignedTx, amount: bigint, moniker: string, commissionBps: number): ReceiptRecord[] {
  const s = ctx.state
  const from = stx.sender
  if (s.get(ValidatorCodec, K.validator(from))) fail('TX_ERROR_DUPLICATE_VALIDATOR', `${from} is already a validator`)
  if (amount < ctx.params.minValidatorStake) fail('TX_ERROR_STAKE_TOO_LOW', `self-stake ${amount} is below minValidatorStake ${ctx.params.minValidatorStake}`, { field: 'body[0]' })
  addBalance(s, from, -amount)
  s.set(ValidatorCodec, K.validator(from), {
    address: from, pubKey: toHex(stx.pubKey), moniker, commissionBps, selfStake: amount, delegated: 0n,
    jailed: false, jailedUntil: 0, pool: emptyPool(),
  })
  const idx = s.get(AddressListCodec, K.validatorIndex()) ?? { items: [] }
  s.set(AddressListCodec, K.validatorIndex(), { items: [...idx.items, from].sort() })
  return []
}

function scheduleUnbonding(ctx: ExecContext, a: Address, amount: bigint, validator: Address, fromDelegation: boolean): void {
  const s = ctx.state
  const release = ctx.height + ctx.params.unbondingBlocks
  const u = s.get(UnbondingCodec, K.unbonding(a)) ?? { entries: [] }
  const entry = { amount, releaseHeight: release, validator, creationHeight: ctx.height, fromDelegation, initialAmount: amount }
  s.set(UnbondingCodec, K.unbonding(a), { entries: [...u.entries, entry] })
  const q = s.get(AddressListCodec, K.unbondingQueue(release)) ?? { items: [] }
  if (!q.items.includes(a)) s.set(AddressListCodec, K.unbondingQueue(release), { items: [...q.items, a] })
}

function unstake(ctx: ExecContext, from: Address, amount: bigint): ReceiptRecord[] {
  const s = ctx.state
  const v = requireValidator(s, from)
  if (amount > v.selfStake) fail('TX_ERROR_INSUFFICIENT_STAKE', `self-stake is ${v.selfStake}, cannot unstake ${amount}`, { field: 'body[0]' })
  const left = v.selfStake - amount
  if (left > 0n && left < ctx.params.minValidatorStake) {
    fail('TX_ERROR_STAKE_TOO_LOW', `would leave self-stake ${left} below minValidatorStake; unstake all to leave the set`, { field: 'body[0]' })
  }
  s.set(ValidatorCodec, K.validator(from), { ...v, selfStake: left })
  scheduleUnbonding(ctx, from, amount, from, false)
  requireValidatorsLeft(ctx)
  return []
}

/**
 * A chain whose validator set is empty can never make another block, so no
 * one could ever undo the tx that emptied it: such a tx fails (issue 11).
 * Checked after the body of every tx that lowers bonded stake.
 */
function requireValidatorsLeft(ctx: ExecContext): void {
  if (computeValidatorSet(ctx.state, ctx.params).members.length > 0) return
  fail('TX_ERROR_LAST_VALIDATOR', 'this would leave the validator set empty and the chain could never make another block; another validator must join first')
}

/** Delegation tokens ↔ shares of the validator's delegated stake (slashing lowers tokens per share). */
function tokensOf(v: Validator, shares: bigint): bigint {
  return v.pool.totalShares === 0n ? 0n : (shares * v.delegated) / v.pool.totalShares
}

/** Pay a delegator what its delegation has accrued (before its shares change). */
function settleDelegation(ctx: ExecContext, delegator: Address, v: Validator): bigint {
  const s = ctx.state
  const d = s.get(DelegationCodec, K.delegation(delegator, v.address))
  if (!d) return 0n
  const owed = pending(v.pool, d.shares, d.rewardDebt)
  if (owed === 0n) return 0n
  addBalance(s, delegator, owed)
  addLedger(s, delegator, 'delegator', owed)
  return owed
}

function delegate(ctx: ExecContext, from: Address, validator: Address, amount: bigint): ReceiptRecord[] {
  const s = ctx.state
  let v = requireValidator(s, validator)
  if (v.delegated === 0n && v.pool.totalShares > 0n) {
    // shares bought now would share the earlier delegators' worthless shares' rewards and tokens (Cosmos: invalid exchange rate)
    fail('TX_ERROR_ZERO_EXCHANGE_RATE', `the delegations to ${validator} were slashed to 0 tokens; it takes new delegations once they are closed (undelegate)`, { field: 'body[0]' })
  }
  const owed = settleDelegation(ctx, from, v)
  v = { ...v, pool: { ...v.pool, balance: v.pool.balance - owed } }
  addBalance(s, from, -amount)
  const shares = v.pool.totalShares === 0n || v.delegated === 0n ? amount : (amount * v.pool.totalShares) / v.delegated
  if (shares === 0n) fail('TX_ERROR_BAD_AMOUNT', 'amount too small to buy one delegation share', { field: 'body[1]' })
  const d = s.get(DelegationCodec, K.delegation(from, validator)) ?? { shares: 0n, rewardDebt: 0n }
  const pool = { ...v.pool, totalShares: v.pool.totalShares + shares }
  s.set(ValidatorCodec, K.validator(validator), { ...v, delegated: v.delegated + amount, pool })
  s.set(DelegationCodec, K.delegation(from, validator), { shares: d.shares + shares, rewardDebt: debtFor(pool, d.shares + shares) })
  const list = s.get(AddressListCodec, K.delegationsOf(from)) ?? { items: [] }
  if (!list.items.includes(validator)) s.set(AddressListCodec, K.delegationsOf(from), { items: [...list.items, validator].sort() })
  return []
}

function undelegate(ctx: ExecContext, from: Address, validator: Address, amount: bigint): ReceiptRecord[] {
  const s = ctx.state
  let v = requireValidator(s, validator)
  const d = s.get(DelegationCodec, K.delegation(from, validator)) ?? fail('TX_ERROR_NO_DELEGATION', `${from} has no delegation to ${validator}`)
  const have = tokensOf(v, d.shares)
  // a delegation slashed to 0 tokens is closed by any undelegate of it (no dust nobody can clear, issue 11)
  if (have > 0n && amount > have) fail('TX_ERROR_INSUFFICIENT_STAKE', `delegation is ${have}, cannot undelegate ${amount}`, { field: 'body[1]' })
  const owed = settleDelegation(ctx, from, v)
  v = { ...v, pool: { ...v.pool, balance: v.pool.balance - owed } }
  const out = have === 0n ? 0n : amount
  let shares = out === have ? d.shares : (out * v.pool.totalShares + v.delegated - 1n) / v.delegated
  // what would be left is worth 0 tokens: close the delegation rather than leave dust
  if (shares < d.shares && ((d.shares - shares) * (v.delegated - out)) / (v.pool.totalShares - shares) === 0n) shares = d.shares
  const pool = { ...v.pool, totalShares: v.pool.totalShares - shares }
  s.set(ValidatorCodec, K.validator(validator), { ...v, delegated: v.delegated - out, pool })
  const left = d.shares - shares
  if (left === 0n) removeDelegation(s, from, validator)
  else s.set(DelegationCodec, K.delegation(from, validator), { shares: left, rewardDebt: debtFor(pool, left) })
  if (out > 0n) scheduleUnbonding(ctx, from, out, validator, true)
  requireValidatorsLeft(ctx)
  return []
}

function removeDelegation(s: BlockState, delegator: Address, validator: Address): void {
  s.delete(DelegationCodec, K.delegation(delegator, validator))
  const list = s.get(AddressListCodec, K.delegationsOf(delegator)) ?? { items: [] }
  s.set(AddressListCodec, K.delegationsOf(delegator), { items: list.items.filter((x) => x !== validator) })
}

function nextMeta(s: BlockState, f: (m: ChainMeta) => ChainMeta): ChainMeta {
  const m = f(getMeta(s))
  s.set(ChainMetaCodec, K.meta(), m)
  return m
}

function registerDatanet(ctx: ExecContext, stx: SignedTx, name: string, metadataUri: string, bond: bigint): ReceiptRecord[] {
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

function requireDatanet(s: BlockState, id: Hex, field: string): Datanet {
  return s.get(DatanetCodec, K.datanet(id)) ?? fail('TX_ERROR_UNKNOWN_DATANET', `${field}: no Datanet ${id}`, { field })
}

function contribute(ctx: ExecContext, stx: SignedTx, datanetId: Hex, dataHash: Hex, metadataUri: string): ReceiptRecord[] {
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

function review(ctx: ExecContext, from: Address, id: Hex, accept: boolean, weight: number): ReceiptRecord[] {
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

function registerModel(ctx: ExecContext, stx: SignedTx, call: Extract<TxCall, { type: 'registerModel' }>): ReceiptRecord[] {
  const s = ctx.state
  call.datanets.forEach((d, i) => requireDatanet(s, d.datanetId, `body[2][${i}][0]`))
  if (call.parents !== undefined) registerLineage(s, stx.hash, call.parents, buildStack(s, ctx.params, call.parents))
  const meta = nextMeta(s, (m) => ({ ...m, models: m.models + 1 }))
  s.set(ModelCodec, K.model(stx.hash), {
    id: stx.hash, owner: stx.sender, name: call.name, baseModel: call.baseModel, datanets: call.datanets, minFee: call.minFee,
    receipts: 0, feesTotal: 0n, seq: meta.models,
  })
  s.set(IdRefCodec, K.modelBySeq(meta.models), { id: stx.hash })
  return []
}

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

function submitReceipts(ctx: ExecContext, stx: SignedTx, receipts: Receipt[]): ReceiptRecord[] {
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

/** Explicit attribution: ⌊C·wᵢ/W⌋ to each contributor; returns the remainder (for the treasury). */
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
function claim(ctx: ExecContext, from: Address): ReceiptRecord[] {
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
