import { encode, decode, type Encodable } from '../core/codec.js'
import { formatAmount } from '../core/amount.js'
import { RpcError, RpcErrorCode } from '../rpc/errors.js'
import { amount, arr, corrupt as corruptRecord, decodeRecord, uint } from './db/record.js'
import { NodeError } from './errors.js'
import type { SignedTx } from '../core/tx.js'
import { LedgerCodec, fromBytes, type BlockOutcome, type StateStore } from '../state/index.js'
import { EarningsRanking, EMPTY_CONCENTRATION, concentrationRatios, type Concentration, type ConcentrationRatios } from './earningsRanking.js'

/**
 * Flow statistics as chain data (issue 16): for every committed block one
 * record, written in the block's atomic batch, holding what the block did
 * (receipts, fees, amount and payees per distribution role, new Datanets,
 * contributions and models), the running totals of the same since genesis,
 * and the concentration of contributor earnings after the block.
 *
 * Running totals make any window a difference of two records, so a query
 * of B buckets reads B + 1 records whatever the window's length: no scan of
 * history at query time. Building a record is constant work in the length
 * of history: one pass over the block's txs, distribution and ledger writes,
 * plus O(log n) per contributor whose earnings changed (EarningsRanking; a
block changing at least 1/16 of them rebuilds the ranking, O(n log n)).
 *
 * This is node-side bookkeeping derived from the block outcome, not state:
 * it is not part of the state root, and every node computes the same
 * records from the same blocks.
 */

/** What a block (or a window: a difference of running totals) did. Amounts in units. */
export interface FlowCounts {
  txs: number
  failedTxs: number
  receipts: number
  /** Σ fee of the receipts */
  receiptFees: bigint
  /** Σ fee of the txs (every tx pays it, failed or not) */
  txFees: bigint
  /** the block reward minted */
  minted: bigint
  /** registerDatanet / contribute / registerModel txs that succeeded */
  datanets: number
  contributions: number
  models: number
  /** reviewContribution txs that succeeded, by verdict */
  accepted: number
  rejected: number
  /**
   * per distribution role: the amount credited and the payees (distinct
   * addresses in the block's distribution; over a window, the sum of the
   * per-block counts: how many times that role was paid)
   */
  roles: Record<string, { amount: bigint; payees: number }>
}

export interface FlowRecord {
  height: number
  timeMs: number
  block: FlowCounts
  /** running totals from genesis through this block */
  total: FlowCounts
  /** contributor earnings (the attribution ledger's `contributor` role) of every address, after this block */
  contributors: Concentration
}

export const FLOW_RECORD_VERSION = 1

export function emptyCounts(): FlowCounts {
  return { txs: 0, failedTxs: 0, receipts: 0, receiptFees: 0n, txFees: 0n, minted: 0n, datanets: 0, contributions: 0, models: 0, accepted: 0, rejected: 0, roles: {} }
}

/** The record standing for genesis (height 0): nothing flowed yet. */
export function genesisRecord(timeMs: number, contributors: Concentration = EMPTY_CONCENTRATION): FlowRecord {
  return { height: 0, timeMs, block: emptyCounts(), total: emptyCounts(), contributors }
}

const NUMERIC = ['txs', 'failedTxs', 'receipts', 'datanets', 'contributions', 'models', 'accepted', 'rejected'] as const
const AMOUNTS = ['receiptFees', 'txFees', 'minted'] as const

export function addCounts(a: FlowCounts, b: FlowCounts, sign: 1 | -1 = 1): FlowCounts {
  const out = emptyCounts()
  for (const k of NUMERIC) out[k] = a[k] + sign * b[k]
  for (const k of AMOUNTS) out[k] = sign === 1 ? a[k] + b[k] : a[k] - b[k]
  for (const role of new Set([...Object.keys(a.roles), ...Object.keys(b.roles)])) {
    const x = a.roles[role] ?? { amount: 0n, payees: 0 }
    const y = b.roles[role] ?? { amount: 0n, payees: 0 }
    out.roles[role] = { amount: sign === 1 ? x.amount + y.amount : x.amount - y.amount, payees: x.payees + sign * y.payees }
  }
  return out
}

/** Σ of every role's amount: everything the distribution credited (fees and the minted reward). */
export function distributed(c: FlowCounts): bigint {
  let s = 0n
  for (const r of Object.values(c.roles)) s += r.amount
  return s
}

