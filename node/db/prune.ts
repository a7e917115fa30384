import type { BatchOperation, Level } from 'level'
import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
import { decodeSignedTx, receiptId, DEFAULT_TX_LIMITS_UNBOUNDED } from '../../core/tx.js'
import { blockHash, decodeBlock } from '../../state/block.js'
import { keys } from './buckets.js'
import { DbError } from './errors.js'

type Db = Level<Uint8Array, Uint8Array>
type Op = BatchOperation<Db, Uint8Array, Uint8Array>

/** Node-metadata key holding u64be(lowest block height stored); absent = 1 (an archive node). */
export const LOWEST_HEIGHT_META = 'db/lowestHeight'

/**
 * The deletes that prune one stored block (issue 17, `pruneKeepBlocks`):
 * the block, its hash index, its commit, its distribution, and the indexes
 * of its txs, receipts and traces, found by decoding the block's own txs.
 * Flow statistics records stay (one small record per height: `stats_flow`
 * windows reach back to genesis), and so do the consensus validator sets.
 */
export function pruneOps(height: number, bytes: Uint8Array): Op[] {
  let block
  try {
    block = decodeBlock(bytes, bytes.length)
  } catch (e) {
    throw new DbError('DB_ERROR_CORRUPT', `stored block ${height} is damaged: ${(e as Error).message}`, { height })
  }
  const del = (key: Uint8Array): Op => ({ type: 'del', key })
  const ops: Op[] = [del(keys.block(height)), del(keys.blockHash(blockHash(block.header))), del(keys.commit(height)), del(keys.distribution(height))]
  block.txs.forEach((raw, position) => {
    const hash = sha256(raw)
    ops.push(del(keys.tx(toHex(hash))))
    let stx
    try {
      stx = decodeSignedTx(raw, DEFAULT_TX_LIMITS_UNBOUNDED, { verify: false, committed: true, hash: toHex(hash) })
    } catch {
      return // a tx that failed its envelope has no receipts stored
    }
    if (stx.tx.call.type !== 'submitReceipts') return
    stx.tx.call.receipts.forEach((r, index) => {
      ops.push(del(keys.receipt(receiptId(hash, index))))
      if (r.traceId !== undefined) ops.push(del(keys.trace(r.traceId, height, position, index)))
    })
  })
  return ops
}
