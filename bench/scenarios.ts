import { rmSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../genesis/devnet.js'
import { defaultParams, type Params } from '../genesis/params.js'
import { defaultMempoolOptions } from '../node/mempool.js'
import { defaultNodeConfig } from '../node/config.js'
import type { Genesis } from '../genesis/genesis.js'
import { BenchNode, benchTempDir, compactedBytes, startCluster } from './cluster.js'
import {
  closedLoop, CommitTracker, drain, feed, FIRST_OPERATOR_ACCOUNT, MODEL_MIN_FEE, openLoop, Operator, RECEIPT_FEE, setupWorkload, setupLineageWorkload,
  type Probe, type Workload,
} from './load.js'
import { log, nowMs, plain, round, sleep } from './util.js'

export interface BenchOptions {
  durationS: number
  operators: number
  /** receipts per submitReceipts tx, one measurement each */
  modes: number[]
  blockTimeMs: number
  profile: boolean
  profileRoot: string
  syncBlocks: number
  /** sync scenario: receipts per tx, one synced chain each (100, or else the first, is the headline figure) */
  syncModes: number[]
  /** sync scenario: most receipts per block (maxBlockTxs = this / receipts per tx) */
  syncBlockReceipts: number
  keep: boolean
  /** overload scenario: operators, receipts per tx, validator counts */
  floodOperators: number
  floodModes: number[]
  floodValidators: number[]
  /** overload: the nodes' mempool.congestionIntervalMs (default: the node's default; 0 = no congestion control) */
  congestionIntervalMs?: number
}

/** Consensus timeouts for loopback (the e2e tests' values). */
export const LOOPBACK_TIMEOUTS: Partial<Params> = {
  timeoutProposeMs: 600, timeoutProposeDeltaMs: 200, timeoutPrevoteMs: 300, timeoutPrevoteDeltaMs: 100, timeoutPrecommitMs: 300, timeoutPrecommitDeltaMs: 100,
}

/** In-flight txs per operator in the closed loop, by receipts per tx (under the mempool's 1024 future nonces per sender). */
function inflightFor(receiptsPerTx: number): number {
  if (receiptsPerTx <= 1) return 1000
  if (receiptsPerTx <= 100) return 40
  return 6
}

const warmupOf = (durationS: number): number => Math.max(3, Math.min(10, durationS / 2))

function genesisFor(validators: number, opts: BenchOptions, params: Partial<Params>): Genesis {
  return buildDevnetGenesis({ validators, accounts: FIRST_OPERATOR_ACCOUNT + opts.operators, params })
}

/** The params that differ from the defaults, and the ones every reader of a throughput figure wants. */
function paramsRecord(g: Genesis): Record<string, unknown> {
  const d = plain(defaultParams()) as Record<string, unknown>
  const p = plain(g.params) as Record<string, unknown>
  const changed = Object.fromEntries(Object.entries(p).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(d[k])))
  return { changedFromDefaults: changed, maxBlockTxs: p.maxBlockTxs, maxBlockBytes: p.maxBlockBytes, maxReceiptsPerTx: p.maxReceiptsPerTx, minTxFee: p.minTxFee }
}

function nodeConfigRecord(blockTimeMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const d = defaultNodeConfig('')
  return { blockTimeMs, emptyBlocks: true, mempool: { ...defaultMempoolOptions }, rpcMaxBatch: d.rpcMaxBatch, rpcMaxBodyBytes: d.rpcMaxBodyBytes, logLevel: 'warn', ...extra }
}

function loadRecord(opts: BenchOptions): Record<string, unknown> {
  return {
    operators: opts.operators, operatorAccounts: `devAccountKey(${FIRST_OPERATOR_ACCOUNT}..${FIRST_OPERATOR_ACCOUNT + opts.operators - 1})`,
    payer: 'the operator itself', receiptFee: RECEIPT_FEE.toString(), modelMinFee: MODEL_MIN_FEE.toString(), attributionPerReceipt: 2,
    submit: 'tx_send in JSON-RPC batches (≤ 100 calls, ≤ 4 MiB hex per HTTP body)', commitTime: 'arrival of the newBlocks WebSocket notification holding the tx',
  }
}

