import { existsSync } from 'node:fs'
import { AttrchainError } from '../core/errors.js'
import type { SignedTx } from '../core/tx.js'
import { genesisHash } from '../genesis/genesis.js'
import { PrivValidator, type Commit } from '../consensus/index.js'
import { RpcServer } from '../rpc/index.js'
import { ChainDb } from './db/index.js'
import { ChainService, type PreparedBlock } from './chain.js'
import { Mempool } from './mempool.js'
import { ConsensusDriver } from './driver.js'
import { chainMethods, distributionToJson, blockToJson } from './rpcMethods.js'
import { homePaths, readGenesisFile, readKeyFile, FileWalStore } from './home.js'
import type { NodeConfig } from './config.js'
import { createLogger, type Logger } from './logger.js'
import { Metrics } from './metrics.js'

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
    readonly driver: ConsensusDriver,
    private readonly rpc: RpcServer,
    readonly validatorAddress: string | null,
    readonly metrics: Metrics,
  ) {}

  static async start(config: NodeConfig, logger?: Logger): Promise<AttrchainNode> {
    const log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat })
    const paths = homePaths(config.home)
    const genesis = readGenesisFile(paths.genesis)
    const db = await ChainDb.open({ dir: paths.chainDb, genesisHash: genesisHash(genesis), chainId: genesis.chainId }, { logger: log.child('db') })
    try {
      return await AttrchainNode.wire(config, log, genesis, db)
    } catch (e) {
      await db.close()
      throw e
    }
  }

  private static async wire(config: NodeConfig, log: Logger, genesis: ReturnType<typeof readGenesisFile>, db: ChainDb): Promise<AttrchainNode> {
    const paths = homePaths(config.home)
    let mempool: Mempool | undefined
    const chain = await ChainService.open(genesis, { db, logger: log.child('chain'), verifiedTx: (h) => mempool?.get(h) })
    mempool = new Mempool(config.mempool, {
      chainId: genesis.chainId, params: genesis.params,
      account: (a) => ({ balance: chain.queries.balance(a), nonce: chain.queries.nonce(a) }),
    })
    const key = existsSync(paths.validatorKey) ? readKeyFile(paths.validatorKey) : null
    const privValidator = key ? await PrivValidator.open(key, new FileWalStore(paths.signState)) : null
    let node: AttrchainNode | undefined
    const driver = new ConsensusDriver(
      {
        blockTimeMs: config.blockTimeMs, emptyBlocks: config.emptyBlocks, emptyBlockIntervalMs: config.emptyBlockIntervalMs, maxBufferedHeights: 2,
        timeouts: {
          proposeMs: genesis.params.timeoutProposeMs, proposeDeltaMs: genesis.params.timeoutProposeDeltaMs,
          prevoteMs: genesis.params.timeoutPrevoteMs, prevoteDeltaMs: genesis.params.timeoutPrevoteDeltaMs,
          precommitMs: genesis.params.timeoutPrecommitMs, precommitDeltaMs: genesis.params.timeoutPrecommitDeltaMs,
        },
      },
      { chain, mempool, privValidator, network: null, logger: log.child('consensus'), now: () => Date.now(), onCommit: (p, c) => node?.onCommit(p, c) },
    )
    const methods = chainMethods({
      chain, mempool,
      submitTx: (bytes) => node!.submitTx(bytes),
      waitForTx: (hash, signal) => node!.waitForTx(hash, signal),
      status: () => ({ peers: 0, syncing: false, validator: key?.address ?? null }),
    })
    const metrics = new Metrics()
    metrics.height.set(chain.head.height)
    const rpc = new RpcServer(
      { host: config.rpcHost, port: config.rpcPort, maxBodyBytes: config.rpcMaxBodyBytes, maxBatch: config.rpcMaxBatch },
      { methods, logger: log.child('rpc'), metrics, extraRoutes: { '/metrics': metrics.handler() } },
    )
    node = new AttrchainNode(config, log, chain, mempool, driver, rpc, key?.address ?? null, metrics)
    node.rpcPort = (await rpc.start()).port
    await driver.start()
    const head = chain.head
    log.info('node started', { chainId: genesis.chainId, height: head.height, rpc: node.rpcUrl, validator: node.validatorAddress })
    return node
  }

  get rpcUrl(): string {
    return `http://${this.config.rpcHost}:${this.rpcPort}`
  }

  submitTx(bytes: Uint8Array): SignedTx {
    return this.mempool.add(bytes)
  }

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
        reject(new AttrchainError('RPC_ERROR_TIMEOUT', `tx ${hash} not committed within ${this.config.txCommitTimeoutMs} ms; it may still be included`, { hash }))
      }, this.config.txCommitTimeoutMs)
      const onAbort = (): void => {
        clearTimeout(timer)
        drop()
        reject(new AttrchainError('RPC_ERROR_ABORTED', 'request aborted'))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      set.add(waiter)
    })
  }

  private onCommit(p: PreparedBlock, commit: Commit): void {
    const height = p.block.header.height
    this.recordMetrics(p, commit)
    p.outcome.results.forEach((r) => {
      const set = this.waiters.get(r.hash)
      if (!set) return
      this.waiters.delete(r.hash)
      for (const w of set) w.resolve({ height, status: r.status, ...(r.error ? { error: r.error } : {}) })
    })
    this.rpc.publish('newBlocks', blockToJson(p.hash, p.block, false))
    this.rpc.publish('distributions', distributionToJson(p.outcome.distribution))
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
    for (const r of p.outcome.results) m.txsTotal.inc({ status: r.status })
    m.mempoolTxs.set(this.mempool.size)
    m.mempoolBytes.set(this.mempool.sizeBytes)
  }

  async stop(): Promise<void> {
    await this.driver.stop()
    await this.rpc.stop()
    await this.chain.db.close()
    this.log.info('node stopped', {})
  }
}
