import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Level, type BatchOperation } from 'level'
import { toHex, fromHex } from '../../core/bytes.js'
import { encode } from '../../core/codec.js'
import { decodeSignedTx, DEFAULT_TX_LIMITS_UNBOUNDED, type Hex, type Receipt } from '../../core/tx.js'
import { MemoryStateStore, type WriteSet } from '../../state/store.js'
import { encodeTreeNode, proveStored, type StateTreeUpdate } from '../../state/stateTree.js'
import { blockHash, decodeBlock, encodeBlock, ZERO_HASH, type Block } from '../../state/block.js'
import type { Distribution } from '../../state/distribution.js'
import type { ReceiptRecord, TxResult } from '../../state/execute.js'
import { silentLogger, type Logger } from '../../core/logger.js'
import {
  Bucket, SCHEMA_VERSION, keys, bucketRange, heightOfKey, stateKeyOf, encodeHeight, decodeHeight,
  encodeChainInfo, decodeChainInfo, encodeHead, decodeHead, encodeTxLocation, decodeTxLocation,
  encodeReceiptEntry, decodeReceiptEntry, encodeDistribution, decodeDistribution, type Head, type TxLocation,
} from './buckets.js'
import { DbError } from './errors.js'
import { LOWEST_HEIGHT_META, pruneOps } from './prune.js'

export interface ChainDbOptions {
  /** LevelDB directory, created if missing */
  dir: string
  /** the genesis this dir belongs to; a dir created for another genesis is refused */
  genesisHash: Hex
  chainId: string
  /**
   * fsync each commit before it resolves (default true). Without it a
   * process crash still loses nothing (the write is in the OS page cache),
   * but a power loss may drop the last blocks.
   */
  sync?: boolean
  /**
   * Keep only the last this many blocks and their indexes (issue 17); 0 or
   * absent: keep everything (an archive node). Older blocks are deleted by
   * `pruneStep`, a bounded step the node runs in the background.
   */
  pruneKeepBlocks?: number
}

/** A verified state snapshot written as the chain's starting point (node/stateSync.ts): head `height`, no blocks stored. */
export interface SnapshotRestore {
  head: Head
  /** every state entry at `height` */
  entries: Iterable<[string, Uint8Array]>
  /** the encoded commit of `height` */
  commit: Uint8Array
  /** node metadata at `height` (consensus validator sets) */
  meta: MetaEntry[]
  /** the flow statistics record of `height` */
  flowStats: Uint8Array
}

export interface ChainDbModules {
  logger?: Logger | null
}

/** Everything one committed block stores, written in one atomic batch (DESIGN §6). */
export interface BlockCommit {
  block: Block
  /** the block's canonical bytes when the caller already has them (e.g. received from a peer) */
  blockBytes?: Uint8Array
  /** blockHash(block.header) */
  hash: Hex
  /** encoded commit certificate of this block */
  commit: Uint8Array
  writes: WriteSet
  /** state root after this block, equal to block.header.stateRoot */
  stateRoot: Uint8Array
  /** `state.tree.update(writes)` from execution (BlockOutcome.tree); computed here when absent */
  tree?: StateTreeUpdate
  /** one per tx, in block order */
  results: TxResult[]
  receipts: ReceiptRecord[]
  distribution: Distribution
  /** node metadata to store in the same batch (null deletes) */
  meta?: MetaEntry[]
  /** the block's encoded flow statistics record (node/flowStats.ts), stored under its height */
  flowStats?: Uint8Array
}

/** A node-metadata write: a key of the nodeMeta bucket and its new value, null to delete. */
export type MetaEntry = [key: string, value: Uint8Array | null]

/** A stored block with the certificate that committed it, as block sync serves them. */
export interface StoredBlock {
  height: number
  bytes: Uint8Array
  commit: Uint8Array | null
}

type Db = Level<Uint8Array, Uint8Array>
type Op = BatchOperation<Db, Uint8Array, Uint8Array>

/** classic-level has compactRange; the portable `Level` type does not declare it. */
interface Compactable {
  compactRange(start: Uint8Array, end: Uint8Array): Promise<void>
}

type DbLog = Pick<Logger, 'info' | 'debug'>


/** Values from LevelDB may be Buffers over a shared pool; callers get plain, owned Uint8Arrays. */
const own = (b: Uint8Array): Uint8Array => new Uint8Array(b)

const isHeight = (h: number): boolean => Number.isSafeInteger(h) && h >= 0

function levelCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code
}

