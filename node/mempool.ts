import { fromHex } from '../core/bytes.js'
import { AttrchainError } from '../core/errors.js'
import { decodeSignedTx, signingDigestOfSigned, type SignedTx } from '../core/tx.js'
import { TxError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import type { Params } from '../genesis/params.js'
import { checkTxEnvelope } from '../state/execute.js'
import { MIN_OFFLOADED_RECEIPTS } from './verifier.js'
import type { Account } from '../state/entities.js'

export class MempoolError extends AttrchainError {}

export interface MempoolOptions {
  /** txs held at once */
  maxTxs: number
  /** bytes of txs held at once */
  maxBytes: number
  /** how far past the account nonce a sender may queue */
  maxFutureNonces: number
}

export const defaultMempoolOptions: MempoolOptions = {
  maxTxs: 50_000,
  maxBytes: 256 * 1024 * 1024,
  maxFutureNonces: 1024,
}

export interface MempoolModules {
  chainId: string
  params: Params
  /** the committed account state the mempool checks against */
  account(address: Address): Account
  /** verifies (and hashes receipt ids) off the main thread when given (node/verifier.ts) */
  verifier?: TxVerifier | null
}

/** What the mempool and block validation hand to worker threads (node/verifier.ts SignatureVerifier). */
export interface TxVerifier {
  verify(pubKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): Promise<boolean>
  receiptIds?(txs: { txHash: Uint8Array; count: number }[]): Promise<Uint8Array[]>
}

interface Entry {
  stx: SignedTx
  seq: number
}

/**
 * Pending txs (DESIGN §3): admission checks signature (once: the decoded,
 * verified tx is kept and handed to block execution), chain id, nonce, fee
 * and balance, and the body's static validity. Per sender, txs are ordered
 * by nonce; a sender's txs past a gap wait in the bounded future queue.
 */
export class Mempool {
  private readonly byHash = new Map<string, Entry>()
  private readonly bySender = new Map<Address, Map<number, Entry>>()
  private bytes = 0
  private seq = 0

  constructor(private readonly opts: MempoolOptions, private readonly modules: MempoolModules) {}

  get size(): number {
    return this.byHash.size
  }

  get sizeBytes(): number {
    return this.bytes
  }

  has(hash: string): boolean {
    return this.byHash.has(hash)
  }

  get(hash: string): SignedTx | undefined {
    return this.byHash.get(hash)?.stx
  }

  /** Decode, verify and admit raw tx bytes; throws a TxError or MempoolError saying why not. */
  add(bytes: Uint8Array): SignedTx {
    return this.addDecoded(decodeSignedTx(bytes, this.limits()))
  }

  /**
   * As `add`, with the signature verified by the verifier (a worker thread):
   * everything cheap is checked first, so a tx refused for its nonce or fee
   * costs no verification.
   */
  async admit(bytes: Uint8Array): Promise<SignedTx> {
    const verifier = this.modules.verifier
    if (!verifier) return this.add(bytes)
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

  /** Admit a tx whose signature was already verified (at decode, by a worker, or by the gossip validator). */
  addDecoded(stx: SignedTx): SignedTx {
    this.check(stx)
    this.precomputeReceiptIds(stx)
    const queue = this.bySender.get(stx.sender)
    const entry = { stx, seq: this.seq++ }
    this.byHash.set(stx.hash, entry)
    if (queue) queue.set(stx.tx.nonce, entry)
    else this.bySender.set(stx.sender, new Map([[stx.tx.nonce, entry]]))
    this.bytes += stx.bytes.length
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

  /** Every admission check but the signature's; throws the reason. */
  private check(stx: SignedTx): void {
    if (this.byHash.has(stx.hash)) throw new MempoolError('MEMPOOL_ERROR_DUPLICATE', `tx ${stx.hash} is already in the mempool`, { hash: stx.hash })
    const account = this.modules.account(stx.sender)
    checkTxEnvelope(this.modules.chainId, this.modules.params, account, stx, false)
    if (stx.tx.nonce > account.nonce + this.opts.maxFutureNonces) {
      throw new MempoolError('MEMPOOL_ERROR_NONCE_TOO_FAR', `nonce ${stx.tx.nonce} is more than ${this.opts.maxFutureNonces} past the account nonce ${account.nonce}`, { expected: account.nonce })
    }
    const queue = this.bySender.get(stx.sender)
    if (queue?.has(stx.tx.nonce)) {
      throw new MempoolError('MEMPOOL_ERROR_NONCE_TAKEN', `sender already has a pending tx with nonce ${stx.tx.nonce}`, { nonce: stx.tx.nonce })
    }
    if (stx.bytes.length > this.modules.params.maxBlockBytes) {
      throw new MempoolError('MEMPOOL_ERROR_TX_TOO_LARGE', `tx of ${stx.bytes.length} bytes exceeds maxBlockBytes`, {})
    }
    if (this.byHash.size >= this.opts.maxTxs || this.bytes + stx.bytes.length > this.opts.maxBytes) {
      throw new MempoolError('MEMPOOL_ERROR_FULL', `mempool is full (${this.byHash.size} txs, ${this.bytes} bytes); retry later`, {})
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
        const r = e.stx.tx.call.type === 'submitReceipts' ? e.stx.tx.call.receipts.length : 0
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
   * After a block: drop included txs and every tx the new state makes invalid
   * (nonce used, fee no longer covered), so the next block only sees
   * includable txs.
   */
  recheck(): void {
    for (const [sender, queue] of this.bySender) {
      const account = this.modules.account(sender)
      let spendable = account.balance
      for (const nonce of [...queue.keys()].sort((a, b) => a - b)) {
        const e = queue.get(nonce) as Entry
        if (nonce < account.nonce || e.stx.tx.fee > spendable) {
          this.remove(sender, queue, nonce, e)
          continue
        }
        spendable -= e.stx.tx.fee
      }
      if (queue.size === 0) this.bySender.delete(sender)
    }
  }

  private remove(sender: Address, queue: Map<number, Entry>, nonce: number, e: Entry): void {
    queue.delete(nonce)
    this.byHash.delete(e.stx.hash)
    this.bytes -= e.stx.bytes.length
    if (queue.size === 0) this.bySender.delete(sender)
  }
}
