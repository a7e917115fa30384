import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { NodeError } from './errors.js'
import { ed25519Backend, verifySignature } from '../core/keys.js'
import { receiptIdsOf } from '../core/tx.js'
import type { Logger } from './logger.js'

/**
 * Ed25519 verification off the main thread (sodium-native about 17,000/s
 * per core, node:crypto about 8,000, bench/limits.ts; the main thread has
 * the RPC, execution and storage to do). The workers apply the same
 * validity rule with the same backend choice as core/keys.ts verifySignature
 * (core/ed25519.mjs). Requests are coalesced for up to `maxDelayMs` or `maxBatch` signatures and
 * sent to the least busy worker as one transferable buffer.
 */
export interface VerifierOptions {
  /** worker threads; 0 verifies on the main thread */
  threads: number
  maxBatch: number
  maxDelayMs: number
}

export function defaultVerifierOptions(): VerifierOptions {
  return { threads: Math.max(1, Math.min(4, availableParallelism() - 1)), maxBatch: 256, maxDelayMs: 1 }
}

interface Pending {
  pubKey: Uint8Array
  digest: Uint8Array
  signature: Uint8Array
  resolve(ok: boolean): void
}

/** A request a worker is working on: how much work it counts for, and what to do with the answer (or without one). */
interface InFlight {
  weight: number
  done(results: Uint8Array): void
  /** the worker died: answer on the main thread instead */
  fallback(): void
}

interface WorkerSlot {
  worker: Worker
  inFlight: number
  waiting: Map<number, InFlight>
}

const RECORD = 128

function answer(batch: Pending[], verdicts: Uint8Array): void {
  batch.forEach((p, i) => p.resolve(verdicts[i] === 1))
}

function answerInPlace(batch: Pending[]): void {
  for (const p of batch) p.resolve(verifySignature(p.pubKey, p.digest, p.signature))
}

/** Below this many receipts a tx's ids are hashed in place: the message costs more. */
export const MIN_OFFLOADED_RECEIPTS = 16
/** About how many receipt ids cost as much as one signature verification (load balancing only). */
const RECEIPT_IDS_PER_VERIFY = 50

/**
 * Admission signatures (tx_send, tx gossip) sent to the workers and not yet
 * answered, at most this many batches per worker: the rest wait here, so a
 * block's signatures (priority 'consensus', sent at once) never queue in a
 * worker behind more than this much admission work.
 */
const ADMISSION_BATCHES_IN_FLIGHT = 2

/** What the mempool and block validation hand to worker threads; `SignatureVerifier` below implements it, tests may stub it. */
export interface TxVerifier {
  /**
   * `priority` 'consensus' (the txs of a block being validated) jumps ahead
   * of 'admission' (tx_send and tx gossip), so that a flood of submissions
   * never delays a proposal's validation.
   */
  verify(pubKey: Uint8Array, digest: Uint8Array, signature: Uint8Array, priority?: 'consensus' | 'admission'): Promise<boolean>
  receiptIds?(txs: { txHash: Uint8Array; count: number }[]): Promise<Uint8Array[]>
  /** signatures (and their equivalent in receipt-id work) waiting or in flight */
  readonly depth?: number
}

export class SignatureVerifier implements TxVerifier {
  private readonly slots: WorkerSlot[] = []
  /** admission signatures waiting to be sent */
  private queue: Pending[] = []
  /** consensus signatures (a block's txs) waiting for the next flush */
  private urgent: Pending[] = []
  private admissionInFlight = 0
  private timer: NodeJS.Timeout | null = null
  private nextId = 0
  private closed = false

  /** `modules.logger`: told once which Ed25519 backend verifies (warn when sodium-native could not be loaded). */
  constructor(private readonly opts: VerifierOptions, modules: { logger?: Logger | null } = {}) {
    for (let i = 0; i < opts.threads; i++) this.slots.push(this.spawn())
    const { name, fallbackReason } = ed25519Backend
    if (fallbackReason === null) modules.logger?.info('ed25519 verification', { backend: name, threads: opts.threads })
    else modules.logger?.warn('ed25519 verification falls back to node:crypto', { backend: name, threads: opts.threads, reason: fallbackReason })
  }

  private spawn(): WorkerSlot {
    const worker = new Worker(new URL('./verifyWorker.mjs', import.meta.url))
    const slot: WorkerSlot = { worker, inFlight: 0, waiting: new Map() }
    worker.on('message', ({ id, results }: { id: number; results: Uint8Array }) => {
      const req = slot.waiting.get(id)
      if (!req) return
      slot.waiting.delete(id)
      slot.inFlight -= req.weight
      // An idle worker must not keep the process alive; a busy one must.
      if (slot.inFlight === 0) worker.unref()
      req.done(results)
      if (this.queue.length > 0) this.flush()
    })
    worker.on('error', (e) => this.failSlot(slot, e))
    // A thread that ends without an 'error' (terminated, out of memory, process.exit in the worker)
    // would leave its requests unanswered for good - and the txs behind them counted in the
    // backlog bound (node.ts intakeInFlight), refusing every tx_send. After failSlot (which
    // terminates the worker itself) the slot is already replaced and empty: a no-op.
    worker.on('exit', (code) => {
      if (slot.waiting.size > 0 || this.slots.includes(slot)) this.failSlot(slot, new Error(`verifier worker exited with code ${code}`))
    })
    worker.unref()
    return slot
  }

