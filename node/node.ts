// Why this file passes 400 lines (issue 14): it is the composition root,
// one job: AttrchainNode opens storage and wires chain, mempool, consensus
// driver, p2p and JSON-RPC, and owns their start/stop order; each wired
// part lives in its own file. Splitting the wiring would hide the order.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RpcError, RpcErrorCode } from '../rpc/errors.js'
import { signingDigestOfSigned, type SignedTx } from '../core/tx.js'
import { genesisHash } from '../genesis/genesis.js'
import { maxEvidenceAge, type StakingEvent } from '../state/index.js'
import { PrivValidator, type Commit } from '../consensus/index.js'
import { RpcServer } from '../rpc/index.js'
import { ChainDb } from './db/index.js'
import { ChainService, type PreparedBlock } from './chain.js'
import { Mempool, MempoolError, mempoolFull } from './mempool.js'
import { AdmissionRate, addHeld, congestionThresholdMs, defaultAdmissionRateOptions, type Held, heldBlocks, heldOfRaw } from './admissionRate.js'
import { TxRelay, defaultTxRelayOptions } from './txRelay.js'
import { TxGapRepair, defaultTxGapRepairOptions } from './txGapRepair.js'
import type { Address } from '../core/address.js'
import { EventLoopLag } from './loopLag.js'
import { ConsensusDriver, realClock } from './driver.js'
import { consensusChain, proposalLimits, type ConsensusBlock } from './consensusChain.js'
import { ProposalBudget, defaultProposalBudgetOptions } from './proposalBudget.js'
import { chainMethods, distributionToJson, blockToJson } from './rpcMethods.js'
import { BlockJsonCache } from './blockJsonCache.js'
import { homePaths, readGenesisFile, readKeyFile, FileWalStore } from './home.js'
import type { NodeConfig } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { explorerRoutes } from './explorer.js'
import { BlockSync, defaultBlockSyncOptions } from './sync.js'
import { SnapshotStore, serveSnapshotRequest, DEFAULT_SNAPSHOT_CHUNK_BYTES } from './snapshots.js'
import { runStateSync } from './stateSync.js'
import { ConsensusWal } from './consensusWal.js'
import { SignatureVerifier, defaultVerifierOptions } from './verifier.js'
import { CheckpointSigner, defaultCheckpointSignerOptions } from './checkpointSigner.js'
import { checkpointKeyPath, readCheckpointKeyFile } from './checkpointKeyFile.js'
import { P2PNetwork, messageLimitsFor, defaultDiscoveryOptions, GOSSIP_KINDS, GOSSIP_REJECT_REASONS, type P2PHandlers, type GossipStats, type GossipRejectReason } from '../p2p/index.js'

interface TxWaiter {
  resolve(r: { height: number; status: 'ok' | 'failed'; error?: { code: string; message: string } }): void
}

/**
 * The composition root (STYLE.md): reads the home dir, opens storage, and
 * wires chain, mempool, consensus driver and JSON-RPC. Nothing else
 * constructs these modules.
 */
export class AttrchainNode {
  private readonly waiters = new Map<string, Set<TxWaiter>>()
  private rpcPort = 0

