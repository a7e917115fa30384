import { BlockError, invariant } from '../core/errors.js'
import { sha256 } from '../core/hash.js'
import { utf8, toHex } from '../core/bytes.js'
import type { Address } from '../core/address.js'
import type { SignedTx } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import { genesisHash, type Genesis } from '../genesis/genesis.js'
import type { StateStore, WriteSet } from './store.js'
import { nextStateRoot } from './store.js'
import { BlockState } from './blockState.js'
import { CreditBook, type Distribution } from './distribution.js'
import { K } from './keys.js'
import {
  AccountCodec, AddressListCodec, ChainMetaCodec, MarkerCodec, MissedCodec, UnbondingCodec, ValidatorCodec, ValidatorSetCodec,
  type Validator, type ValidatorSetRecord,
} from './entities.js'
import { emptyPool, creditPool } from './pool.js'
import { executeTx, getAccount, getMeta, addLedger, type ExecContext, type TxResult, type ReceiptRecord } from './execute.js'
import { computeValidatorSet, getValidatorSet, powerOf, totalPower } from './validatorSet.js'

/** The chain's fixed configuration, from genesis. */
export interface ChainConfig {
  chainId: string
  params: Params
}

/** Double-sign evidence already verified by consensus: the offender and the height of its votes. */
export interface SlashEvidence {
  validator: Address
  height: number
}

export interface BlockInput {
  height: number
  timeMs: number
  proposer: Address
  /** decoded txs whose signatures were verified (at admission or decode) */
  txs: SignedTx[]
  evidence: SlashEvidence[]
  /** validators whose precommits for height − 1 are in this block's lastCommit; null at height 1 */
  lastCommitSigners: Address[] | null
}

export interface BlockOutcome {
  writes: WriteSet
  stateRoot: Uint8Array
  results: TxResult[]
  distribution: Distribution
  receipts: ReceiptRecord[]
  /** the set that will commit height + 2 (stake changes take effect there, DESIGN §5) */
  nextValidatorSet: ValidatorSetRecord
}

/**
 * Execute a block over `store` without modifying it (DESIGN §4, §5): begin
 * (unbonding releases, evidence), txs, end (validator rewards, distribution,
 * downtime, the set for height + 2). Returns the write set and the new state
 * root; the caller applies both atomically with the block. Throws BlockError
 * if the block cannot be applied; nothing is then written.
 */
export function executeBlock(store: StateStore, chain: ChainConfig, prevRoot: Uint8Array, input: BlockInput): BlockOutcome {
  const s = new BlockState(store)
  const meta = getMeta(s)
  if (input.height !== meta.height + 1) throw new BlockError('BLOCK_ERROR_BAD_HEIGHT', `expected height ${meta.height + 1}, got ${input.height}`)
  const ctx: ExecContext = { chainId: chain.chainId, height: input.height, timeMs: input.timeMs, params: chain.params, state: s, credits: new CreditBook() }

  releaseUnbonding(ctx)
  for (const ev of input.evidence) applyEvidence(ctx, ev)

  const results: TxResult[] = []
  input.txs.forEach((stx, i) => {
    try {
      results.push(executeTx(ctx, stx))
    } catch (e) {
      throw new BlockError('BLOCK_ERROR_INVALID_TX', `tx ${i} (${stx.hash}) cannot be included: ${(e as Error).message}`, { index: i })
    }
  })

  const minted = chain.params.blockReward
  distributeValidatorPool(ctx, ctx.credits.validatorPool + minted)
  const distribution: Distribution = { height: input.height, minted, entries: ctx.credits.entries() }
  applyCredits(ctx, distribution)
  if (input.lastCommitSigners) trackDowntime(ctx, input.lastCommitSigners)

  const nextValidatorSet = computeValidatorSet(s, chain.params)
  s.set(ValidatorSetCodec, K.validatorSet(input.height + 2), nextValidatorSet)
  if (input.height > 1) s.delete(ValidatorSetCodec, K.validatorSet(input.height - 1))
  const m = getMeta(s)
  s.set(ChainMetaCodec, K.meta(), { ...m, height: input.height, supply: m.supply + minted, minted: m.minted + minted })

  const writes = s.writeSet()
  return {
    writes, stateRoot: nextStateRoot(prevRoot, writes), results, distribution,
    receipts: results.flatMap((r) => r.receipts), nextValidatorSet,
  }
}

function releaseUnbonding(ctx: ExecContext): void {
  const s = ctx.state
  const q = s.get(AddressListCodec, K.unbondingQueue(ctx.height))
  if (!q) return
  for (const a of q.items) {
    const u = s.get(UnbondingCodec, K.unbonding(a))
    if (!u) continue
    const due = u.entries.filter((e) => e.releaseHeight <= ctx.height)
    const rest = u.entries.filter((e) => e.releaseHeight > ctx.height)
    const amount = due.reduce((sum, e) => sum + e.amount, 0n)
    const acct = getAccount(s, a)
    s.set(AccountCodec, K.account(a), { ...acct, balance: acct.balance + amount })
    if (rest.length === 0) s.delete(UnbondingCodec, K.unbonding(a))
    else s.set(UnbondingCodec, K.unbonding(a), { entries: rest })
  }
  s.delete(AddressListCodec, K.unbondingQueue(ctx.height))
}

