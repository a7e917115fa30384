// Why this file passes 400 lines (issue 14): it is one class, the Mempool,
// whose indexes (by hash, by sender and nonce, the queue past a gap, byte
// and count totals) must change together on every add, recheck and
// eviction; its options and error codes are the rest of the file.
import { fromHex } from '../core/bytes.js'
import { AttrchainError } from '../core/errors.js'
import { decodeSignedTx, receiptCount, signingDigestOfSigned, type SignedTx } from '../core/tx.js'
import { TxError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import type { Params } from '../genesis/params.js'
import { checkTxEnvelope } from '../state/execute.js'
import { MIN_OFFLOADED_RECEIPTS, type TxVerifier } from './verifier.js'
import type { Account } from '../state/entities.js'

/** What `MempoolError` carries: why admission refused a tx that is valid in itself (RPC -32002). */
export type MempoolErrorCode =
  /** the tx is already in the mempool */
  | 'MEMPOOL_ERROR_DUPLICATE'
  /** a capacity limit refused the tx (`meta.limit`, a FullReason); back off and retry from this nonce */
  | 'MEMPOOL_ERROR_FULL'
  /** the sender already has a pending tx with this nonce */
  | 'MEMPOOL_ERROR_NONCE_TAKEN'
  /** the nonce is more than maxFutureNonces past the account nonce */
  | 'MEMPOOL_ERROR_NONCE_TOO_FAR'
  /** the tx alone exceeds maxBlockBytes: no block could hold it */
  | 'MEMPOOL_ERROR_TX_TOO_LARGE'

export class MempoolError extends AttrchainError<MempoolErrorCode> {}

/**
 * Admission limits. "Pending" txs are executable: per sender, the run of
 * consecutive nonces from the account nonce. "Queued" txs wait behind a
 * nonce gap (geth's txpool pending/queued split). Queued txs are bounded per
 * sender and in total, expire, and are evicted whenever an executable tx
 * needs their room: gapped txs can never keep executable ones out.
 */
export interface MempoolOptions {
  /** txs held at once, pending and queued */
  maxTxs: number
  /** bytes of txs held at once, pending and queued */
  maxBytes: number
  /** how far past the account nonce a sender may queue */
  maxFutureNonces: number
  /** queued (gapped) txs held at once */
  maxQueuedTxs: number
  /** bytes of queued txs held at once */
  maxQueuedBytes: number
  /** queued txs of one sender */
  maxQueuedPerSender: number
  /** committed blocks after which a tx still queued is dropped (once it has also waited `queuedMinLifetimeMs`) */
  queuedLifetimeBlocks: number
  /**
   * the least time (ms) a queued tx is held before it may expire, whatever
   * the block time: a sender whose earlier nonce was refused with
   * MEMPOOL_ERROR_FULL backs off in wall-clock time (TxSender: up to 10 s)
   * and must find its later nonces still held when that one gets in. 60
   * blocks alone were 3 s with 50 ms blocks, and such a sender's later tx
   * was dropped after it had been accepted.
   */
  queuedMinLifetimeMs: number
  /** signatures waiting in the verifier beyond which tx_send is refused at once */
  maxVerifyQueue: number
  /** event-loop lag (ms) beyond which tx_send is refused at once and tx gossip ignored */
  maxEventLoopLagMs: number
  /**
   * a height committed by consensus more than this after the previous one
   * (or in a later round) halves the rate of new txs taken over tx_send
   * (node/admissionRate.ts); 0 = no rate limit
   */
  congestionIntervalMs: number
  /**
   * tx_send is refused while the mempool holds more than this many
   * proposals' worth of executable txs (`backlog`: not those behind a nonce
   * gap; plus the txs taken over tx_send still being verified, node.ts
   * intakeInFlight; node/admissionRate.ts heldBlocks; a fraction allowed), so that an
   * accepted executable tx is committed within about two block intervals;
   * 0 = no bound. 1, not 2: the 4-validator flood's p99
   * submit→commit 2.1–3.1 s instead of 2.7–5.0 s, the single validator's
   * p50 1.1 s instead of 2.2 s, throughput unchanged. 0.5 cuts the
   * flood's p99 latency by a third or more and costs the closed-loop
   * rates, so it is a setting, not the default: under a flood a
   * proposal's limits are mostly the slow-start bound, twice the largest
   * recent block (node/proposalBudget.ts), so 1 lets two blocks' worth
   * wait; at 0.5, three alternating runs each
   * of the 4-validator flood at 100 receipts per tx, p99 submit→commit
   * 3.8–4.7 s against 5.5–7.8 s (the wait after the node's answer p99
   * 2.3–3.0 s against 3.5–6.0 s), longest block interval 1.5–2.1 s against
   * 2.0–3.4 s, receipts/s 4.6–7.3k against 4.2–5.4k; one per tx p99 2.6 s
   * against 5.3 s. But half a proposal is one recent block: blocks can no
   * longer double per height, and the closed-loop bench (200 ms blocks,
   * thousands of txs in flight) fell from 1,542 to 820 receipts/s
   * (devnet-4, one per tx), 10.7k to 7.4k (devnet-4, 100 per tx), 43.4k to
   * 38.3k (single node, 100 per tx); a lone validator flooded at 100 per tx
   * 17–18k against 18–21k. 0.25 met the flood's 3 s target (p99 2.1–2.5 s)
   * at 2.7–4.2k receipts/s, blocks shrinking height after height.
   */
  maxBacklogBlocks: number
}

/**
 * Sized for four nodes on one 2-core machine. A held tx costs about 6x its
 * bytes of heap when small and 4x when large (measured: a 344-byte
 * one-receipt tx 2.1 KiB decoded, a 20 KiB 100-receipt tx 77 KiB), so a
 * full mempool stays near 125 MiB of heap per node at worst (32 MiB of
 * large txs; 30,000 small ones are ~63 MiB): four nodes stay within about
 * 0.5 GiB and their young-generation GCs do not scan a growing old
 * generation. 30,000 txs is 1.5 blocks of one-receipt txs (maxBlockTxs
 * 20,000), 32 MiB four full blocks (maxBlockBytes 8 MiB), several seconds
 * of the fastest measured intake: more would only add latency, and a sender
 * refused with MEMPOOL_ERROR_FULL backs off and retries. The previous
 * 50,000 txs / 256 MiB allowed ~1 GiB of heap per node.
 */
export const defaultMempoolOptions: MempoolOptions = {
  maxTxs: 30_000,
  maxBytes: 32 * 1024 * 1024,
  maxFutureNonces: 1024,
  maxQueuedTxs: 2048,
  maxQueuedBytes: 8 * 1024 * 1024,
  maxQueuedPerSender: 64,
  queuedLifetimeBlocks: 60,
  queuedMinLifetimeMs: 30_000,
  maxVerifyQueue: 8192,
  maxEventLoopLagMs: 400,
  congestionIntervalMs: 2000,
  maxBacklogBlocks: 1,
}

/** Which limit refused a tx: the `limit` field of MEMPOOL_ERROR_FULL and the `reason` label of attrchain_tx_refused_total. */
export type FullReason = 'txs' | 'bytes' | 'queued' | 'sender_queued' | 'verifier' | 'event_loop' | 'rate' | 'backlog'

export interface MempoolModules {
  chainId: string
  params: Params
  /** the committed account state the mempool checks against */
  account(address: Address): Account
  /** verifies (and hashes receipt ids) off the main thread when given (node/verifier.ts) */
  verifier?: TxVerifier | null
  /** the main thread's current event-loop lag in ms (node/loopLag.ts); no check without it */
  eventLoopLagMs?: () => number
  /**
   * the caller's monotonic clock in ms (the node passes performance.now; the
   * tx relay uses the same one), for relay bookkeeping and the queued txs'
   * minimum lifetime only, never for validity; without it queued txs expire
   * by blocks alone
   */
  now?: () => number
}

interface Entry {
  stx: SignedTx
  /** admission order: senders are reaped in order of their oldest ready tx */
  seq: number
  /** behind a nonce gap (not executable) */
  queued: boolean
  /** the block count (recheck calls) when it was last queued: expiry runs from there */
  queuedSince: number
  /** when it was queued (modules.now, ms) */
  queuedAtMs: number
  /** caller's clock (ms) of the last time it was gossiped; order of `byHash` */
  relayedAt: number
}

/**
 * Pending txs (DESIGN §3): admission checks signature (once: the decoded,
 * verified tx is kept and handed to block execution), chain id, nonce, fee
 * and balance, and the body's static validity. Per sender, txs are ordered
 * by nonce; a sender's txs past a gap are queued (MempoolOptions): bounded,
 * expiring, and evicted first. `recheck` must be called once per committed
 * block: it also counts the blocks queued txs expire by.
 */
export class Mempool {
  /** every tx, in order of `relayedAt` (re-inserted when relayed) */
  private readonly byHash = new Map<string, Entry>()
  private readonly bySender = new Map<Address, Map<number, Entry>>()
  /** queued txs, oldest queued first: evicted and expired from the front */
  private readonly queued = new Map<string, Entry>()
  private readonly queuedBySender = new Map<Address, number>()
  private bytes = 0
  private receiptsHeld = 0
  private queuedBytes = 0
  private queuedReceipts = 0
  private seq = 0
  private blocks = 0
  /** the txs held that the proposal in flight carries (markProposed), and their totals */
  private proposed = new Set<string>()
  private proposedHeld: { txs: number; bytes: number; receipts: number } = { txs: 0, bytes: 0, receipts: 0 }

  constructor(private readonly opts: MempoolOptions, private readonly modules: MempoolModules) {}

  /** txs held, pending and queued */
  get size(): number {
    return this.byHash.size
  }

  get sizeBytes(): number {
    return this.bytes
  }

  /** inference receipts of the txs held (what params.maxBlockReceipts counts) */
  get receipts(): number {
    return this.receiptsHeld
  }

  /**
   * The executable txs the mempool holds beyond the proposal in flight
   * (markProposed): txs, their bytes and their receipts. The unit of the
   * backlog bound (MempoolOptions.maxBacklogBlocks): the txs a validated
   * proposal carries leave with its commit, so only the rest waits for a
   * later block. Txs behind a nonce gap (queued) do not count: no block
   * can carry them until the gap is filled, and counting them let a
   * sender's own queued txs refuse the tx that fills its gap, until they
   * expired — accepted txs lost (a CI failure of client.test.ts: a
   * 250-tx pipeline in three concurrent batches, the first refused for
   * the backlog, the other two queued behind it).
   */
  get backlog(): { txs: number; bytes: number; receipts: number } {
    const p = this.proposedHeld
    return {
      txs: this.byHash.size - this.queued.size - p.txs,
      bytes: this.bytes - this.queuedBytes - p.bytes,
      receipts: this.receiptsHeld - this.queuedReceipts - p.receipts,
    }
  }

  /** whether txs of `sender` are held behind a nonce gap; O(1) */
  hasQueued(sender: Address): boolean {
    return this.queuedBySender.has(sender)
  }

  /**
   * The first nonce gap of `sender` behind which this mempool holds txs:
   * `from` the first nonce at or past the account nonce not held, `to` the
   * lowest queued nonce past it (exclusive); null when none of the
   * sender's txs is queued. What gap repair asks a peer for
   * (node/txGapRepair.ts). O(txs held of the sender).
   */
  gapOf(sender: Address): { from: number; to: number } | null {
    if (!this.queuedBySender.has(sender)) return null
    const queue = this.bySender.get(sender)
    if (queue === undefined) return null
    const from = this.nextNonce(sender, this.modules.account(sender).nonce)
    let to = Number.POSITIVE_INFINITY
    for (const [n, e] of queue) if (e.queued && n > from && n < to) to = n
    return to === Number.POSITIVE_INFINITY ? null : { from, to }
  }

  /**
   * The bytes of the txs held of `sender` at `fromNonce`, `fromNonce + 1`,
   * …, up to the first not held, at most `count` of them and `maxBytes` in
   * total: what this node serves a peer repairing a gap (p2p/pooledTxs.ts).
   */
  pooledTxs(sender: Address, fromNonce: number, count: number, maxBytes: number): Uint8Array[] {
    const queue = this.bySender.get(sender)
    const out: Uint8Array[] = []
    let bytes = 0
    for (let n = fromNonce; queue !== undefined && out.length < count; n++) {
      const e = queue.get(n)
      if (e === undefined || bytes + e.stx.bytes.length > maxBytes) break
      bytes += e.stx.bytes.length
      out.push(e.stx.bytes)
    }
    return out
  }

  /**
   * The proposal this node built or validated for the next height carries
   * these txs (hashes): until the next `recheck` (its commit) or the next
   * call (a later round's proposal), they do not count in `backlog`.
   * Txs not held here (pulled with the block) count nowhere; one held
   * behind a gap counts nowhere either, and leaves `backlog` with the
   * proposal if the gap is filled before the commit (setQueued).
   */
  markProposed(hashes: Iterable<string>): void {
    this.proposed = new Set()
    this.proposedHeld = { txs: 0, bytes: 0, receipts: 0 }
    for (const h of hashes) {
      const e = this.byHash.get(h)
      if (e === undefined || this.proposed.has(h)) continue
      this.proposed.add(h)
      if (!e.queued) this.countProposed(e, 1)
    }
  }

  private countProposed(e: Entry, sign: 1 | -1): void {
    this.proposedHeld.txs += sign
    this.proposedHeld.bytes += sign * e.stx.bytes.length
    this.proposedHeld.receipts += sign * receiptCount(e.stx)
  }

  /** txs held behind a nonce gap */
  get queuedSize(): number {
    return this.queued.size
  }

  has(hash: string): boolean {
    return this.byHash.has(hash)
  }

  get(hash: string): SignedTx | undefined {
    return this.byHash.get(hash)?.stx
  }

  /**
   * The cheap checks that run before a submitted tx is even decoded: a
   * MEMPOOL_ERROR_FULL (with `limit`, a FullReason) when the mempool is full
   * of executable txs, or the verifier or the event loop is saturated, else
   * null. Nothing is changed either way.
   */
  refusal(byteLength: number): MempoolError | null {
    const depth = this.modules.verifier?.depth
    if (depth !== undefined && depth > this.opts.maxVerifyQueue) {
      return mempoolFull('verifier', `${depth} signatures are waiting for verification`)
    }
    const lag = this.modules.eventLoopLagMs?.()
    if (lag !== undefined && lag > this.opts.maxEventLoopLagMs) return mempoolFull('event_loop', `the node is overloaded (event loop ${Math.round(lag)} ms behind)`)
    // queued txs would make room for an executable one, which only decoding can tell
    if (this.queued.size > 0) return null
    if (this.byHash.size >= this.opts.maxTxs) return mempoolFull('txs', `mempool is full (${this.byHash.size} txs)`)
    if (this.bytes + byteLength > this.opts.maxBytes) return mempoolFull('bytes', `mempool is full (${this.bytes} bytes)`)
    return null
  }

  /** Decode, verify and admit raw tx bytes; throws a TxError or MempoolError saying why not. `shed: false` as in `admit`. */
  add(bytes: Uint8Array, opts: { shed?: boolean } = {}): SignedTx {
    const refused = opts.shed === false ? null : this.refusal(bytes.length)
    if (refused) throw refused
    return this.addDecoded(decodeSignedTx(bytes, this.limits()))
  }

  /**
   * As `add`, with the signature verified by the verifier (a worker thread):
   * everything cheap is checked first, so a tx refused for its nonce or fee
   * costs no verification, and a saturated node refuses before decoding.
   * `shed: false` skips that load shedding (`refusal`) for a tx the node
   * originates itself (node.ts submitTx `local`); the count and byte limits
   * still apply.
   */
  async admit(bytes: Uint8Array, opts: { shed?: boolean } = {}): Promise<SignedTx> {
    const verifier = this.modules.verifier
    if (!verifier) return this.add(bytes, opts)
    const refused = opts.shed === false ? null : this.refusal(bytes.length)
    if (refused) throw refused
    const stx = decodeSignedTx(bytes, this.limits(), { verify: false })
    this.check(stx)
    if (!(await verifier.verify(stx.pubKey, signingDigestOfSigned(stx.bytes), stx.signature))) {
      throw new TxError('TX_ERROR_BAD_SIGNATURE', 'signature does not verify for this pubkey and tx', { field: 'signature' })
    }
    return this.addDecoded(stx)
  }

  private limits(): { maxReceiptsPerTx: number; maxAttribution: number } {
    const { params } = this.modules
    return { maxReceiptsPerTx: params.maxReceiptsPerTx, maxAttribution: params.maxAttribution }
  }

  /**
   * Admit a tx whose signature was already verified (at decode, by a worker,
   * or by the gossip validator). An executable tx evicts queued txs of other
   * senders, oldest first, when the mempool is full. It counts as gossiped
   * now (the caller publishes it, or received it by gossip).
   */
  addDecoded(stx: SignedTx): SignedTx {
    const { executable, evict } = this.check(stx)
    for (const e of evict) this.remove(e)
    this.precomputeReceiptIds(stx)
    const now = this.modules.now?.() ?? 0
    const entry: Entry = { stx, seq: this.seq++, queued: false, queuedSince: this.blocks, queuedAtMs: now, relayedAt: now }
    this.byHash.set(stx.hash, entry)
    const queue = this.bySender.get(stx.sender)
    if (queue) queue.set(stx.tx.nonce, entry)
    else this.bySender.set(stx.sender, new Map([[stx.tx.nonce, entry]]))
    this.bytes += stx.bytes.length
    this.receiptsHeld += receiptCount(stx)
    if (executable) this.promoteAfter(stx.sender, stx.tx.nonce)
    else this.setQueued(entry, true)
    return stx
  }

  /**
   * Start hashing the receipt ids of a receipts tx in a worker while it
   * waits here; execution uses them if they are back by then (and hashes
   * them itself otherwise: nothing waits on this).
   */
  private precomputeReceiptIds(stx: SignedTx): void {
    const verifier = this.modules.verifier
    const call = stx.tx.call
    if (!verifier?.receiptIds || call.type !== 'submitReceipts' || call.receipts.length < MIN_OFFLOADED_RECEIPTS || stx.receiptIds !== undefined) return
    verifier.receiptIds([{ txHash: fromHex(stx.hash, 'txHash', 32), count: call.receipts.length }]).then(
      ([ids]) => { stx.receiptIds ??= ids },
      () => {},
    )
  }

  /**
   * Every admission check but the signature's; throws the reason. Says
   * whether the tx is executable and which queued txs must go to make room
   * for it (nothing is changed here).
   */
  private check(stx: SignedTx): { executable: boolean; evict: Entry[] } {
    if (this.byHash.has(stx.hash)) throw new MempoolError('MEMPOOL_ERROR_DUPLICATE', `tx ${stx.hash} is already in the mempool`, { hash: stx.hash })
    const account = this.modules.account(stx.sender)
    checkTxEnvelope(this.modules.chainId, this.modules.params, account, stx, false)
    const nonce = stx.tx.nonce
    if (nonce > account.nonce + this.opts.maxFutureNonces) {
      throw new MempoolError('MEMPOOL_ERROR_NONCE_TOO_FAR', `nonce ${nonce} is more than ${this.opts.maxFutureNonces} past the account nonce ${account.nonce}`, { expected: account.nonce })
    }
    const queue = this.bySender.get(stx.sender)
    if (queue?.has(nonce)) {
      throw new MempoolError('MEMPOOL_ERROR_NONCE_TAKEN', `sender already has a pending tx with nonce ${nonce}`, { nonce })
    }
    const size = stx.bytes.length
    if (size > this.modules.params.maxBlockBytes) {
      throw new MempoolError('MEMPOOL_ERROR_TX_TOO_LARGE', `tx of ${size} bytes exceeds maxBlockBytes`, {})
    }
    const prev = queue?.get(nonce - 1)
    const executable = nonce === account.nonce || (prev !== undefined && !prev.queued)
    if (!executable) {
      const expected = this.nextNonce(stx.sender, account.nonce)
      const gap = `nonce ${nonce} waits behind a gap (next executable nonce ${expected})`
      if ((this.queuedBySender.get(stx.sender) ?? 0) >= this.opts.maxQueuedPerSender) {
        throw mempoolFull('sender_queued', `${gap}, and the sender already has ${this.opts.maxQueuedPerSender} such txs; send nonce ${expected} first`, { expected })
      }
      if (this.queued.size >= this.opts.maxQueuedTxs || this.queuedBytes + size > this.opts.maxQueuedBytes) {
        throw mempoolFull('queued', `${gap}, and the queue of such txs is full; send nonce ${expected} first`, { expected })
      }
      if (this.byHash.size >= this.opts.maxTxs) throw mempoolFull('txs', `mempool is full (${this.byHash.size} txs)`)
      if (this.bytes + size > this.opts.maxBytes) throw mempoolFull('bytes', `mempool is full (${this.bytes} bytes)`)
      return { executable, evict: [] }
    }
    return { executable, evict: this.roomFor(stx.sender, size, queue?.has(nonce + 1) === true) }
  }

  /**
   * Queued txs of other senders to evict, oldest first, so that one more tx
   * of `size` bytes fits; throws when even all would not do — except for a
   * tx that fills its sender's own gap (`fillsGap`: the sender's next nonce
   * is held, queued): it is taken over the count and byte limits. It makes
   * txs the mempool already holds executable, and refused it let the
   * sender's own queued txs keep the very tx they wait for out until they
   * expired (30 s), after which the sender's later nonces, accepted, were
   * gone (a CI failure of client.test.ts: a 20-tx mempool, a batch's nonce
   * refused while a later one got in after a block made room). The excess
   * is at most the queue's own limits (maxQueuedTxs, maxQueuedBytes): each
   * such tx needs queued txs behind it, so their count stays within the
   * queue's, but one may be far larger than the queued txs it unblocks.
   */
  private roomFor(sender: Address, size: number, fillsGap = false): Entry[] {
    let count = this.byHash.size
    let bytes = this.bytes
    const evict: Entry[] = []
    for (const e of this.queued.values()) {
      if (count < this.opts.maxTxs && bytes + size <= this.opts.maxBytes) break
      if (e.stx.sender === sender) continue
      evict.push(e)
      count--
      bytes -= e.stx.bytes.length
    }
    const maxTxs = this.opts.maxTxs + (fillsGap ? this.opts.maxQueuedTxs : 0)
    const maxBytes = this.opts.maxBytes + (fillsGap ? this.opts.maxQueuedBytes : 0)
    if (count >= maxTxs) throw mempoolFull('txs', `mempool is full (${this.byHash.size} txs)`)
    if (bytes + size > maxBytes) throw mempoolFull('bytes', `mempool is full (${this.bytes} bytes)`)
    return evict
  }

  /** The sender's first nonce not held here from `from` on. */
  private nextNonce(sender: Address, from: number): number {
    const queue = this.bySender.get(sender)
    let n = from
    while (queue?.has(n)) n++
    return n
  }

  /** A gap at `nonce` was filled: the txs right after it are executable now. */
  private promoteAfter(sender: Address, nonce: number): void {
    const queue = this.bySender.get(sender) as Map<number, Entry>
    for (let e = queue.get(nonce + 1), n = nonce + 1; e?.queued; e = queue.get(++n)) this.setQueued(e, false)
  }

  private setQueued(e: Entry, queued: boolean): void {
    if (e.queued === queued) return
    e.queued = queued
    const sender = e.stx.sender
    const delta = queued ? 1 : -1
    const n = (this.queuedBySender.get(sender) ?? 0) + delta
    if (n === 0) this.queuedBySender.delete(sender)
    else this.queuedBySender.set(sender, n)
    this.queuedBytes += delta * e.stx.bytes.length
    this.queuedReceipts += delta * receiptCount(e.stx)
    // proposedHeld counts the proposal's executable txs only (backlog subtracts it from the executable ones)
    if (this.proposed.has(e.stx.hash)) this.countProposed(e, queued ? -1 : 1)
    if (queued) {
      e.queuedSince = this.blocks
      e.queuedAtMs = this.modules.now?.() ?? 0
      this.queued.set(e.stx.hash, e)
    } else {
      this.queued.delete(e.stx.hash)
    }
  }

  /**
   * Txs for the next block: per sender the run of consecutive nonces from the
   * account nonce, senders in order of their oldest ready tx, within the
   * block limits.
   */
  reap(maxTxs: number, maxBytes: number, maxReceipts = Number.MAX_SAFE_INTEGER): SignedTx[] {
    const runs: Entry[][] = []
    for (const [sender, queue] of this.bySender) {
      let n = this.modules.account(sender).nonce
      const run: Entry[] = []
      for (let e = queue.get(n); e; e = queue.get(++n)) run.push(e)
      if (run.length > 0) runs.push(run)
    }
    runs.sort((a, b) => a[0].seq - b[0].seq)
    const out: SignedTx[] = []
    let bytes = 0
    let receipts = 0
    for (const run of runs) {
      for (const e of run) {
        const r = receiptCount(e.stx)
        if (out.length >= maxTxs || bytes + e.stx.bytes.length > maxBytes || receipts + r > maxReceipts) break
        out.push(e.stx)
        bytes += e.stx.bytes.length
        receipts += r
      }
      if (out.length >= maxTxs) break
    }
    return out
  }

  /**
   * After each committed block: drop included txs and every tx the new state
   * makes invalid (nonce used, fee no longer covered), so the next block only
   * sees includable txs; re-sort the rest into executable and queued (a gap
   * may have been filled by a block, or opened by a dropped tx); drop queued
   * txs older than `queuedLifetimeBlocks` and `queuedMinLifetimeMs`, and trim the queue to its bounds.
   */
  recheck(): void {
    this.blocks++
    this.markProposed([])
    for (const [sender, queue] of this.bySender) {
      const account = this.modules.account(sender)
      let spendable = account.balance
      let next = account.nonce
      for (const nonce of [...queue.keys()].sort((a, b) => a - b)) {
        const e = queue.get(nonce) as Entry
        if (nonce < account.nonce || e.stx.tx.fee > spendable) {
          this.remove(e)
          continue
        }
        spendable -= e.stx.tx.fee
        if (nonce === next) {
          this.setQueued(e, false)
          next++
        } else {
          this.setQueued(e, true)
        }
      }
    }
    // oldest queued first, so the first one still within its lifetime ends the walk
    const now = this.modules.now?.()
    for (const e of this.queued.values()) {
      const over = this.queued.size > this.opts.maxQueuedTxs || this.queuedBytes > this.opts.maxQueuedBytes
      const young = this.blocks - e.queuedSince < this.opts.queuedLifetimeBlocks || (now !== undefined && now - e.queuedAtMs < this.opts.queuedMinLifetimeMs)
      if (!over && young) break
      this.remove(e)
    }
  }

  /**
   * Executable txs last gossiped before `before` (caller's clock, ms), least
   * recently gossiped first, at most `max`: what to re-broadcast so that a tx
   * admitted while no peer was there, or dropped by a busy peer, still
   * reaches the validators. Call `markRelayed` for those sent.
   */
  relayCandidates(before: number, max: number): SignedTx[] {
    const out: SignedTx[] = []
    for (const e of this.byHash.values()) {
      if (out.length >= max || e.relayedAt >= before) break
      if (!e.queued) out.push(e.stx)
    }
    return out
  }

  /** Record that these txs were gossiped at `at` (caller's clock, ms). */
  markRelayed(hashes: string[], at: number): void {
    for (const h of hashes) {
      const e = this.byHash.get(h)
      if (!e) continue
      e.relayedAt = at
      this.byHash.delete(h)
      this.byHash.set(h, e)
    }
  }

  private remove(e: Entry): void {
    const sender = e.stx.sender
    const queue = this.bySender.get(sender)
    if (queue?.get(e.stx.tx.nonce) !== e) return
    this.setQueued(e, false)
    queue.delete(e.stx.tx.nonce)
    this.byHash.delete(e.stx.hash)
    if (this.proposed.delete(e.stx.hash)) this.countProposed(e, -1) // unqueued just above: it was counted
    this.bytes -= e.stx.bytes.length
    this.receiptsHeld -= receiptCount(e.stx)
    if (queue.size === 0) this.bySender.delete(sender)
  }
}

/** A MEMPOOL_ERROR_FULL refusal naming the limit hit. */
export function mempoolFull(limit: FullReason, message: string, meta: Record<string, unknown> = {}): MempoolError {
  return new MempoolError('MEMPOOL_ERROR_FULL', `${message}; back off and retry from this nonce`, { limit, ...meta })
}
