import { toHex, fromHex } from '../../core/bytes.js'
import { encode } from '../../core/codec.js'
import type { Hex } from '../../core/tx.js'
import type { WriteSet } from '../../state/store.js'
import { encodeTreeNode, type StateTreeUpdate } from '../../state/stateTree.js'
import { blockHash, encodeBlock } from '../../state/block.js'
import { keys, encodeHeight, encodeHead, encodeTxLocation, encodeReceiptEntry, encodeDistribution, type Head } from './buckets.js'
import { DbError } from './errors.js'
import type { BlockCommit, Db, MetaEntry, Op } from './types.js'

/**
 * What ChainDb writes: the checks a block passes before anything is
 * written, the LevelDB ops of one commit (block, indexes, state, tree
 * nodes, metadata, head), and the one atomic batch they go in.
 */

export const put = (key: Uint8Array, value: Uint8Array): Op => ({ type: 'put', key, value })

export function stateOps(writes: WriteSet): Op[] {
  return [...writes].map(([k, v]): Op => (v === null ? { type: 'del', key: keys.state(k) } : put(keys.state(k), v)))
}

/** The tree nodes an update created, under their hashes (duplicates of stored nodes are harmless: same key, same bytes). */
export function treeOps(update: StateTreeUpdate): Op[] {
  return update.created.map((n) => put(keys.stateNode(n.hash), encodeTreeNode(n)))
}

export function metaOps(meta: MetaEntry[]): Op[] {
  return meta.map(([k, v]): Op => (v === null ? { type: 'del', key: keys.nodeMeta(k) } : put(keys.nodeMeta(k), v)))
}

export function blockOps(c: BlockCommit, head: Head): Op[] {
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

/** The head after `c`, once it is checked to extend `head` by one and its parts to agree; throws DB_ERROR_BAD_HEIGHT / DB_ERROR_INCONSISTENT_COMMIT before anything is written. */
export function checkCommit(c: BlockCommit, head: Head | null): Head {
  const h = c.block.header
  const expected = head === null ? null : head.height + 1
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
 * One atomic LevelDB write to the db at `dir`. A chained batch hands each
 * op to the native WriteBatch directly; the array form re-validates and
 * copies every op in JS first, which is twice the main-thread cost per op
 * (one op per receipt). Throws DB_ERROR_WRITE_FAILED.
 */
export async function writeBatch(db: Db, dir: string, ops: Op[], sync: boolean): Promise<void> {
  try {
    const batch = db.batch()
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
    throw new DbError('DB_ERROR_WRITE_FAILED', `writing to ${dir} failed: ${(e as Error).message}`, { dir })
  }
}
