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
  /** requests in flight to one peer at most: one peer cannot hold every slot */
  maxPerPeer: number
  /** a peer whose answer failed, or brought nothing the mempool took while the gap stayed where it was, is not asked again for this long (ms) */
  cooldownMs: number
}

/** 250 ms: a reordered gossip message landed 30–350 ms late under the 4-validator flood (traced per sender and nonce). */
export const defaultTxGapRepairOptions: TxGapRepairOptions = { delayMs: 250, maxInFlight: 4, maxPending: 1024, maxPerPeer: 2, cooldownMs: 30_000 }

export interface TxGapRepairModules {
  /** the sender's first nonce gap with txs held behind it (Mempool.gapOf), else null */
  gapOf(sender: Address): { from: number; to: number } | null
  /** the txs a peer holds of a sender from a nonce on, signatures verified (P2PNetwork.requestPooledTxs); throws on failure */
  request(peer: string, req: PooledTxsRequest): Promise<SignedTx[]>
  /** admit repaired txs as gossiped ones (Mempool.addDecoded, refusals counted); returns how many the mempool took */
  admit(txs: SignedTx[], peer: string): number
  /** run `fn` after `ms` (setTimeout; the tests' own clock) */
  after(ms: number, fn: () => void): void
  /** the caller's clock (ms), for peer cooldowns */
  now(): number
}

/**
 * Repairs by outcome: `filled` (the mempool took txs that came back),
 * `empty` (the peer held none of them), `refused` (txs came back, the
 * mempool took none), `failed` (no valid answer), `skipped` (over
 * maxPending, or the peer cooling down).
 */
export type GapRepairResult = 'filled' | 'empty' | 'refused' | 'failed' | 'skipped'

export class TxGapRepair {
  /** senders with a gap waiting or being asked for, and the peer to ask */
  private readonly pending = new Map<Address, string>()
  private inFlight = 0
  private readonly inFlightByPeer = new Map<string, number>()
  /** peers not to ask until the time given (caller's clock, ms) */
  private readonly cooling = new Map<string, number>()
  private stopped = false
  readonly stats: Record<GapRepairResult, number> & { txs: number } = { filled: 0, empty: 0, refused: 0, failed: 0, skipped: 0, txs: 0 }

  constructor(
    private readonly opts: TxGapRepairOptions,
    private readonly modules: TxGapRepairModules,
    /** told each repair's outcome and how many txs the mempool took from it */
    private readonly onRepair?: (result: GapRepairResult, txs: number) => void,
  ) {}

  /**
   * Gossip from `peer` left txs of `sender` behind a nonce gap here: ask
   * `peer` for the missing nonces in `delayMs` if the gap is still open
   * then. A sender already waiting keeps its first peer; a peer cooling
   * down (its last answer failed, or brought nothing the mempool took
   * while the gap stayed) is not asked.
   */
  noteGap(sender: Address, peer: string): void {
    if (this.stopped || this.pending.has(sender)) return
    const until = this.cooling.get(peer)
    if (until !== undefined) {
      if (this.modules.now() < until) return
      this.cooling.delete(peer)
    }
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
    this.cooling.clear()
  }

  private async repair(sender: Address): Promise<void> {
    const peer = this.pending.get(sender)
    if (peer === undefined || this.stopped) return
    const gap = this.modules.gapOf(sender)
    if (gap === null) {
      this.pending.delete(sender)
      return
    }
    const toPeer = this.inFlightByPeer.get(peer) ?? 0
    if (this.inFlight >= this.opts.maxInFlight || toPeer >= this.opts.maxPerPeer) {
      this.modules.after(this.opts.delayMs, () => void this.repair(sender))
      return
    }
    this.inFlight++
    this.inFlightByPeer.set(peer, toPeer + 1)
    const req = { sender, fromNonce: gap.from, count: Math.min(gap.to - gap.from, MAX_POOLED_TXS) }
    let took = 0
    let after: { from: number; to: number } | null = null
    try {
      const txs = await this.modules.request(peer, req)
      if (this.stopped) return
      took = txs.length > 0 ? this.modules.admit(txs, peer) : 0
      this.count(took > 0 ? 'filled' : txs.length > 0 ? 'refused' : 'empty', took)
      after = this.modules.gapOf(sender)
      // an answer that moved nothing: the peer is not asked for a while (a late gossip message that filled the gap
      // during the request makes the answer's txs duplicates, which is no fault of the peer's: the gap moved)
      if (txs.length > 0 && took === 0 && after !== null && after.from <= req.fromNonce) this.coolDown(peer)
    } catch {
      if (!this.stopped) {
        this.count('failed', 0)
        this.coolDown(peer)
      }
    } finally {
      this.inFlight--
      const n = (this.inFlightByPeer.get(peer) ?? 1) - 1
      if (n === 0) this.inFlightByPeer.delete(peer)
      else this.inFlightByPeer.set(peer, n)
      this.pending.delete(sender)
    }
    // a gap longer than one answer: ask again for the rest, only if this round moved it
    if (took > 0 && after !== null && after.from > req.fromNonce) this.noteGap(sender, peer)
  }

  private coolDown(peer: string): void {
    const now = this.modules.now()
    // bounded: expired entries go first, then the oldest
    if (this.cooling.size >= this.opts.maxPending) {
      for (const [p, until] of this.cooling) if (until <= now) this.cooling.delete(p)
      if (this.cooling.size >= this.opts.maxPending) this.cooling.delete(this.cooling.keys().next().value as string)
    }
    this.cooling.set(peer, now + this.opts.cooldownMs)
  }

  private count(result: GapRepairResult, txs: number): void {
    this.stats[result]++
    this.stats.txs += txs
    this.onRepair?.(result, txs)
  }
}
