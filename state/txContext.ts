import { InvariantError, TxError, type TxErrorCode } from '../core/errors.js'
import type { Receipt, Hex } from '../core/tx.js'
import type { Address } from '../core/address.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import type { CreditBook } from './distribution.js'
import { K } from './keys.js'
import { AccountCodec, ValidatorCodec, LedgerCodec, ChainMetaCodec, type Account, type Validator, type ChainMeta, type Role, type Ledger } from './entities.js'
import type { Flow } from './flows.js'

/*
 * What the tx families' processors (state/process*.ts) share: the execution
 * context, the result and receipt record types, the tx-error helper and the
 * account, chain meta, validator and ledger accessors.
 */

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

/** Throw a TxError: the tx fails and its body's effects are reverted (DESIGN §3). */
export function fail(code: TxErrorCode, message: string, meta: Record<string, unknown> = {}): never {
  throw new TxError(code, message, meta)
}

// ---------------------------------------------------------------- accessors

const ZERO_ACCOUNT: Account = { balance: 0n, nonce: 0 }

/** An account's balance and nonce; an address never seen is a zero account. */
export function getAccount(s: BlockState, a: Address): Account {
  return s.get(AccountCodec, K.account(a)) ?? ZERO_ACCOUNT
}

/** Add `delta` (may be negative) to an account's balance; TX_ERROR_INSUFFICIENT_BALANCE if it would go below 0. */
export function addBalance(s: BlockState, a: Address, delta: bigint): void {
  const acct = getAccount(s, a)
  const balance = acct.balance + delta
  if (balance < 0n) fail('TX_ERROR_INSUFFICIENT_BALANCE', `balance of ${a} is ${acct.balance}, needs ${-delta}`, { address: a })
  s.set(AccountCodec, K.account(a), { ...acct, balance })
}

/** The chain meta (entity counters); InvariantError STATE_ERROR_NOT_INITIALIZED if state was never initialized from genesis. */
export function getMeta(s: BlockState): ChainMeta {
  const m = s.get(ChainMetaCodec, K.meta())
  // not the tx's fault: an InvariantError refuses the block instead of failing the tx
  if (!m) throw new InvariantError('STATE_ERROR_NOT_INITIALIZED', 'state has no chain meta; initialize it from genesis')
  return m
}

/** The validator `a`, or TX_ERROR_UNKNOWN_VALIDATOR. */
export function requireValidator(s: BlockState, a: Address): Validator {
  return s.get(ValidatorCodec, K.validator(a)) ?? fail('TX_ERROR_UNKNOWN_VALIDATOR', `${a} is not a validator`, { validator: a })
}

/** Add `amount` to an address's lifetime earnings under `role` (the ledger behind account queries). */
export function addLedger(s: BlockState, a: Address, role: Role, amount: bigint): void {
  if (amount === 0n) return
  const l = s.get(LedgerCodec, K.ledger(a)) ?? emptyLedger()
  s.set(LedgerCodec, K.ledger(a), { ...l, [role]: l[role] + amount })
}

/** A ledger with every role at 0. */
export function emptyLedger(): Ledger {
  return { contributor: 0n, modelOwner: 0n, operator: 0n, validator: 0n, delegator: 0n, treasury: 0n, royalty: 0n, curator: 0n }
}

/** Update the chain meta with `f` and return the new value. */
export function nextMeta(s: BlockState, f: (m: ChainMeta) => ChainMeta): ChainMeta {
  const m = f(getMeta(s))
  s.set(ChainMetaCodec, K.meta(), m)
  return m
}
