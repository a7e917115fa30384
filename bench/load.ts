/*
 * The closed-loop load of `npm run bench` (workload setup, operators, their
 * submit loop, sortSendReplies shared with the overload flood and the e2e
 * flood helper). Slightly over 400 lines: one job, the operator's life;
 * commit tracking is in bench/tracker.ts.
 */
import { randomBytes } from 'node:crypto'
import { toHex } from '../core/bytes.js'
import type { KeyPair } from '../core/keys.js'
import { signTx, type Hex, type SignedTx, type TxCall } from '../core/tx.js'
import { devAccountKey } from '../genesis/devnet.js'
import {
  AttrchainClient, TxSender, RpcRequestError, contribute, registerDatanet, registerModel, reviewContribution, setDatanetTerms, setModelTerms,
  type RpcBatchResult, type TxSendResult,
} from '../rpc/index.js'
import { log, nowMs, round, sleep } from './util.js'
import { drain, windowResult, type CommitTracker } from './tracker.js'

export { CommitTracker, drain, type BlockSeen, type CommitListener, type LoadStats, type WindowResult } from './tracker.js'

/**
 * The load generator: operators (dev accounts, each a TxSender signing and
 * pipelining its own nonces) submit `submitReceipts` txs in JSON-RPC batches;
 * a `newBlocks` subscription timestamps, from outside the node, the block
 * that includes each tx. Txs of a measured window are signed before the
 * window starts, so that the harness's own signing does not take CPU from the
 * node on this shared machine (it is reported when it happens anyway).
 */

/** The dev accounts 0..2 build the Datanet and model; operators are accounts 3.. */
export const FIRST_OPERATOR_ACCOUNT = 3
export const RECEIPT_FEE = 1000n
export const MODEL_MIN_FEE = 1000n
/** The node's default `rpcMaxBatch`. */
export const RPC_MAX_BATCH = 100
/** Below the node's default `rpcMaxBodyBytes` (5 MiB) with room for the JSON around the hex. */
export const RPC_MAX_BODY_HEX = 4 * 1024 * 1024
/** Refusals after which the same signed tx can be sent again later. */
const RETRYABLE = new Set(['MEMPOOL_ERROR_FULL', 'MEMPOOL_ERROR_NONCE_TOO_FAR'])
/** Refusals that mean the tx is held already. */
export const HELD = new Set(['MEMPOOL_ERROR_DUPLICATE', 'MEMPOOL_ERROR_NONCE_TAKEN'])

/**
 * MEMPOOL_ERROR_FULL limits a node decides only at intake, before a tx is
 * decoded (node.ts intakeRefusal, Mempool.refusal): a batch's later calls
 * are refused with the first one so refused. "txs", "bytes", "queued" and
 * "sender_queued" are also checked when a verified tx is added, after the
 * batch's later calls have passed intake: a commit in between may make
 * room for a later one (that tx waits, held, until the refused one is sent
 * again; a resend of it is answered as held).
 */
const INTAKE_ONLY_LIMITS = new Set(['backlog', 'rate', 'verifier', 'event_loop'])

/** The replies to one `tx_send` batch sorted the way an open-loop operator acts on them (README: Mempool). */
export interface SendOutcome<T> {
  accepted: number
  /** refused because the node holds the tx already */
  held: T[]
  /** the other refusals by reason (`data.reason`, else `code N`) */
  refused: Record<string, number>
  /** refusals that may pass later (mempool full, nonce too far, busy): send these again */
  again: T[]
  /** refusals about the tx itself (`TX_ERROR_*`): they will not change */
  dropped: { tx: T; reason: string; message: string }[]
  /** the longest `retryAfterMs` a congested node asked for (MEMPOOL_ERROR_FULL limit "rate"), 0 if none */
  retryAfterMs: number
  /** the account nonce a MEMPOOL_ERROR_NONCE_TOO_FAR named: resend from there */
  accountNonce: number | null
  /**
   * txs accepted after an earlier call of the same batch was refused for
   * capacity at intake (MEMPOOL_ERROR_FULL with a limit of
   * INTAKE_ONLY_LIMITS): a later nonce that waits, not executable,
   * in the node's mempool until the refused one is sent again. A node must
   * not do that (it refuses the rest of a batch once it sheds one call), so
   * this stays 0.
   */
  acceptedAfterRefusal: number
}

