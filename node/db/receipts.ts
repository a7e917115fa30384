import { decodeSignedTx, DEFAULT_TX_LIMITS_UNBOUNDED, type Hex, type Receipt } from '../../core/tx.js'
import type { Block } from '../../state/block.js'
import type { ReceiptRecord } from '../../state/execute.js'
import type { ReceiptEntry } from './buckets.js'
import { DbError } from './errors.js'

/**
 * Reading a receipt back (ChainDb.getReceipt): the receipt bucket says
 * where it is, the receipt itself is read from its tx in the block. One
 * decoded tx is cached: receipts of one tx are usually read together.
 */
export class ReceiptReader {
  private last: { where: string; hash: Hex; operator: Hex; receipts: Receipt[] } | null = null

  constructor(private readonly getBlock: (height: number) => Promise<Block | null>) {}

  /** The receipt `id` stored as entry `e`, with its payouts; throws DB_ERROR_CORRUPT if the entry points at nothing. */
  async read(id: Hex, e: ReceiptEntry): Promise<ReceiptRecord> {
    const where = `${e.height}/${e.txPosition}`
    let tx = this.last?.where === where ? this.last : null
    if (tx === null) {
      const block = await this.getBlock(e.height)
      const bytes = block?.txs[e.txPosition]
      if (bytes === undefined) throw new DbError('DB_ERROR_CORRUPT', `receipt ${id} points at block ${e.height} tx ${e.txPosition}, which does not exist`, { id })
      const stx = decodeSignedTx(bytes, DEFAULT_TX_LIMITS_UNBOUNDED, { verify: false })
      const receipts = stx.tx.call.type === 'submitReceipts' ? stx.tx.call.receipts : []
      tx = { where, hash: stx.hash, operator: stx.sender, receipts }
      this.last = tx
    }
    const receipt = tx.receipts[e.index]
    if (receipt === undefined) throw new DbError('DB_ERROR_CORRUPT', `receipt ${id} points at receipt ${e.index} of tx ${tx.hash}, which has none`, { id })
    return { id, txHash: tx.hash, height: e.height, index: e.index, operator: tx.operator, receipt, payouts: e.payouts, ...(e.flows ? { flows: e.flows } : {}) }
  }
}
