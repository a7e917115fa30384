import { ProposalBudget, TX_WORK } from './proposalBudget.js'
import type { ProposalLimits } from './consensusChain.js'

/**
 * How much new work a node accepts over `tx_send` while consensus is
 * congested (issue 10: overload must never stall the chain). The other
 * backpressure limits (mempool size, verifier queue, event-loop lag) refuse
 * only once a node is already saturated; on a machine whose CPU is shared by
 * several validators, a node can be far from those limits and still starve
 * its peers' consensus of CPU, so that heights need a second or third round.
 * This limit reads the symptom from the chain itself: a height that needed
 * more than one round, or came more than `targetIntervalMs` after the
 * previous one, halves the rate at which this node admits new txs (at most
 * the intake it actually saw); each healthy height adds back a tenth of the
 * rate it had before the cut (additive increase, multiplicative decrease, as
 * TCP congestion control). Until the first congested height there is no
 * limit, so a healthy network is never slowed; and a congested height during
 * which this node took less than `minRate` over tx_send cuts nothing (its
 * intake did not cause it, and a limit would not relieve it).
 *
 * Work units are those of node/proposalBudget.ts (TX_WORK per tx plus one
 * per receipt), estimated before decoding from the size: a receipt costs
 * about BYTES_PER_RECEIPT bytes of tx (a one-receipt tx is ~344 bytes, a
 * 100-receipt tx ~20 KiB). Only txs submitted to this node count; gossip
 * from peers was admitted (and is limited) where it was submitted.
 *
 * A second bound keeps the queue short rather than the intake slow: while
 * the mempool already holds more than `mempool.maxBacklogBlocks` proposals'
 * worth of txs (heldBlocks: the limits of the next proposal — the params'
 * caps and, with more than one validator, the proposal budget of round 0),
 * new txs are refused — a tx taken then would only wait for those blocks,
 * and its submit→commit latency is what the sender sees (queueing delay
 * bounded, as CoDel does for packets). The rate limit applies only with
 * more than one validator (a lone validator has no peers to starve); the
 * backlog bound to a lone validator too.
 *
 * Wall-clock driven and per node: never part of the state machine.
 */
export const BYTES_PER_RECEIPT = 200

export interface AdmissionRateOptions {
  /** a height committed later than this after the previous one counts as congested (ms); 0 turns the limit off */
  targetIntervalMs: number
  /** the rate never drops below this (work units per second), so that a congested node still takes txs */
  minRate: number
  /** tokens that may accumulate, in seconds of the current rate */
  burstSeconds: number
}

export const defaultAdmissionRateOptions: AdmissionRateOptions = { targetIntervalMs: 2000, minRate: 500, burstSeconds: 0.5 }

/**
 * The interval beyond which a height counts as congested: the node's
 * `mempool.congestionIntervalMs`, but never less than two block times — a
 * chain run with `blockTimeMs` 5000 has healthy 5 s heights, and a fixed 2 s
 * threshold counted every one of them as congested and throttled tx intake
 * to the minimum rate (0 keeps the limit off).
 */
export function congestionThresholdMs(congestionIntervalMs: number, blockTimeMs: number): number {
  return congestionIntervalMs <= 0 ? 0 : Math.max(congestionIntervalMs, 2 * blockTimeMs)
}

/** What a mempool holds: txs, their bytes and their inference receipts. */
export interface Held {
  txs: number
  bytes: number
  receipts: number
}

/**
 * How many proposals of `limits` the txs `held` would fill — by whichever
 * limit binds: txs, bytes, receipts or work units (TX_WORK per tx plus one
 * per receipt, node/proposalBudget.ts). The unit of the backlog bound.
 */
export function heldBlocks(held: Held, limits: ProposalLimits): number {
  return Math.max(held.txs / limits.maxTxs, held.bytes / limits.maxBytes, held.receipts / limits.maxReceipts, ProposalBudget.work(held.txs, held.receipts) / limits.maxWork)
}

/** Work units of a raw tx of `bytes` bytes (before decoding). */
export function txWork(bytes: number): number {
  return TX_WORK + Math.ceil(bytes / BYTES_PER_RECEIPT)
}

/**
 * What a raw tx of `bytes` bytes not yet decoded adds to a `Held` count:
 * one tx, its bytes, and its receipts estimated from the size (a
 * one-receipt tx of ~344 bytes counts 1, a 100-receipt tx of ~20 KiB 102,
 * a transfer 0). The backlog bound counts txs taken over tx_send and still
 * in verification with it (node.ts `intakeInFlight`).
 */
export function heldOfRaw(bytes: number): Held {
  return { txs: 1, bytes, receipts: Math.floor(bytes / BYTES_PER_RECEIPT) }
}

