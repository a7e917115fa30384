// Why this file passes 400 lines (issue 14): it is one scenario, the
// open-loop overload bench (flooding operators, the case runner and its
// figures); the shared load-generation parts are in load.ts.
import { toHex } from '../core/bytes.js'
import { signTx } from '../core/tx.js'
import type { KeyPair } from '../core/keys.js'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../genesis/devnet.js'
import type { Genesis } from '../genesis/genesis.js'
import { defaultNodeConfig } from '../node/config.js'
import { defaultMempoolOptions } from '../node/mempool.js'
import { AttrchainClient, RpcRequestError, TxSender, registerModel } from '../rpc/index.js'
import { FloodConnection } from './floodTransport.js'
import { startCluster, type BenchNode } from './cluster.js'
import {
  CommitTracker, FIRST_OPERATOR_ACCOUNT, MODEL_MIN_FEE, RPC_MAX_BATCH, RPC_MAX_BODY_HEX, receiptsCall, setupWorkload, sortSendReplies,
  type CommitListener, type Workload,
} from './load.js'
import { presign, signJob, txSendRequest, type FloodTx, type SignJob } from './presign.js'
import type { BenchOptions } from './scenarios.js'
import { probeOf } from './scenarios.js'
import { log, nowMs, percentile, plain, round, sleep } from './util.js'

/**
 * The open-loop overload scenario of issue 10: the DEFAULT devnet (the
 * node's default block time, default consensus timeouts, default genesis
 * params) flooded by operators pushing signed `submitReceipts` txs as fast
 * as the nodes accept them, for a fixed window. Unlike the closed-loop
 * scenarios, nothing bounds what an operator has in flight but the node:
 * each operator keeps ONE JSON-RPC batch request in flight at all times and,
 * after a refusal, sends again from the refused nonce.
 */

/** Pause of an operator after a batch with refusals (the node said "not now"; an instant resend would only spin the harness). */
const REFUSAL_PAUSE_MS = 50
/** Pause after a transport error (timeout, connection refused). */
const TRANSPORT_PAUSE_MS = 200
/**
 * A node may drop a tx it took (the mempool evicts or expires txs queued
 * behind a nonce gap), so an operator told MEMPOOL_ERROR_NONCE_TOO_FAR
 * (its window is full) sends again everything from the account nonce the
 * node reports; at most this often, so that a full window is not resent on
 * every refusal. Txs still held come back DUPLICATE / NONCE_TAKEN.
 */
const REWIND_EVERY_MS = 2_000
/** Per-request timeout of the operators' clients: the flood's end waits at most this for the requests in flight. */
const FLOOD_RPC_TIMEOUT_MS = 30_000

export interface FloodStats {
  /** HTTP requests (JSON-RPC batches) sent */
  requests: number
  /** round trip of each answered request, ms */
  requestMs: number[]
  /** `tx_send` ok replies (a tx resent after a rewind and taken again counts again) */
  accepted: number
  /** txs answered DUPLICATE / NONCE_TAKEN: held already, not sent again */
  held: number
  /** refused txs by reason (a tx refused three times counts three) */
  refused: Record<string, number>
  /** txs refused as invalid (TX_ERROR_*): not sent again */
  dropped: number
  /** batches refused as a whole (counted in `refused` per tx too) */
  batchesRefusedWhole: number
  transportErrors: number
  /** resends from the account nonce after NONCE_TOO_FAR (see REWIND_EVERY_MS) */
  rewinds: number
  /** SendOutcome.acceptedAfterRefusal summed: 0 unless a node takes a later nonce after refusing an earlier one */
  acceptedAfterRefusal: number
}

/** One operator: its pre-signed txs in nonce order, the refused ones to send again first. */
class FloodOperator implements CommitListener {
  private stock: FloodTx[]
  private at = 0
  private retry: FloodTx[] = []
  /** txs signed on the harness's main thread because the pre-signed stock ran out */
  signedLive = 0
  private lastRewindMs = -Infinity

