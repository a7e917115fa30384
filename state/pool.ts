import type { Pool } from './entities.js'

/**
 * Reward-per-share accumulator (DESIGN §4, as Cosmos F1 / MasterChef):
 * crediting is O(1) whatever the pool's size; a member's accrued amount is
 * computed on demand. The part of a credit that the scaled accumulator cannot
 * represent is returned as dust for the treasury.
 *
 * Solvency (the pool never owes more than it holds): a member is paid
 * ⌊shares·acc⌋ − debt with its debt taken as ⌈shares·acc⌉ when it joins
 * (`debtFor`), so over its life it never gets more than its exact real share
 * Σ shares·inc; and the pool keeps ⌈inc·totalShares⌉ of each credit, which is
 * at least the sum of those exact shares and at most the credit.
 */
export const POOL_SCALE = 10n ** 36n

export function emptyPool(): Pool {
  return { totalShares: 0n, accPerShare: 0n, balance: 0n }
}

export function creditPool(pool: Pool, amount: bigint): { pool: Pool; dust: bigint } {
  if (pool.totalShares === 0n || amount === 0n) return { pool, dust: amount }
  const inc = (amount * POOL_SCALE) / pool.totalShares
  const held = ceilDiv(inc * pool.totalShares, POOL_SCALE)
  return { pool: { ...pool, accPerShare: pool.accPerShare + inc, balance: pool.balance + held }, dust: amount - held }
}

export function accrued(pool: Pool, shares: bigint): bigint {
  return (shares * pool.accPerShare) / POOL_SCALE
}

/** The reward debt of a member that joins (or changes its shares) now: rounded up, see above. */
export function debtFor(pool: Pool, shares: bigint): bigint {
  return ceilDiv(shares * pool.accPerShare, POOL_SCALE)
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}

/** What a member with `shares` and `rewardDebt` can claim now. */
export function pending(pool: Pool, shares: bigint, rewardDebt: bigint): bigint {
  const p = accrued(pool, shares) - rewardDebt
  return p > 0n ? p : 0n
}
