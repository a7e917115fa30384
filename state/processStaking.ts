import { toHex } from '../core/bytes.js'
import type { SignedTx } from '../core/tx.js'
import type { Address } from '../core/address.js'
import type { BlockState } from './blockState.js'
import { K } from './keys.js'
import { ValidatorCodec, AddressListCodec, DelegationCodec, UnbondingCodec, type Validator } from './entities.js'
import { emptyPool, pending, debtFor } from './pool.js'
import { computeValidatorSet } from './validatorSet.js'
import { fail, addBalance, addLedger, requireValidator, type ExecContext, type ReceiptRecord } from './txContext.js'

/**
 * The staking tx family (DESIGN §3): createValidator, stake, unstake,
 * delegate, undelegate, unjail, and the delegation helpers `claim` shares.
 */

/** `createValidator`: bond the sender's self-stake (≥ params.minValidatorStake) and add it to the validator index. */
export function createValidator(ctx: ExecContext, stx: SignedTx, amount: bigint, moniker: string, commissionBps: number): ReceiptRecord[] {
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

/** `stake`: add to the sender's own self-stake (the sender must be a validator). */
export function stake(ctx: ExecContext, from: Address, amount: bigint): ReceiptRecord[] {
  const s = ctx.state
  const v = requireValidator(s, from)
  addBalance(s, from, -amount)
  s.set(ValidatorCodec, K.validator(from), { ...v, selfStake: v.selfStake + amount })
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

/** `unstake`: lower the sender's self-stake (to 0 or still ≥ minValidatorStake); the amount unbonds for params.unbondingBlocks. */
export function unstake(ctx: ExecContext, from: Address, amount: bigint): ReceiptRecord[] {
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
export function tokensOf(v: Validator, shares: bigint): bigint {
  return v.pool.totalShares === 0n ? 0n : (shares * v.delegated) / v.pool.totalShares
}

/** Pay a delegator what its delegation has accrued (before its shares change). */
export function settleDelegation(ctx: ExecContext, delegator: Address, v: Validator): bigint {
  const s = ctx.state
  const d = s.get(DelegationCodec, K.delegation(delegator, v.address))
  if (!d) return 0n
  const owed = pending(v.pool, d.shares, d.rewardDebt)
  if (owed === 0n) return 0n
  addBalance(s, delegator, owed)
  addLedger(s, delegator, 'delegator', owed)
  return owed
}

/** `delegate`: buy delegation shares of a validator's delegated stake, paying what the delegation had accrued first. */
export function delegate(ctx: ExecContext, from: Address, validator: Address, amount: bigint): ReceiptRecord[] {
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

/** `undelegate`: sell delegation shares (closing a delegation worth 0 tokens); the tokens unbond for params.unbondingBlocks. */
export function undelegate(ctx: ExecContext, from: Address, validator: Address, amount: bigint): ReceiptRecord[] {
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

/** Delete a delegation and drop the validator from the delegator's list. */
export function removeDelegation(s: BlockState, delegator: Address, validator: Address): void {
  s.delete(DelegationCodec, K.delegation(delegator, validator))
  const list = s.get(AddressListCodec, K.delegationsOf(delegator)) ?? { items: [] }
  s.set(AddressListCodec, K.delegationsOf(delegator), { items: list.items.filter((x) => x !== validator) })
}

/** `unjail`: a jailed validator whose jail term is over and whose self-stake is enough rejoins. */
export function unjail(ctx: ExecContext, from: Address): ReceiptRecord[] {
  const s = ctx.state
  const v = requireValidator(s, from)
  if (!v.jailed) fail('TX_ERROR_NOT_JAILED', `${from} is not jailed`)
  if (ctx.height < v.jailedUntil) fail('TX_ERROR_UNJAIL_TOO_EARLY', `jailed until height ${v.jailedUntil}; now ${ctx.height}`, { jailedUntil: v.jailedUntil })
  if (v.selfStake < ctx.params.minValidatorStake) fail('TX_ERROR_STAKE_TOO_LOW', `self-stake ${v.selfStake} is below minValidatorStake; stake first`)
  s.set(ValidatorCodec, K.validator(from), { ...v, jailed: false })
  return []
}