  /** A dead worker's requests are verified here instead: nothing waits forever. */
  private failSlot(slot: WorkerSlot, _e: Error): void {
    for (const req of slot.waiting.values()) req.fallback()
    slot.waiting.clear()
    slot.inFlight = 0
    // an 'error' event may leave the thread running: it must not outlive its slot
    slot.worker.unref()
    void slot.worker.terminate().catch(() => {})
    const i = this.slots.indexOf(slot)
    if (i >= 0 && !this.closed) this.slots[i] = this.spawn()
  }

  /**
   * Resolves to the verdict of the validity rule (core/keys.ts). `priority`
   * 'consensus' is for the txs of a block being validated: sent at the next
   * flush whatever the admission backlog (ADMISSION_BATCHES_IN_FLIGHT).
   */
  verify(pubKey: Uint8Array, digest: Uint8Array, signature: Uint8Array, priority: 'consensus' | 'admission' = 'admission'): Promise<boolean> {
    if (this.closed) return Promise.reject(new NodeError('VERIFIER_ERROR_CLOSED', 'signature verifier is closed'))
    if (this.slots.length === 0 || pubKey.length !== 32 || digest.length !== 32 || signature.length !== 64) {
      return Promise.resolve(verifySignature(pubKey, digest, signature))
    }
    return new Promise((resolve) => {
      const q = priority === 'consensus' ? this.urgent : this.queue
      q.push({ pubKey, digest, signature, resolve })
      if (q.length >= this.opts.maxBatch) this.flush()
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs)
    })
  }

  /** Consensus signatures first and all of them; admission ones while fewer than ADMISSION_BATCHES_IN_FLIGHT per worker are out. */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    while (this.urgent.length > 0) this.sendBatch(this.takeQueue('urgent'), false)
    while (this.queue.length > 0 && (this.closed || this.admissionInFlight < ADMISSION_BATCHES_IN_FLIGHT * this.slots.length)) this.sendBatch(this.takeQueue('queue'), true)
  }

  private sendBatch({ batch, data }: { batch: Pending[]; data: Uint8Array<ArrayBuffer> }, admission: boolean): void {
    if (batch.length === 0) return
    if (admission) this.admissionInFlight++
    const settle = (): void => { if (admission) this.admissionInFlight-- }
    this.send({ kind: 'verify', buffer: data.buffer, count: batch.length }, [data.buffer], {
      weight: batch.length,
      done: (results) => { settle(); answer(batch, results) },
      fallback: () => { settle(); answerInPlace(batch) },
    })
  }

  /** Up to maxBatch queued signatures of one queue as one buffer of records, taken off it. */
  private takeQueue(which: 'urgent' | 'queue'): { batch: Pending[]; data: Uint8Array<ArrayBuffer> } {
    const batch = this[which].splice(0, this.opts.maxBatch)
    const data = new Uint8Array(batch.length * RECORD)
    batch.forEach((p, i) => {
      data.set(p.pubKey, i * RECORD)
      data.set(p.digest, i * RECORD + 32)
      data.set(p.signature, i * RECORD + 64)
    })
    return { batch, data }
  }

  /**
   * For each tx, the ids of its receipts 0..count-1 (core/tx.ts
   * receiptIdsOf), packed 32 bytes each, hashed in a worker: a block of
   * 20,000 receipts is 20,000 SHA-256 calls the main thread does not make.
   * One message for all the txs given; small totals are not worth one.
   */
  receiptIds(txs: { txHash: Uint8Array; count: number }[]): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new NodeError('VERIFIER_ERROR_CLOSED', 'signature verifier is closed'))
    const total = txs.reduce((n, t) => n + t.count, 0)
    const inPlace = () => txs.map((t) => receiptIdsOf(t.txHash, t.count))
    if (this.slots.length === 0 || total < MIN_OFFLOADED_RECEIPTS || txs.some((t) => t.txHash.length !== 32)) return Promise.resolve(inPlace())
    const hashes = new Uint8Array(txs.length * 32)
    txs.forEach((t, k) => hashes.set(t.txHash, k * 32))
    const counts = Uint32Array.from(txs, (t) => t.count)
    // signatures waiting for the next flush go in the same message (a block's are asked for just before its ids)
    const { batch, data } = this.takeQueue('urgent')
    return new Promise((resolve) => {
      this.send({ kind: 'receiptIds', hashes, counts, buffer: data.buffer, count: batch.length }, [hashes.buffer, counts.buffer, data.buffer], {
        weight: batch.length + Math.ceil(total / RECEIPT_IDS_PER_VERIFY),
        done: (all) => {
          answer(batch, all)
          let o = batch.length
          resolve(txs.map((t) => all.subarray(o, (o += t.count * 32))))
        },
        fallback: () => {
          answerInPlace(batch)
          resolve(inPlace())
        },
      })
    })
  }

  /** To the least busy worker. */
  private send(message: Record<string, unknown>, transfer: ArrayBuffer[], req: InFlight): void {
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
    const id = this.nextId++
    slot.waiting.set(id, req)
    slot.inFlight += req.weight
    slot.worker.ref()
    slot.worker.postMessage({ id, ...message }, transfer)
  }

  /** Signatures waiting or in flight (receipt-id work counted as its equivalent): the mempool refuses tx_send beyond its maxVerifyQueue. */
  get depth(): number {
    return this.queue.length + this.urgent.length + this.slots.reduce((n, s) => n + s.inFlight, 0)
  }

  async close(): Promise<void> {
    this.closed = true
    this.flush()
    await Promise.all(this.slots.map(async (s) => {
      while (s.waiting.size > 0) await new Promise((r) => setTimeout(r, 5))
      await s.worker.terminate()
    }))
  }
}
