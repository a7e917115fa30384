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
  AccountCodec, AddressListCodec, ChainMetaCodec, MarkerCodec, MissedCodec, StakeSnapshotCodec, UnbondingCodec, ValidatorCodec, ValidatorSetCodec,
  type StakeSnapshot, type UnbondingEntry, type Validator, type ValidatorSetRecord,
} from './entities.js'
import { emptyPool, creditPool } from './pool.js'
import { executeTx, getAccount, getMeta, addLedger, type ExecContext, type TxResult, type ReceiptRecord } from './execute.js'
import { computeValidatorSet, getValidatorSet, powerOf, totalPower } from './validatorSet.js'
import { recordCheckpoint, genesisCheckpoints } from './checkpoint.js'

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
  /**
   * hash and stateRoot of block height − 1's header: what a rollup checkpoint
   * of height − 1 records (state/checkpoint.ts); without it none is recorded
   */
  prev?: { blockHash: string; stateRoot: string }
}

export type SlashReason = 'doubleSign' | 'downtime'

/**
 * What a block did to validators, in execution order (evidence in block
 * order, then txs, then downtime by address, then set changes by address),
 * so that nodes can log and count punishments. Amounts in units.
 */
export type StakingEvent =
  | {
      kind: 'slash'; validator: Address; height: number; reason: SlashReason; infractionHeight: number
      /** everything burned: `bonded` + `unbonding` */
      amount: bigint; bonded: bigint; unbonding: bigint
      /** false when jailing would have emptied the validator set (the last validator is never jailed) */
      jailed: boolean
    }
  | { kind: 'jail'; validator: Address; height: number; reason: SlashReason; jailedUntil: number }
  | { kind: 'unjail'; validator: Address; height: number }
  | {
      kind: 'validatorSetChange'; validator: Address; height: number
      /** `height` is the block that made the change; it takes effect at `effectiveHeight` = height + 2 */
      effectiveHeight: number; power: bigint; previousPower: bigint
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
 * How many heights back evidence is accepted: evidence of height h may go
 * in blocks h + 1 … h + maxEvidenceAge. Older evidence is refused: the stake
 * bonded at h may have finished unbonding (Cosmos SDK: evidence older than
 * the unbonding period is refused). With evidence applied before the block
 * releases unbonding stake, every entry that was bonded at h (created at
 * h − 1 or later) is still held when the evidence arrives.
 */
export function maxEvidenceAge(params: Params): number {
  return Math.max(1, params.unbondingBlocks - 1)
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
 * Slash for an infraction at `infractionHeight` (Cosmos SDK x/staking
 * Slash): burn `bps` of the stake that was bonded, with voting power, at that
 * height, and jail. Stake bonded later (delegated or staked after
 * infractionHeight − 2, DESIGN §5) is not part of it. First every unbonding
 * entry of this validator's stake created at infractionHeight − 1 or later
 * (it still had power then) loses `bps` of its initial amount; the rest of
 * the target comes from the current self-stake and delegated stake, capped
 * at what is left. Self-stake and delegated stake are slashed each against
 * its own part at the infraction height; within the delegated stake every
 * share loses alike (delegations are shares, as in the Cosmos SDK).
 */
function slashAndJail(ctx: ExecContext, address: Address, infractionHeight: number, bps: number, reason: SlashReason, events: StakingEvent[]): void {
  const s = ctx.state
  const at = s.get(StakeSnapshotCodec, K.stakeSnapshot(infractionHeight))?.members.find((m) => m.address === address)
  const fraction = (x: bigint): bigint => (x * BigInt(bps)) / 10_000n
  const fromUnbonding = slashUnbonding(ctx, address, infractionHeight, bps)
  const v = s.get(ValidatorCodec, K.validator(address)) as Validator
  const target = (bondedThen: bigint, cutFromUnbonding: bigint): bigint => {
    const rest = fraction(bondedThen) - cutFromUnbonding
    return rest > 0n ? rest : 0n
  }
  const selfCut = min(target(at?.selfStake ?? 0n, fromUnbonding.self), v.selfStake)
  const delegatedCut = min(target(at?.delegated ?? 0n, fromUnbonding.delegated), v.delegated)
  const slashed = { ...v, selfStake: v.selfStake - selfCut, delegated: v.delegated - delegatedCut }
  const jailed = { ...slashed, jailed: true, jailedUntil: ctx.height + ctx.params.jailBlocks }
  s.set(ValidatorCodec, K.validator(address), jailed)
  // the last validator is never jailed: nobody could ever make the block that unjails it
  const keepsSet = v.jailed || computeValidatorSet(s, ctx.params).members.length > 0
  if (!keepsSet) s.set(ValidatorCodec, K.validator(address), slashed)
  const bonded = selfCut + delegatedCut
  const unbonding = fromUnbonding.self + fromUnbonding.delegated
  const burned = bonded + unbonding
  const m = getMeta(s)
  s.set(ChainMetaCodec, K.meta(), { ...m, supply: m.supply - burned, burned: m.burned + burned })
  events.push({ kind: 'slash', validator: address, height: ctx.height, reason, infractionHeight, amount: burned, bonded, unbonding, jailed: keepsSet })
  if (keepsSet) events.push({ kind: 'jail', validator: address, height: ctx.height, reason, jailedUntil: jailed.jailedUntil })
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

/**
 * Slash the unbonding entries of `validator`'s stake that were still bonded
 * at `infractionHeight` (created at infractionHeight − 1 or later): each
 * loses `bps` of its initial amount, capped at what it holds; an entry
 * slashed to 0 is removed. Entries are found through the release queues of
 * the heights they can release at (bounded by the evidence window).
 */
function slashUnbonding(ctx: ExecContext, validator: Address, infractionHeight: number, bps: number): { self: bigint; delegated: bigint } {
  const s = ctx.state
  const cut = { self: 0n, delegated: 0n }
  const U = ctx.params.unbondingBlocks
  const holders = new Set<Address>()
  for (let r = Math.max(infractionHeight - 1 + U, ctx.height); r <= ctx.height + U; r++) {
    for (const a of s.get(AddressListCodec, K.unbondingQueue(r))?.items ?? []) holders.add(a)
  }
  for (const a of [...holders].sort()) {
    const u = s.get(UnbondingCodec, K.unbonding(a))
    if (!u) continue
    let changed = false
    const entries: UnbondingEntry[] = []
    for (const e of u.entries) {
      if (e.validator !== validator || e.creationHeight < infractionHeight - 1) {
        entries.push(e)
        continue
      }
      const c = min((e.initialAmount * BigInt(bps)) / 10_000n, e.amount)
      if (c > 0n) changed = true
      if (e.fromDelegation) cut.delegated += c
      else cut.self += c
      if (e.amount - c > 0n) entries.push({ ...e, amount: e.amount - c })
    }
    if (!changed) continue
    if (entries.length === 0) s.delete(UnbondingCodec, K.unbonding(a))
    else s.set(UnbondingCodec, K.unbonding(a), { entries })
  }
  return cut
}

/**
 * Double-sign evidence (verified by consensus): slash and jail for the
 * stake bonded at the evidence height. Evidence outside the window
 * (maxEvidenceAge), of a height whose set did not hold the validator, or
 * against an unknown validator makes the block invalid; a second piece of
 * evidence for one (validator, height) changes nothing.
 */
function applyEvidence(ctx: ExecContext, ev: SlashEvidence, events: StakingEvent[]): void {
  const s = ctx.state
  const v = s.get(ValidatorCodec, K.validator(ev.validator))
  if (!v) throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence against unknown validator ${ev.validator}`)
  const age = ctx.height - ev.height
  if (age < 1 || age > maxEvidenceAge(ctx.params)) {
    throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `evidence of height ${ev.height} is outside the window of blocks ${ev.height + 1} … ${ev.height + maxEvidenceAge(ctx.params)}`)
  }
  const marker = K.evidence(ev.validator, ev.height)
  if (s.get(MarkerCodec, marker)) return
  const snapshot = s.get(StakeSnapshotCodec, K.stakeSnapshot(ev.height))
  if (!snapshot?.members.some((m) => m.address === ev.validator)) {
    throw new BlockError('BLOCK_ERROR_BAD_EVIDENCE', `${ev.validator} was not in the validator set of height ${ev.height}`)
  }
  s.set(MarkerCodec, marker, { height: ctx.height })
  slashAndJail(ctx, ev.validator, ev.height, ctx.params.slashDoubleSignBps, 'doubleSign', events)
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
function trackDowntime(ctx: ExecContext, signers: Address[], events: StakingEvent[]): void {
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
      slashAndJail(ctx, m.address, h, slashDowntimeBps, 'downtime', events)
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
