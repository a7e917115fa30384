import type { BatchOperation, Level } from 'level'
import type { Hex } from '../../core/tx.js'
import type { Logger } from '../../core/logger.js'
import type { WriteSet } from '../../state/store.js'
import type { StateTreeUpdate } from '../../state/stateTree.js'
import type { Block } from '../../state/block.js'
import type { Distribution } from '../../state/distribution.js'
import type { ReceiptRecord, TxResult } from '../../state/execute.js'
import type { Head } from './buckets.js'

/** The shapes ChainDb takes and returns (chainDb.ts), shared by its helpers (ops.ts, open.ts, prune.ts). */

export type Db = Level<Uint8Array, Uint8Array>
export type Op = BatchOperation<Db, Uint8Array, Uint8Array>

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
