import { BlockError, InvariantError, invariant } from '../core/errors.js'
import { toHex, bytesEqual } from '../core/bytes.js'
import type { Address } from '../core/address.js'
import type { SignedTx } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import type { Genesis } from '../genesis/genesis.js'
import type { StateStore, WriteSet } from './store.js'
import type { StateTreeUpdate } from './stateTree.js'
import { BlockState } from './blockState.js'
import { CreditBook, type Distribution } from './distribution.js'
import { K } from './keys.js'
import {
  AccountCodec, AddressListCodec, ChainMetaCodec, StakeSnapshotCodec, UnbondingCodec, ValidatorCodec, ValidatorSetCodec,
  type StakeSnapshot, type Validator, type ValidatorSetRecord,
} from './entities.js'
import { emptyPool, creditPool } from './pool.js'
import { executeTx, getAccount, getMeta, addLedger, type ExecContext, type TxResult, type ReceiptRecord } from './execute.js'
import { computeValidatorSet, getValidatorSet, powerOf, totalPower } from './validatorSet.js'
import { recordCheckpoint, genesisCheckpoints } from './checkpoint.js'
import { applyEvidence, trackDowntime, maxEvidenceAge, type SlashEvidence, type StakingEvent } from './slashing.js'

export { maxEvidenceAge, type SlashEvidence, type SlashReason, type StakingEvent } from './slashing.js'

/** The chain's fixed configuration, from genesis. */
export interface ChainConfig {
  chainId: string
  params: Params
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
  /**
   * hash and stateRoot of block height − 1's header: what a rollup checkpoint
   * of height − 1 records (state/checkpoint.ts); without it none is recorded
   */
  prev?: { blockHash: string; stateRoot: string }
}

export interface BlockOutcome {
  writes: WriteSet
  /** state root v2 after the block: the root of the state tree with `writes` applied (README "State root") */
  stateRoot: Uint8Array
  /** the tree after the block and the nodes it created (stored with the block: ChainDb.commitBlock) */
  tree: StateTreeUpdate
  results: TxResult[]
  distribution: Distribution
  receipts: ReceiptRecord[]
  /** the set that will commit height + 2 (stake changes take effect there, DESIGN §5) */
  nextValidatorSet: ValidatorSetRecord
  /** slashes, jails, unjails and set changes of this block, deterministic order */
  events: StakingEvent[]
}

/**
 * Execute a block over `store` without modifying it (DESIGN §4, §5): begin
 * (unbonding releases, evidence), txs, end (validator rewards, distribution,
 * downtime, the set for height + 2). Returns the write set and the new state
 * root; the caller applies both atomically with the block. Throws BlockError
 * if the block cannot be applied; nothing is then written. The state root
 * (v2) is the root of `store.tree` with the writes applied; `prevRoot` must
 * be the store's current root (a caller whose head and state disagree is a
 * bug, caught here rather than as a wrong root in a header).
 */
