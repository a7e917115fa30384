import { toHex } from '../core/bytes.js'
import { signTx, type SignedTx, type TxCall } from '../core/tx.js'
import type { KeyPair } from '../core/keys.js'
import type { Address } from '../core/address.js'
import { JsonRpcErrorCode } from './errors.js'
import { RpcRequestError, type RpcBatchResult } from './transport.js'
import { toUnits, type AmountInput } from './txBuilders.js'
import type { AttrchainClient, TableCall } from './client.js'
import { units, type TxSendResult, type WaitMode } from './wire.js'

/**
 * Signing and nonces for the client SDK: `TxSender` signs txs from one key
 * and submits them through an `AttrchainClient`, handing out nonces locally.
 */

export interface TxSenderOptions {
  /** default: the node's chain id, fetched once */
  chainId?: string
  /** fee of every tx; default: the chain's `minTxFee`, fetched once */
  fee?: AmountInput
  /** largest number of txs per JSON-RPC batch in `sendMany` (the node's default cap is 100) */
  batchSize?: number
}

export interface SendOptions {
  wait?: WaitMode
  /** this tx's fee instead of the sender's default */
  fee?: AmountInput
  /**
   * How long to keep re-sending a tx the node refuses with
   * MEMPOOL_ERROR_FULL (backpressure: the node is saturated; ms, default
   * 10,000; 0 = give up at once). Retries back off from 100 ms to 2 s.
   */
  fullRetryMs?: number
}

const FULL_RETRY_MS = 10_000
/** The backoff between resends of FULL-refused txs: from the first delay, doubling, up to the longest (ms). */
const BACKOFF_FIRST_MS = 100
const BACKOFF_MAX_MS = 2000
/** The longest a node's `retryAfterMs` hint is followed (ms). */
const MAX_HINT_MS = 10_000

export type SendManyResult = { ok: true; result: TxSendResult } | { ok: false; error: Error }

/** Reasons whose nonce was never taken by the node: the sender may hand it out again. */
const NONCE_REASONS = new Set(['TX_ERROR_BAD_NONCE', 'MEMPOOL_ERROR_NONCE_TOO_FAR'])
/** Refusals after which the nonce is held by another tx in the mempool, so it stays spent. */
const NONCE_HELD_REASONS = new Set(['MEMPOOL_ERROR_NONCE_TAKEN', 'MEMPOOL_ERROR_DUPLICATE'])

function refusedAtAdmission(e: unknown): e is RpcRequestError {
  if (!(e instanceof RpcRequestError)) return false
  const reason = e.reason ?? ''
  if (NONCE_HELD_REASONS.has(reason)) return false
  // invalidRequest: a batch refused as a whole (over the node's cap) ran none of its txs.
  return [JsonRpcErrorCode.txRejected, JsonRpcErrorCode.mempoolRejected, JsonRpcErrorCode.invalidParams, JsonRpcErrorCode.invalidRequest].includes(e.code as never)
}

/**
 * For a MEMPOOL_ERROR_FULL refusal (backpressure: send the same tx again
 * later), the node's `retryAfterMs` hint in ms (0 without one); null for
 * any other outcome.
 */
