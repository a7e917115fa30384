// Why this file passes 400 lines (issue 14): it is the one ChainDb class,
// whose public methods (open, commits, pruning, snapshot restore and the
// reads of every bucket) are its API; the jobs behind them live beside it:
// types.ts (shapes), open.ts (opening a dir), ops.ts (what a commit writes),
// prune.ts (pruning), receipts.ts (reading receipts), buckets.ts (layout).
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { toHex } from '../../core/bytes.js'
import type { Hex } from '../../core/tx.js'
import type { MemoryStateStore, WriteSet } from '../../state/store.js'
import { proveStored, type StateTreeUpdate } from '../../state/stateTree.js'
import { decodeBlock, ZERO_HASH, type Block } from '../../state/block.js'
import type { Distribution } from '../../state/distribution.js'
import type { ReceiptRecord } from '../../state/execute.js'
import { silentLogger, type Logger } from '../../core/logger.js'
import {
  keys, heightOfKey, encodeHeight, decodeHeight, encodeHead, decodeHead, decodeTxLocation,
  decodeReceiptEntry, decodeDistribution, type Head, type TxLocation,
} from './buckets.js'
import { DbError } from './errors.js'
import { LOWEST_HEIGHT_META, pruneBatch } from './prune.js'
import { blockOps, checkCommit, metaOps, put, stateOps, treeOps, writeBatch } from './ops.js'
import { checkChainInfo, loadState, openLevel, own } from './open.js'
import { ReceiptReader } from './receipts.js'
import type { BlockCommit, ChainDbModules, ChainDbOptions, Db, MetaEntry, Op, SnapshotRestore, StoredBlock } from './types.js'

export type { BlockCommit, ChainDbModules, ChainDbOptions, MetaEntry, SnapshotRestore, StoredBlock } from './types.js'

/** classic-level has compactRange; the portable `Level` type does not declare it. */
interface Compactable {
  compactRange(start: Uint8Array, end: Uint8Array): Promise<void>
}

type DbLog = Pick<Logger, 'info' | 'debug'>

const isHeight = (h: number): boolean => Number.isSafeInteger(h) && h >= 0

/**
 * The node's chain database: blocks, commits, indexes, distributions, head
 * and state in one LevelDB (bucket layout in buckets.ts).
 *
 * The state is held twice on purpose. `state` is a MemoryStateStore loaded
 * whole at open: the state machine reads synchronously (StateStore.get), and
 * LevelDB only reads asynchronously, so execution cannot read through to
 * disk. LevelDB holds the durable copy, written in the same batch as the
 * block; memory is updated only after that batch has resolved, so memory is
 * never ahead of disk. The cost is RAM proportional to the state, acceptable
 * for this chain's state sizes; a read-through cache would replace this
 * if state ever outgrows memory.
 */
export class ChainDb {
  readonly state: MemoryStateStore
  readonly dir: string
  private readonly db: Db
  private readonly sync: boolean
  private readonly log: DbLog
  private headValue: Head | null
  private committing = false
  private closed = false
  private pruning = false
  /** lowest block height stored (1 unless pruned or joined by state sync) */
  private lowest = 1
  readonly pruneKeepBlocks: number
  private readonly receipts = new ReceiptReader((height) => this.getBlock(height))

  private constructor(db: Db, opts: ChainDbOptions, log: DbLog, head: Head | null, state: MemoryStateStore) {
    this.db = db
    this.dir = opts.dir
    this.sync = opts.sync ?? true
    this.log = log
    this.headValue = head === null ? null : Object.freeze(head)
    this.state = state
    this.pruneKeepBlocks = opts.pruneKeepBlocks ?? 0
  }

  static async open(opts: ChainDbOptions, modules: ChainDbModules = {}): Promise<ChainDb> {
    const log = modules.logger ?? silentLogger
    const started = performance.now()
    const db = await openLevel(opts)
    try {
      await checkChainInfo(db, opts)
      const headBytes = await db.get(keys.head())
      const head = headBytes === undefined ? null : decodeHead(headBytes)
      const state = await loadState(db)
      if (head !== null && toHex(state.tree.root) !== head.stateRoot) {
        throw new DbError('DB_ERROR_CORRUPT', `the stored state's tree root ${toHex(state.tree.root)} is not the head's state root ${head.stateRoot} (height ${head.height})`, { height: head.height })
      }
      const lowest = await db.get(keys.nodeMeta(LOWEST_HEIGHT_META))
      log.info('chain db opened', { dir: opts.dir, height: head?.height ?? null, stateKeys: state.size, ms: Math.round(performance.now() - started) })
      const chainDb = new ChainDb(db, opts, log, head, state)
      if (lowest !== undefined) chainDb.lowest = decodeHeight(lowest)
      return chainDb
    } catch (e) {
      await db.close()
      throw e
    }
  }