/** Node CPU, harness CPU and the watched node's metrics over the measured window. */
export function probeOf(nodes: BenchNode[], watch: BenchNode): Probe {
  let t0 = 0
  let cpu0: (number | null)[] = []
  let self0 = process.cpuUsage()
  let m0 = { receipts: 0, failed: 0, height: 0, rounds: 0, mempoolTxs: 0 }
  // the watched node's figures from one /metrics snapshot (values of one instant, one fetch)
  const metrics = async () => {
    const m = await watch.metrics()
    return {
      receipts: m('attrchain_receipts_total'), failed: m('attrchain_txs_total', { status: 'failed' }), height: m('attrchain_height'),
      rounds: m('attrchain_consensus_rounds_per_height_sum'), mempoolTxs: m('attrchain_mempool_txs'),
    }
  }
  return {
    begin: async () => {
      // a scrape resets each node's event-loop delay histogram (prom-client's default metrics), so `end` reads the window's
      await Promise.all(nodes.map((n) => n.metrics()))
      m0 = await metrics()
      t0 = nowMs()
      cpu0 = nodes.map((n) => n.cpuSeconds())
      self0 = process.cpuUsage()
    },
    end: async () => {
      const s = (nowMs() - t0) / 1000
      const cpu = nodes.map((n, i) => {
        const c = n.cpuSeconds()
        return c === null || cpu0[i] === null ? null : round((100 * (c - (cpu0[i] as number))) / s)
      })
      const self = process.cpuUsage(self0)
      // read before any other scrape (which would reset it): how long a message arriving at a node could wait for its event loop
      const loops = await Promise.all(nodes.map(async (n) => {
        const m = await n.metrics()
        return { p99Ms: round(m('attrchain_process_nodejs_eventloop_lag_p99_seconds') * 1000), maxMs: round(m('attrchain_process_nodejs_eventloop_lag_max_seconds') * 1000) }
      }))
      const m = await metrics()
      const blocks = m.height - m0.height
      return {
        nodeMetrics: {
          receiptsPerSec: round((m.receipts - m0.receipts) / s), failedTxs: m.failed - m0.failed, blocks,
          receiptsPerBlock: blocks > 0 ? round((m.receipts - m0.receipts) / blocks) : null,
          consensusRoundsPerHeight: blocks > 0 ? round((m.rounds - m0.rounds) / blocks, 2) : null, mempoolTxsAtEnd: m.mempoolTxs,
        },
        cpuPercentOfOneCore: { nodes: cpu, harness: round((100 * (self.user + self.system)) / 1e6 / s) },
        // per node over the window: the event loop's delay (Node's monitorEventLoopDelay, ms): p99 and the longest single stall
        eventLoopDelayMs: loops,
      }
    },
  }
}

