import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RefusalReason, RpcMetrics } from '../rpc/index.js'
import { concentrationRatios } from './earningsRanking.js'
import type { FlowRecord } from './flowStats.js'

/** Units to OPEN for a float metric: exact to 10^-12 OPEN (Prometheus values are float64). */
const toOpen = (units: bigint): number => Number(units / 1_000_000n) / 1e12

/**
 * Prometheus metrics (STYLE.md: injected as `Metrics | null`, names prefixed
 * `attrchain_`, unit suffixes). One registry per node so that several nodes
 * in one process (tests) do not share counters.
 */
export class Metrics implements RpcMetrics {
  readonly registry = new Registry()
  readonly height = new Gauge({ name: 'attrchain_height', help: 'height of the last committed block', registers: [this.registry] })
  readonly roundsPerHeight = new Histogram({
    name: 'attrchain_consensus_rounds_per_height', help: 'consensus rounds needed to commit a height (1 = committed in round 0)',
    buckets: [1, 2, 3, 5, 8, 13], registers: [this.registry],
  })
  readonly blockInterval = new Histogram({
    name: 'attrchain_block_interval_seconds', help: 'time between consecutive block commits',
    buckets: [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30], registers: [this.registry],
  })
  readonly blockTxs = new Histogram({ name: 'attrchain_block_txs', help: 'txs per committed block', buckets: [0, 1, 10, 100, 1000, 5000, 20000], registers: [this.registry] })
  readonly blockReceipts = new Histogram({
    name: 'attrchain_block_receipts', help: 'inference receipts per committed block', buckets: [0, 1, 10, 100, 1000, 10000, 100000], registers: [this.registry],
  })
  readonly receiptsTotal = new Counter({ name: 'attrchain_receipts_total', help: 'inference receipts committed', registers: [this.registry] })
  readonly txsTotal = new Counter({ name: 'attrchain_txs_total', help: 'txs committed, by status', labelNames: ['status'], registers: [this.registry] })
  readonly mempoolTxs = new Gauge({ name: 'attrchain_mempool_txs', help: 'txs in the mempool', registers: [this.registry] })
  readonly mempoolBytes = new Gauge({ name: 'attrchain_mempool_bytes', help: 'bytes of txs in the mempool', registers: [this.registry] })
  readonly peers = new Gauge({ name: 'attrchain_peers', help: 'connected peers of this chain', registers: [this.registry] })
  readonly dhtLookups = new Counter({ name: 'attrchain_p2p_dht_lookups_total', help: 'DHT lookups run by peer discovery (paused while they find no new peer)', registers: [this.registry] })
  readonly gossipMessages = new Counter({
    name: 'attrchain_gossip_messages_total', help: 'gossip messages validated, by topic and result (accept/ignore/reject)',
    labelNames: ['topic', 'result'], registers: [this.registry],
  })
  readonly gossipRejected = new Counter({
    name: 'attrchain_gossip_rejected_total', help: 'gossip messages rejected (forwarder penalised), by topic and reason (a closed set: oversize, malformed, bad_shape, bad_tx, bad_signature, wrong_chain, ...)',
    labelNames: ['topic', 'reason'], registers: [this.registry],
  })
  readonly syncing = new Gauge({ name: 'attrchain_syncing', help: '1 while block sync is catching up, else 0', registers: [this.registry] })
  readonly syncTarget = new Gauge({ name: 'attrchain_sync_target_height', help: 'highest height reported by peers', registers: [this.registry] })
  readonly consensusMessageDelay = new Histogram({
    name: 'attrchain_consensus_message_delay_seconds', help: 'time a proposal or vote waited between its arrival at the consensus driver and its processing',
    labelNames: ['kind'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
  })
  /** CometBFT's state_block_processing_time, split by stage (node/consensusChain.ts BlockStage) */
  readonly blockProcessing = new Histogram({
    name: 'attrchain_block_processing_seconds', help: 'wall time of a block\'s processing by consensus on this node, by stage: build (reap and execute a proposal), validate (check and execute a peer\'s proposal), commit (write it and recheck the mempool)',
    labelNames: ['stage'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers: [this.registry],
  })
  readonly consensusHalted = new Gauge({
    name: 'attrchain_consensus_halted', help: '1 once consensus halted (a decided block could not be committed; see the error log), else 0', registers: [this.registry],
  })
  readonly txRefused = new Counter({
    name: 'attrchain_tx_refused_total',
    help: 'txs refused for lack of capacity (MEMPOOL_ERROR_FULL), by the limit hit (txs, bytes, queued, sender_queued, verifier, event_loop, rate, backlog) and source (rpc; gossip: one per tx, or per message when ignored unread)',
    labelNames: ['reason', 'source'], registers: [this.registry],
  })
  readonly admissionRate = new Gauge({
    name: 'attrchain_admission_rate', help: 'work units per second this node takes over tx_send while consensus is congested (node/admissionRate.ts); -1: no limit', registers: [this.registry],
  })
  readonly txRelayed = new Counter({ name: 'attrchain_tx_relayed_total', help: 'pending txs re-broadcast (to a new peer, or not included after a while)', registers: [this.registry] })
  readonly txGapRepairs = new Counter({
    name: 'attrchain_tx_gap_repairs_total',
    help: 'nonce gaps behind gossiped txs asked for from the forwarding peer (/pooledtxs/1), by result: filled, empty (the peer held none), refused (the mempool took none of the answer), failed, skipped (too many waiting, or the peer cooling down)',
    labelNames: ['result'], registers: [this.registry],
  })
  readonly txGapRepaired = new Counter({ name: 'attrchain_tx_gap_repaired_txs_total', help: 'txs a gap repair brought from a peer that the mempool took', registers: [this.registry] })
  readonly rpcRequests = new Counter({
    name: 'attrchain_rpc_requests_total', help: 'JSON-RPC requests by method and outcome', labelNames: ['method', 'ok'], registers: [this.registry],
  })
  readonly rpcLatency = new Histogram({
    name: 'attrchain_rpc_request_duration_seconds', help: 'JSON-RPC request latency by method', labelNames: ['method'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [this.registry],
  })
  readonly stakingEvents = new Counter({
    name: 'attrchain_staking_events_total',
    help: 'staking events of committed blocks, by kind (slash, jail, unjail, validatorSetChange) and reason (doubleSign, downtime; none for unjail and set changes)',
    labelNames: ['kind', 'reason'], registers: [this.registry],
  })

  readonly receiptFees = new Counter({ name: 'attrchain_receipt_fees_total', help: 'fees of the inference receipts committed, in OPEN', registers: [this.registry] })
  readonly feesDistributed = new Counter({
    name: 'attrchain_fees_distributed_total',
    help: 'amount credited by the blocks\' fee distributions, in OPEN, by role (contributor, datanetPool, modelOwner, operator, validator, delegatorPool, treasury, …); includes the minted block reward',
    labelNames: ['role'], registers: [this.registry],
  })
  readonly payees = new Counter({
    name: 'attrchain_payees_total', help: 'payments by role: distinct addresses in each block\'s fee distribution, summed over blocks', labelNames: ['role'], registers: [this.registry],
  })
  readonly minted = new Counter({ name: 'attrchain_minted_total', help: 'block rewards minted, in OPEN', registers: [this.registry] })
  readonly entitiesCreated = new Counter({
    name: 'attrchain_entities_total', help: 'successful txs that create or review entities, by kind (datanet, contribution, model, accepted, rejected)',
    labelNames: ['kind'], registers: [this.registry],
  })
  readonly contributorEarners = new Gauge({ name: 'attrchain_contributor_earners', help: 'addresses with contributor earnings (attribution ledger)', registers: [this.registry] })
  readonly contributorGini = new Gauge({ name: 'attrchain_contributor_earnings_gini', help: 'Gini coefficient of contributor earnings since genesis (0 equal … 1 concentrated)', registers: [this.registry] })
  readonly contributorTop10 = new Gauge({ name: 'attrchain_contributor_earnings_top10_share', help: 'share of all contributor earnings held by the 10 largest earners', registers: [this.registry] })
  readonly contributorBottom50 = new Gauge({ name: 'attrchain_contributor_earnings_bottom50_share', help: 'share of all contributor earnings held by the smallest half of earners', registers: [this.registry] })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'attrchain_process_' })
  }