function isLockError(e: unknown): boolean {
  return levelCode(e) === 'LEVEL_LOCKED' || levelCode((e as { cause?: unknown }).cause) === 'LEVEL_LOCKED'
}

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
    const db: Db = new Level<Uint8Array, Uint8Array>(opts.dir, { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (e) {
      if (isLockError(e)) {
        throw new DbError('DB_ERROR_LOCKED', `data dir ${opts.dir} is in use by another attrchain process; stop it or choose another --home`, { dir: opts.dir })
      }
      const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message
      throw new DbError('DB_ERROR_OPEN_FAILED', `cannot open data dir ${opts.dir}: ${cause}`, { dir: opts.dir })
    }
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
   * anything is written.
   */
  /**
   * Store a block and apply its state writes. `durable: false` skips the
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
      const head = this.checkCommit(c)
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
      const ops: Op[] = []
      let bytes = 0
      for (const b of await this.db.getMany(range(from, to).map((h) => keys.block(h)))
        .then((values) => values.map((v, i) => ({ height: from + i, bytes: v })))) {
        if (b.bytes !== undefined) {
          ops.push(...pruneOps(b.height, b.bytes))
          bytes += b.bytes.length
        }
        if (bytes >= maxBytes) {
          to = b.height
          break
        }
      }
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

  /**
   * A receipt with its payouts: the receipt bucket says where it is, the
   * receipt itself is read from its tx in the block (one decoded tx is
   * cached: receipts of one tx are usually read together).
   */
  async getReceipt(id: Hex): Promise<ReceiptRecord | null> {
    const v = await this.read(keys.receipt(id))
    if (v === null) return null
    const e = decodeReceiptEntry(v)
    const where = `${e.height}/${e.txPosition}`
    let tx = this.lastReceiptTx?.where === where ? this.lastReceiptTx : null
    if (tx === null) {
      const block = await this.getBlock(e.height)
      const bytes = block?.txs[e.txPosition]
      if (bytes === undefined) throw new DbError('DB_ERROR_CORRUPT', `receipt ${id} points at block ${e.height} tx ${e.txPosition}, which does not exist`, { id })
      const stx = decodeSignedTx(bytes, DEFAULT_TX_LIMITS_UNBOUNDED, { verify: false })
      const receipts = stx.tx.call.type === 'submitReceipts' ? stx.tx.call.receipts : []
      tx = { where, hash: stx.hash, operator: stx.sender, receipts }
      this.lastReceiptTx = tx
    }
    const receipt = tx.receipts[e.index]
    if (receipt === undefined) throw new DbError('DB_ERROR_CORRUPT', `receipt ${id} points at receipt ${e.index} of tx ${tx.hash}, which has none`, { id })
    return { id, txHash: tx.hash, height: e.height, index: e.index, operator: tx.operator, receipt, payouts: e.payouts, ...(e.flows ? { flows: e.flows } : {}) }
  }

  private lastReceiptTx: { where: string; hash: Hex; operator: Hex; receipts: Receipt[] } | null = null

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

  private checkCommit(c: BlockCommit): Head {
    const h = c.block.header
    const expected = this.headValue === null ? null : this.headValue.height + 1
    if (h.height !== expected) {
      const why = expected === null ? 'genesis is not committed yet' : `expected height ${expected}`
      throw new DbError('DB_ERROR_BAD_HEIGHT', `cannot store block ${h.height}: ${why}`, { height: h.height, expected })
    }
    const inconsistent = (why: string): never => {
      throw new DbError('DB_ERROR_INCONSISTENT_COMMIT', `block ${h.height}: ${why}`, { height: h.height })
    }
    if (c.hash !== blockHash(h)) inconsistent(`hash ${c.hash} is not the header's hash`)
    if (toHex(c.stateRoot) !== h.stateRoot) inconsistent('state root differs from the header')
    if (c.results.length !== c.block.txs.length) inconsistent(`${c.results.length} results for ${c.block.txs.length} txs`)
    if (c.distribution.height !== h.height) inconsistent(`distribution is for height ${c.distribution.height}`)
    return Object.freeze({ height: h.height, blockHash: c.hash, stateRoot: h.stateRoot, timeMs: h.timeMs })
  }

  /**
   * One atomic LevelDB write. A chained batch hands each op to the native
   * WriteBatch directly; the array form re-validates and copies every op in
   * JS first, which is twice the main-thread cost per op (one op per receipt).
   */
  private async write(ops: Op[], sync = this.sync): Promise<void> {
    try {
      const batch = this.db.batch()
      try {
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value)
          else batch.del(op.key)
        }
      } catch (e) {
        await batch.close()
        throw e
      }
      await batch.write({ sync })
    } catch (e) {
      throw new DbError('DB_ERROR_WRITE_FAILED', `writing to ${this.dir} failed: ${(e as Error).message}`, { dir: this.dir })
    }
  }

  private async read(key: Uint8Array): Promise<Uint8Array | null> {
    this.assertOpen()
    const v = await this.db.get(key)
    return v === undefined ? null : own(v)
  }
}

const put = (key: Uint8Array, value: Uint8Array): Op => ({ type: 'put', key, value })
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function stateOps(writes: WriteSet): Op[] {
  return [...writes].map(([k, v]): Op => (v === null ? { type: 'del', key: keys.state(k) } : put(keys.state(k), v)))
}

