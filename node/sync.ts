import { fromHex } from '../core/bytes.js'
import { AttrchainError } from '../core/errors.js'
import { decodeCommit, verifyCommit, type Commit } from '../consensus/index.js'
import type { ChainService, PredecodedBlock, PreparedBlock } from './chain.js'
import { blockHash } from '../state/block.js'
import type { Logger } from './logger.js'

/** A peer as block sync sees it: it serves blocks `lowestHeight..height` (a pruned or state-synced peer has lowestHeight > 1). */
export interface SyncPeer {
  id: string
  height: number
  lowestHeight?: number
}

/** Where blocks come from: the p2p sync protocol in a node, anything in tests. */
export interface SyncSource {
  /** connected peers with the range of blocks each serves, `lowestHeight..height` (lowestHeight absent: 1) */
  peers(): SyncPeer[]
  requestBlocks(peer: string, from: number, to: number): Promise<{ height: number; bytes: Uint8Array; commit: Uint8Array | null }[]>
  /** disconnect a peer that repeatedly failed to serve heights it claimed, and refuse it for `banMs` */
  penalisePeer?(peer: string, reason: string, banMs: number): void
}

export interface BlockSyncOptions {
  /** blocks asked for in one request */
  batchSize: number
  /** how often to compare our head with the peers' (ms) */
  pollMs: number
  /** start syncing at once when a peer is this many heights ahead of us */
  lagThreshold: number
  /**
   * A lag of one height is normal for a moment (peers commit a little before
   * us) but fatal if it lasts: the others moved on and no longer send the
   * votes we need. Sync it once it has lasted this many polls.
   */
  lagOnePolls: number
  /**
   * A peer that fails to serve a height it claims (no block, a bad block or
   * a commit that does not verify) is not asked again for
   * `pollMs × 2^failures` ms (at most `maxBackoffMs`) and its claimed height
   * is ignored meanwhile; after `maxFailures` in a row it is disconnected and
   * refused for `banMs`.
   */
  maxBackoffMs: number
  maxFailures: number
  banMs: number
}

export const defaultBlockSyncOptions: BlockSyncOptions = {
  batchSize: 100, pollMs: 500, lagThreshold: 2, lagOnePolls: 3, maxBackoffMs: 60_000, maxFailures: 3, banMs: 600_000,
}

export interface BlockSyncModules {
  chain: ChainService
  source: SyncSource
  logger: Logger
  /** consensus must stand still while sync moves the head */
  pauseConsensus(): Promise<void>
  /** the head moved to `commit.height`: resume consensus after it */
  resumeConsensus(lastCommit: Commit | null): void
  /** a synced block was committed: the node announces it as it does a block of its own consensus */
  onCommitted?(p: PreparedBlock, commit: Commit): void
  onSyncing?(syncing: boolean, target: number): void
  now(): number
}

/** What `SyncError` carries: why a peer's answer is dropped (the peer is penalised). */
export type SyncErrorCode =
  /** the peer served no blocks for a range it claimed to hold */
  | 'SYNC_ERROR_EMPTY'
  /** a block came without the commit that finalized it */
  | 'SYNC_ERROR_NO_COMMIT'
  /** a block of another height than the next one asked for */
  | 'SYNC_ERROR_OUT_OF_ORDER'

export class SyncError extends AttrchainError<SyncErrorCode> {}

interface BlockRequest {
  peer: SyncPeer
  from: number
  blocks: ReturnType<SyncSource['requestBlocks']>
}

/**
 * Block sync (DESIGN §6): a node behind its peers downloads blocks with
 * their commits, verifies each commit against the validator set it computes
 * itself, executes the block (which checks its state root), commits it, and
 * then hands over to consensus. A peer that serves a bad block is dropped
 * from this round and another is tried.
 */
export class BlockSync {
  private timer: NodeJS.Timeout | null = null
  private running = false
  private stopped = false
  private _syncing = false
  private target = 0
  /** consecutive polls that saw a peer one height ahead at the same head */
  private lagOne = { head: -1, polls: 0 }
  /** peers that failed to serve what they claimed: consecutive failures and when they may be asked again */
  private readonly failures = new Map<string, { count: number; retryAt: number }>()
  /** the height last logged as served by no peer (said once per height) */
  private warnedNoPeerAt = -1