/** What one block did, from its txs and execution outcome. */
export function countBlock(txs: readonly SignedTx[], outcome: Pick<BlockOutcome, 'results' | 'receipts' | 'distribution'>): FlowCounts {
  const c = emptyCounts()
  c.txs = txs.length
  c.minted = outcome.distribution.minted
  txs.forEach((stx, i) => {
    c.txFees += stx.tx.fee
    const ok = outcome.results[i]?.status === 'ok'
    if (!ok) {
      c.failedTxs++
      return
    }
    const call = stx.tx.call
    switch (call.type) {
      case 'registerDatanet': c.datanets++; break
      case 'contribute': c.contributions++; break
      case 'registerModel': c.models++; break
      case 'reviewContribution': if (call.accept) c.accepted++; else c.rejected++; break
      default: break
    }
  })
  c.receipts = outcome.receipts.length
  for (const r of outcome.receipts) c.receiptFees += r.receipt.fee
  for (const e of outcome.distribution.entries) {
    const r = (c.roles[e.role] ??= { amount: 0n, payees: 0 })
    r.amount += e.amount
    r.payees++
  }
  return c
}

const LEDGER_PREFIX = 'ledger/'

/**
 * Contributor totals the block's ledger writes set: [address, new total].
 * The bytes are the ones this process's executeBlock just encoded, so the
 * canonical re-encoding check of `fromBytes` is skipped (it was ≈ 20 µs
 * per ledger entry, 20 ms for a block paying 1000 contributors).
 */
export function contributorChanges(writes: BlockOutcome['writes']): [string, bigint][] {
  const out: [string, bigint][] = []
  for (const [key, value] of writes) {
    if (!key.startsWith(LEDGER_PREFIX)) continue
    const address = key.slice(LEDGER_PREFIX.length)
    out.push([address, value === null ? 0n : LedgerCodec.decode(decode(value, value.length, { canonical: false, copyBins: false })).contributor])
  }
  return out
}

// ---------------------------------------------------------------- encoding

function encodeCounts(c: FlowCounts): Encodable[] {
  const roles = Object.keys(c.roles).sort().map((role) => [role, formatAmount(c.roles[role].amount), c.roles[role].payees])
  return [...NUMERIC.map((k) => c[k]), ...AMOUNTS.map((k) => formatAmount(c[k])), roles]
}

/** The record name in DB_ERROR_CORRUPT (db/record.ts), the bucket's. */
const RECORD = 'flowStats'
const num = (v: Encodable): number => uint(v, RECORD)
const amt = (v: Encodable): bigint => amount(v, RECORD)
const list = (v: Encodable, len?: number): readonly Encodable[] => arr(v, RECORD, len)
function corrupt(why: string): never {
  return corruptRecord(RECORD, why)
}

function decodeCounts(v: Encodable): FlowCounts {
  const a = list(v, NUMERIC.length + AMOUNTS.length + 1)
  const c = emptyCounts()
  NUMERIC.forEach((k, i) => { c[k] = num(a[i]) })
  AMOUNTS.forEach((k, i) => { c[k] = amt(a[NUMERIC.length + i]) })
  for (const r of list(a[a.length - 1])) {
    const [role, amount, payees] = list(r, 3)
    if (typeof role !== 'string') corrupt('role is not a string')
    c.roles[role] = { amount: amt(amount), payees: num(payees) }
  }
  return c
}

/** [version, height, timeMs, block, total, [count, sum, weighted, top10, bottom50]] (canonical codec; amounts as decimal strings). */
export function encodeFlowRecord(r: FlowRecord): Uint8Array {
  const k = r.contributors
  return encode([
    FLOW_RECORD_VERSION, r.height, r.timeMs, encodeCounts(r.block), encodeCounts(r.total),
    [k.count, formatAmount(k.sum), formatAmount(k.weighted), formatAmount(k.top10), formatAmount(k.bottom50)],
  ])
}