  /** The last committed block (frozen: callers share it). */
  head(): Head | null {
    return this.headValue
  }

  /** Store genesis state (and node metadata) as height 0. `timeMs` is the genesis time; `tree` as in BlockCommit. */
  async commitGenesis(writes: WriteSet, stateRoot: Uint8Array, meta: MetaEntry[] = [], timeMs = 0, tree?: StateTreeUpdate): Promise<void> {
    this.beginCommit()
    try {
      if (this.headValue !== null) {
        throw new DbError('DB_ERROR_BAD_HEIGHT', `genesis is already committed (head is at ${this.headValue.height})`, { head: this.headValue.height })
      }
      const head: Head = Object.freeze({ height: 0, blockHash: ZERO_HASH, stateRoot: toHex(stateRoot), timeMs })
      const update = this.treeUpdate(writes, tree, stateRoot, 0)
      await this.write([...stateOps(writes), ...treeOps(update), ...metaOps(meta), put(keys.head(), encodeHead(head))])
      this.state.apply(writes, update)
      this.headValue = head
    } finally {
      this.committing = false
    }
  }

  /**
   * Store a committed block and everything derived from it in one atomic
   * batch, then apply its writes to the memory state. A block that does not
   * extend the head by one, or whose parts disagree, is refused before
   * anything is written. `durable: false` skips the
   * fsync of this one write (block sync does so inside a batch of blocks it
   * can fetch again, and makes the batch's last block durable, which makes
   * the earlier ones durable too: LevelDB's log is written in order). A
   * process crash loses nothing either way; a power loss may lose the
   * non-durable tail, which is then synced again.
   */
  async commitBlock(c: BlockCommit, opts: { durable?: boolean } = {}): Promise<void> {
    this.beginCommit()
    try {
      const started = performance.now()
      const head = checkCommit(c, this.headValue)
      const update = this.treeUpdate(c.writes, c.tree, c.stateRoot, head.height)
      const ops = blockOps(c, head)
      for (const op of treeOps(update)) ops.push(op)
      await this.write(ops, this.sync && opts.durable !== false)
      this.state.apply(c.writes, update)
      this.headValue = head
      this.log.debug('block stored', { height: head.height, ops: ops.length, ms: Math.round(performance.now() - started) })
    } finally {
      this.committing = false
    }
  }

  /** Make every earlier non-durable commit durable: the head record written again, with an fsync. */
  async makeDurable(): Promise<void> {
    if (!this.sync || this.headValue === null) return
    this.beginCommit()
    try {
      await this.write([put(keys.head(), encodeHead(this.headValue))], true)
    } finally {
      this.committing = false
    }
  }

  /**
   * The proof of state key `key` under the committed state root `root`
   * (state/stateTree.ts proveStored; verify with core/stateProof.ts
   * verifyStateProof), with the value found there (null: absent). Tree
   * nodes are never deleted, so every root this node committed is
   * provable. Throws StateTreeError if a node is missing (a root this node
   * never committed).
   */
  async proveState(root: Uint8Array, key: string): Promise<{ value: Uint8Array | null; proof: Uint8Array[] }> {
    this.assertOpen()
    return proveStored(root, key, (hash) => this.read(keys.stateNode(hash)))
  }

  /** A node-metadata value stored with commitGenesis or commitBlock. */
  async getMeta(key: string): Promise<Uint8Array | null> {
    return this.read(keys.nodeMeta(key))
  }

  async getBlockBytes(height: number): Promise<Uint8Array | null> {
    if (!isHeight(height)) return null
    this.checkPruned(height, 'block')
    return this.read(keys.block(height))
  }

  /**
   * The lowest block height this node stores and serves: 1 on an archive
   * node; higher once `pruneKeepBlocks` pruned older blocks, or on a node
   * that joined by state sync (the snapshot height + 1).
   */
  lowestHeight(): number {
    return this.lowest
  }

  /**
   * One bounded pruning step: deletes the oldest stored blocks (and their
   * indexes, prune.ts) beyond the last `pruneKeepBlocks`, at most
   * `maxHeights` of them and about `maxBytes` of blocks (their txs are
   * decoded on the main thread to find their indexes: a step stays short
   * however large the blocks), in one atomic batch that also moves the lowest
   * height. Returns how many heights were pruned (0: nothing to do, pruning
   * off, or a step already running). Safe beside commits: it touches only
   * keys of heights far below the head.
   */
  async pruneStep(maxHeights = 64, maxBytes = 2 * 1024 * 1024): Promise<number> {
    const head = this.headValue
    if (this.pruneKeepBlocks <= 0 || head === null || this.pruning) return 0
    const lowestKept = head.height - this.pruneKeepBlocks + 1
    let to = Math.min(lowestKept - 1, this.lowest + maxHeights - 1)
    if (to < this.lowest) return 0
    this.assertOpen()
    this.pruning = true
    try {
      const from = this.lowest
      const batch = await pruneBatch(this.db, from, to, maxBytes)
      const ops = batch.ops
      to = batch.to
      ops.push(put(keys.nodeMeta(LOWEST_HEIGHT_META), encodeHeight(to + 1)))
      await this.write(ops, false)
      this.lowest = to + 1
      this.log.debug('pruned blocks', { from, to, ops: ops.length })
      return to - from + 1
    } finally {
      this.pruning = false
    }
  }