/** Max rate (closed loop), then latency at 50 % of it (open loop), for one receipts-per-tx mode. */
async function measureMode(nodes: BenchNode[], workload: Workload, receiptsPerTx: number, opts: BenchOptions): Promise<Record<string, unknown>> {
  const watch = nodes[0]
  const ops = Array.from({ length: opts.operators }, (_, i) => new Operator(devAccountKey(FIRST_OPERATOR_ACCOUNT + i), nodes[i % nodes.length].client, workload, receiptsPerTx))
  for (const op of ops) await op.reset()
  const tracker = new CommitTracker()
  await tracker.start(watch.client)
  const probe = probeOf(nodes, watch)
  try {
    log(`  ${receiptsPerTx} receipt(s)/tx: closed loop for max rate`)
    const max = await closedLoop(ops, tracker, {
      inflightPerOperator: inflightFor(receiptsPerTx), warmupS: warmupOf(opts.durationS), durationS: opts.durationS, rampS: 2, presignBudgetBytes: 1.5e9, presignFloorReceiptsPerSec: 4000,
    }, probe)
    log(`  max: ${max.receiptsPerSec} receipts/s (node metrics ${(max.nodeMetrics as { receiptsPerSec: number }).receiptsPerSec})`)
    const left = await drain(tracker, 120_000)
    for (const op of ops) await op.reset()
    const half = (max.receiptsPerSec as number) / 2
    if (half === 0) {
      const heights = await Promise.all(nodes.map(async (n) => (await n.client.status().catch(() => null))?.height ?? null))
      log(`  no receipt committed in the window (heights ${heights.join(', ')}): no latency run`)
      return { receiptsPerTx, maxRate: max, latencyAtHalfMax: null, stalled: { heightsAfterWindow: heights }, undrainedAfterClosedLoop: left, loadErrors: tracker.stats }
    }
    log(`  ${receiptsPerTx} receipt(s)/tx: open loop at ${round(half)} receipts/s`)
    const lat = await openLoop(ops, tracker, { txPerSec: half / receiptsPerTx, warmupS: Math.min(5, warmupOf(opts.durationS)), durationS: opts.durationS }, probe)
    log(`  latency p50 ${(lat.latencyMs as { p50: number }).p50} ms, p99 ${(lat.latencyMs as { p99: number }).p99} ms`)
    await drain(tracker, 60_000)
    return { receiptsPerTx, maxRate: max, latencyAtHalfMax: lat, undrainedAfterClosedLoop: left, loadErrors: tracker.stats }
  } finally {
    await tracker.stop()
    for (const op of ops) await op.client.close()
  }
}

async function modelReceipts(node: BenchNode, w: Workload): Promise<number> {
  return (await node.client.getModel(w.modelId))?.receipts ?? 0
}

const profileDirOf = (opts: BenchOptions, scenario: string, sub = ''): string | null => (opts.profile ? join(opts.profileRoot, scenario, sub) : null)

/**
 * One validator, closed loop then open loop per mode. `lineage`: the
 * receipts are on a 3-generation lineage with curator shares
 * (setupLineageWorkload, issue 13), reported beside the plain mode.
 */
export async function runSingleNode(opts: BenchOptions, lineage = false): Promise<Record<string, unknown>> {
  const scenario = lineage ? 'single-node-lineage' : 'single-node'
  const dir = benchTempDir()
  const genesis = genesisFor(1, opts, {})
  const node = await BenchNode.create({ name: 'v0', home: join(dir, 'v0'), genesis, validatorKey: devValidatorKey(0) })
  const start = { blockTimeMs: opts.blockTimeMs, profileDir: null as string | null }
  const modes: Record<string, unknown>[] = []
  try {
    await node.start(start)
    log(`${scenario}: setting up ${lineage ? 'a 3-generation lineage with curator shares' : 'Datanet, contributions and model'}`)
    const workload = await (lineage ? setupLineageWorkload : setupWorkload)(node.client)
    let receipts0 = await modelReceipts(node, workload)
    await node.stop()
    let bytes0 = await compactedBytes(node.chainDbDir)
    for (const mode of opts.modes) {
      const profileDir = profileDirOf(opts, scenario, `receipts-${mode}`)
      await node.start({ ...start, profileDir })
      const result = await measureMode([node], workload, mode, opts)
      const receipts1 = await modelReceipts(node, workload)
      const peakRssBytes = node.peakRssBytes()
      await node.stop()
      const bytes1 = await compactedBytes(node.chainDbDir)
      const added = receipts1 - receipts0
      modes.push({
        ...result, peakRssMiB: peakRssBytes === null ? null : round(peakRssBytes / 2 ** 20),
        leveldb: { receiptsAdded: added, compactedBytesBefore: bytes0, compactedBytesAfter: bytes1, bytesPerReceipt: added > 0 ? round((bytes1 - bytes0) / added) : null },
        ...(profileDir ? { profileDir } : {}),
      })
      receipts0 = receipts1
      bytes0 = bytes1
    }
  } finally {
    await node.stop()
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
  }
  return {
    validators: 1, genesisParams: paramsRecord(genesis), nodeConfig: nodeConfigRecord(opts.blockTimeMs), load: loadRecord(opts), modes,
    workload: lineage
      ? 'lineage: receipts on G, a fine-tune of F, a fine-tune of base B (stack {B 1000 bps, F 500 bps}); attributed contributions in a Datanet with a 10 % curator share; B over two curated Datanets'
      : 'plain: receipts on a model without parents; no curator share',
    notes: 'node restarted per mode (compaction needs the DB closed): peak RSS is per mode; bytesPerReceipt = growth of the compacted LevelDB dir / receipts added in the mode (includes the per-tx and per-block overhead of that mode)',
  }
}