  /** Counters of one committed block's flow record (node/flowStats.ts); gauges of its contributor concentration. */
  recordFlow(r: FlowRecord): void {
    const b = r.block
    if (b.receiptFees > 0n) this.receiptFees.inc(toOpen(b.receiptFees))
    if (b.minted > 0n) this.minted.inc(toOpen(b.minted))
    for (const [role, v] of Object.entries(b.roles)) {
      this.feesDistributed.inc({ role }, toOpen(v.amount))
      this.payees.inc({ role }, v.payees)
    }
    const kinds = { datanet: b.datanets, contribution: b.contributions, model: b.models, accepted: b.accepted, rejected: b.rejected }
    for (const [kind, n] of Object.entries(kinds)) if (n > 0) this.entitiesCreated.inc({ kind }, n)
    this.recordConcentration(r)
  }

  /** Contributor-concentration gauges from a flow record (also set at start from the head's record). */
  recordConcentration(r: FlowRecord): void {
    const c = concentrationRatios(r.contributors)
    this.contributorEarners.set(r.contributors.count)
    this.contributorGini.set(c.gini)
    this.contributorTop10.set(c.top10Share)
    this.contributorBottom50.set(c.bottom50Share)
  }

  readonly rpcRefused = new Counter({
    name: 'attrchain_rpc_refused_total', help: 'JSON-RPC requests refused by a server limit, by reason (busy_server, busy_connection, response_too_large, origin, notification)',
    labelNames: ['reason'], registers: [this.registry],
  })

  onRefused(reason: RefusalReason): void {
    this.rpcRefused.inc({ reason })
  }

  onRequest(method: string, seconds: number, ok: boolean): void {
    this.rpcRequests.inc({ method, ok: String(ok) })
    this.rpcLatency.observe({ method }, seconds)
  }

  /** `GET /metrics` in the Prometheus text format. */
  handler(): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
    return async (req, res) => {
      if (req.method !== 'GET') {
        res.writeHead(405, { Allow: 'GET' }).end()
        return
      }
      const body = await this.registry.metrics()
      res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body)
    }
  }
}