export function decodeFlowRecord(bytes: Uint8Array): FlowRecord {
  const a = decodeRecord(bytes, RECORD, 6)
  if (a[0] !== FLOW_RECORD_VERSION) corrupt(`unknown version ${String(a[0])}`)
  const k = list(a[5], 5)
  return {
    height: num(a[1]), timeMs: num(a[2]), block: decodeCounts(a[3]), total: decodeCounts(a[4]),
    contributors: { count: num(k[0]), sum: amt(k[1]), weighted: amt(k[2]), top10: amt(k[3]), bottom50: amt(k[4]) },
  }
}

// ---------------------------------------------------------------- the aggregator

/** A record built for a block and not yet known to be stored. */
export interface PendingFlow {
  record: FlowRecord
  bytes: Uint8Array
  /** contributor totals before the block, to undo the ranking if the write fails */
  undo: [string, bigint][]
}

/**
 * Builds each block's record from the previous one. Holds the last record
 * and the ranking of contributor earnings in memory; both are rebuilt at
 * open (the last record from storage, the ranking from the ledger in state).
 */
export class FlowAggregator {
  private lastRecord: FlowRecord
  readonly ranking: EarningsRanking

  constructor(last: FlowRecord, ranking: EarningsRanking) {
    this.lastRecord = last
    this.ranking = ranking
  }

  /** The ranking of contributor earnings held in a state store (the ledger's `contributor` role). */
  static rankingOf(state: StateStore): EarningsRanking {
    const ranking = new EarningsRanking()
    for (const [key, value] of state.iteratePrefix(LEDGER_PREFIX)) ranking.set(key.slice(LEDGER_PREFIX.length), fromBytes(LedgerCodec, value).contributor)
    return ranking
  }

  get last(): FlowRecord {
    return this.lastRecord
  }

  /**
   * The record of the block after the last one. Updates the ranking at
   * once; call `stored` once the record is durable with its block, or
   * `discard` if the write failed.
   */
  prepare(height: number, timeMs: number, txs: readonly SignedTx[], outcome: Pick<BlockOutcome, 'results' | 'receipts' | 'distribution' | 'writes'>): PendingFlow {
    if (height !== this.lastRecord.height + 1) {
      throw new NodeError('FLOW_ERROR_BAD_HEIGHT', `flow statistics are at height ${this.lastRecord.height}; cannot add block ${height}`, { height })
    }
    const block = countBlock(txs, outcome)
    const changes = contributorChanges(outcome.writes)
    const undo: [string, bigint][] = changes.map(([address]) => [address, this.ranking.get(address)])
    this.ranking.setMany(changes)
    const record: FlowRecord = { height, timeMs, block, total: addCounts(this.lastRecord.total, block), contributors: this.ranking.concentration() }
    return { record, bytes: encodeFlowRecord(record), undo }
  }

  stored(p: PendingFlow): void {
    this.lastRecord = p.record
  }

  discard(p: PendingFlow): void {
    // each address once in a block's writes, so the order of the undo does not matter
    this.ranking.setMany(p.undo)
  }
}

// ---------------------------------------------------------------- stats_flow

/** `stats_flow` options; heights inclusive. */
export interface FlowQuery {
  fromHeight?: number
  toHeight?: number
  buckets?: number
}

/** Default window: the last 100 blocks; default and maximum number of buckets. */
export const FLOW_DEFAULT_WINDOW = 100
export const FLOW_DEFAULT_BUCKETS = 50
export const FLOW_MAX_BUCKETS = 1000

/** The records at given heights (the genesis record for 0); the caller reads them from storage. */
export type FlowRecordSource = (heights: number[]) => Promise<FlowRecord[]>

export interface FlowWindowJson {
  fromHeight: number
  toHeight: number
  startTimeMs: number
  endTimeMs: number
  seconds: number
  blocks: number
  txs: number
  failedTxs: number
  receipts: number
  receiptsPerSecond: number
  receiptFees: string
  feesPerSecond: string
  txFees: string
  minted: string
  distributed: string
  datanets: number
  contributions: number
  accepted: number
  rejected: number
  models: number
  byRole: Record<string, { amount: string; payees: number }>
  /** times contributors were paid (Σ over blocks of distinct contributors in the distribution) */
  contributorPayments: number
  /** contributor earnings at the window's end: how many earn, their total, and its concentration */
  contributors: { count: number; earned: string; newEarners: number } & ConcentrationRatios
}

export interface FlowStatsJson {
  head: number
  fromHeight: number
  toHeight: number
  series: FlowWindowJson[]
  summary: FlowWindowJson
}