  /** `origin`: the validator address of the node `connection` talks to (CommitTracker.latenciesByProposerMs) */
  constructor(readonly key: KeyPair, readonly connection: FloodConnection, readonly origin: string, stock: FloodTx[], private readonly job: SignJob) {
    this.stock = stock
  }

  get receiptsPerTx(): number {
    return this.job.receiptsPerTx
  }

  /** Open loop: a commit frees nothing. */
  onCommitted(): void {}

  /** The next batch: refused txs first (lowest nonce first), then fresh ones, within the node's batch and body limits. */
  take(): FloodTx[] {
    const out: FloodTx[] = []
    let bytes = 0
    while (out.length < RPC_MAX_BATCH) {
      const tx = this.retry[0] ?? this.fresh()
      if (out.length > 0 && bytes + tx.request.length > RPC_MAX_BODY_HEX) break
      if (this.retry.length > 0) this.retry.shift()
      else this.at++
      out.push(tx)
      bytes += tx.request.length
    }
    return out
  }

  private fresh(): FloodTx {
    if (this.at < this.stock.length) return this.stock[this.at]
    const nonce = this.stock.length > 0 ? this.stock[this.stock.length - 1].nonce + 1 : this.job.firstNonce
    const stx = signTx({ chainId: this.job.chainId, nonce, fee: BigInt(this.job.fee), call: receiptsCall(this.job.workload, this.key, this.job.receiptsPerTx) }, this.key)
    this.signedLive++
    this.stock.push({ request: txSendRequest(stx.bytes, nonce), hash: stx.hash, nonce })
    return this.stock[this.at]
  }

  requeue(txs: FloodTx[]): void {
    this.retry.push(...txs)
    this.retry.sort((a, b) => a.nonce - b.nonce)
  }

  /** Send again every tx already sent from `accountNonce` on (REWIND_EVERY_MS apart at most); true when it did. */
  rewind(accountNonce: number): boolean {
    const now = nowMs()
    if (now - this.lastRewindMs < REWIND_EVERY_MS) return false
    this.lastRewindMs = now
    const first = this.stock[0]?.nonce ?? this.job.firstNonce
    const queued = new Set(this.retry.map((tx) => tx.nonce))
    this.requeue(this.stock.slice(Math.max(0, accountNonce - first), this.at).filter((tx) => !queued.has(tx.nonce)))
    return true
  }
}

/**
 * Send one batch; returns whether anything was refused (the caller pauses
 * then: REFUSAL_PAUSE_MS, or the node's `retryAfterMs` up to 1 s when it
 * named one, as an operator honouring Retry-After would).
 */
