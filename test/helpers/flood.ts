import { randomBytes } from 'node:crypto'
import { toHex } from '../../core/bytes.js'
import type { KeyPair } from '../../core/keys.js'
import { signTx, type Hex, type TxCall } from '../../core/tx.js'
import { devAccountKey } from '../../genesis/devnet.js'
import {
  AttrchainClient, RpcRequestError, TxSender, contribute, registerDatanet, registerModel, reviewContribution, type TxSendResult,
} from '../../rpc/index.js'
import { sortSendReplies } from '../../bench/load.js'

/**
 * An open-loop flood of `submitReceipts` txs, as operators push them when
 * they push as hard as the node lets them (issue 10): each operator keeps
 * one JSON-RPC batch of `tx_send` in flight, and after a refusal that is
 * not about the tx itself (MEMPOOL_ERROR_* and the like) sends again from
 * the refused nonce (after NONCE_TOO_FAR, from the account nonce: a node
 * may evict a tx it took). Txs are signed ahead; an operator whose stock runs out
 * signs more as it goes. The benchmark's overload scenario (bench/overload.ts)
 * drives the same load with measurements around it.
 */

/** Dev accounts 0..2 build the Datanet; operators are dev accounts FIRST_OPERATOR.. */
export const FIRST_OPERATOR = 3
const BATCH = 100
const MAX_BODY_HEX = 4 * 1024 * 1024
const REFUSAL_PAUSE_MS = 50
const TRANSPORT_PAUSE_MS = 200
/** After NONCE_TOO_FAR, send again from the account nonce the node reports (it may have evicted a tx it took), at most this often. */
const REWIND_EVERY_MS = 2_000

export interface FloodWorkload {
  modelId: Hex
  /** [contributionId, weight] of the two accepted contributions every receipt attributes to */
  attribution: { contributionId: Hex; weight: number }[]
}

async function committed(client: AttrchainClient, key: KeyPair, call: TxCall): Promise<TxSendResult> {
  const r = await new TxSender(client, key).send(call, { wait: 'commit' })
  if (r.status !== 'ok') throw new Error(`setup tx ${call.type} failed: ${JSON.stringify(r.error)}`)
  return r
}

/** A Datanet with two accepted contributions, then one model per operator key, registered by that operator. */
export async function setupOperators(clients: AttrchainClient[], operators: KeyPair[]): Promise<FloodWorkload[]> {
  const [c0] = clients
  const curator = devAccountKey(0)
  const dn = await committed(c0, curator, registerDatanet('flood-datanet', 'ipfs://flood', '1OPEN'))
  const contributions = await Promise.all([1, 2].map(async (k) => (await committed(c0, devAccountKey(k), contribute(dn.hash, randomBytes(32), `ipfs://flood/${k}`))).hash))
  const curatorSender = new TxSender(c0, curator)
  for (const [i, id] of contributions.entries()) {
    const r = await curatorSender.send(reviewContribution(id, true, i + 1), { wait: 'commit' })
    if (r.status !== 'ok') throw new Error(`review failed: ${JSON.stringify(r.error)}`)
  }
  const attribution = contributions.map((contributionId, i) => ({ contributionId, weight: i + 1 }))
  return Promise.all(operators.map(async (key, i) => {
    const model = await committed(clients[i % clients.length], key, registerModel(`flood-model-${i}`, 'llama-3-8b', [[dn.hash, 1]], '1000'))
    return { modelId: model.hash, attribution }
  }))
}

interface OutTx {
  hex: string
  hash: Hex
  nonce: number
}

export interface FloodStats {
  requests: number
  accepted: number
  refused: Record<string, number>
  transportErrors: number
  /** txs accepted after an earlier tx of their batch was refused for capacity (SendOutcome.acceptedAfterRefusal) */
  acceptedAfterRefusal: number
}

/** One operator: signed txs in nonce order, refused ones sent again first. */
export class FloodOperator {
  private readonly stock: OutTx[] = []
  private at = 0
  private retry: OutTx[] = []
  private nextNonce = 0
  private chainId = ''
  private fee = 0n
  private lastRewindMs = -Infinity

  constructor(readonly key: KeyPair, readonly client: AttrchainClient, readonly workload: FloodWorkload, readonly receiptsPerTx: number) {}