/** Sort the replies of a `tx_send` batch of `txs` (same order) into a SendOutcome; used by the bench and the e2e flood. */
export function sortSendReplies<T>(txs: T[], replies: RpcBatchResult[]): SendOutcome<T> {
  const out: SendOutcome<T> = { accepted: 0, held: [], refused: {}, again: [], dropped: [], retryAfterMs: 0, accountNonce: null, acceptedAfterRefusal: 0 }
  let fullBefore = false
  replies.forEach((r, i) => {
    if (r.ok) {
      out.accepted++
      if (fullBefore) out.acceptedAfterRefusal++
      return
    }
    const reason = r.error.reason ?? `code ${r.error.code}`
    if (reason === 'MEMPOOL_ERROR_FULL' && INTAKE_ONLY_LIMITS.has(String((r.error.data as { limit?: unknown } | undefined)?.limit))) fullBefore = true
    if (HELD.has(reason)) {
      out.held.push(txs[i]!)
      return
    }
    out.refused[reason] = (out.refused[reason] ?? 0) + 1
    const { expected, retryAfterMs } = (r.error.data as { expected?: unknown; retryAfterMs?: unknown } | undefined) ?? {}
    if (typeof retryAfterMs === 'number' && retryAfterMs > out.retryAfterMs) out.retryAfterMs = retryAfterMs
    if (reason === 'MEMPOOL_ERROR_NONCE_TOO_FAR' && typeof expected === 'number') out.accountNonce = expected
    if (reason.startsWith('TX_ERROR_')) out.dropped.push({ tx: txs[i]!, reason, message: r.error.message })
    else out.again.push(txs[i]!)
  })
  return out
}

export interface Workload {
  modelId: Hex
  datanetId: Hex
  /** the attribution list every receipt carries: two accepted contributions */
  attribution: [Hex, number][]
}

async function committed(sender: TxSender, call: TxCall): Promise<TxSendResult> {
  const r = await sender.send(call, { wait: 'commit' })
  if (r.status !== 'ok') throw new Error(`setup tx ${call.type} failed: ${JSON.stringify(r.error)}`)
  return r
}

/** A Datanet with two accepted contributions and a model trained on it (about 5 blocks). */
export async function setupWorkload(client: AttrchainClient): Promise<Workload> {
  const curator = new TxSender(client, devAccountKey(0))
  const dn = await committed(curator, registerDatanet('bench-datanet', 'ipfs://bench', '1OPEN'))
  const contributions = await Promise.all([1, 2].map(async (k) => {
    const r = await committed(new TxSender(client, devAccountKey(k)), contribute(dn.hash, randomBytes(32), `ipfs://bench/${k}`))
    return r.hash
  }))
  await committed(curator, reviewContribution(contributions[0], true, 1))
  await committed(curator, reviewContribution(contributions[1], true, 3))
  const model = await committed(curator, registerModel('bench-model', 'llama-3-8b', [[dn.hash, 1]], MODEL_MIN_FEE))
  return { modelId: model.hash, datanetId: dn.hash, attribution: [[contributions[0], 1], [contributions[1], 3]] }
}

/**
 * The lineage workload (issue 13): receipts on the third generation of a
 * lineage with curator shares, so every receipt takes the lineage path of
 * DESIGN §4.1. Datanet D (curator 10 %) holds the two attributed
 * contributions; D2 (curator 5 %) one more. Base B (account 1) over D and D2
 * with royalty 10 %; fine-tune F (account 2) of B over D with royalty 5 %;
 * G (account 0) a fine-tune of F over D: stack {B 1000, F 500}. A receipt on
 * G pays its two contributors (less curation), B's and F's lineage through
 * creditModel (their Datanet pools, less curation, and their owners), and the
 * split. About 14 blocks of setup.
 */