export async function runDevnet4(opts: BenchOptions): Promise<Record<string, unknown>> {
  const genesis = genesisFor(4, opts, LOOPBACK_TIMEOUTS)
  const profileDir = profileDirOf(opts, 'devnet-4')
  const cluster = await startCluster({ genesis, validatorKeys: [0, 1, 2, 3].map(devValidatorKey), start: { blockTimeMs: opts.blockTimeMs, profileDir }, keepDir: opts.keep })
  const modes: Record<string, unknown>[] = []
  try {
    log('devnet-4: setting up Datanet, contributions and model')
    const workload = await setupWorkload(cluster.nodes[0].client)
    for (const mode of opts.modes) modes.push(await measureMode(cluster.nodes, workload, mode, opts))
    const rss = cluster.nodes.map((n) => n.peakRssBytes())
    return {
      validators: 4, processes: 4, genesisParams: paramsRecord(genesis), nodeConfig: nodeConfigRecord(opts.blockTimeMs, { bootstrap: 'every other validator' }),
      load: { ...loadRecord(opts), spread: 'operator i submits to node i mod 4; commits timed on node 0' }, modes,
      peakRssMiB: rss.map((b) => (b === null ? null : round(b / 2 ** 20))), ...(profileDir ? { profileDir } : {}),
    }
  } finally {
    await cluster.close()
  }
}

/** `maxBlockTxs` of the synced chain: blocks of up to `blockReceipts` receipts. */
export const syncParamsFor = (receiptsPerTx: number, blockReceipts: number): Partial<Params> => ({ maxBlockTxs: Math.max(1, Math.ceil(blockReceipts / receiptsPerTx)) })

/** The share of the synced chain left out of the CPU window at its start (JIT warm-up, the first batches). */
const SYNC_WARMUP_SHARE = 0.1

/**
 * Block sync per mode (`opts.syncModes`, receipts per tx): a single
 * validator produces `syncBlocks` blocks of up to `syncBlockReceipts`
 * receipts (--no-empty-blocks, so its head stays put once the load
 * stops); then a fresh full node of the same genesis syncs from it, and
 * its CPU is read over the sync after the first SYNC_WARMUP_SHARE of the
 * chain: the whole process and its main thread alone.
 *
 * Why the CPU: block sync decodes every tx, verifies every signature (in
 * the verifier's worker threads), executes every receipt and commits every
 * block — work every validator must also do for every committed receipt —
 * without the JSON-RPC intake, the canonical re-encoding check at
 * admission, the mempool, tx gossip, proposals and votes a validator does
 * on top (it does receive the blocks over libp2p and check each block's
 * commit, which a lone validator does not). Its CPU per receipt, at blocks
 * of its size (a block's fixed costs are shared by its receipts), thus
 * estimates what any validator of this code spends at least, and
 * `ceilingReceiptsPerSec` = min(cores / (validators × process CPU per
 * receipt), 1 / main-thread CPU per receipt) what that many validators on
 * this machine's cores could commit if everything else were free (the
 * main thread's term: execution is sequential). Null when profiling (the
 * profiler's cost would be in it). The 100-per-tx mode, or else the first,
 * is the historic figure (`receiptsPerSec`, the summary's ratio to
 * devnet-4).
 */
