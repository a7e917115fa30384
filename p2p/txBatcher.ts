import { encodeTxBatch } from './topics.js'

export interface TxBatcherOptions {
  /** txs per batch at most */
  max: number
  /** a tx waits at most this long for company */
  delayMs: number
  /** encoded batch size at most */
  maxBytes: number
}

/** msgpack array header plus a bin header per tx, upper bounds. */
const ARRAY_OVERHEAD = 5
const ITEM_OVERHEAD = 5

/**
 * Gossiping one message per tx caps a receiver at a few thousand messages
 * a second (issue 5's measurement); batches of up to `max` txs amortise the
 * per-message cost while adding at most `delayMs` of latency.
 */
export class TxBatcher {
  private queue: Uint8Array[] = []
  private bytes = ARRAY_OVERHEAD
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly opts: TxBatcherOptions,
    private readonly publish: (batch: Uint8Array, count: number) => void,
  ) {}

  /** False when the tx alone exceeds a message; it is not queued. */
  add(tx: Uint8Array): boolean {
    const size = tx.length + ITEM_OVERHEAD
    if (ARRAY_OVERHEAD + size > this.opts.maxBytes) return false
    if (this.bytes + size > this.opts.maxBytes) this.flush()
    this.queue.push(tx)
    this.bytes += size
    if (this.queue.length >= this.opts.max) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), this.opts.delayMs)
    return true
  }

  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.queue.length === 0) return
    const txs = this.queue
    this.queue = []
    this.bytes = ARRAY_OVERHEAD
    this.publish(encodeTxBatch(txs), txs.length)
  }

  /** Drops what is queued: after stop nothing can be sent, and the txs stay in the mempool for our own proposals. */
  clear(): number {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const dropped = this.queue.length
    this.queue = []
    this.bytes = ARRAY_OVERHEAD
    return dropped
  }
}