export async function setupLineageWorkload(client: AttrchainClient): Promise<Workload> {
  const curator = new TxSender(client, devAccountKey(0))
  const [s1, s2] = [1, 2].map((k) => new TxSender(client, devAccountKey(k)))
  const dn = await committed(curator, registerDatanet('bench-datanet', 'ipfs://bench', '1OPEN'))
  const dn2 = await committed(curator, registerDatanet('bench-datanet-2', 'ipfs://bench-2', '0'))
  await committed(curator, setDatanetTerms(dn.hash, 1000))
  await committed(curator, setDatanetTerms(dn2.hash, 500))
  const contributions = await Promise.all([s1, s2].map(async (s, k) => (await committed(s, contribute(dn.hash, randomBytes(32), `ipfs://bench/${k}`))).hash))
  const other = (await committed(s1, contribute(dn2.hash, randomBytes(32), 'ipfs://bench-2/0'))).hash
  await committed(curator, reviewContribution(contributions[0], true, 1))
  await committed(curator, reviewContribution(contributions[1], true, 3))
  await committed(curator, reviewContribution(other, true, 1))
  const base = await committed(s1, registerModel('bench-base', 'llama-3-8b', [[dn.hash, 1], [dn2.hash, 1]], MODEL_MIN_FEE))
  await committed(s1, setModelTerms(base.hash, 1000))
  const ft = await committed(s2, registerModel('bench-ft', 'bench-base', [[dn.hash, 1]], MODEL_MIN_FEE, [base.hash]))
  await committed(s2, setModelTerms(ft.hash, 500))
  const ft2 = await committed(curator, registerModel('bench-ft-2', 'bench-ft', [[dn.hash, 1]], MODEL_MIN_FEE, [ft.hash]))
  return { modelId: ft2.hash, datanetId: dn.hash, attribution: [[contributions[0], 1], [contributions[1], 3]] }
}

/**
 * `n` receipts of `w`'s model paid by `operator`, random input and output
 * hashes. Built as the TxCall directly (one random buffer per tx, fields
 * already in the SDK's normal form) rather than through the SDK builder:
 * it is the harness's signing cost, which shares the machine with the node.
 */
export function receiptsCall(w: Workload, operator: KeyPair, n: number): TxCall {
  const hex = randomBytes(64 * n).toString('hex')
  const attribution = w.attribution.map(([contributionId, weight]) => ({ contributionId, weight }))
  const receipts = Array.from({ length: n }, (_, i) => ({
    modelId: w.modelId, payer: operator.address, fee: RECEIPT_FEE, inputHash: `0x${hex.slice(128 * i, 128 * i + 64)}`, outputHash: `0x${hex.slice(128 * i + 64, 128 * i + 128)}`, attribution,
  }))
  return { type: 'submitReceipts', receipts }
}

export class Operator {
  readonly sender: TxSender
  /** pre-signed txs, in nonce order */
  queue: SignedTx[] = []
  /** refused for a retryable reason: sent again before the queue, lowest nonce first */
  retry: SignedTx[] = []
  inflight = 0
  /** txs signed while a window was running because the pre-signed queue ran dry */
  signedLive = 0
  private wake: (() => void) | null = null

  constructor(readonly key: KeyPair, readonly client: AttrchainClient, readonly workload: Workload, public receiptsPerTx: number) {
    this.sender = new TxSender(client, key)
  }

  async presign(count: number): Promise<void> {
    await this.sender.init()
    for (let i = 0; i < count; i++) this.queue.push(await this.sender.sign(receiptsCall(this.workload, this.key, this.receiptsPerTx)))
  }

  /** Up to `maxCount` txs within one HTTP body, retries first; signs live when the queue is empty. */
  async take(maxCount: number): Promise<SignedTx[]> {
    const out: SignedTx[] = []
    let hexBytes = 0
    while (out.length < Math.min(maxCount, RPC_MAX_BATCH)) {
      let tx = this.retry[0] ?? this.queue[0]
      if (!tx) {
        tx = await this.sender.sign(receiptsCall(this.workload, this.key, this.receiptsPerTx))
        this.signedLive++
        this.queue.push(tx)
      }
      if (out.length > 0 && hexBytes + tx.bytes.length * 2 > RPC_MAX_BODY_HEX) break
      if (this.retry.length > 0) this.retry.shift()
      else this.queue.shift()
      out.push(tx)
      hexBytes += tx.bytes.length * 2
    }
    return out
  }

  /** Size of one of this operator's txs (signing one if none is at hand). */
  sampleTxBytes(): number {
    const tx = this.queue[0] ?? this.retry[0]
    return tx ? tx.bytes.length : signTx({ chainId: 'x', nonce: 0, fee: 1n, call: receiptsCall(this.workload, this.key, this.receiptsPerTx) }, this.key).bytes.length
  }