export async function runSync(opts: BenchOptions): Promise<Record<string, unknown>> {
  const modes: Record<string, unknown>[] = []
  for (const m of opts.syncModes) {
    try {
      modes.push(await syncMode(opts, m))
    } catch (e) {
      log(`sync ${m} receipt(s)/tx failed: ${(e as Error).stack ?? e}`)
      modes.push({ receiptsPerTx: m, error: (e as Error).message })
    }
  }
  const headline = modes.find((m) => m.receiptsPerTx === 100 && !m.error) ?? modes.find((m) => !m.error)
  return headline ? { ...headline, modes } : { error: 'every sync mode failed', modes }
}

async function syncMode(opts: BenchOptions, receiptsPerTx: number): Promise<Record<string, unknown>> {
  const dir = benchTempDir()
  const params = syncParamsFor(receiptsPerTx, opts.syncBlockReceipts)
  const txsPerBlock = params.maxBlockTxs as number
  const genesis = genesisFor(1, opts, params)
  const validator = await BenchNode.create({ name: 'v0', home: join(dir, 'v0'), genesis, validatorKey: devValidatorKey(0) })
  const full = await BenchNode.create({ name: 'full', home: join(dir, 'full'), genesis, validatorKey: null, config: { bootstrap: [validator.multiaddr] } })
  // Block time 0 (a block as soon as the last one commits) fills blocks of a few txs; a block of hundreds
  // of one-receipt txs needs the harness's live signing (about 5 txs per ms) to refill the mempool between blocks.
  const productionBlockTimeMs = txsPerBlock > 100 ? Math.min(3000, Math.max(200, Math.ceil(txsPerBlock / 5))) : 0
  try {
    // No empty blocks: with a short block time the chain would otherwise race ahead with empty heights.
    await validator.start({ blockTimeMs: productionBlockTimeMs, profileDir: null, extraFlags: ['--no-empty-blocks'] })
    log(`sync ${receiptsPerTx} receipt(s)/tx: setting up Datanet, contributions and model`)
    const workload = await setupWorkload(validator.client)
    const target = (await validator.client.status()).height + opts.syncBlocks
    log(`sync: producing blocks up to height ${target}`)
    const ops = Array.from({ length: opts.operators }, (_, i) => new Operator(devAccountKey(FIRST_OPERATOR_ACCOUNT + i), validator.client, workload, receiptsPerTx))
    for (const op of ops) await op.reset()
    const tracker = new CommitTracker()
    await tracker.start(validator.client)
    const produceStart = nowMs()
    const feeder = feed(ops, tracker, Math.max(40, Math.ceil((2 * txsPerBlock) / opts.operators)), () => false)
    let last = 0
    while ((await validator.client.status()).height < target) {
      await sleep(500)
      if (nowMs() - last > 10_000) {
        last = nowMs()
        log(`  height ${(await validator.client.status()).height} / ${target}`)
      }
    }
    await feeder.stop()
    const produceS = (nowMs() - produceStart) / 1000
    await drain(tracker, 60_000)
    await tracker.stop()
    const fullBlocks = tracker.blocks.filter((b) => b.txs >= txsPerBlock).length
    const head = await validator.client.status()
    const totalReceipts = await modelReceipts(validator, workload)
    log(`sync: chain of ${head.height} blocks, ${totalReceipts} receipts; starting a fresh full node`)
    const t0 = nowMs()
    await full.start({ blockTimeMs: productionBlockTimeMs, profileDir: profileDirOf(opts, 'sync', `receipts-${receiptsPerTx}`) })
    // the window opens once SYNC_WARMUP_SHARE of the chain is in (receipts read first: the CPU sample then closes the instant)
    const windowFrom = Math.max(1, Math.floor(head.height * SYNC_WARMUP_SHARE))
    let tFirst: number | null = null
    let first: { t: number; receipts: number; cpu: number | null; main: number | null } | null = null
    for (;;) {
      const h = (await full.client.status()).height
      if (tFirst === null && h > 0) tFirst = nowMs()
      if (first === null && h >= windowFrom && h < head.height) {
        const receipts = await modelReceipts(full, workload)
        first = { receipts, t: nowMs(), cpu: full.cpuSeconds(), main: full.mainThreadCpuSeconds() }
      }
      if (h >= head.height) break
      if (nowMs() - t0 > 30 * 60_000) throw new Error(`sync did not reach ${head.height} within 30 minutes (at ${h})`)
      await sleep(50)
    }
    const tEnd = nowMs()
    const cpuEnd = full.cpuSeconds()
    const mainEnd = full.mainThreadCpuSeconds()
    const syncedBlockHash = (await full.client.getBlock(head.height))?.hash
    const peakRss = full.peakRssBytes()
    const s = (tEnd - (tFirst ?? t0)) / 1000
    // CPU over the window, from SYNC_WARMUP_SHARE of the chain to the head, per receipt synced in it
    const windowS = first ? (tEnd - first.t) / 1000 : 0
    const windowReceipts = first ? totalReceipts - first.receipts : 0
    const used = (end: number | null, start: number | null | undefined): number | null => (end === null || start === null || start === undefined ? null : end - start)
    const cpuS = used(cpuEnd, first?.cpu)
    const mainS = used(mainEnd, first?.main)
    const perReceiptUs = (x: number | null): number | null => (x === null || windowReceipts <= 0 ? null : round((x * 1e6) / windowReceipts, 2))
    const cpuUs = perReceiptUs(cpuS)
    const mainUs = perReceiptUs(mainS)
    const cores = cpus().length
    const ceiling = (validators: number): number | null =>
      opts.profile || cpuUs === null || mainUs === null || cpuUs <= 0 || mainUs <= 0 ? null : round(Math.min((cores * 1e6) / (validators * cpuUs), 1e6 / mainUs))
    const percent = (x: number | null): number | null => (x === null || windowS <= 0 ? null : round((100 * x) / windowS))
    return {
      receiptsPerTx, genesisParams: paramsRecord(genesis),
      producer: { blockTimeMs: productionBlockTimeMs, receiptsPerTx, operators: opts.operators, seconds: round(produceS, 1), blocksWithMaxTxs: fullBlocks },
      blocks: head.height, receipts: totalReceipts, receiptsPerBlock: round(totalReceipts / head.height),
      blocksPerSec: round(head.height / s), receiptsPerSec: round(totalReceipts / s),
      secondsFromFirstBlock: round(s, 2), secondsIncludingStartup: round((tEnd - t0) / 1000, 2),
      sameHeadHash: syncedBlockHash === head.blockHash, fullNodePeakRssMiB: peakRss === null ? null : round(peakRss / 2 ** 20),
      // the syncing node's CPU over the window (after the warm-up share): % of one core, and µs per receipt (whole process; main thread alone)
      cpu: {
        fromHeight: first ? windowFrom : null, seconds: round(windowS, 2), receiptsInWindow: windowReceipts,
        processPercentOfOneCore: percent(cpuS), mainThreadPercentOfOneCore: percent(mainS),
        processMicrosPerReceipt: cpuUs, mainThreadMicrosPerReceipt: mainUs,
      },
      ceilingReceiptsPerSec: { cores, validators1: ceiling(1), validators4: ceiling(4) },
      ...(opts.profile ? { profileDir: profileDirOf(opts, 'sync', `receipts-${receiptsPerTx}`) } : {}),
    }
  } finally {
    await full.stop()
    await validator.stop()
    if (!opts.keep) rmSync(dir, { recursive: true, force: true })
  }
}