  /** Read chain id, fee and nonce, and sign `count` txs ahead. */
  async prepare(count: number): Promise<void> {
    const sender = new TxSender(this.client, this.key)
    const { chainId, fee } = await sender.init()
    this.chainId = chainId
    this.fee = fee
    this.nextNonce = sender.nextNonce
    for (let i = 0; i < count; i++) this.stock.push(this.sign())
  }

  private sign(): OutTx {
    const hex = randomBytes(64 * this.receiptsPerTx).toString('hex')
    const receipts = Array.from({ length: this.receiptsPerTx }, (_, i) => ({
      modelId: this.workload.modelId, payer: this.key.address, fee: 1000n,
      inputHash: `0x${hex.slice(128 * i, 128 * i + 64)}`, outputHash: `0x${hex.slice(128 * i + 64, 128 * i + 128)}`, attribution: this.workload.attribution,
    }))
    const nonce = this.nextNonce++
    const stx = signTx({ chainId: this.chainId, nonce, fee: this.fee, call: { type: 'submitReceipts', receipts } }, this.key)
    return { hex: toHex(stx.bytes), hash: stx.hash, nonce }
  }

  take(): OutTx[] {
    const out: OutTx[] = []
    let hex = 0
    while (out.length < BATCH) {
      if (this.retry.length === 0 && this.at === this.stock.length) this.stock.push(this.sign())
      const tx = this.retry[0] ?? this.stock[this.at]
      if (out.length > 0 && hex + tx.hex.length > MAX_BODY_HEX) break
      if (this.retry.length > 0) this.retry.shift()
      else this.at++
      out.push(tx)
      hex += tx.hex.length
    }
    return out
  }

  requeue(txs: OutTx[]): void {
    this.retry.push(...txs)
    this.retry.sort((a, b) => a.nonce - b.nonce)
  }

  /** Send again every tx already sent from `accountNonce` on. */
  rewind(accountNonce: number): void {
    if (Date.now() - this.lastRewindMs < REWIND_EVERY_MS) return
    this.lastRewindMs = Date.now()
    const first = this.stock[0]?.nonce ?? accountNonce
    const queued = new Set(this.retry.map((tx) => tx.nonce))
    this.requeue(this.stock.slice(Math.max(0, accountNonce - first), this.at).filter((tx) => !queued.has(tx.nonce)))
  }
}

async function sendBatch(op: FloodOperator, stats: FloodStats): Promise<number> {
  const txs = op.take()
  stats.requests++
  let replies
  try {
    replies = await op.client.transport.batch(txs.map((tx) => ({ method: 'tx_send', params: [tx.hex, { wait: 'none' }] })))
  } catch (e) {
    op.requeue(txs)
    if (!(e instanceof RpcRequestError)) {
      stats.transportErrors++
      return TRANSPORT_PAUSE_MS
    }
    const reason = e.reason ?? `code ${e.code}`
    stats.refused[reason] = (stats.refused[reason] ?? 0) + txs.length
    return REFUSAL_PAUSE_MS
  }
  const out = sortSendReplies(txs, replies)
  stats.accepted += out.accepted
  stats.acceptedAfterRefusal += out.acceptedAfterRefusal
  for (const [reason, n] of Object.entries(out.refused)) stats.refused[reason] = (stats.refused[reason] ?? 0) + n
  const { again, accountNonce } = out
  if (again.length === 0) return 0
  op.requeue(again)
  if (accountNonce !== null) op.rewind(accountNonce)
  return REFUSAL_PAUSE_MS
}

export interface Flood {
  stats: FloodStats
  /** stop sending (at once: the requests in flight are not waited for) */
  stop(): void
  /** resolves once every operator's last request has answered or timed out */
  done: Promise<void>
}

export function startFlood(ops: FloodOperator[]): Flood {
  const stats: FloodStats = { requests: 0, accepted: 0, refused: {}, transportErrors: 0, acceptedAfterRefusal: 0 }
  let running = true
  const loops = ops.map(async (op) => {
    while (running) {
      const pauseMs = await sendBatch(op, stats)
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs))
    }
  })
  return {
    stats,
    stop: () => {
      running = false
    },
    done: Promise.all(loops).then(() => undefined),
  }
}