  pushRetry(txs: SignedTx[]): void {
    this.retry.push(...txs)
    this.retry.sort((a, b) => a.tx.nonce - b.tx.nonce)
  }

  onCommitted(): void {
    this.inflight--
    const w = this.wake
    this.wake = null
    w?.()
  }

  waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(t)
        resolve()
      }
    })
  }

  /** Forget unsent txs and take the nonce from the chain again (after a drain). */
  async reset(): Promise<void> {
    this.queue = []
    this.retry = []
    this.signedLive = 0
    this.inflight = 0
    await this.sender.init()
    await this.sender.resync()
  }
}

/** Send txs in one JSON-RPC batch; refused-but-retryable txs go back to the operator. */
export async function submit(op: Operator, txs: SignedTx[], tracker: CommitTracker, measured: boolean): Promise<void> {
  if (txs.length === 0) return
  const submittedMs = nowMs()
  for (const tx of txs) tracker.track(tx.hash, { op, submittedMs, receipts: op.receiptsPerTx, measured })
  op.inflight += txs.length
  const undo = (tx: SignedTx): void => {
    tracker.forget(tx.hash)
    op.inflight--
  }
  let replies
  try {
    replies = await op.client.transport.batch(txs.map((tx) => ({ method: 'tx_send', params: [toHex(tx.bytes), { wait: 'none' }] })))
  } catch (e) {
    tracker.stats.transportErrors++
    if (tracker.stats.transportErrors <= 3) log(`transport error (txs sent again): ${(e as Error).message} ${String((e as { cause?: { cause?: unknown } }).cause?.cause ?? (e as { cause?: unknown }).cause ?? '')}`)
    for (const tx of txs) undo(tx)
    op.pushRetry(txs)
    await sleep(200)
    return
  }
  const again: SignedTx[] = []
  replies.forEach((r, i) => {
    if (r.ok) return
    const reason = r.error instanceof RpcRequestError ? (r.error.reason ?? `code ${r.error.code}`) : 'unknown'
    if (HELD.has(reason)) return
    undo(txs[i])
    tracker.stats.refused[reason] = (tracker.stats.refused[reason] ?? 0) + 1
    if (RETRYABLE.has(reason)) again.push(txs[i])
    else if (tracker.stats.refused[reason] <= 3) log(`tx refused (${reason}): ${r.error.message}`)
  })
  if (again.length > 0) {
    op.pushRetry(again)
    await sleep(50)
  }
}

export interface Probe {
  /** sample figures (node CPU, metrics) at the start and end of the measured window */
  begin(): Promise<void>
  end(): Promise<Record<string, unknown>>
}

export interface Feeder {
  stop(): Promise<void>
}

