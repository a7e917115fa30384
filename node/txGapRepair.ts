import type { Address } from '../core/address.js'
import type { SignedTx } from '../core/tx.js'
import { MAX_POOLED_TXS, type PooledTxsRequest } from '../p2p/index.js'

/**
 * Gap repair (issue 10): txs a peer gossiped that this node holds behind a
 * nonce gap of their sender (the earlier nonces' message came late, or was
 * ignored while this node was busy) can go into no block this node
 * proposes until the gap fills, and the later nonces of that sender are
 * refused once its queue is full (MEMPOOL_ERROR_FULL `sender_queued`).
 * Left alone, the gap filled only at the sender's node's turn to propose
 * or its 10 s re-broadcast (node/txRelay.ts): under the 4-validator flood,
 * the latency tail. Here a gap seen on gossip admission is asked for, once
 * it has stayed open `delayMs` (a late message usually lands by then), from
 * the peer that forwarded the txs behind it (`/pooledtxs/1`,
 * p2p/pooledTxs.ts); what comes back is admitted like gossip.
 */
export interface TxGapRepairOptions {
  /** how long a gap stays open before it is asked for (ms) */
  delayMs: number
  /** requests in flight at most; a gap over it waits another `delayMs` */
  maxInFlight: number
  /** senders with a gap waiting at most; past it a gap is left to the relay */
  maxPending: number
}

/** 250 ms: a reordered gossip message landed 30–350 ms late under the 4-validator flood (traced per sender and nonce). */
export const defaultTxGapRepairOptions: TxGapRepairOptions = { delayMs: 250, maxInFlight: 4, maxPending: 1024 }

export interface TxGapRepairModules {
  /** the sender's first nonce gap with txs held behind it (Mempool.gapOf), else null */
  gapOf(sender: Address): { from: number; to: number } | null
  /** the txs a peer holds of a sender from a nonce on, signatures verified (P2PNetwork.requestPooledTxs); throws on failure */
  request(peer: string, req: PooledTxsRequest): Promise<SignedTx[]>
  /** admit repaired txs as gossiped ones (Mempool.addDecoded, refusals counted) */
  admit(txs: SignedTx[], peer: string): void
  /** run `fn` after `ms` (setTimeout; the tests' own clock) */
  after(ms: number, fn: () => void): void
}

/** Repairs by outcome: `filled` (txs came back), `empty` (the peer held none of them), `failed` (no valid answer), `skipped` (over maxPending) */
export type GapRepairResult = 'filled' | 'empty' | 'failed' | 'skipped'

export class TxGapRepair {
  /** senders with a gap waiting or being asked for, and the peer to ask */
  private readonly pending = new Map<Address, string>()
  private inFlight = 0
  private stopped = false
  readonly stats: Record<GapRepairResult, number> & { txs: number } = { filled: 0, empty: 0, failed: 0, skipped: 0, txs: 0 }

  constructor(
    private readonly opts: TxGapRepairOptions,
    private readonly modules: TxGapRepairModules,
    /** told each repair's outcome and how many txs it brought */
    private readonly onRepair?: (result: GapRepairResult, txs: number) => void,
  ) {}

  /**
   * Gossip from `peer` left txs of `sender` behind a nonce gap here: ask
   * `peer` for the missing nonces in `delayMs` if the gap is still open
   * then. A sender already waiting keeps its first peer.
   */
  noteGap(sender: Address, peer: string): void {
    if (this.stopped || this.pending.has(sender)) return
    if (this.pending.size >= this.opts.maxPending) {
      this.count('skipped', 0)
      return
    }
    this.pending.set(sender, peer)
    this.modules.after(this.opts.delayMs, () => void this.repair(sender))
  }

  stop(): void {
    this.stopped = true
    this.pending.clear()
  }

  private async repair(sender: Address): Promise<void> {
    const peer = this.pending.get(sender)
    if (peer === undefined || this.stopped) return
    const gap = this.modules.gapOf(sender)
    if (gap === null) {
      this.pending.delete(sender)
      return
    }
    if (this.inFlight >= this.opts.maxInFlight) {
      this.modules.after(this.opts.delayMs, () => void this.repair(sender))
      return
    }
    this.inFlight++
    const req = { sender, fromNonce: gap.from, count: Math.min(gap.to - gap.from, MAX_POOLED_TXS) }
    let brought = 0
    try {
      const txs = await this.modules.request(peer, req)
      if (this.stopped) return
      if (txs.length > 0) this.modules.admit(txs, peer)
      brought = txs.length
      this.count(txs.length > 0 ? 'filled' : 'empty', txs.length)
    } catch {
      this.count('failed', 0)
    } finally {
      this.inFlight--
      this.pending.delete(sender)
    }
    // a gap longer than one answer: ask again for the rest (each round brought at least one tx)
    if (brought > 0 && !this.stopped && this.modules.gapOf(sender) !== null) this.noteGap(sender, peer)
  }

  private count(result: GapRepairResult, txs: number): void {
    this.stats[result]++
    this.stats.txs += txs
    this.onRepair?.(result, txs)
  }
}