function fullRefusalHint(e: unknown): number | null {
  if (!(e instanceof RpcRequestError) || e.reason !== 'MEMPOOL_ERROR_FULL') return null
  const hint = (e.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs
  return typeof hint === 'number' && hint > 0 ? hint : 0
}

/**
 * How long to wait before sending FULL-refused txs again (ms): our own
 * backoff `delay`, or the node's hint when longer (a congested node says
 * when it will take the tx, as HTTP's Retry-After), at most 10 s.
 */
function backoffPause(delay: number, hint: number): number {
  return hint > delay ? Math.min(hint, MAX_HINT_MS) : delay
}

interface Allocation {
  nonce: number
  generation: number
}

/**
 * Signs and submits txs from one key. It fetches the chain id, the account
 * nonce and the default fee once, then hands out consecutive nonces locally,
 * so a stream of submissions pipelines without a round trip per tx (the
 * mempool queues nonces ahead of the account's, DESIGN §3).
 *
 * A nonce refused at admission (e.g. fee too low) is handed out again by the
 * next submission, so no gap strands the txs after it. After
 * TX_ERROR_BAD_NONCE (someone else used this key) the nonce is resynced from
 * `account_get` and the tx is signed again once. A transport failure leaves
 * the nonce spent: the tx may have arrived.
 */
export class TxSender {
  private setup: Promise<{ chainId: string; fee: bigint }> | null = null
  private next = 0
  /** nonces handed out but refused by the node, reused lowest first */
  private holes: number[] = []
  /** bumped by every resync; a refusal from an older generation says nothing about the current counter */
  private generation = 0
  private resyncing: Promise<number> | null = null

  constructor(
    readonly client: AttrchainClient,
    readonly key: KeyPair,
    private readonly opts: TxSenderOptions = {},
  ) {}

  get address(): Address {
    return this.key.address
  }

  /** Fetch chain id, nonce and fee (one batch); later calls reuse the result. */
  init(): Promise<{ chainId: string; fee: bigint }> {
    this.setup ??= this.fetchSetup().catch((e: unknown) => {
      this.setup = null
      throw e
    })
    return this.setup
  }

  private async fetchSetup(): Promise<{ chainId: string; fee: bigint }> {
    const [status, account, params] = await this.client.batch([
      { method: 'chain_status' }, { method: 'account_get', params: [this.address] }, { method: 'chain_params' },
    ])
    const ok = <T>(r: RpcBatchResult<T>): T => {
      if (!r.ok) throw r.error
      return r.result
    }
    this.next = ok(account).nonce
    return {
      chainId: this.opts.chainId ?? ok(status).chainId,
      fee: this.opts.fee !== undefined ? toUnits(this.opts.fee, 'fee') : units(ok(params).minTxFee, 'minTxFee'),
    }
  }

  /** The nonce the next new submission gets (after init). */
  get nextNonce(): number {
    return this.holes[0] ?? this.next
  }

  private allocate(): Allocation {
    const nonce = this.holes.shift() ?? this.next++
    return { nonce, generation: this.generation }
  }

  private release(a: Allocation): void {
    if (a.generation !== this.generation) return
    if (a.nonce === this.next - 1) {
      this.next--
      while (this.holes.length > 0 && this.holes[this.holes.length - 1] === this.next - 1) {
        this.holes.pop()
        this.next--
      }
      return
    }
    this.holes.push(a.nonce)
    this.holes.sort((x, y) => x - y)
  }

  /** Re-read the account nonce; concurrent callers share one request. */
  resync(): Promise<number> {
    this.resyncing ??= this.client.getAccount(this.address).then(
      (acct) => {
        this.generation++
        this.next = acct.nonce
        this.holes = []
        this.resyncing = null
        return acct.nonce
      },
      (e: unknown) => {
        this.resyncing = null
        throw e
      },
    )
    return this.resyncing
  }

  /**
   * Sign `call` with the next nonce without sending it (e.g. to submit it
   * elsewhere). The nonce counts as spent: send the tx, or `resync()`.
   */
  async sign(call: TxCall, opts: { fee?: AmountInput } = {}): Promise<SignedTx> {
    const { stx } = await this.signAllocated(call, opts)
    return stx
  }

  private async signAllocated(call: TxCall, opts: { fee?: AmountInput }): Promise<{ stx: SignedTx; alloc: Allocation }> {
    const { chainId, fee } = await this.init()
    const alloc = this.allocate()
    const stx = signTx({ chainId, nonce: alloc.nonce, fee: opts.fee !== undefined ? toUnits(opts.fee, 'fee') : fee, call }, this.key)
    return { stx, alloc }
  }

  async send(call: TxCall, opts: SendOptions = {}): Promise<TxSendResult> {
    const first = await this.signAllocated(call, opts)
    try {
      return await this.sendThroughBackpressure(first.stx, opts)
    } catch (e) {
      if (!(await this.recover(e, first.alloc))) throw e
    }
    const retry = await this.signAllocated(call, opts)
    try {
      return await this.sendThroughBackpressure(retry.stx, opts)
    } catch (e) {
      if (refusedAtAdmission(e)) this.release(retry.alloc)
      throw e
    }
  }

  /** The same signed tx sent again while the node answers MEMPOOL_ERROR_FULL, backing off, for up to `fullRetryMs`. */
  private async sendThroughBackpressure(stx: SignedTx, opts: SendOptions): Promise<TxSendResult> {
    const deadline = Date.now() + (opts.fullRetryMs ?? FULL_RETRY_MS)
    for (let delay = BACKOFF_FIRST_MS; ; delay = Math.min(BACKOFF_MAX_MS, delay * 2)) {
      try {
        return await this.client.sendTx(stx, opts)
      } catch (e) {
        const hint = fullRefusalHint(e)
        if (hint === null) throw e
        const wait = backoffPause(delay, hint)
        if (Date.now() + wait > deadline) throw e
        await new Promise((r) => setTimeout(r, wait))
      }
    }
  }

  /** Handle a refusal; true when the nonce was resynced and the tx deserves one more try. */
  private async recover(e: unknown, alloc: Allocation): Promise<boolean> {
    if (!refusedAtAdmission(e)) return false
    if (!NONCE_REASONS.has(e.reason ?? '')) {
      this.release(alloc)
      return false
    }
    // Someone else resynced since this nonce was handed out: the counter is fresh already.
    if (alloc.generation === this.generation) await this.resync()
    return true
  }

  /**
   * Sign every call with consecutive nonces and submit them in JSON-RPC
   * batches sent concurrently. One result per call, in order; a refused tx
   * does not stop the others. Txs refused with MEMPOOL_ERROR_FULL are sent
   * again with backoff for up to `opts.fullRetryMs` (as `send` does).
   */
  async sendMany(calls: readonly TxCall[], opts: SendOptions = {}): Promise<SendManyResult[]> {
    const signed: { stx: SignedTx; alloc: Allocation }[] = []
    for (const call of calls) signed.push(await this.signAllocated(call, opts))
    const size = Math.max(1, this.opts.batchSize ?? 100)
    const chunks: (typeof signed)[] = []
    for (let i = 0; i < signed.length; i += size) chunks.push(signed.slice(i, i + size))
    const wait = opts.wait ?? 'none'
    const results = await Promise.all(chunks.map((chunk) => this.sendChunkThroughBackpressure(chunk.map((s) => s.stx), wait, opts)))
    const flat = results.flat()
    // Refused nonces are released highest first so that the counter can fall back over a refused tail.
    for (let i = flat.length - 1; i >= 0; i--) {
      const r = flat[i]
      if (!r.ok && refusedAtAdmission(r.error)) {
        if (NONCE_REASONS.has(r.error.reason ?? '')) await this.resyncOnce(signed[i].alloc)
        else this.release(signed[i].alloc)
      }
    }
    return flat
  }

  /**
   * One `sendMany` batch: sent, then its txs refused with MEMPOOL_ERROR_FULL
   * sent again (the same signed bytes, as `send` does) with the same backoff
   * and `fullRetryMs` bound, until each is answered otherwise or the bound
   * passes. Results in the batch's order.
   */
  private async sendChunkThroughBackpressure(txs: readonly SignedTx[], wait: WaitMode, opts: SendOptions): Promise<SendManyResult[]> {
    const out: SendManyResult[] = new Array(txs.length)
    let pending = txs.map((_, i) => i)
    const deadline = Date.now() + (opts.fullRetryMs ?? FULL_RETRY_MS)
    for (let delay = BACKOFF_FIRST_MS; ; delay = Math.min(BACKOFF_MAX_MS, delay * 2)) {
      let replies: RpcBatchResult<TxSendResult>[]
      try {
        replies = await this.client.batch(pending.map((i): TableCall<'tx_send'> => ({ method: 'tx_send', params: [toHex(txs[i].bytes), { wait }] })))
      } catch (e) {
        // A batch refused as a whole: with MEMPOOL_ERROR_FULL (a congested node refuses a large body unread)
        // every tx of it is sent again like a FULL-refused one; any other error ends the batch.
        if (fullRefusalHint(e) === null) {
          for (const i of pending) out[i] = { ok: false, error: e as Error }
          return out
        }
        replies = pending.map(() => ({ ok: false, error: e as RpcRequestError }))
      }
      const full: number[] = []
      let hint = 0
      for (const [k, r] of replies.entries()) {
        const i = pending[k]
        out[i] = r
        const h = r.ok ? null : fullRefusalHint(r.error)
        if (h === null) continue
        full.push(i)
        hint = Math.max(hint, h)
      }
      if (full.length === 0) return out
      const pause = backoffPause(delay, hint)
      if (Date.now() + pause > deadline) return out
      await new Promise((r) => setTimeout(r, pause))
      pending = full
    }
  }

  private async resyncOnce(alloc: Allocation): Promise<void> {
    if (alloc.generation === this.generation) await this.resync()
  }
}