/** Closed loop: each operator keeps `k` txs submitted and not yet committed. */
export function feed(ops: Operator[], tracker: CommitTracker, k: number, measured: () => boolean): Feeder {
  const minChunk = Math.max(1, Math.min(RPC_MAX_BATCH, Math.floor(k / 4)))
  let running = true
  const loops = ops.map(async (op) => {
    while (running) {
      const room = k - op.inflight
      if (room < minChunk) {
        await op.waitForRoom(50)
        continue
      }
      await submit(op, await op.take(room), tracker, measured())
    }
  })
  return {
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

export interface ClosedLoopOptions {
  /** txs each operator keeps submitted but not yet committed */
  inflightPerOperator: number
  warmupS: number
  durationS: number
  /** ramp with pre-signed txs after pre-signing, before the window */
  rampS: number
  /** cap on the bytes of txs signed ahead for the window */
  presignBudgetBytes: number
  /** sign ahead for at least this rate */
  presignFloorReceiptsPerSec: number
}

/**
 * Max sustainable rate: every operator keeps `inflightPerOperator` txs
 * submitted and not yet committed, so the mempool never runs dry. A warm-up
 * (signing live) gives a first rate; txs for 2 × that rate over the window
 * are then signed ahead, and the window counts receipts of the txs whose
 * blocks are announced inside it.
 */
export async function closedLoop(ops: Operator[], tracker: CommitTracker, opts: ClosedLoopOptions, probe: Probe): Promise<Record<string, unknown>> {
  const k = opts.inflightPerOperator
  let measured = false
  const feeders = (): Feeder => feed(ops, tracker, k, () => measured)
  let feeding = feeders()
  try {
    const warmStart = nowMs()
    await sleep(opts.warmupS * 1000)
    const warmRate = tracker.receiptsBetween(warmStart + (opts.warmupS * 1000) / 2, nowMs())
    // Twice the warm-up rate (still climbing then), and never less than the floor: running dry means signing live in the window.
    const txRate = Math.max((2 * warmRate.txs) / (opts.warmupS / 2), opts.presignFloorReceiptsPerSec / ops[0].receiptsPerTx)
    const txBytes = ops[0].sampleTxBytes()
    const wanted = Math.ceil((txRate * (opts.durationS + opts.rampS + 2)) / ops.length) + k
    const perOp = Math.max(k, Math.min(wanted, Math.floor(opts.presignBudgetBytes / txBytes / ops.length)))
    log(`  warm-up: ${round(warmRate.receipts / (opts.warmupS / 2))} receipts/s; signing ${perOp} txs per operator ahead`)
    // Stop feeding while signing ahead, so that nonces stay in order and the signing does not overlap the window.
    await feeding.stop()
    for (const op of ops) await op.presign(perOp)
    feeding = feeders()
    await sleep(opts.rampS * 1000)
    tracker.latenciesMs = []
    for (const op of ops) op.signedLive = 0
    measured = true
    await probe.begin()
    const from = nowMs()
    await sleep(opts.durationS * 1000)
    const to = nowMs()
    const figures = await probe.end()
    measured = false
    const result = windowResult(tracker, from, to)
    const signedLive = ops.reduce((s, op) => s + op.signedLive, 0)
    return {
      ...result, inflightPerOperator: k, operators: ops.length, receiptsPerTx: ops[0].receiptsPerTx,
      presignedPerOperator: perOp, signedLiveInWindow: signedLive, ...figures,
    }
  } finally {
    await feeding.stop()
  }
}

export interface OpenLoopOptions {
  txPerSec: number
  warmupS: number
  durationS: number
}

/** Latency at a fixed offered rate: txs go out on a 10 ms tick, round-robin over the operators. */
export async function openLoop(ops: Operator[], tracker: CommitTracker, opts: OpenLoopOptions, probe: Probe): Promise<Record<string, unknown>> {
  const perOp = Math.ceil((opts.txPerSec * (opts.warmupS + opts.durationS + 1)) / ops.length) + 2
  for (const op of ops) await op.presign(perOp)
  tracker.latenciesMs = []
  const start = nowMs()
  const windowFrom = start + opts.warmupS * 1000
  const windowTo = windowFrom + opts.durationS * 1000
  let sent = 0
  let next = 0
  let began = false
  const inFlightCalls = new Set<Promise<void>>()
  for (;;) {
    const t = nowMs()
    if (t >= windowTo) break
    if (!began && t >= windowFrom) {
      began = true
      await probe.begin()
    }
    const due = Math.floor(((t - start) / 1000) * opts.txPerSec) - sent
    if (due > 0) {
      // Spread the due txs over the operators; each operator's share goes in one batch call.
      const shares = new Map<Operator, number>()
      for (let i = 0; i < due; i++) {
        const op = ops[next++ % ops.length]
        shares.set(op, (shares.get(op) ?? 0) + 1)
      }
      for (const [op, n] of shares) {
        const p = op.take(n).then((txs) => submit(op, txs, tracker, t >= windowFrom))
        inFlightCalls.add(p)
        void p.finally(() => inFlightCalls.delete(p))
      }
      sent += due
    }
    await sleep(10)
  }
  const figures = await probe.end()
  await Promise.all(inFlightCalls)
  const notCommitted = await drain(tracker, 60_000, true)
  const signedLive = ops.reduce((s, op) => s + op.signedLive, 0)
  const result = windowResult(tracker, windowFrom, windowTo)
  return {
    offeredTxPerSec: round(opts.txPerSec, 2), offeredReceiptsPerSec: round(opts.txPerSec * ops[0].receiptsPerTx), ...result,
    measuredTxsNotCommitted: notCommitted, signedLiveInWindow: signedLive, ...figures,
  }
}