export function executeBlock(store: StateStore, chain: ChainConfig, prevRoot: Uint8Array, input: BlockInput): BlockOutcome {
  const s = new BlockState(store)
  invariant(bytesEqual(prevRoot, store.tree.root), 'prevRoot is not the root of the state executed on', { height: input.height })
  const meta = getMeta(s)
  if (input.height !== meta.height + 1) throw new BlockError('BLOCK_ERROR_BAD_HEIGHT', `expected height ${meta.height + 1}, got ${input.height}`)
  const ctx: ExecContext = { chainId: chain.chainId, height: input.height, timeMs: input.timeMs, params: chain.params, state: s, credits: new CreditBook() }
  const events: StakingEvent[] = []

  // evidence first: unbonding stake released by this block is still slashable for what it was bonded for
  for (const ev of input.evidence) applyEvidence(ctx, ev, events)
  releaseUnbonding(ctx)
  if (input.prev) recordCheckpoint(s, chain.chainId, chain.params, input.height, input.prev)

  const results: TxResult[] = []
  input.txs.forEach((stx, i) => {
    let r: TxResult
    try {
      r = executeTx(ctx, stx)
    } catch (e) {
      if (e instanceof InvariantError) throw e
      throw new BlockError('BLOCK_ERROR_INVALID_TX', `tx ${i} (${stx.hash}) cannot be included: ${(e as Error).message}`, { index: i })
    }
    results.push(r)
    if (r.status === 'ok' && stx.tx.call.type === 'unjail') events.push({ kind: 'unjail', validator: stx.sender, height: input.height })
  })

  const minted = chain.params.blockReward
  distributeValidatorPool(ctx, ctx.credits.validatorPool + minted)
  const distribution: Distribution = { height: input.height, minted, entries: ctx.credits.entries() }
  applyCredits(ctx, distribution)
  if (input.lastCommitSigners) trackDowntime(ctx, input.lastCommitSigners, events)

  const nextValidatorSet = nextSet(ctx, events)
  if (input.height > 1) s.delete(ValidatorSetCodec, K.validatorSet(input.height - 1))
  const expired = input.height - maxEvidenceAge(chain.params)
  if (expired >= 1) s.delete(StakeSnapshotCodec, K.stakeSnapshot(expired))
  const m = getMeta(s)
  s.set(ChainMetaCodec, K.meta(), { ...m, height: input.height, supply: m.supply + minted, minted: m.minted + minted })

  const writes = s.writeSet()
  const tree = store.tree.update(writes)
  return {
    writes, stateRoot: tree.tree.root, tree, results, distribution,
    receipts: results.flatMap((r) => r.receipts), nextValidatorSet, events,
  }
}

/**
 * The set for height + 2 with its stake snapshot, and an event per member
 * whose power changes. The set is never empty: txs that would empty it fail
 * and the last validator is never jailed, but a slash may still take the
 * last validator's self-stake below minValidatorStake; then the set of
 * height + 1 carries over, since a chain without validators can never make
 * the block that would let one rejoin.
 */
function nextSet(ctx: ExecContext, events: StakingEvent[]): ValidatorSetRecord {
  const s = ctx.state
  const h = ctx.height
  const prev = getValidatorSet(s, h + 1)
  let next = computeValidatorSet(s, ctx.params)
  let snapshot: StakeSnapshot
  if (next.members.length === 0 && prev && prev.members.length > 0) {
    next = prev
    snapshot = s.get(StakeSnapshotCodec, K.stakeSnapshot(h + 1)) ?? { members: [] }
  } else {
    snapshot = { members: next.members.map((m) => {
      const v = s.get(ValidatorCodec, K.validator(m.address)) as Validator
      return { address: m.address, selfStake: v.selfStake, delegated: v.delegated }
    }) }
  }
  s.set(ValidatorSetCodec, K.validatorSet(h + 2), next)
  s.set(StakeSnapshotCodec, K.stakeSnapshot(h + 2), snapshot)
  const before = new Map((prev?.members ?? []).map((m) => [m.address, m.power]))
  const after = new Map(next.members.map((m) => [m.address, m.power]))
  const addresses = [...new Set([...before.keys(), ...after.keys()])].sort()
  for (const a of addresses) {
    const power = after.get(a) ?? 0n
    const previousPower = before.get(a) ?? 0n
    if (power !== previousPower) events.push({ kind: 'validatorSetChange', validator: a, height: h, effectiveHeight: h + 2, power, previousPower })
  }
  return next
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
 * Genesis state (height 0): balances, validators with their self-stake and
 * the set for heights 1 and 2. Its root is the state tree's root over these
 * writes (state root v2; `store` is empty).
 */
export function genesisState(store: StateStore, g: Genesis): { writes: WriteSet; stateRoot: Uint8Array; tree: StateTreeUpdate } {
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
  const snapshot = { members: set.members.map((m) => ({ address: m.address, selfStake: m.power, delegated: 0n })) }
  s.set(StakeSnapshotCodec, K.stakeSnapshot(1), snapshot)
  s.set(StakeSnapshotCodec, K.stakeSnapshot(2), snapshot)
  genesisCheckpoints(s, g.params, g.validators.map((v) => ({ validator: v.address, ethAddress: v.checkpointAddress })))
  const writes = s.writeSet()
  const tree = store.tree.update(writes)
  return { writes, stateRoot: tree.tree.root, tree }
}
