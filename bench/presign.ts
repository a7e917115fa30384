import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { toHex } from '../core/bytes.js'
import { KeyPair } from '../core/keys.js'
import { signTx, type Hex } from '../core/tx.js'
import { receiptsCall, type Workload } from './load.js'

/**
 * Txs signed ahead of a measured window, in worker threads (one per core):
 * the window must measure the node, not the harness's signing. A signed tx
 * is kept as what goes on the wire (its hex) plus its hash and nonce: half
 * a million one-receipt txs are then about 450 MB, where full `SignedTx`
 * objects would be several times that.
 */

export interface FloodTx {
  /** 0x-hex of the canonical signed bytes, as `tx_send` takes them */
  hex: string
  hash: Hex
  nonce: number
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
    out.push({ hex: toHex(stx.bytes), hash: stx.hash, nonce })
  }
  return out
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
          w.once('message', (m: FloodTx[]) => {
            w.off('error', onError)
            resolve(m)
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