  private constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    readonly chain: ChainService,
    readonly mempool: Mempool,
    readonly driver: ConsensusDriver<ConsensusBlock>,
    private readonly rpc: RpcServer,
    readonly validatorAddress: string | null,
    readonly metrics: Metrics,
    readonly network: P2PNetwork,
    readonly sync: BlockSync,
    private readonly wal: ConsensusWal | null,
    readonly verifier: SignatureVerifier,
  ) {
    this.admission = new AdmissionRate({ ...defaultAdmissionRateOptions, targetIntervalMs: congestionThresholdMs(config.mempool.congestionIntervalMs, config.blockTimeMs) }, () => performance.now())
  }

  static async start(config: NodeConfig, logger?: Logger): Promise<AttrchainNode> {
    const log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat })
    const paths = homePaths(config.home)
    const genesis = readGenesisFile(paths.genesis)
    const db = await ChainDb.open({ dir: paths.chainDb, genesisHash: genesisHash(genesis), chainId: genesis.chainId, pruneKeepBlocks: config.pruneKeepBlocks }, { logger: log.child('db') })
    try {
      // issue 17: an empty data dir with stateSync set restores a verified snapshot first (node/stateSync.ts)
      if (config.stateSync && db.head() === null) await runStateSync({ ...config, stateSync: config.stateSync }, genesis, db, log.child('statesync'))
      else if (config.stateSync) log.info('stateSync ignored: the data dir already holds a chain', { height: db.head()?.height })
      return await AttrchainNode.wire(config, log, genesis, db)
    } catch (e) {
      await db.close()
      throw e
    }
  }

  private static async wire(config: NodeConfig, log: Logger, genesis: ReturnType<typeof readGenesisFile>, db: ChainDb): Promise<AttrchainNode> {
    const paths = homePaths(config.home)
    let mempool: Mempool | undefined
    const verifier = new SignatureVerifier({ ...defaultVerifierOptions(), ...(config.verifyThreads !== undefined ? { threads: config.verifyThreads } : {}) }, { logger: log.child('verifier') })
    const chain = await ChainService.open(genesis, { db, logger: log.child('chain'), verifiedTx: (h) => mempool?.get(h), verifier })
    const loopLag = new EventLoopLag()
    mempool = new Mempool(config.mempool, {
      chainId: genesis.chainId, params: genesis.params, verifier, eventLoopLagMs: () => loopLag.ms, now: () => performance.now(),
      account: (a) => chain.queries.nonceAndBalance(a),
    })
    const key = existsSync(paths.validatorKey) ? readKeyFile(paths.validatorKey) : null
    const privValidator = key ? await PrivValidator.open(key, new FileWalStore(paths.signState)) : null
    let node: AttrchainNode | undefined
    const { params } = genesis
    const wal = privValidator ? new ConsensusWal(paths.consensusWal) : null
    const network = new P2PNetwork(
      {
        chainId: genesis.chainId, genesisHash: chain.genesisHash, nodeKeyPath: paths.nodeKey, listenHost: config.p2pHost, listenPort: config.p2pPort,
        bootstrap: config.bootstrap, maxMessageBytes: messageLimitsFor(params.maxBlockBytes),
        discovery: { ...defaultDiscoveryOptions, enabled: config.p2pDiscovery, targetPeers: config.p2pTargetPeers, maxPeers: config.p2pMaxPeers },
        txLimits: { maxReceiptsPerTx: params.maxReceiptsPerTx, maxAttribution: params.maxAttribution },
      },
      { logger: log.child('p2p'), handlers: p2pHandlers(() => node) },
    )
    const metrics = new Metrics()
    metrics.height.set(chain.head.height)
    metrics.recordConcentration(chain.lastFlow)
    const budget = new ProposalBudget({
      ...defaultProposalBudgetOptions, timeoutProposeMs: params.timeoutProposeMs, timeoutProposeDeltaMs: params.timeoutProposeDeltaMs, maxTxReceipts: params.maxReceiptsPerTx,
    })
    const driver = new ConsensusDriver(
      {
        blockTimeMs: config.blockTimeMs, emptyBlocks: config.emptyBlocks, emptyBlockIntervalMs: config.emptyBlockIntervalMs, maxBufferedHeights: 2, rebroadcastMs: 1000,
        maxEvidenceAge: maxEvidenceAge(params),
        timeouts: {
          proposeMs: params.timeoutProposeMs, proposeDeltaMs: params.timeoutProposeDeltaMs,
          prevoteMs: params.timeoutPrevoteMs, prevoteDeltaMs: params.timeoutPrevoteDeltaMs,
          precommitMs: params.timeoutPrecommitMs, precommitDeltaMs: params.timeoutPrecommitDeltaMs,
        },
      },
      {
        chain: consensusChain(chain, mempool, budget, (stage, ms) => metrics.blockProcessing.observe({ stage }, ms / 1000)),
        privValidator, logger: log.child('consensus'), clock: realClock,
        onCommit: (b, c) => {
          // the pace of consensus (not of block sync) sets the rate of new txs taken over tx_send (node/admissionRate.ts)
          if (chain.validatorSet(b.prepared.block.header.height).size > 1) node?.admission.onCommit(c.round)
          node?.onCommit(b.prepared, c)
        },
        onHalt: () => metrics.consensusHalted.set(1),
        onMessageDelay: (kind, ms) => metrics.consensusMessageDelay.observe({ kind }, ms / 1000),
        wal,
        network: {
          broadcastProposal: (p, b, r) => network.broadcastProposal(p, b, r), broadcastVote: (v, r) => network.broadcastVote(v, r),
          broadcastEvidence: (e, r) => network.broadcastEvidence(e, r),
        },
      },
    )
    const sync = new BlockSync(defaultBlockSyncOptions, {
      chain, source: network, logger: log.child('sync'), now: () => Date.now(),
      pauseConsensus: () => driver.pause(),
      resumeConsensus: (c) => driver.resume(c),
      // a synced block is announced like one of our own consensus: tx waiters, metrics, newBlocks and distributions
      onCommitted: (p, commit) => {
        mempool.recheck()
        node?.onCommit(p, commit)
      },
      onSyncing: (on, target) => {
        metrics.syncing.set(on ? 1 : 0)
        metrics.syncTarget.set(target)
      },
    })
    const methods = chainMethods({
      chain, mempool,
      submitTx: (bytes) => node!.submitTx(bytes),
      shedTx: (byteLength, earlier) => node!.shedTx(byteLength, earlier),
      waitForTx: (hash, signal) => node!.waitForTx(hash, signal),
      status: () => ({ peers: network.peers().length, syncing: sync.syncing, validator: key?.address ?? null }),
    }, new BlockJsonCache({ maxBytes: config.rpcBlockCacheBytes }))
    const explorer = explorerRoutes()
    const rpc = new RpcServer(
      {
        host: config.rpcHost, port: config.rpcPort, maxBodyBytes: config.rpcMaxBodyBytes, maxBatch: config.rpcMaxBatch,
        maxResponseBytes: config.rpcMaxResponseBytes, maxConcurrentRequests: config.rpcMaxConcurrentRequests,
        maxConcurrentRequestsPerConnection: config.rpcMaxConcurrentRequestsPerConnection, corsOrigins: config.rpcCorsOrigins,
      },
      {
        methods, logger: log.child('rpc'), metrics, rootPage: explorer.rootPage,
        extraRoutes: { ...explorer.routes, '/metrics': metrics.handler(), '/health': (req, res) => node!.healthRoute(req, res) },
        shedBody: (bytes) => node!.bodyRefusal(bytes),
      },
    )
    node = new AttrchainNode(config, log, chain, mempool, driver, rpc, key?.address ?? null, metrics, network, sync, wal, verifier)
    node.loopLag = loopLag
    node.proposalBudget = budget
    node.snapshots = await SnapshotStore.open({
      dir: join(config.home, 'data', 'snapshots'), interval: config.snapshotInterval, keep: config.snapshotKeep, chunkBytes: DEFAULT_SNAPSHOT_CHUNK_BYTES,
    }, log.child('snapshots'))
    // README "Rollup checkpoints": a validator with a checkpoint key signs every checkpoint it is a signer of
    if (key && params.checkpointInterval > 0 && existsSync(checkpointKeyPath(config.home))) {
      node.checkpointSigner = new CheckpointSigner(
        { chainId: genesis.chainId, params, validatorKey: key, checkpointKey: readCheckpointKeyFile(checkpointKeyPath(config.home)), ...defaultCheckpointSignerOptions },
        { state: chain.db.state, nonce: (a) => chain.queries.nonce(a), submitTx: (b) => node!.submitTx(b, { local: true }), logger: log.child('checkpoint') },
      )
    }
    node.txRelay = new TxRelay(defaultTxRelayOptions, { mempool, network, now: () => performance.now(), onRelayed: (n) => metrics.txRelayed.inc(n) })
    node.txGapRepair = new TxGapRepair(defaultTxGapRepairOptions, {
      gapOf: (sender) => mempool.gapOf(sender),
      request: (peer, req) => network.requestPooledTxs(peer, req),
      admit: (txs) => node!.admitGossiped(txs),
      after: (ms, fn) => void setTimeout(fn, ms).unref(),
      now: () => performance.now(),
    }, (result, txs) => {
      metrics.txGapRepairs.inc({ result })
      metrics.txGapRepaired.inc(txs)
    })
    try {
      node.rpcPort = (await rpc.start()).port
      await network.start()
      await driver.start()
      sync.start()
      loopLag.start()
      node.txRelay.start()
      node.startMetricsPolling()
    } catch (e) {
      await node.stopServices()
      throw e
    }
    log.info('node started', { chainId: genesis.chainId, height: chain.head.height, rpc: node.rpcUrl, p2p: network.multiaddrs()[0], validator: node.validatorAddress })
    return node
  }

  /** wall-clock ms of the last block this node committed (or of its start) */
  private lastCommitWallMs = Date.now()

  /**
   * The node's health: not ok when consensus halted (a decided block could
   * not be committed) or when no block was committed for `stallAfterMs`
   * (60 s, or twice the empty-block interval when empty blocks are off) while
   * not syncing. Shape: `{ok, height, lastCommitAgoMs, syncing, peers, halted?, stalled?}`.
   */
  health(): { ok: boolean; height: number; lastCommitAgoMs: number; syncing: boolean; peers: number; halted?: { height: number; reason: string }; stalled?: boolean } {
    const agoMs = Date.now() - this.lastCommitWallMs
    const stallAfterMs = Math.max(60_000, this.config.emptyBlocks ? 0 : 2 * this.config.emptyBlockIntervalMs)
    const halted = this.driver.halted
    const stalled = !this.sync.syncing && agoMs > stallAfterMs
    return {
      ok: halted === null && !stalled, height: this.chain.head.height, lastCommitAgoMs: agoMs, syncing: this.sync.syncing,
      peers: this.network.peers().length, ...(halted ? { halted } : {}), ...(stalled ? { stalled } : {}),
    }
  }

  /** `GET /health`: 200 with the health object when ok, 503 with it when not. */
  private async healthRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET' }).end()
      return
    }
    const h = this.health()
    res.writeHead(h.ok ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(h))
  }

  get rpcUrl(): string {
    return `http://${this.config.rpcHost}:${this.rpcPort}`
  }

  private loopLag: EventLoopLag | null = null
  /** state snapshots this node takes and serves (issue 17) */
  snapshots: SnapshotStore | null = null
  private checkpointSigner: CheckpointSigner | null = null
  /** rate of new work taken over tx_send while consensus is congested (issue 10) */
  readonly admission: AdmissionRate
  /** what a proposal of this node may hold (node/proposalBudget.ts): the unit of the mempool's backlog bound */
  private proposalBudget: ProposalBudget | null = null
  private txRelay: TxRelay | null = null
  /** pulls the txs a gossiped tx waits for behind its sender's nonce gap (node/txGapRepair.ts) */
  private txGapRepair: TxGapRepair | null = null
  /**
   * Txs taken over tx_send and not yet admitted or refused (waiting for the
   * verifier threads), counted into the backlog bound (backlogRefusal):
   * left out, a flood's batches all passed the bound while their
   * signatures were being verified, and the mempool took several
   * proposals' worth at once.
   */
  private intakeInFlight: Held = { txs: 0, bytes: 0, receipts: 0 }

  /** gap repairs by outcome and the txs they brought (node/txGapRepair.ts), null before start */
  get gapRepairs(): TxGapRepair['stats'] | null {
    return this.txGapRepair?.stats ?? null
  }

  /**
   * Admit to the mempool (refusing bad txs with a clear error) and gossip.
   * A saturated node refuses at once with MEMPOOL_ERROR_FULL (Mempool
   * `refusal`), counted in attrchain_tx_refused_total; the txs it holds are
   * re-broadcast until included (node/txRelay.ts).
   *
   * `local: true` is for txs this node originates as part of the protocol
   * (the validator's checkpoint signature, node/checkpointSigner.ts): they
   * skip the intake limits that shed operator load (backlog, congestion
   * rate, verifier and event-loop saturation), since refusing them under an
   * operator flood would only delay the protocol, while their number is
   * bounded by the protocol (one per checkpoint). They are checked like any
   * tx otherwise (signature, nonce, fee, the mempool's count and byte
   * limits) and take no share of the congestion rate.
   */
  async submitTx(bytes: Uint8Array, opts: { local?: boolean } = {}): Promise<SignedTx> {
    let stx: SignedTx
    if (opts.local === true) {
      stx = await this.mempool.admit(bytes, { shed: false })
    } else {
      try {
        const refused = this.intakeRefusal(bytes.length)
        if (refused) throw refused
        this.admission.take(bytes.length)
        const raw = heldOfRaw(bytes.length)
        this.intakeInFlight = addHeld(this.intakeInFlight, raw)
        try {
          stx = await this.mempool.admit(bytes)
        } catch (e) {
          this.admission.refund(bytes.length)
          throw e
        } finally {
          this.intakeInFlight = addHeld(this.intakeInFlight, raw, -1)
        }
      } catch (e) {
        this.countRefusal(e, 'rpc')
        throw e
      }
    }
    this.network.publishTx(stx.bytes)
    return stx
  }

  /**
   * Why a raw tx of `byteLength` bytes submitted over RPC would be refused
   * for lack of capacity before it is even decoded (MEMPOOL_ERROR_FULL:
   * limit "backlog", "rate", or the mempool's own limits), else null. Takes
   * nothing: submitTx takes the tx's work after asking.
   */
  intakeRefusal(byteLength: number): MempoolError | null {
    const backlog = this.backlogRefusal()
    if (backlog) return backlog
    if (!this.admission.canTake(byteLength)) {
      return this.rateRefusal(this.admission.retryAfterMs(byteLength), '')
    }
    return this.mempool.refusal(byteLength)
  }

  /**
   * Whether a large JSON-RPC body (RpcServerModules.shedBody; a tx_send
   * batch) of `declaredBytes` bytes is refused unread: when this node would
   * refuse any tx_send now whatever its size (intakeRefusal of one byte),
   * with that error — except that a rate refusal's `retryAfterMs` is when
   * the token bucket can take the body's txs (about half its bytes: hex),
   * up to a full bucket, as the per-tx hints of a refused batch add up to.
   * Counted in attrchain_tx_refused_total once per body.
   */
  bodyRefusal(declaredBytes: number): MempoolError | null {
    const refused = this.intakeRefusal(1)
    if (refused === null) return null
    const body = refused.meta.limit === 'rate' ? this.rateRefusal(this.admission.retryAfterMs(Math.floor(declaredBytes / 2)), ', and refused a tx_send body unread') : refused
    this.countRefusal(body, 'rpc')
    return body
  }

  /**
   * tx_send's load shedding (rpc MethodSpec.shed): the capacity refusal of a
   * raw tx of `byteLength` bytes, asked before its hex is validated or
   * decoded; once one tx_send of a batch was refused (`earlier`), the rest
   * of the batch is refused with the same error, so that a later nonce is
   * never taken after an earlier one was refused (it could not execute
   * before that one is sent again). Counted in attrchain_tx_refused_total.
   */
  shedTx(byteLength: number, earlier: Error | null): Error | null {
    const refused = earlier ? this.laterInBatch(earlier, byteLength) : this.intakeRefusal(byteLength)
    if (refused) this.countRefusal(refused, 'rpc')
    return refused
  }

  /**
   * The refusal of a tx_send that follows one refused in the same batch: the
   * same error, except that a rate refusal's `retryAfterMs` grows with each
   * refused tx by the time the token bucket takes to refill that tx's work
   * (up to the time it takes to fill: AdmissionRate.retryAfterLaterMs), so
   * the batch's largest hint says when this node expects to take the
   * batch's refused txs, not only the first. An operator honouring it does
   * not send the rest of the batch back before the node can take it: a
   * refused batch costs the node its parse, and the sender its serialization.
   */
  private laterInBatch(earlier: Error, byteLength: number): Error {
    if (!(earlier instanceof MempoolError) || earlier.meta.limit !== 'rate' || typeof earlier.meta.retryAfterMs !== 'number') return earlier
    return this.rateRefusal(this.admission.retryAfterLaterMs(earlier.meta.retryAfterMs, byteLength), ', and refused an earlier tx of this batch')
  }

  /** MEMPOOL_ERROR_FULL limit "rate" with its `retryAfterMs` (ms); `why` is appended to the reason. */
  private rateRefusal(retryAfterMs: number, why: string): MempoolError {
    return mempoolFull('rate', `consensus is congested: this node takes new txs at ${Math.round(this.admission.rate)} work units/s${why} (retry after ${retryAfterMs} ms)`, { retryAfterMs })
  }

  /**
   * MEMPOOL_ERROR_FULL limit "backlog" when the mempool holds more than
   * `mempool.maxBacklogBlocks` proposals' worth of executable txs
   * (Mempool.backlog; heldBlocks of the
   * next proposal's limits, node/admissionRate.ts), counting those taken
   * over tx_send that are still being verified (`intakeInFlight`), else null.
   */
  private backlogRefusal(): MempoolError | null {
    const bound = this.config.mempool.maxBacklogBlocks
    if (bound <= 0 || !this.proposalBudget) return null
    const limits = proposalLimits(this.chain, this.proposalBudget, this.chain.head.height + 1, 0)
    const held = heldBlocks(addHeld(this.mempool.backlog, this.intakeInFlight), limits)
    if (held <= bound) return null
    const retryAfterMs = this.config.blockTimeMs
    const verifying = this.intakeInFlight.txs > 0 ? `, ${this.intakeInFlight.txs} of them still being verified` : ''
    return mempoolFull('backlog', `the mempool holds ${held.toFixed(1)} blocks of txs${verifying} (bound ${bound}); retry after the next block`, { retryAfterMs })
  }

  /**
   * Txs gossip delivered from `from` (signatures verified): admitted, and
   * a sender left with txs held behind a nonce gap has the gap asked for
   * from `from` (node/txGapRepair.ts).
   */
  onGossipedTxs(txs: SignedTx[], from: string): void {
    this.admitGossiped(txs)
    let last: Address | null = null
    for (const stx of txs) {
      // a message's txs come mostly in runs of one sender: ask the mempool once per run
      if (stx.sender === last) continue
      last = stx.sender
      if (this.mempool.hasQueued(stx.sender)) this.txGapRepair?.noteGap(stx.sender, from)
    }
  }

  /**
   * Admit gossiped (or gap-repaired) txs; refusals are counted, never
   * thrown: gossip is best effort (the sender re-broadcasts). Returns how
   * many the mempool took.
   */
  admitGossiped(txs: SignedTx[]): number {
    let took = 0
    for (const stx of txs) {
      try {
        this.mempool.addDecoded(stx)
        took++
      } catch (e) {
        // already held, already included, no longer valid or no room here
        this.countRefusal(e, 'gossip')
      }
    }
    return took
  }

  /** MEMPOOL_ERROR_FULL refusals by the limit hit (`limit`, a FullReason) and source. */
  countRefusal(e: unknown, source: 'rpc' | 'gossip'): void {
    if (e instanceof MempoolError && e.code === 'MEMPOOL_ERROR_FULL') this.metrics.txRefused.inc({ reason: String(e.meta.limit), source })
  }

  private metricsTimer: NodeJS.Timeout | null = null
  private lastGossip: GossipStats | null = null
  private lastDhtLookups = 0

  private startMetricsPolling(): void {
    this.metricsTimer = setInterval(() => {
      this.metrics.peers.set(this.network.peers().length)
      const lookups = this.network.dhtLookups
      if (lookups > this.lastDhtLookups) this.metrics.dhtLookups.inc(lookups - this.lastDhtLookups)
      this.lastDhtLookups = lookups
      this.metrics.mempoolTxs.set(this.mempool.size)
      this.metrics.mempoolBytes.set(this.mempool.sizeBytes)
      this.metrics.admissionRate.set(Number.isFinite(this.admission.rate) ? Math.round(this.admission.rate) : -1)
      const stats = this.network.stats()
      for (const kind of GOSSIP_KINDS) {
        for (const result of ['accepted', 'ignored', 'rejected'] as const) {
          const delta = stats[kind][result] - (this.lastGossip?.[kind][result] ?? 0)
          if (delta > 0) this.metrics.gossipMessages.inc({ topic: kind, result }, delta)
        }
        for (const reason of Object.keys(GOSSIP_REJECT_REASONS) as GossipRejectReason[]) {
          const delta = stats[kind].rejectedBy[reason] - (this.lastGossip?.[kind].rejectedBy[reason] ?? 0)
          if (delta > 0) this.metrics.gossipRejected.inc({ topic: kind, reason }, delta)
        }
      }
      this.lastGossip = stats
    }, 1000)
    this.metricsTimer.unref()
  }

  /**
   * The outcome of tx `hash` once a block that commits it is applied after
   * this call (a tx committed before it is not seen: call it before the tx
   * can be committed, as `tx_send` with wait "commit" does, in the same turn
   * as the admission). Rejects with RPC_ERROR_TIMEOUT after
   * `txCommitTimeoutMs` (ms) and RPC_ERROR_ABORTED when `signal` aborts.
   */
  waitForTx(hash: string, signal: AbortSignal): Promise<{ height: number; status: 'ok' | 'failed'; error?: { code: string; message: string } }> {
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(hash) ?? new Set()
      this.waiters.set(hash, set)
      const waiter: TxWaiter = {
        resolve: (r) => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          resolve(r)
        },
      }
      const drop = (): void => {
        set.delete(waiter)
        if (set.size === 0) this.waiters.delete(hash)
      }
      const timer = setTimeout(() => {
        drop()
        reject(new RpcError(RpcErrorCode.timeout, `tx ${hash} not committed within ${this.config.txCommitTimeoutMs} ms; it may still be included`, { hash }))
      }, this.config.txCommitTimeoutMs)
      const onAbort = (): void => {
        clearTimeout(timer)
        drop()
        reject(new RpcError(RpcErrorCode.aborted, 'request aborted'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      set.add(waiter)
    })
  }

  private onCommit(p: PreparedBlock, commit: Commit): void {
    this.lastCommitWallMs = Date.now()
    const height = p.block.header.height
    this.recordMetrics(p, commit)
    p.outcome.results.forEach((r) => {
      const set = this.waiters.get(r.hash)
      if (!set) return
      this.waiters.delete(r.hash)
      for (const w of set) w.resolve({ height, status: r.status, ...(r.error ? { error: r.error } : {}) })
    })
    this.rpc.publish('newBlocks', () => blockToJson(p.hash, p.block, false))
    this.checkpointSigner?.onCommit(height)
    this.rpc.publish('distributions', () => distributionToJson(p.outcome.distribution))
    // issue 17: a bounded pruning step (pruneKeepBlocks) and a state snapshot every snapshotInterval heights
    this.chain.db.pruneStep().catch((e: Error) => this.log.warn('pruning step failed', { reason: e.message }))
    this.snapshots?.afterCommit(this.chain, commit)
  }

  private lastCommitTimeMs: number | null = null

  private recordMetrics(p: PreparedBlock, commit: Commit): void {
    const m = this.metrics
    const { header } = p.block
    m.height.set(header.height)
    m.roundsPerHeight.observe(commit.round + 1)
    if (this.lastCommitTimeMs !== null) m.blockInterval.observe((header.timeMs - this.lastCommitTimeMs) / 1000)
    this.lastCommitTimeMs = header.timeMs
    m.blockTxs.observe(p.txs.length)
    m.blockReceipts.observe(p.outcome.receipts.length)
    m.receiptsTotal.inc(p.outcome.receipts.length)
    if (this.chain.lastFlow.height === header.height) m.recordFlow(this.chain.lastFlow)
    for (const r of p.outcome.results) m.txsTotal.inc({ status: r.status })
    m.mempoolTxs.set(this.mempool.size)
    m.mempoolBytes.set(this.mempool.sizeBytes)
    this.recordStakingEvents(p.outcome.events)
  }

  /** One structured log line and one count per slash, jail, unjail and set change of a committed block (issue 11: punishment is visible). */
  private recordStakingEvents(events: StakingEvent[]): void {
    for (const e of events) {
      this.metrics.stakingEvents.inc({ kind: e.kind, reason: 'reason' in e ? e.reason : 'none' })
      const fields = Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]))
      if (e.kind === 'slash' || e.kind === 'jail') this.log.warn(`validator ${e.kind === 'slash' ? 'slashed' : 'jailed'}`, fields)
      else this.log.info(e.kind === 'unjail' ? 'validator unjailed' : 'validator set change', fields)
    }
  }

  async stop(): Promise<void> {
    await this.stopServices()
    this.log.info('node stopped', {})
  }

  private async stopServices(): Promise<void> {
    if (this.metricsTimer) clearInterval(this.metricsTimer)
    this.txRelay?.stop()
    this.txGapRepair?.stop()
    this.loopLag?.stop()
    await this.sync.stop()
    await this.driver.stop()
    this.wal?.close()
    await this.network.stop()
    await this.rpc.stop()
    await this.verifier.close()
    await this.chain.db.close()
  }
}