/** `a` plus `sign` times `b`, field by field. */
export function addHeld(a: Held, b: Held, sign: 1 | -1 = 1): Held {
  return { txs: a.txs + sign * b.txs, bytes: a.bytes + sign * b.bytes, receipts: a.receipts + sign * b.receipts }
}

export class AdmissionRate {
  /** work units per second; Infinity until the first congested height */
  private rateValue = Infinity
  /** what a healthy height adds back: a tenth of the rate before the last cut */
  private step = 0
  private tokens = 0
  private refilledAt: number
  /** work admitted since the last committed height, and when that was */
  private admitted = 0
  private lastCommitAt: number
  private congestedValue = 0

  constructor(private readonly opts: AdmissionRateOptions, private readonly now: () => number) {
    this.refilledAt = now()
    this.lastCommitAt = this.refilledAt
  }

  /** The current limit in work units per second (Infinity: none). */
  get rate(): number {
    return this.rateValue
  }

  /** Heights seen congested since start. */
  get congestedHeights(): number {
    return this.congestedValue
  }

  /**
   * A height was committed by consensus in round `round` (0-based).
   * Heights applied by block sync are not consensus's pace and are not
   * reported.
   */
  onCommit(round: number): void {
    const t = this.now()
    const intervalMs = t - this.lastCommitAt
    const intake = this.admitted / Math.max(intervalMs / 1000, 0.001)
    this.lastCommitAt = t
    this.admitted = 0
    if (this.opts.targetIntervalMs <= 0) return
    if (round > 0 || intervalMs > this.opts.targetIntervalMs) {
      this.congestedValue++
      // Not this node's intake's doing (startup, a peer away, a partition, a
      // flood at other nodes): a cut would not relieve it, and would set the
      // slow additive step of a tiny intake (it did: one round-1 height at
      // startup left a devnet at 500 units/s plus 50 per height).
      if (intake < this.opts.minRate) return
      const before = Math.min(this.rateValue, intake)
      this.rateValue = Math.max(this.opts.minRate, before / 2)
      this.step = Math.max(this.opts.minRate, before) / 10
      this.tokens = Math.min(this.tokens, this.burst())
    } else if (this.rateValue !== Infinity) {
      this.rateValue += this.step
    }
  }

  /**
   * Take the work of a raw tx of `bytes` bytes; false (nothing taken) when
   * the node is over its rate and the tx should be refused with
   * MEMPOOL_ERROR_FULL (limit "rate").
   */
  take(bytes: number): boolean {
    if (!this.canTake(bytes)) return false
    const work = txWork(bytes)
    if (this.rateValue !== Infinity) this.tokens -= work
    this.admitted += work
    return true
  }

  /** Whether `take(bytes)` would take it now (nothing taken). */
  canTake(bytes: number): boolean {
    if (this.rateValue === Infinity) return true
    this.refill()
    // a tx larger than the whole burst is let through when the bucket is full, so it is never refused forever
    return this.tokens >= Math.min(txWork(bytes), this.burst())
  }

  private refill(): void {
    const t = this.now()
    this.tokens = Math.min(this.burst(), this.tokens + ((t - this.refilledAt) / 1000) * this.rateValue)
    this.refilledAt = t
  }

  /**
   * How long until a tx of `bytes` bytes would be taken at the current rate
   * (ms, 0 when it would be now): the `retryAfterMs` a refused sender is
   * told, as HTTP's Retry-After, so that well-behaved senders do not spend
   * the node's CPU on requests it must refuse.
   */
  retryAfterMs(bytes: number): number {
    if (this.rateValue === Infinity) return 0
    const missing = Math.min(txWork(bytes), this.burst()) - this.tokens
    return missing <= 0 ? 0 : Math.ceil((missing / this.rateValue) * 1000)
  }

  /**
   * The `retryAfterMs` of a refused tx of `bytes` bytes that follows, in the
   * same batch, a refused one told `earlierMs`: that plus the time the bucket
   * takes to refill this tx's work (rounded up per tx), so the batch's last
   * hint says when the node expects to take all of its refused txs; at most
   * the time the bucket takes to fill from empty (burstSeconds), since
   * senders waiting longer would leave a full bucket unused.
   */
  retryAfterLaterMs(earlierMs: number, bytes: number): number {
    if (this.rateValue === Infinity) return earlierMs
    const refill = Math.ceil((Math.min(txWork(bytes), this.burst()) / this.rateValue) * 1000)
    return Math.max(earlierMs, Math.min(earlierMs + refill, Math.ceil(this.opts.burstSeconds * 1000)))
  }

  /** Give back the work of a tx that `take` let through but admission then refused (bad nonce, bad signature...). */
  refund(bytes: number): void {
    const work = txWork(bytes)
    this.admitted = Math.max(0, this.admitted - work)
    if (this.rateValue !== Infinity) this.tokens = Math.min(this.burst(), this.tokens + work)
  }

  private burst(): number {
    return this.rateValue * this.opts.burstSeconds
  }
}