async function sendBatch(op: FloodOperator, txs: FloodTx[], tracker: CommitTracker, stats: FloodStats): Promise<'ok' | 'refused' | 'transport' | number> {
  const submittedMs = nowMs()
  // A tx sent again while still pending keeps the time of the request that was first accepted.
  for (const tx of txs) if (!tracker.isPending(tx.hash)) tracker.track(tx.hash, { op, submittedMs, receipts: op.receiptsPerTx, measured: true, origin: op.origin, awaitsAnswer: true })
  stats.requests++
  let replies
  try {
    replies = await op.connection.batch(txs.map((tx) => tx.request), txs.map((tx) => tx.nonce), 'tx_send')
    stats.requestMs.push(nowMs() - submittedMs)
  } catch (e) {
    for (const tx of txs) tracker.forget(tx.hash)
    op.requeue(txs)
    if (e instanceof RpcRequestError) {
      const reason = e.reason ?? `code ${e.code}`
      stats.batchesRefusedWhole++
      stats.refused[reason] = (stats.refused[reason] ?? 0) + txs.length
      // a body refused unread (MEMPOOL_ERROR_FULL) names when to come back, as a per-tx refusal does
      const hint = (e.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs
      return typeof hint === 'number' && hint > REFUSAL_PAUSE_MS ? Math.min(hint, 1000) : 'refused'
    }
    stats.transportErrors++
    if (stats.transportErrors <= 3) log(`  transport error (batch sent again): ${(e as Error).message}`)
    return 'transport'
  }
  const answeredMs = nowMs()
  replies.forEach((r, i) => { if (r.ok) tracker.answered(txs[i].hash, answeredMs) })
  const out = sortSendReplies(txs, replies)
  stats.acceptedAfterRefusal += out.acceptedAfterRefusal
  stats.accepted += out.accepted
  stats.held += out.held.length
  for (const [reason, n] of Object.entries(out.refused)) stats.refused[reason] = (stats.refused[reason] ?? 0) + n
  for (const tx of [...out.again, ...out.dropped.map((d) => d.tx)]) tracker.forget(tx.hash)
  // A refusal about the tx itself will not change; any other (mempool full, nonce too far, busy) is "later".
  for (const d of out.dropped) {
    stats.dropped++
    if (stats.dropped <= 3) log(`  tx refused as invalid (${d.reason}): ${d.message}`)
  }
  const { again, accountNonce } = out
  if (again.length === 0) return 'ok'
  op.requeue(again)
  if (accountNonce !== null && op.rewind(accountNonce)) stats.rewinds++
  return out.retryAfterMs > REFUSAL_PAUSE_MS ? Math.min(out.retryAfterMs, 1000) : 'refused'
}

interface Flood {
  stats: FloodStats
  /** stop sending; resolves when the requests in flight have answered (at most FLOOD_RPC_TIMEOUT_MS) */
  stop(): Promise<void>
}

/** Every operator keeps one batch request in flight until `stop()`. */
function startFlood(ops: FloodOperator[], tracker: CommitTracker): Flood {
  const stats: FloodStats = { requests: 0, requestMs: [], accepted: 0, held: 0, refused: {}, dropped: 0, batchesRefusedWhole: 0, transportErrors: 0, rewinds: 0, acceptedAfterRefusal: 0 }
  let running = true
  const loops = ops.map(async (op) => {
    while (running) {
      const outcome = await sendBatch(op, op.take(), tracker, stats)
      if (outcome === 'refused') await sleep(REFUSAL_PAUSE_MS)
      else if (outcome === 'transport') await sleep(TRANSPORT_PAUSE_MS)
      else if (typeof outcome === 'number') await sleep(outcome)
    }
  })
  return {
    stats,
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

/**
 * Highest receipts/s the chain could commit under `genesis`'s block caps at
 * one block per `blockTimeMs` (a height starts `blockTimeMs` after the
 * previous commit, so blocks are never closer): the pre-signed stock covers
 * this rate over the window, plus what the mempools can hold.
 */
function ceilingReceiptsPerSec(genesis: Genesis, receiptsPerTx: number, txBytes: number, blockTimeMs: number): number {
  const p = genesis.params
  const txsPerBlock = Math.min(p.maxBlockTxs, Math.floor(p.maxBlockBytes / txBytes), Math.floor((p.maxBlockReceipts ?? Infinity) / receiptsPerTx))
  return (txsPerBlock * receiptsPerTx * 1000) / Math.max(1, blockTimeMs)
}

/**
 * Txs one operator can have held by a node beyond the committed ones: the
 * future-nonce window, or the whole mempool if smaller. Not an equal share:
 * under a flood the mempool is first come, first served, and one operator
 * may hold far more than 1 / operators of it (a run with equal shares ran
 * out of stock).
 */
function mempoolSlackPerOperator(txBytes: number): number {
  const m = defaultMempoolOptions
  return Math.min(m.maxFutureNonces, m.maxTxs, Math.ceil(m.maxBytes / txBytes))
}

/** Cap on the bytes of the pre-signed txs' requests of one case (the harness's memory); past it the operators sign on the fly, counted in `signedLiveInWindow`. */
const PRESIGN_BUDGET_BYTES = 1.5e9

/** p50 / p99 / max of samples, ms. */
function spread(samples: number[]): Record<string, number | null> {
  const r = (p: number): number | null => {
    const x = percentile(samples, p)
    return x === null ? null : round(x)
  }
  return { p50: r(50), p99: r(99), max: r(100), samples: samples.length }
}

/** Block intervals (first announcement on any node) of the blocks announced in [from, to]; the open gap before `to` counts toward the max. */
function blockIntervals(tracker: CommitTracker, fromMs: number, toMs: number): Record<string, number | null> {
  const times = tracker.blocks.map((b) => b.atMs).sort((a, b) => a - b)
  const before = times.filter((t) => t < fromMs).at(-1)
  const inside = times.filter((t) => t >= fromMs && t <= toMs)
  const intervals: number[] = []
  let prev = before ?? null
  for (const t of inside) {
    if (prev !== null) intervals.push(t - prev)
    prev = t
  }
  const trailingGapMs = toMs - (prev ?? fromMs)
  const max = Math.max(trailingGapMs, ...intervals)
  const r = (x: number | null): number | null => (x === null ? null : round(x))
  return { p50: r(percentile(intervals, 50)), p99: r(percentile(intervals, 99)), max: r(max), samples: intervals.length, trailingGapMs: r(trailingGapMs) }
}

/**
 * Rounds each height of `heights` needed (commit round + 1), read from
 * whichever node has its commit; and `precommits`: how many validators'
 * precommits those commits carry (mean, min; the canonical commit of a
 * height is the one the next block carries, so a validator missing from it
 * was counted absent for that height).
 */
async function roundsPerHeight(nodes: BenchNode[], heights: number[]): Promise<Record<string, number | null | Record<string, number | null>>> {
  const rounds: number[] = []
  const signatures: number[] = []
  const clients = nodes.map((n) => new AttrchainClient(n.url, { timeoutMs: 15_000 }))
  try {
    for (let i = 0; i < heights.length; i += RPC_MAX_BATCH) {
      const chunk = heights.slice(i, i + RPC_MAX_BATCH)
      let missing = chunk
      for (const c of clients) {
        if (missing.length === 0) break
        const replies = await c.transport.batch(missing.map((h) => ({ method: 'chain_getCommit', params: [h] }))).catch(() => null)
        if (!replies) continue
        const still: number[] = []
        replies.forEach((r, k) => {
          const commit = r.ok ? (r.result as { round: number; signatures: unknown[] } | null) : null
          if (commit) {
            rounds.push(commit.round + 1)
            signatures.push(commit.signatures.length)
          }
          else still.push(missing[k])
        })
        missing = still
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()))
  }
  const mean = rounds.length > 0 ? rounds.reduce((s, x) => s + x, 0) / rounds.length : null
  const precommits = signatures.length > 0 ? { mean: round(signatures.reduce((s, x) => s + x, 0) / signatures.length, 2), min: Math.min(...signatures) } : { mean: null, min: null }
  return { mean: mean === null ? null : round(mean, 2), max: rounds.length > 0 ? Math.max(...rounds) : null, heights: rounds.length, precommits }
}

/** Each operator registers its own model over the Datanet (one block, all in parallel). */
async function registerModels(clients: AttrchainClient[], keys: KeyPair[], w: Workload): Promise<Workload[]> {
  return Promise.all(keys.map(async (key, i) => {
    const r = await new TxSender(clients[i % clients.length], key).send(registerModel(`flood-model-${i}`, 'llama-3-8b', [[w.datanetId, 1]], MODEL_MIN_FEE), { wait: 'commit' })
    if (r.status !== 'ok') throw new Error(`registerModel of operator ${i} failed: ${JSON.stringify(r.error)}`)
    return { ...w, modelId: r.hash }
  }))
}

/**
 * What each node counted over the whole case (since start): its tx_send and
 * gossip refusals by limit (attrchain_tx_refused_total), the tx_send
 * bodies it refused unread (attrchain_rpc_refused_total{reason="tx_intake"}), txs re-broadcast,
 * nonce gaps repaired from peers (attrchain_tx_gap_repairs_total),
 * the txs left in its mempool, its blocks' processing times and how long
 * proposals and votes waited at its consensus driver — where the flood's
 * refusals and its latency tail come from.
 */
async function nodeCounters(n: BenchNode): Promise<Record<string, unknown>> {
  // one /metrics snapshot for every figure (it was one fetch per figure, 22 in all)
  const snapshot = await n.metrics()
  const refused: Record<string, number> = {}
  for (const limit of ['txs', 'bytes', 'queued', 'sender_queued', 'verifier', 'event_loop', 'rate', 'backlog']) {
    for (const source of ['rpc', 'gossip']) {
      const v = snapshot('attrchain_tx_refused_total', { reason: limit, source })
      if (v > 0) refused[`${source}.${limit}`] = v
    }
  }
  // whole tx_send bodies refused unread (RpcServerModules.shedBody): bodies, not txs
  const bodiesRefusedUnread = snapshot('attrchain_rpc_refused_total', { reason: 'tx_intake' })
  const gossipTxs: Record<string, number> = {}
  for (const result of ['accepted', 'ignored', 'rejected']) gossipTxs[result] = snapshot('attrchain_gossip_messages_total', { topic: 'txs', result })
  // per stage: blocks, mean ms, and how many took over 0.5 s and 1 s
  const blockProcessing: Record<string, Record<string, number>> = {}
  for (const stage of ['build', 'validate', 'commit']) {
    blockProcessing[stage] = histogramFigures(snapshot, 'attrchain_block_processing_seconds', { stage }, 'blocks', [['over500ms', '0.5'], ['over1s', '1']])
  }
  // per kind (proposal, vote): messages, mean ms, and how many waited over 10 ms and 100 ms at the consensus driver
  const consensusMessageDelay: Record<string, Record<string, number>> = {}
  for (const kind of ['proposal', 'vote']) {
    consensusMessageDelay[kind] = histogramFigures(snapshot, 'attrchain_consensus_message_delay_seconds', { kind }, 'messages', [['over10ms', '0.01'], ['over100ms', '0.1']])
  }
  // nonce gaps behind gossiped txs asked for from the forwarder (node/txGapRepair.ts), by result, and the txs they brought
  const gapRepairs: Record<string, number> = {}
  for (const result of ['filled', 'empty', 'refused', 'failed', 'skipped']) gapRepairs[result] = snapshot('attrchain_tx_gap_repairs_total', { result })
  gapRepairs.txs = snapshot('attrchain_tx_gap_repaired_txs_total')
  return {
    refused, bodiesRefusedUnread, gossipTxs, blockProcessing, consensusMessageDelay, gapRepairs,
    relayed: snapshot('attrchain_tx_relayed_total'), mempoolTxs: snapshot('attrchain_mempool_txs'), admissionRate: snapshot('attrchain_admission_rate'),
  }
}

/**
 * One series (`labels`) of the histogram `name` (in seconds) from a /metrics
 * snapshot: its observations under `countKey`, their mean in ms, and for
 * each [key, le] how many were over `le` seconds (count minus that bucket).
 */
function histogramFigures(
  snapshot: Awaited<ReturnType<BenchNode['metrics']>>, name: string, labels: Record<string, string>, countKey: string, over: [key: string, le: string][],
): Record<string, number> {
  const count = snapshot(`${name}_count`, labels)
  const out: Record<string, number> = { [countKey]: count, meanMs: count > 0 ? round((snapshot(`${name}_sum`, labels) / count) * 1000) : 0 }
  for (const [key, le] of over) out[key] = count - snapshot(`${name}_bucket`, { ...labels, le })
  return out
}

interface CaseOptions {
  validators: number
  receiptsPerTx: number
  operators: number
  durationS: number
  /** how long after the flood to wait for the first empty block */
  tailBoundS: number
  profileDir: string | null
  keep: boolean
  /** mempool.congestionIntervalMs of every node (undefined: the default) */
  congestionIntervalMs?: number
}

async function runCase(c: CaseOptions): Promise<Record<string, unknown>> {
  const blockTimeMs = defaultNodeConfig('').blockTimeMs
  const genesis = buildDevnetGenesis({ validators: c.validators, accounts: FIRST_OPERATOR_ACCOUNT + c.operators })
  const cluster = await startCluster({ genesis, validatorKeys: Array.from({ length: c.validators }, (_, i) => devValidatorKey(i)), start: { blockTimeMs, profileDir: c.profileDir, logLevel: c.keep ? 'info' : 'warn' }, keepDir: c.keep,
    ...(c.congestionIntervalMs !== undefined ? { config: { mempool: { congestionIntervalMs: c.congestionIntervalMs } } } : {}) })
  const { nodes } = cluster
  const tracker = new CommitTracker()
  const connections: FloodConnection[] = []
  try {
    log(`  setting up a Datanet and ${c.operators} models`)
    const base = await setupWorkload(nodes[0].client)
    const keys = Array.from({ length: c.operators }, (_, i) => devAccountKey(FIRST_OPERATOR_ACCOUNT + i))
    const workloads = await registerModels(nodes.map((n) => n.client), keys, base)
    const setup = await new TxSender(nodes[0].client, keys[0]).init()
    const nonces = await Promise.all(keys.map(async (k) => (await nodes[0].client.getAccount(k.address)).nonce))
    const jobOf = (i: number, count: number): SignJob => ({
      seed: toHex(keys[i].seed), chainId: setup.chainId, fee: setup.fee.toString(), firstNonce: nonces[i], count, receiptsPerTx: c.receiptsPerTx, workload: workloads[i],
    })
    const one = signJob(jobOf(0, 1))[0]
    const requestBytes = one.request.length
    const txBytes = (requestBytes - txSendRequest(new Uint8Array(0), one.nonce).length) / 2
    const ceiling = ceilingReceiptsPerSec(genesis, c.receiptsPerTx, txBytes, blockTimeMs)
    // Everything the chain could commit in the window and one block more, plus what the mempools can hold, plus a batch.
    const wanted = Math.ceil((ceiling * (c.durationS + blockTimeMs / 1000)) / c.receiptsPerTx / c.operators) + mempoolSlackPerOperator(txBytes) + RPC_MAX_BATCH
    const perOp = Math.min(wanted, Math.floor(PRESIGN_BUDGET_BYTES / requestBytes / c.operators))
    log(`  pre-signing ${perOp} txs of ${txBytes} B per operator (chain ceiling ${round(ceiling)} receipts/s)`)
    const t0 = nowMs()
    const stocks = await presign(keys.map((_, i) => jobOf(i, perOp)))
    const presignS = (nowMs() - t0) / 1000
    log(`  signed in ${round(presignS)} s`)
    for (let i = 0; i < c.operators; i++) connections.push(new FloodConnection(nodes[i % nodes.length].url, FLOOD_RPC_TIMEOUT_MS))
    const ops = keys.map((k, i) => new FloodOperator(k, connections[i], devValidatorKey(i % nodes.length).address, stocks[i], jobOf(i, perOp)))
    await tracker.start(...nodes.map((n) => n.client))
    const probe = probeOf(nodes, nodes[0])
    await probe.begin()

    log(`  flooding for ${c.durationS} s`)
    const from = nowMs()
    const flood = startFlood(ops, tracker)
    await sleep(c.durationS * 1000)
    const stopping = flood.stop()
    const to = nowMs()
    const figures = await probe.end().catch((e: unknown) => ({ probeError: (e as Error).message }))
    await stopping
    const inFlightAnsweredS = (nowMs() - to) / 1000

    // The flood has ended when a block comes out empty: every accepted tx is in.
    let firstEmptyS: number | null = null
    while (nowMs() - to < c.tailBoundS * 1000) {
      const empty = tracker.blocks.find((b) => b.atMs > to && b.txs === 0)
      if (empty) {
        firstEmptyS = round((empty.atMs - to) / 1000, 2)
        break
      }
      await sleep(100)
    }
    log(`  first empty block ${firstEmptyS === null ? `not within ${c.tailBoundS} s` : `${firstEmptyS} s`} after the flood`)

    const window = tracker.receiptsBetween(from, to)
    const s = (to - from) / 1000
    const inWindow = tracker.blocks.filter((b) => b.atMs >= from && b.atMs <= to)
    const lat = tracker.latenciesMs
    const { refused, requestMs, ...counts } = flood.stats
    const refusedTotal = Object.values(refused).reduce((x, y) => x + y, 0)
    const heightsAtEnd = await Promise.all(nodes.map(async (n) => (await n.client.status().catch(() => null))?.height ?? null))
    const txsPerBlock = inWindow.map((b) => b.txs)
    return {
      validators: c.validators, receiptsPerTx: c.receiptsPerTx, operators: c.operators, durationS: round(s, 2),
      receiptsPerSec: round(window.receipts / s), txsPerSec: round(window.txs / s), receipts: window.receipts, txs: window.txs,
      blocksInWindow: inWindow.length, emptyBlocksInWindow: inWindow.filter((b) => b.txs === 0).length,
      txsPerBlock: { mean: txsPerBlock.length > 0 ? round(txsPerBlock.reduce((x, y) => x + y, 0) / txsPerBlock.length) : null, max: Math.max(0, ...txsPerBlock) },
      blockIntervalMs: blockIntervals(tracker, from, to),
      // per block of the window: [s since the flood started, height, txs] (where the slow heights were)
      timeline: inWindow.map((b) => [round((b.atMs - from) / 1000, 2), b.height, b.txs]),
      roundsPerHeight: await roundsPerHeight(nodes, inWindow.map((b) => b.height)),
      latencyMs: spread(lat),
      // the same latencies by whether the tx's block came from the node it was submitted to (CommitTracker.latenciesByProposerMs)
      latencyByProposerMs: { submittedToProposer: spread(tracker.latenciesByProposerMs.own), submittedElsewhere: spread(tracker.latenciesByProposerMs.other) },
      // the same txs' latencies from the node's answer accepting the tx (0 for those committed before it): the wait after the request
      latencyFromAnswerMs: spread(tracker.latenciesFromAnswerMs),
      refusals: { total: refusedTotal, byReason: refused },
      flood: { ...counts, requestMs: spread(requestMs), acceptedNotCommitted: tracker.pendingCount, inFlightAnsweredS: round(inFlightAnsweredS, 2) },
      firstEmptyBlockAfterFloodS: firstEmptyS, tailBoundS: c.tailBoundS,
      peakRssMiB: nodes.map((n) => { const b = n.peakRssBytes(); return b === null ? null : round(b / 2 ** 20) }),
      heightsAtEnd,
      perNode: await Promise.all(nodes.map((n) => nodeCounters(n).catch((e: unknown) => ({ error: (e as Error).message })))),
      presign: { perOperator: perOp, wantedPerOperator: wanted, txBytes, seconds: round(presignS, 1), ceilingReceiptsPerSec: round(ceiling) },
      signedLiveInWindow: ops.reduce((x, op) => x + op.signedLive, 0),
      ...figures,
      // CPU the nodes spent (all their threads, summed over nodes) per receipt finalized in the window, µs:
      // against the sync scenario's per-receipt figure × validators, what the flood's intake, gossip, consensus
      // and refusals cost on top. An upper estimate: the window's CPU includes admitting the txs of the backlog
      // committed after it (about one block)
      nodeCpuMicrosPerReceipt: cpuPerReceiptUs(figures, s, window.receipts),
    }
  } finally {
    await tracker.stop()
    for (const cn of connections) cn.close()
    await cluster.close()
  }
}

/** Σ node CPU seconds over the window (probe figures: % of one core per node) × 10⁶ / receipts; null without figures or receipts. */
function cpuPerReceiptUs(figures: Record<string, unknown>, seconds: number, receipts: number): number | null {
  const nodes = (figures.cpuPercentOfOneCore as { nodes?: (number | null)[] } | undefined)?.nodes
  if (!nodes || nodes.some((x) => x === null) || receipts <= 0) return null
  const cpuS = (nodes as number[]).reduce((x, y) => x + y, 0) / 100 * seconds
  return round((cpuS * 1e6) / receipts, 1)
}

/**
 * `--scenario overload`: 1 and 4 validators × 1 and 100 receipts per tx
 * (`--validators`, `--modes`), a fresh default devnet per case, 16
 * operators (`--operators`), a `--duration` s flood.
 */
export async function runOverload(opts: BenchOptions): Promise<Record<string, unknown>> {
  const cases: Record<string, unknown> = {}
  for (const validators of opts.floodValidators) {
    for (const receiptsPerTx of opts.floodModes) {
      const name = `v${validators}.receipts${receiptsPerTx}PerTx`
      log(`overload ${name}`)
      try {
        cases[name] = await runCase({
          validators, receiptsPerTx, operators: opts.floodOperators, durationS: opts.durationS, tailBoundS: OVERLOAD_TAIL_BOUND_S,
          profileDir: opts.profile ? `${opts.profileRoot}/overload/${name}` : null, keep: opts.keep, congestionIntervalMs: opts.congestionIntervalMs,
        })
      } catch (e) {
        log(`overload ${name} failed: ${(e as Error).stack ?? e}`)
        cases[name] = { error: (e as Error).message }
      }
    }
  }
  const d = defaultNodeConfig('')
  return {
    nodeConfig: { blockTimeMs: d.blockTimeMs, emptyBlocks: d.emptyBlocks, mempool: { ...defaultMempoolOptions }, rpcMaxBatch: d.rpcMaxBatch, rpcMaxBodyBytes: d.rpcMaxBodyBytes, logLevel: 'warn' },
    genesisParams: 'defaults (genesis/params.ts), devnet genesis', defaultTimeoutsMs: plain(pickTimeouts()),
    load: {
      operators: opts.floodOperators, operatorAccounts: `devAccountKey(${FIRST_OPERATOR_ACCOUNT}..${FIRST_OPERATOR_ACCOUNT + opts.floodOperators - 1})`,
      models: 'one per operator, registered by it over the bench Datanet', payer: 'the operator itself', attributionPerReceipt: 2,
      submit: `open loop: one tx_send JSON-RPC batch (≤ ${RPC_MAX_BATCH} txs, ≤ 4 MiB) in flight per operator, requests encoded before the window and written as they are; refused txs (any reason but TX_ERROR_*) sent again first, from the lowest refused nonce, after a ${REFUSAL_PAUSE_MS} ms pause`,
      spread: 'operator i sends to node i mod validators', presign: 'worker threads, before the window: the chain ceiling over the window per operator, plus the most one operator can have held (future-nonce window or the whole mempool), plus a batch',
      commitTime: 'first newBlocks announcement of the block on any node',
    },
    cases,
  }
}

export const OVERLOAD_TAIL_BOUND_S = 30

function pickTimeouts(): Record<string, unknown> {
  const g = buildDevnetGenesis({ validators: 1, accounts: 1 })
  return Object.fromEntries(Object.entries(g.params).filter(([k]) => k.startsWith('timeout')))
}
