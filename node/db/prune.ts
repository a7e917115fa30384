import { sha256 } from '../../core/hash.js'
import { toHex } from '../../core/bytes.js'
import { decodeSignedTx, receiptId, DEFAULT_TX_LIMITS_UNBOUNDED } from '../../core/tx.js'
import { blockHash, decodeBlock } from '../../state/block.js'
import { keys } from './buckets.js'
import { DbError } from './errors.js'
import type { Db, Op } from './types.js'

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

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

/**
 * The deletes of one pruning step (ChainDb.pruneStep): the stored blocks
 * `from..to` with their indexes, stopping after the block that brings the
 * blocks read to `maxBytes` (so at least one); `to` is the last height
 * pruned. Missing heights are skipped.
 */
export async function pruneBatch(db: Db, from: number, to: number, maxBytes: number): Promise<{ ops: Op[]; to: number }> {
  const ops: Op[] = []
  let bytes = 0
  for (const b of await db.getMany(range(from, to).map((h) => keys.block(h)))
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
  return { ops, to }
}