/** Gossip handed to the node; the node exists by the time the network starts. */
function p2pHandlers(node: () => AttrchainNode | undefined): P2PHandlers {
  const n = (): AttrchainNode => node() as AttrchainNode
  return {
    onTxs: (txs, from) => n().onGossipedTxs(txs, from),
    pooledTxs: (sender, fromNonce, count, maxBytes) => n().mempool.pooledTxs(sender as Address, fromNonce, count, maxBytes),
    txGossipBusy: () => {
      const refused = n().mempool.refusal(0)
      return refused === null ? null : String(refused.meta.limit)
    },
    txGossipIgnored: (reason) => n().metrics.txRefused.inc({ reason, source: 'gossip' }),
    onProposal: (p, bytes) => n().driver.onProposal(p, bytes),
    knownTx: (hash) => n().mempool.get(hash)?.bytes,
    // gossiped txs: signatures in the verifier's worker threads (admission priority), none for txs already held
    verifyTxSignatures: (txs) => Promise.all(txs.map((stx) => (n().mempool.get(stx.hash)
      ? true
      : n().verifier.verify(stx.pubKey, signingDigestOfSigned(stx.bytes), stx.signature)))),
    onVote: (v) => n().driver.onVote(v),
    // double-sign evidence another node saw: ours to include when we propose (gossipsub forwards it on)
    onEvidence: (e) => void n().driver.addEvidence(e),
    knownEvidence: (e) => n().driver.hasEvidence(e) || n().chain.queries.doubleSignPunished(e.voteA.validator, e.voteA.height),
    evidenceValidatorSet: async (height) => {
      const next = n().chain.head.height + 1
      if (height >= next + 2 || height + maxEvidenceAge(n().chain.config.params) < next) return null
      return n().chain.validatorSetAt(height)
    },
    getStatus: () => ({ height: n().chain.head.height, lowestHeight: n().chain.db.lowestHeight() }),
    getBlocks: async (from, to) => n().chain.db.getBlocks(from, Math.min(to, from + 99)),
    serveSnapshot: (req) => serveSnapshotRequest(n().snapshots, req),
    validatorPubKey: (height, address) => n().chain.knownValidatorSet(height)?.get(address)?.pubKey ?? null,
  }
}