/** The tree nodes an update created, under their hashes (duplicates of stored nodes are harmless: same key, same bytes). */
function treeOps(update: StateTreeUpdate): Op[] {
  return update.created.map((n) => put(keys.stateNode(n.hash), encodeTreeNode(n)))
}

function metaOps(meta: MetaEntry[]): Op[] {
  return meta.map(([k, v]): Op => (v === null ? { type: 'del', key: keys.nodeMeta(k) } : put(keys.nodeMeta(k), v)))
}

function blockOps(c: BlockCommit, head: Head): Op[] {
  const height = head.height
  const position = new Map(c.results.map((r, i) => [r.hash, i]))
  const txPosition = (hash: Hex): number => position.get(hash) ?? inconsistentReceipt(height, hash)
  return [
    put(keys.block(height), c.blockBytes ?? encodeBlock(c.block)),
    put(keys.blockHash(c.hash), encodeHeight(height)),
    put(keys.commit(height), c.commit),
    // The commit of height − 1 this block carries is the canonical one (every precommit its proposer
    // collected): it replaces the one this node saw when it decided height − 1 (CometBFT's seen commit).
    ...(c.block.lastCommit === null ? [] : [put(keys.commit(height - 1), encode(c.block.lastCommit))]),
    ...c.results.map((r, index) => put(keys.tx(r.hash), encodeTxLocation({ height, index, status: r.status, error: r.error }))),
    ...c.receipts.map((r) => put(keys.receipt(r.id), encodeReceiptEntry({ height, txPosition: txPosition(r.txHash), index: r.index, payouts: r.payouts, ...(r.flows ? { flows: r.flows } : {}) }))),
    // DESIGN §4.1: the receipts of a trace, in chain order
    ...c.receipts.filter((r) => r.receipt.traceId !== undefined).map((r) => put(keys.trace(r.receipt.traceId as Hex, height, txPosition(r.txHash), r.index), fromHex(r.id, 'receiptId', 32))),
    put(keys.distribution(height), encodeDistribution(c.distribution)),
    ...(c.flowStats === undefined ? [] : [put(keys.flowStats(height), c.flowStats)]),
    ...stateOps(c.writes),
    ...metaOps(c.meta ?? []),
    put(keys.head(), encodeHead(head)),
  ]
}

function inconsistentReceipt(height: number, txHash: Hex): never {
  throw new DbError('DB_ERROR_INCONSISTENT_COMMIT', `block ${height}: a receipt names tx ${txHash}, which is not in the block`, { height })
}

/** Stored blocks were validated before they were committed, so their own length is the only size bound needed. */
function decodeStoredBlock(bytes: Uint8Array): Block {
  try {
    return decodeBlock(bytes, bytes.length)
  } catch (e) {
    throw new DbError('DB_ERROR_CORRUPT', `stored block is damaged: ${(e as Error).message}`)
  }
}

async function checkChainInfo(db: Db, opts: ChainDbOptions): Promise<void> {
  const wanted = { schemaVersion: SCHEMA_VERSION, genesisHash: toHex(fromHex(opts.genesisHash, 'genesisHash', 32)), chainId: opts.chainId }
  const stored = await db.get(keys.chainInfo())
  if (stored === undefined) {
    await db.put(keys.chainInfo(), encodeChainInfo(wanted), { sync: true })
    return
  }
  const info = decodeChainInfo(stored)
  if (info.schemaVersion !== SCHEMA_VERSION) {
    throw new DbError('DB_ERROR_SCHEMA_VERSION', `data dir ${opts.dir} has storage schema v${info.schemaVersion}; this node reads v${SCHEMA_VERSION}`, {
      dir: opts.dir, stored: info.schemaVersion,
    })
  }
  if (info.genesisHash !== wanted.genesisHash || info.chainId !== wanted.chainId) {
    throw new DbError(
      'DB_ERROR_WRONG_GENESIS',
      `data dir ${opts.dir} belongs to chain ${info.chainId} with genesis ${info.genesisHash}, not ${wanted.chainId} with genesis ${wanted.genesisHash}`,
      { dir: opts.dir, storedGenesisHash: info.genesisHash, storedChainId: info.chainId, genesisHash: wanted.genesisHash, chainId: wanted.chainId },
    )
  }
}

/** Read the whole state bucket into memory, in batches to keep the iterator's round trips few. */
async function loadState(db: Db): Promise<MemoryStateStore> {
  const writes: WriteSet = new Map()
  const it = db.iterator(bucketRange(Bucket.state))
  try {
    for (;;) {
      const entries = await it.nextv(4096)
      if (entries.length === 0) break
      for (const [k, v] of entries) writes.set(stateKeyOf(k), own(v))
    }
  } finally {
    await it.close()
  }
  const state = new MemoryStateStore()
  state.apply(writes)
  return state
}
