import type { AttrchainClient, BlockInfo } from '../rpc/index.js'
import { nowMs, percentile, round, sleep } from './util.js'

// Commit tracking for the load generator (load.ts, which re-exports it):
// every tx submitted is tracked until the block that holds it is announced
// over WebSocket, giving latencies, per-block figures and windowed rates.

/** A tx not seen in a block after this long is given up on (counted as lost). */
const LOST_AFTER_MS = 120_000
/** Who is told when a tracked tx is committed (or given up on). */
export interface CommitListener {
  onCommitted(): void
}

interface Pending {
  op: CommitListener
  submittedMs: number
  receipts: number
  measured: boolean
  /** validator address of the node the tx was submitted to (a full node: none) */
  origin?: string
  /** the sender reports the node's answer accepting the tx (CommitTracker.answered) */
  awaitsAnswer?: boolean
  /** when that answer arrived */
  answeredMs?: number
}

export interface BlockSeen {
  height: number
  atMs: number
  txs: number
  ours: number
  receipts: number
}

export interface LoadStats {
  refused: Record<string, number>
  transportErrors: number
  lost: number
}

/** Every tx we submitted, until the block that holds it is announced over WebSocket. */
export class CommitTracker {
  private readonly pending = new Map<string, Pending>()
  /** (arrival time, receipts) per committed tx of ours */
  commits: { atMs: number; receipts: number }[] = []
  latenciesMs: number[] = []
  /**
   * The measured latencies of txs with an origin, split by whether the
   * block that holds the tx was proposed by the node the tx was submitted
   * to (`own`) or by another (`other`): a tx reaches another proposer only
   * through tx gossip, so a long `other` tail is gossip that did not carry it.
   */
  latenciesByProposerMs: { own: number[]; other: number[] } = { own: [], other: [] }
  /**
   * The measured latencies counted from the node's answer accepting the tx
   * rather than from the request (txs marked with `answered`): the part of
   * submit → commit that is not the request's own round trip.
   */
  latenciesFromAnswerMs: number[] = []
  /**
   * Measured txs committed before the answer accepting them arrived (a
   * large batch's first txs can be in a block before the node has admitted
   * its last): hash → commit time, until `answered` counts them with no
   * wait after the answer (0), so the fastest txs are not left out.
   */
  private readonly committedUnanswered = new Map<string, number>()
  blocks: BlockSeen[] = []
  stats: LoadStats = { refused: {}, transportErrors: 0, lost: 0 }
  private unsubscribes: (() => Promise<boolean>)[] = []
  /** heights announced already: with several nodes watched, a block counts at its first announcement */
  private readonly seenHeights = new Set<number>()
  private sweeper: NodeJS.Timeout | null = null

  /** Subscribe to `newBlocks` on every client given; each height counts once, when it is first announced. */
  async start(...clients: AttrchainClient[]): Promise<void> {
    for (const client of clients) this.unsubscribes.push(await client.subscribe('newBlocks', (b) => this.onBlock(b)))
    this.sweeper = setInterval(() => this.sweep(), 5_000)
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper)
    await Promise.all(this.unsubscribes.map((u) => u().catch(() => false)))
    this.unsubscribes = []
  }

  get pendingCount(): number {
    return this.pending.size
  }

  isPending(hash: string): boolean {
    return this.pending.has(hash)
  }

  pendingMeasured(): number {
    let n = 0
    for (const p of this.pending.values()) if (p.measured) n++
    return n
  }

  track(hash: string, p: Pending): void {
    this.pending.set(hash, p)
  }

  /** The answer accepting pending tx `hash` arrived at `atMs` (the first such answer counts). */
  answered(hash: string, atMs: number): void {
    const p = this.pending.get(hash)
    if (p) {
      if (p.answeredMs === undefined) p.answeredMs = atMs
      return
    }
    if (this.committedUnanswered.delete(hash)) this.latenciesFromAnswerMs.push(0)
  }

  forget(hash: string): void {
    if (this.pending.delete(hash)) return
  }

  private onBlock(b: BlockInfo): void {
    const atMs = nowMs()
    if (this.seenHeights.has(b.header.height)) return
    this.seenHeights.add(b.header.height)
    let ours = 0
    let receipts = 0
    for (const hash of b.txs) {
      const p = this.pending.get(hash)
      if (!p) continue
      this.pending.delete(hash)
      ours++
      receipts += p.receipts
      this.commits.push({ atMs, receipts: p.receipts })
      if (p.measured) {
        const latencyMs = atMs - p.submittedMs
        this.latenciesMs.push(latencyMs)
        if (p.origin !== undefined) this.latenciesByProposerMs[p.origin === b.header.proposer ? 'own' : 'other'].push(latencyMs)
        if (p.answeredMs !== undefined) this.latenciesFromAnswerMs.push(atMs - p.answeredMs)
        else if (p.awaitsAnswer === true) this.committedUnanswered.set(hash, atMs)
      }
      p.op.onCommitted()
    }
    this.blocks.push({ height: b.header.height, atMs, txs: b.txs.length, ours, receipts })
  }

  private sweep(): void {
    const cutoff = nowMs() - LOST_AFTER_MS
    // a tx answered with an error after all (a resend refused as held) never gets its `answered`
    for (const [hash, at] of this.committedUnanswered) if (at < cutoff) this.committedUnanswered.delete(hash)
    for (const [hash, p] of this.pending) {
      if (p.submittedMs > cutoff) continue
      this.pending.delete(hash)
      this.stats.lost++
      p.op.onCommitted()
    }
  }

  receiptsBetween(fromMs: number, toMs: number): { receipts: number; txs: number } {
    let receipts = 0
    let txs = 0
    for (const c of this.commits) {
      if (c.atMs < fromMs || c.atMs >= toMs) continue
      receipts += c.receipts
      txs++
    }
    return { receipts, txs }
  }

  resetSamples(): void {
    this.commits = []
    this.latenciesMs = []
    this.latenciesByProposerMs = { own: [], other: [] }
    this.latenciesFromAnswerMs = []
    this.committedUnanswered.clear()
    this.blocks = []
    this.stats = { refused: {}, transportErrors: 0, lost: 0 }
  }
}

export interface WindowResult {
  durationS: number
  receipts: number
  txs: number
  receiptsPerSec: number
  txsPerSec: number
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null; samples: number }
}

export function windowResult(tracker: CommitTracker, fromMs: number, toMs: number): WindowResult {
  const { receipts, txs } = tracker.receiptsBetween(fromMs, toMs)
  const s = (toMs - fromMs) / 1000
  const l = tracker.latenciesMs
  return {
    durationS: round(s, 2), receipts, txs, receiptsPerSec: round(receipts / s), txsPerSec: round(txs / s),
    latencyMs: { p50: round(percentile(l, 50) ?? NaN), p90: round(percentile(l, 90) ?? NaN), p99: round(percentile(l, 99) ?? NaN), max: round(percentile(l, 100) ?? NaN), samples: l.length },
  }
}

/** Wait until no tx of ours is pending (or the timeout passes); returns how many still are. */
export async function drain(tracker: CommitTracker, timeoutMs: number, measuredOnly = false): Promise<number> {
  const deadline = nowMs() + timeoutMs
  for (;;) {
    const n = measuredOnly ? tracker.pendingMeasured() : tracker.pendingCount
    if (n === 0 || nowMs() > deadline) return n
    await sleep(100)
  }
}
