import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { AttrchainError } from '../core/errors.js'
import { verifySignature } from '../core/keys.js'

/**
 * Ed25519 verification off the main thread (DESIGN §2: about 9,000/s per
 * core; the main thread has the RPC, execution and storage to do).
 * Requests are coalesced for up to `maxDelayMs` or `maxBatch` signatures and
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

interface WorkerSlot {
  worker: Worker
  inFlight: number
  waiting: Map<number, Pending[]>
}

const RECORD = 128

export class SignatureVerifier {
  private readonly slots: WorkerSlot[] = []
  private queue: Pending[] = []
  private timer: NodeJS.Timeout | null = null
  private nextId = 0
  private closed = false

  constructor(private readonly opts: VerifierOptions) {
    for (let i = 0; i < opts.threads; i++) this.slots.push(this.spawn())
  }

  private spawn(): WorkerSlot {
    const worker = new Worker(new URL('./verifyWorker.mjs', import.meta.url))
    const slot: WorkerSlot = { worker, inFlight: 0, waiting: new Map() }
    worker.on('message', ({ id, results }: { id: number; results: Uint8Array }) => {
      const batch = slot.waiting.get(id)
      if (!batch) return
      slot.waiting.delete(id)
      slot.inFlight -= batch.length
      // An idle worker must not keep the process alive; a busy one must.
      if (slot.inFlight === 0) worker.unref()
      batch.forEach((p, i) => p.resolve(results[i] === 1))
    })
    worker.on('error', (e) => this.failSlot(slot, e))
    worker.unref()
    return slot
  }

  /** A dead worker's requests are verified here instead: nothing waits forever. */
  private failSlot(slot: WorkerSlot, _e: Error): void {
    for (const batch of slot.waiting.values()) for (const p of batch) p.resolve(verifySignature(p.pubKey, p.digest, p.signature))
    slot.waiting.clear()
    slot.inFlight = 0
    const i = this.slots.indexOf(slot)
    if (i >= 0 && !this.closed) this.slots[i] = this.spawn()
  }

  verify(pubKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (this.closed) return Promise.reject(new AttrchainError('VERIFIER_ERROR_CLOSED', 'signature verifier is closed'))
    if (this.slots.length === 0 || pubKey.length !== 32 || digest.length !== 32 || signature.length !== 64) {
      return Promise.resolve(verifySignature(pubKey, digest, signature))
    }
    return new Promise((resolve) => {
      this.queue.push({ pubKey, digest, signature, resolve })
      if (this.queue.length >= this.opts.maxBatch) this.flush()
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs)
    })
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
    const data = new Uint8Array(batch.length * RECORD)
    batch.forEach((p, i) => {
      data.set(p.pubKey, i * RECORD)
      data.set(p.digest, i * RECORD + 32)
      data.set(p.signature, i * RECORD + 64)
    })
    const id = this.nextId++
    slot.waiting.set(id, batch)
    slot.inFlight += batch.length
    slot.worker.ref()
    slot.worker.postMessage({ id, buffer: data.buffer, count: batch.length }, [data.buffer])
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