  /**
   * Start the chain from a verified state snapshot (node/stateSync.ts): the
   * state, the head, the commit and node metadata of `head.height`, and the
   * lowest height `head.height + 1`, in one atomic batch. Only into an empty
   * dir (no genesis, no head): a half-written restore is never visible.
   */
  async restoreSnapshot(r: SnapshotRestore): Promise<void> {
    this.beginCommit()
    try {
      if (this.headValue !== null) {
        throw new DbError('DB_ERROR_BAD_SNAPSHOT', `cannot restore a snapshot into ${this.dir}: it already holds a chain (head ${this.headValue.height})`, { head: this.headValue.height })
      }
      const head: Head = Object.freeze({ ...r.head })
      const writes: WriteSet = new Map(r.entries)
      const update = this.state.tree.update(writes)
      if (toHex(update.tree.root) !== head.stateRoot) {
        throw new DbError('DB_ERROR_BAD_SNAPSHOT', `the snapshot's tree root ${toHex(update.tree.root)} is not the state root ${head.stateRoot} of height ${head.height}`, { height: head.height })
      }
      await this.write([
        ...stateOps(writes), ...treeOps(update), ...metaOps(r.meta),
        put(keys.commit(head.height), r.commit),
        put(keys.flowStats(head.height), r.flowStats),
        put(keys.nodeMeta(LOWEST_HEIGHT_META), encodeHeight(head.height + 1)),
        put(keys.head(), encodeHead(head)),
      ])
      this.state.apply(writes, update)
      this.lowest = head.height + 1
      this.headValue = head
    } finally {
      this.committing = false
    }
  }

  async getBlock(height: number): Promise<Block | null> {
    const bytes = await this.getBlockBytes(height)
    return bytes === null ? null : decodeStoredBlock(bytes)
  }

  async getBlockByHash(hash: Hex): Promise<Block | null> {
    const h = await this.read(keys.blockHash(hash))
    return h === null ? null : this.getBlock(decodeHeight(h))
  }

  /**
   * The encoded commit of `height`: the canonical one carried by block
   * `height + 1` once that block is committed; before that (the head) the
   * precommits this node had when it decided. Null when unknown.
   */
  async getCommit(height: number): Promise<Uint8Array | null> {
    if (!isHeight(height)) return null
    const v = await this.read(keys.commit(height))
    if (v === null) this.checkPruned(height, 'commit')
    return v
  }

  async getTx(hash: Hex): Promise<TxLocation | null> {
    const v = await this.read(keys.tx(hash))
    return v === null ? null : decodeTxLocation(v)
  }

  /** The signed tx bytes, taken from its block through the tx index. */
  async getTxBytes(hash: Hex): Promise<Uint8Array | null> {
    const loc = await this.getTx(hash)
    if (loc === null) return null
    const block = await this.getBlock(loc.height)
    const tx = block?.txs[loc.index]
    if (tx === undefined) {
      throw new DbError('DB_ERROR_CORRUPT', `tx index points at block ${loc.height} position ${loc.index}, which does not exist`, { hash })
    }
    return tx
  }

  /** A receipt with its payouts (receipts.ts ReceiptReader: read from its tx in the block). */
  async getReceipt(id: Hex): Promise<ReceiptRecord | null> {
    const v = await this.read(keys.receipt(id))
    return v === null ? null : this.receipts.read(id, decodeReceiptEntry(v))
  }

  async getDistribution(height: number): Promise<Distribution | null> {
    if (!isHeight(height)) return null
    this.checkPruned(height, 'distribution')
    const v = await this.read(keys.distribution(height))
    return v === null ? null : decodeDistribution(v)
  }

  /**
   * The ids of the receipts carrying `traceId` (DESIGN §4.1), in chain order
   * (height, tx position, index in the tx), skipping `offset`, at most `limit`.
   */
  async getTraceReceiptIds(traceId: Hex, offset: number, limit: number): Promise<Hex[]> {
    this.assertOpen()
    const out: Hex[] = []
    let skipped = 0
    for await (const v of this.db.values(keys.traceRange(traceId))) {
      if (skipped < offset) {
        skipped++
        continue
      }
      out.push(toHex(v))
      if (out.length >= limit) break
    }
    return out
  }