  constructor(private readonly opts: BlockSyncOptions, private readonly modules: BlockSyncModules) {}

  get syncing(): boolean {
    return this._syncing
  }

  get targetHeight(): number {
    return this.target
  }

  start(): void {
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    while (this.running) await new Promise((r) => setTimeout(r, 10))
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => void this.tick(), ms)
    this.timer.unref()
  }

  private async tick(): Promise<void> {
    this.running = true
    try {
      await this.catchUp()
    } catch (e) {
      this.modules.logger.warn('block sync failed; retrying', { reason: (e as Error).message })
    } finally {
      this.running = false
      this.schedule(this.opts.pollMs)
    }
  }

  /** Peers that are not serving a penalty for failing to serve what they claimed. */
  private usablePeers(): SyncPeer[] {
    const now = this.modules.now()
    return this.modules.source.peers().filter((p) => (this.failures.get(p.id)?.retryAt ?? 0) <= now)
  }

  /** A peer failed to serve a height it claimed: back off from it, and after maxFailures disconnect it. */
  private failed(peer: string, reason: string): void {
    const count = (this.failures.get(peer)?.count ?? 0) + 1
    if (count >= this.opts.maxFailures) {
      this.failures.set(peer, { count: 0, retryAt: this.modules.now() + this.opts.banMs })
      this.modules.source.penalisePeer?.(peer, `failed ${count} times in a row to serve blocks it claimed: ${reason}`, this.opts.banMs)
      return
    }
    const backoff = Math.min(this.opts.maxBackoffMs, this.opts.pollMs * 2 ** count)
    this.failures.set(peer, { count, retryAt: this.modules.now() + backoff })
  }

  /**
   * Sync to the highest peer if we lag by at least lagThreshold; returns the
   * blocks applied. Consensus is paused only once a peer has delivered a
   * block for our next height whose commit verifies: a peer that merely
   * claims a height (and serves nothing, or garbage) never stops consensus.
   */
  async catchUp(): Promise<number> {
    const { chain, logger } = this.modules
    const best = () => Math.max(0, ...this.usablePeers().map((p) => p.height))
    this.target = best()
    if (!this.behind(chain.head.height)) return 0
    let applied = 0
    let lastCommit: Commit | null = null
    let paused = false
    const started = this.modules.now()
    // The next range is requested from the same peer while this one executes,
    // so the transfer overlaps execution instead of following it.
    let prefetched: BlockRequest | null = null
    let undurable = false
    const request = (peer: SyncPeer, from: number): BlockRequest => {
      const blocks = this.modules.source.requestBlocks(peer.id, from, Math.min(from + this.opts.batchSize - 1, peer.height))
      blocks.catch(() => {}) // a prefetch nobody awaits must not be an unhandled rejection
      return { peer, from, blocks }
    }
    try {
      while (!this.stopped && chain.head.height < this.target) {
        const from = chain.head.height + 1
        let req: BlockRequest | null = prefetched?.from === from ? prefetched : null
        prefetched = null
        if (req === null) {
          // only peers that hold `from`: a pruned peer is not asked for heights below its lowest
          const peer = this.usablePeers().filter((p) => p.height >= from && (p.lowestHeight ?? 1) <= from).sort((a, b) => b.height - a.height)[0]
          if (!peer) {
            if (this.warnedNoPeerAt !== from) logger.warn('no peer serves the next height; waiting for one (pruned peers keep only recent blocks: add an archive node)', { height: from, target: this.target })
            this.warnedNoPeerAt = from
            break
          }
          req = request(peer, from)
        }
        try {
          const blocks = await req.blocks
          if (blocks.length === 0) throw new SyncError('SYNC_ERROR_EMPTY', `peer served no blocks for ${from}..`)
          if (!paused) {
            // Proof first, then the pause: the first block must carry a commit that verifies.
            this.verifiedCommit(blocks[0])
            this.setSyncing(true)
            await this.modules.pauseConsensus()
            paused = true
            if (chain.head.height + 1 !== from) continue // consensus committed meanwhile: ask again from the new head
          }
          const after = from + blocks.length
          if (after <= req.peer.height && after <= this.target) prefetched = request(req.peer, after)
          let next = chain.predecode(blocks[0].bytes, { committed: true })
          for (const [i, b] of blocks.entries()) {
            if (this.stopped) break
            // only the batch's last block waits for an fsync (ChainDb.commitBlock)
            const durable = i === blocks.length - 1
            const pre = next
            lastCommit = await this.apply(b, durable, pre, () => { next = i + 1 < blocks.length ? chain.predecode(blocks[i + 1].bytes, { committed: true }) : null })
            undurable = !durable
            applied++
          }
          this.failures.delete(req.peer.id)
        } catch (e) {
          prefetched = null
          this.failed(req.peer.id, (e as Error).message)
          logger.warn('sync peer served a bad or no block; trying another', { peer: req.peer.id, from, reason: (e as Error).message })
        }
        if (paused) {
          const secs = Math.max(1, this.modules.now() - started) / 1000
          logger.info('syncing', { height: chain.head.height, target: this.target, blocksPerSec: Math.round(applied / secs) })
        }
        this.target = Math.max(chain.head.height, best())
      }
    } finally {
      // a batch cut short left its last block without an fsync: consensus must not build on that
      if (undurable) await chain.makeDurable().catch((e: Error) => logger.error('could not make synced blocks durable', { reason: e.message }))
      if (paused) {
        this.setSyncing(false)
        this.modules.resumeConsensus(lastCommit)
      }
    }
    return applied
  }

  /**
   * A served block must be our next height and carry a commit that verifies
   * against the validator set we compute (more than 2/3 of the power, every
   * signature a precommit for this block); returns that commit.
   */
  private verifiedCommit(b: { height: number; bytes: Uint8Array; commit: Uint8Array | null }, predecoded: PredecodedBlock | null = null): Commit {
    const { chain } = this.modules
    const height = chain.head.height + 1
    if (b.height !== height) throw new SyncError('SYNC_ERROR_OUT_OF_ORDER', `expected block ${height}, got ${b.height}`)
    if (!b.commit) throw new SyncError('SYNC_ERROR_NO_COMMIT', `block ${height} came without its commit`)
    const block = predecoded?.bytes === b.bytes ? predecoded.block : chain.decodeBlock(b.bytes)
    const commit = decodeCommit(b.commit)
    verifyCommit(commit, chain.validatorSet(height), chain.config.chainId, { height, blockHash: fromHex(blockHash(block.header)) })
    return commit
  }

  private behind(head: number): boolean {
    if (this.target >= head + this.opts.lagThreshold) return true
    if (this.target < head + 1) {
      this.lagOne = { head: -1, polls: 0 }
      return false
    }
    this.lagOne = this.lagOne.head === head ? { head, polls: this.lagOne.polls + 1 } : { head, polls: 1 }
    return this.lagOne.polls >= this.opts.lagOnePolls
  }

  /**
   * Validate, execute and commit one block. `whileWriting` runs once the
   * block's write has been handed to LevelDB (sync decodes the next block
   * there, so the write and the decoding overlap).
   */
  private async apply(
    b: { height: number; bytes: Uint8Array; commit: Uint8Array | null }, durable: boolean,
    predecoded: PredecodedBlock | null = null, whileWriting: () => void = () => {},
  ): Promise<Commit> {
    const { chain } = this.modules
    // The commit first: a block +2/3 of the stake did not sign is refused before it
    // is executed, and once it checks out, the txs' bytes are the committed ones.
    const commit = this.verifiedCommit(b, predecoded)
    const p = await chain.validateBlock(b.bytes, { committed: true, ...(predecoded ? { predecoded } : {}) })
    const written = chain.commitBlock(p, commit, { durable })
    whileWriting()
    await written
    this.modules.onCommitted?.(p, commit)
    return commit
  }

  private setSyncing(on: boolean): void {
    this._syncing = on
    this.modules.onSyncing?.(on, this.target)
  }
}