/** Burn `bps` of a validator's bonded stake (self and delegated alike) and jail it. */
function slashAndJail(ctx: ExecContext, v: Validator, bps: number): void {
  const s = ctx.state
  const selfCut = (v.selfStake * BigInt(bps)) / 10_000n
  const delegatedCut = (v.delegated * BigInt(bps)) / 10_000n
  s.set(ValidatorCodec, K.validator(v.address), {
    ...v, selfStake: v.selfStake - selfCut, delegated: v.delegated - delegatedCut, jailed: true,
    jailedUntil: ctx.height + ctx.params.jailBlocks,
  })
  const m = getMeta(s)
  const burned = selfCut + delegatedCut
  s.set(ChainMetaCodec, K.meta(), { ...m, supply: m.supply - burned, burned: m.burned + burned })
}

function applyEvidence(ctx: ExecContext, ev: SlashEvidence): void {
  const s = ctx.state
  const v = s.get(ValidatorCodec, K.validator(ev.validator))
  if (!v) throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence against unknown validator ${ev.validator}`)
  const marker = K.evidence(ev.validator, ev.height)
  if (s.get(MarkerCodec, marker)) return
  s.set(MarkerCodec, marker, { height: ctx.height })
  slashAndJail(ctx, v, ctx.params.slashDoubleSignBps)
}

/**
 * The block's validator pool (tx fees, receipt shares, block reward) goes to
 * the set of this height pro rata to power; each validator keeps its
 * self-stake share plus commission on the delegated share, the rest credits
 * its delegator pool. Rounding remainders go to the treasury.
 */
function distributeValidatorPool(ctx: ExecContext, pool: bigint): void {
  const s = ctx.state
  const set = getValidatorSet(s, ctx.height)
  invariant(set && set.members.length > 0, 'no validator set for this height', { height: ctx.height })
  const total = totalPower(set.members)
  let paid = 0n
  for (const m of set.members) {
    const share = (pool * m.power) / total
    paid += share
    const v = s.get(ValidatorCodec, K.validator(m.address)) as Validator
    const bonded = powerOf(v)
    const delegatedPart = bonded === 0n ? 0n : (share * v.delegated) / bonded
    const commission = (delegatedPart * BigInt(v.commissionBps)) / 10_000n
    const toPool = delegatedPart - commission
    const { pool: nextPool, dust } = creditPool(v.pool, toPool)
    const toDelegators = toPool - dust
    ctx.credits.add(m.address, 'validator', share - toPool)
    ctx.credits.add(ctx.params.treasury, 'treasury', dust)
    if (toDelegators > 0n) {
      s.set(ValidatorCodec, K.validator(m.address), { ...v, pool: nextPool })
      ctx.credits.add(m.address, 'delegatorPool', toDelegators)
    }
  }
  ctx.credits.add(ctx.params.treasury, 'treasury', pool - paid)
}

/** Credits to addresses become balances; pool credits already sit in their pools. */
function applyCredits(ctx: ExecContext, d: Distribution): void {
  const s = ctx.state
  for (const e of d.entries) {
    if (e.role === 'datanetPool' || e.role === 'delegatorPool') continue
    const acct = getAccount(s, e.address)
    s.set(AccountCodec, K.account(e.address), { ...acct, balance: acct.balance + e.amount })
    addLedger(s, e.address, e.role, e.amount)
  }
}

/**
 * Downtime (DESIGN §5): the set of height − 1 against the signers of its
 * commit. A validator that missed more than downtimeMissedBps of the last
 * downtimeWindow heights is slashed slashDowntimeBps and jailed.
 */
function trackDowntime(ctx: ExecContext, signers: Address[]): void {
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
      slashAndJail(ctx, v, slashDowntimeBps)
      s.delete(MissedCodec, key)
    } else if (heights.length === 0) {
      if (before.length > 0) s.delete(MissedCodec, key)
    } else if (heights.length !== before.length || heights.some((x, i) => x !== before[i])) {
      s.set(MissedCodec, key, { heights })
    }
  }
}

/**
 * Genesis state (height 0): balances, validators with their self-stake and
 * the set for heights 1 and 2. Its root is nextStateRoot(sha256("attrchain/genesis/" ‖ genesisHash), writes).
 */
export function genesisState(store: StateStore, g: Genesis): { writes: WriteSet; stateRoot: Uint8Array } {
  const s = new BlockState(store)
  let supply = 0n
  for (const a of g.accounts) {
    s.set(AccountCodec, K.account(a.address), { balance: a.balance, nonce: 0 })
    supply += a.balance
  }
  for (const v of g.validators) {
    s.set(ValidatorCodec, K.validator(v.address), {
      address: v.address, pubKey: toHex(v.pubKey), moniker: v.moniker, commissionBps: v.commissionBps, selfStake: v.stake,
      delegated: 0n, jailed: false, jailedUntil: 0, pool: emptyPool(),
    })
    supply += v.stake
  }
  s.set(AddressListCodec, K.validatorIndex(), { items: g.validators.map((v) => v.address).sort() })
  s.set(ChainMetaCodec, K.meta(), { height: 0, datanets: 0, models: 0, supply, minted: 0n, burned: 0n })
  const set = computeValidatorSet(s, g.params)
  if (set.members.length === 0) throw new BlockError('BLOCK_ERROR_NO_VALIDATORS', 'genesis has no eligible validator')
  s.set(ValidatorSetCodec, K.validatorSet(1), set)
  s.set(ValidatorSetCodec, K.validatorSet(2), set)
  const writes = s.writeSet()
  const seed = sha256(utf8('attrchain/genesis/'), utf8(genesisHash(g)))
  return { writes, stateRoot: nextStateRoot(seed, writes) }
}