  /** The flow statistics records stored at `heights` (null where none), in one multi-get. */
  async getFlowStats(heights: number[]): Promise<(Uint8Array | null)[]> {
    this.assertOpen()
    const values = await this.db.getMany(heights.map((h) => keys.flowStats(isHeight(h) ? h : 0)))
    return values.map((v, i) => (v === undefined || !isHeight(heights[i]) ? null : own(v)))
  }

  /**
   * Blocks `from..to` (inclusive) with their commits, in height order; heights
   * not stored are absent. The caller bounds the range (block sync caps it
   * per request).
   */
  async getBlocks(from: number, to: number): Promise<StoredBlock[]> {
    this.assertOpen()
    if (!isHeight(from) || !isHeight(to) || to < from) return []
    const blocks: StoredBlock[] = []
    for await (const [k, v] of this.db.iterator({ gte: keys.block(from), lte: keys.block(to) })) {
      blocks.push({ height: heightOfKey(k), bytes: own(v), commit: null })
    }
    const commits = await this.db.getMany(blocks.map((b) => keys.commit(b.height)))
    commits.forEach((c, i) => {
      if (c !== undefined) blocks[i].commit = own(c)
    })
    return blocks
  }

  /** Bytes the data dir takes on disk (LevelDB keeps its files flat in one dir). */
  async approximateSize(): Promise<number> {
    let total = 0
    for (const name of await readdir(this.dir)) {
      const s = await stat(join(this.dir, name))
      if (s.isFile()) total += s.size
    }
    return total
  }

  /** Compact the whole key space where the backend supports it (classic-level does). */
  async compact(): Promise<void> {
    this.assertOpen()
    const db = this.db as unknown as Partial<Compactable>
    if (typeof db.compactRange !== 'function') return
    await db.compactRange.call(this.db, Uint8Array.of(0x00), Uint8Array.of(0xff))
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.db.close()
  }

  // ---------------------------------------------------------------- internals

  /**
   * Throws DB_ERROR_PRUNED (naming the lowest height held) for a height this
   * node pruned or never held (a state-synced node); for callers that cache
   * what they read (the RPC's block JSON cache must not serve a pruned block).
   */
  assertNotPruned(height: number, what = 'block'): void {
    this.checkPruned(height, what)
  }

  /** Heights 1..lowest − 1 were pruned (or never held, after a state sync): say so instead of "not found". */
  private checkPruned(height: number, what: string): void {
    if (height >= 1 && height < this.lowest) {
      throw new DbError('DB_ERROR_PRUNED', `${what} ${height} is pruned: this node keeps blocks from height ${this.lowest}; ask an archive node`, {
        height, lowestHeight: this.lowest,
      })
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new DbError('DB_ERROR_CLOSED', `chain db at ${this.dir} is closed`, { dir: this.dir })
  }

  /** Commits are serialized: the head check of one must see the result of the previous. */
  private beginCommit(): void {
    this.assertOpen()
    if (this.committing) throw new DbError('DB_ERROR_COMMIT_IN_PROGRESS', 'a commit is already being written; await it before the next')
    this.committing = true
  }

  /** The tree update of `writes` (the one from execution if it was made on the current tree), checked against the root the header commits to. */
  private treeUpdate(writes: WriteSet, given: StateTreeUpdate | undefined, stateRoot: Uint8Array, height: number): StateTreeUpdate {
    const update = given !== undefined && given.base === this.state.tree ? given : this.state.tree.update(writes)
    if (toHex(update.tree.root) !== toHex(stateRoot)) {
      throw new DbError('DB_ERROR_INCONSISTENT_COMMIT', `block ${height}: state root ${toHex(stateRoot)} is not the tree root ${toHex(update.tree.root)} of the state with its writes`, { height })
    }
    return update
  }

  /** One atomic LevelDB write (ops.ts writeBatch). */
  private async write(ops: Op[], sync = this.sync): Promise<void> {
    await writeBatch(this.db, this.dir, ops, sync)
  }

  private async read(key: Uint8Array): Promise<Uint8Array | null> {
    this.assertOpen()
    const v = await this.db.get(key)
    return v === undefined ? null : own(v)
  }
}

/** Stored blocks were validated before they were committed, so their own length is the only size bound needed. */
function decodeStoredBlock(bytes: Uint8Array): Block {
  try {
    return decodeBlock(bytes, bytes.length)
  } catch (e) {
    throw new DbError('DB_ERROR_CORRUPT', `stored block is damaged: ${(e as Error).message}`)
  }
}