function perSecond(n: number, seconds: number): number {
  return seconds > 0 ? Math.round((n / seconds) * 1000) / 1000 : 0
}

/** Window from `before` (the record just before it) to `end`. */
export function windowJson(before: FlowRecord, end: FlowRecord): FlowWindowJson {
  const c = addCounts(end.total, before.total, -1)
  const ms = end.timeMs - before.timeMs
  const seconds = ms / 1000
  const byRole: FlowWindowJson['byRole'] = {}
  for (const role of Object.keys(c.roles).sort()) {
    if (c.roles[role].amount !== 0n || c.roles[role].payees !== 0) byRole[role] = { amount: formatAmount(c.roles[role].amount), payees: c.roles[role].payees }
  }
  // fees per second in units, integer (money stays exact: floor of fees·1000/ms)
  const feesPerSecond = ms > 0 ? (c.receiptFees * 1000n) / BigInt(ms) : 0n
  return {
    fromHeight: before.height + 1, toHeight: end.height, startTimeMs: before.timeMs, endTimeMs: end.timeMs, seconds, blocks: end.height - before.height,
    txs: c.txs, failedTxs: c.failedTxs, receipts: c.receipts, receiptsPerSecond: perSecond(c.receipts, seconds),
    receiptFees: formatAmount(c.receiptFees), feesPerSecond: formatAmount(feesPerSecond), txFees: formatAmount(c.txFees), minted: formatAmount(c.minted),
    distributed: formatAmount(distributed(c)), datanets: c.datanets, contributions: c.contributions, accepted: c.accepted, rejected: c.rejected, models: c.models,
    byRole, contributorPayments: c.roles.contributor?.payees ?? 0,
    contributors: {
      count: end.contributors.count, earned: formatAmount(end.contributors.sum), newEarners: end.contributors.count - before.contributors.count,
      ...concentrationRatios(end.contributors),
    },
  }
}

/**
 * Resolve a query against the head: `toHeight` defaults to (and is capped
 * at) the head, `fromHeight` to the last FLOW_DEFAULT_WINDOW blocks,
 * `buckets` to min(FLOW_DEFAULT_BUCKETS, blocks). A bad range throws
 * RPC_ERROR_INVALID_PARAMS (-32602 over JSON-RPC) saying why.
 */
export function resolveFlowQuery(q: FlowQuery, head: number): { from: number; to: number; buckets: number } {
  const bad = (why: string): never => { throw new RpcError(RpcErrorCode.invalidParams, why, { head }) }
  if (head < 1) bad('no block committed yet')
  const to = Math.min(q.toHeight ?? head, head)
  if (to < 1) bad(`toHeight ${q.toHeight} is below 1`)
  const from = q.fromHeight ?? Math.max(1, to - FLOW_DEFAULT_WINDOW + 1)
  if (from < 1) bad(`fromHeight ${from} is below 1`)
  if (from > to) bad(`fromHeight ${from} is after toHeight ${to} (head ${head})`)
  const blocks = to - from + 1
  if (q.buckets !== undefined && (q.buckets < 1 || q.buckets > FLOW_MAX_BUCKETS)) bad(`buckets must be 1 … ${FLOW_MAX_BUCKETS}`)
  return { from, to, buckets: Math.min(q.buckets ?? FLOW_DEFAULT_BUCKETS, blocks) }
}

/**
 * `stats_flow`: the window split into `buckets` consecutive runs of blocks
 * (as equal as integers allow, the longer ones first) and the window's
 * summary. Reads buckets + 1 records.
 */
export async function flowStats(q: FlowQuery, head: number, read: FlowRecordSource): Promise<FlowStatsJson> {
  const { from, to, buckets } = resolveFlowQuery(q, head)
  const blocks = to - from + 1
  const ends: number[] = []
  const base = Math.floor(blocks / buckets)
  const extra = blocks % buckets
  let h = from - 1
  for (let i = 0; i < buckets; i++) {
    h += base + (i < extra ? 1 : 0)
    ends.push(h)
  }
  const records = await read([from - 1, ...ends])
  const series = ends.map((_, i) => windowJson(records[i], records[i + 1]))
  return { head, fromHeight: from, toHeight: to, series, summary: windowJson(records[0], records[records.length - 1]) }
}
