/**
 * How much a proposal may hold so that the validators can receive, validate
 * and execute it within the propose timeout of its round (Tendermint's
 * liveness needs a correct proposer's block to be prevoted in time; a block
 * that takes longer than timeoutPropose to check costs the round, and under
 * load every round). The fixed caps (params maxBlockTxs, maxBlockBytes,
 * maxBlockReceipts) bound what a valid block may hold; this budget is what a
 * proposer *chooses* to put in one, learnt from the execution time of the
 * blocks this node built and validated (its own machine and load).
 *
 * Cost model: work units = txs × TX_WORK + receipts (a tx's envelope, nonce,
 * fee and signature bookkeeping cost about five receipts' worth of execution,
 * measured with `npm run bench`: ~85 µs per tx against ~16 µs per receipt).
 * The time per unit is the slowest of the last RECENT_BLOCKS blocks of at
 * least MIN_OBSERVED_WORK units (smaller ones are dominated by fixed costs):
 * on CPUs shared with other nodes the same work takes up to twice as long
 * from one block to the next, and a block sized by an average (it was an
 * EWMA) was now and then too large for a validator that executed it at a
 * slow moment — its prevote missed the propose timeout and the height
 * needed a second round (about one height in fifty under the 4-validator
 * flood). Sized by the recent worst case, none did in the runs since. Four
 * blocks, not eight: with eight the closed-loop devnet-4 bench at 100
 * receipts per tx fell to 5.9–9.4k receipts/s (8.0–12.9k before); with four
 * it measured 7.3–10.2k, within the noise of before.
 *
 * Slow start: a proposal holds at most GROWTH times the work of the largest
 * of the last RECENT_BLOCKS committed blocks (never below minWork nor one
 * tx of maxTxReceipts), as TCP's
 * slow start doubles its window per round trip rather than sending what a
 * stale estimate allows. The cost per work unit is learnt from blocks of
 * some size; after an idle spell the last such blocks may be minutes old,
 * measured on an idle machine, and a flood starting then met a budget of
 * 20,000 receipts, a block that took the validators past their propose
 * timeout, and a next round with a larger budget still: the 4-validator
 * flood at 100 receipts per tx had no commit for its first 5 s, then a
 * 40,000-receipt block in round 2. Doubling per height reaches a full block
 * in a few heights. Committed blocks only: when proposals that failed their
 * round counted, a too-large round-0 block raised the bound of the round-1
 * proposer, whose block was larger still (a 5 s height in round 2). The
 * budget of round r is `fraction × (timeoutProposeMs + r ×
 * timeoutProposeDeltaMs)` with fraction 0.4: the proposer's build and
 * each validator's validation both execute the block before the validators'
 * propose timeout runs out, and the transfer comes on top (0.3 cost 20 % of
 * the 4-validator closed-loop throughput with the bench's 600 ms timeout;
 * 0.5 leaves nothing for the transfer). It grows with the
 * round like the timeout, so a slow height still ends.
 */
export const TX_WORK = 5
const MIN_OBSERVED_WORK = 200
const RECENT_BLOCKS = 4
const GROWTH = 2

export interface ProposalBudgetOptions {
  timeoutProposeMs: number
  timeoutProposeDeltaMs: number
  /** share of the round's propose timeout one execution of the block may take (0..1) */
  fraction: number
  /** time per work unit assumed before any block was measured (ms) */
  initialMsPerWork: number
  /** never propose less than this many work units, so that a slow node still makes progress */
  minWork: number
  /**
   * receipts of the largest tx the params allow (params.maxReceiptsPerTx):
   * a proposal may always hold one such tx, or a chain whose budget is small
   * (slow start after idle, a slow node) could never include it (0: none)
   */
  maxTxReceipts?: number
}

export const defaultProposalBudgetOptions = { fraction: 0.4, initialMsPerWork: 0.02, minWork: 500 }

export class ProposalBudget {
  private msPerWork: number
  /** ms per work unit of the last RECENT_BLOCKS observed blocks, oldest first */
  private readonly recent: number[] = []
  /** work units of the last RECENT_BLOCKS committed blocks, of any size (the slow-start bound) */
  private readonly recentWork: number[] = []

  constructor(private readonly opts: ProposalBudgetOptions) {
    this.msPerWork = opts.initialMsPerWork
  }

  /** Work units of a block. */
  static work(txs: number, receipts: number): number {
    return txs * TX_WORK + receipts
  }

  /** A block of `txs` txs and `receipts` receipts took `ms` to execute here (building or validating it). */
  observe(txs: number, receipts: number, ms: number): void {
    const work = ProposalBudget.work(txs, receipts)
    if (work < MIN_OBSERVED_WORK || !(ms >= 0)) return
    this.recent.push(ms / work)
    if (this.recent.length > RECENT_BLOCKS) this.recent.shift()
    this.msPerWork = Math.max(...this.recent)
  }

  /**
   * A block of `txs` txs and `receipts` receipts was committed: the
   * slow-start bound follows committed blocks only (a proposal that failed
   * its round, too large to check in time, must not raise it).
   */
  committed(txs: number, receipts: number): void {
    this.recentWork.push(ProposalBudget.work(txs, receipts))
    if (this.recentWork.length > RECENT_BLOCKS) this.recentWork.shift()
  }

  /** The measured time per work unit (ms): the slowest of the recent blocks. */
  get costMsPerWork(): number {
    return this.msPerWork
  }

  /**
   * Limits for a proposal of `round`, to be applied on top of the params'
   * caps: the round's budget, within the slow-start bound. `lateMs` (ms):
   * how much of the round's propose timeout the validators have already
   * spent when the proposer builds (DriverChain.propose; a proposer whose
   * commit of the last block ended after the height's common start). The
   * build, the transfer and each validator's execution must fit in what is
   * left: the proposer's build and the validators' execution take the
   * budget each, so lateness takes half of itself off the budget
   * (2 × budget + transfer ≤ timeout − lateMs), never below the floor.
   * Seen under the 4-validator flood at 100 receipts per tx
   * (`block committed` log lines): the commit of a 109-tx block took one
   * validator 876 ms against 303–485 ms for the others, so it started the
   * next height about 500 ms after them; as that height's proposer it would
   * have sent a block sized for the full timeout into half of it.
   */
  limits(round: number, lateMs = 0): { maxTxs: number; maxReceipts: number; work: number } {
    const { timeoutProposeMs, timeoutProposeDeltaMs, fraction, minWork } = this.opts
    const timeoutMs = timeoutProposeMs + round * timeoutProposeDeltaMs
    const budgetMs = Math.max(0, fraction * timeoutMs - Math.min(timeoutMs, Math.max(0, lateMs)) / 2)
    const floor = Math.max(minWork, ProposalBudget.work(1, this.opts.maxTxReceipts ?? 0))
    const slowStart = Math.max(floor, GROWTH * Math.max(0, ...this.recentWork))
    const work = Math.min(slowStart, Math.max(floor, Math.floor(budgetMs / this.msPerWork)))
    // A block of one-receipt txs costs TX_WORK + 1 per tx; a batched one about 1 per receipt.
    return { maxTxs: Math.max(1, Math.floor(work / (TX_WORK + 1))), maxReceipts: work, work }
  }
}
