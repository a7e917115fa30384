import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { toHex } from '../core/bytes.js'
import { KeyPair } from '../core/keys.js'
import { signTx, type Hex } from '../core/tx.js'
import { receiptsCall, type Workload } from './load.js'

/**
 * Txs signed ahead of a measured window, in worker threads (one per core):
 * the window must measure the node, not the harness's signing. A signed tx
 * is kept as exactly what goes on the wire — its whole JSON-RPC `tx_send`
 * request, UTF-8 bytes outside the JS heap (bench/floodTransport.ts writes
 * a batch's requests to the socket as they are) — plus its hash and nonce.
 * Kept as hex strings in the heap and serialized per batch, the flood's 1 GB
 * of txs cost the harness a core of GC and copying during the window (a
 * profile: 54 % of its main thread in GC, every request a fresh 4 MiB
 * string and buffer), taken from the nodes it measures on the same machine.
 */

export interface FloodTx {
  /**
   * The tx's JSON-RPC request, `{"jsonrpc":"2.0","id":<nonce>,"method":"tx_send","params":["0x<signed bytes>",{"wait":"none"}]}`
   * in UTF-8: its id is the nonce, unique within an operator's batches
   */
  request: Buffer
  hash: Hex
  nonce: number
}

/** The JSON-RPC request of one signed tx (FloodTx.request), id = its nonce. */
export function txSendRequest(signedBytes: Uint8Array, nonce: number): Buffer {
  return Buffer.from(`{"jsonrpc":"2.0","id":${nonce},"method":"tx_send","params":["${toHex(signedBytes)}",{"wait":"none"}]}`)
}

/** What a worker needs to sign `count` submitReceipts txs of one operator from `firstNonce` on. */
export interface SignJob {
  seed: Hex
  chainId: string
  /** fee per tx, decimal units */
  fee: string
  firstNonce: number
  count: number
  receiptsPerTx: number
  workload: Workload
}

/** Sign one job on this thread (the workers run this; so does the harness when its stock runs dry). */
export function signJob(job: SignJob, key: KeyPair = new KeyPair(Buffer.from(job.seed.slice(2), 'hex'))): FloodTx[] {
  const out: FloodTx[] = []
  const fee = BigInt(job.fee)
  for (let i = 0; i < job.count; i++) {
    const nonce = job.firstNonce + i
    const stx = signTx({ chainId: job.chainId, nonce, fee, call: receiptsCall(job.workload, key, job.receiptsPerTx) }, key)
    out.push({ request: txSendRequest(stx.bytes, nonce), hash: stx.hash, nonce })
  }
  return out
}

/**
 * A job's txs as one message of a worker: the requests packed in one
 * ArrayBuffer, moved (transferred) to the main thread rather than copied.
 */
export interface PackedTxs {
  bytes: ArrayBuffer
  /** each request's end offset in `bytes` */
  ends: number[]
  hashes: Hex[]
  nonces: number[]
}

export function packTxs(txs: FloodTx[]): PackedTxs {
  let total = 0
  for (const tx of txs) total += tx.request.length
  // an ArrayBuffer of its own (not a slice of Buffer's shared pool), so it can be transferred
  const bytes = new ArrayBuffer(total)
  const view = new Uint8Array(bytes)
  let end = 0
  const ends = txs.map((tx) => {
    view.set(tx.request, end)
    return (end += tx.request.length)
  })
  return { bytes, ends, hashes: txs.map((tx) => tx.hash), nonces: txs.map((tx) => tx.nonce) }
}

export function unpackTxs(p: PackedTxs): FloodTx[] {
  const all = Buffer.from(p.bytes)
  return p.ends.map((end, i) => ({ request: all.subarray(i === 0 ? 0 : p.ends[i - 1], end), hash: p.hashes[i], nonce: p.nonces[i] }))
}

/** Jobs larger than this are split, so that one reply stays a moderate message and the threads share the work evenly. */
const MAX_JOB_TXS = 4096

/**
 * Sign every job on `threads` worker threads; one array per job, in nonce
 * order. The workers load the TypeScript sources through tsx's API (a
 * worker does not inherit the parent's `--import tsx` loader) and are
 * terminated before this returns, also on failure.
 */
export async function presign(jobs: SignJob[], threads = Math.max(1, availableParallelism())): Promise<FloodTx[][]> {
  const pieces: { job: number; slot: number; part: SignJob }[] = []
  for (const [k, job] of jobs.entries()) {
    for (let at = 0; at < job.count; at += MAX_JOB_TXS) {
      pieces.push({ job: k, slot: at / MAX_JOB_TXS, part: { ...job, firstNonce: job.firstNonce + at, count: Math.min(MAX_JOB_TXS, job.count - at) } })
    }
  }
  const results: FloodTx[][][] = jobs.map(() => [])
  const tsxApi = import.meta.resolve('tsx/esm/api')
  const entry = new URL('./signWorker.ts', import.meta.url).href
  const workers = Array.from({ length: Math.min(threads, Math.max(1, pieces.length)) }, () => new Worker(
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}) })`, { eval: true },
  ))
  try {
    let next = 0
    await Promise.all(workers.map(async (w) => {
      while (next < pieces.length) {
        const piece = pieces[next++]
        const txs = await new Promise<FloodTx[]>((resolve, reject) => {
          const onError = (e: Error): void => reject(e)
          w.once('error', onError)
          w.once('message', (m: PackedTxs) => {
            w.off('error', onError)
            resolve(unpackTxs(m))
          })
          w.postMessage(piece.part)
        })
        results[piece.job][piece.slot] = txs
      }
    }))
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
  return results.map((parts) => parts.flat())
}
