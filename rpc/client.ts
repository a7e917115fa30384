import { parseAmount } from '../core/amount.js'
import type { Header } from '../state/block.js'
import { toHex } from '../core/bytes.js'
import { signTx, type Hex, type SignedTx, type TxCall, type TxType } from '../core/tx.js'
import type { KeyPair } from '../core/keys.js'
import type { Address } from '../core/address.js'
import { JsonRpcErrorCode } from './errors.js'
import { RpcRequestError, RpcTransport, RpcWsTransport, type RpcBatchResult } from './transport.js'
import { toUnits, type AmountInput } from './txBuilders.js'

/**
 * The typed client SDK over the JSON-RPC methods of DESIGN §6.1. Results are
 * what the wire carries: amounts stay canonical decimal strings of units
 * (`units()` turns one into a bigint, `accountAmounts()` a whole account), ids
 * and addresses `0x`-hex, heights numbers. Unknown ids resolve to `null`.
 */

/** An amount as the wire carries it: a canonical decimal string of units. */
export type AmountString = string

/** A wire amount as bigint units. */
export function units(value: AmountString, field = 'amount'): bigint {
  return parseAmount(value, field)
}

export interface ChainStatus {
  chainId: string
  genesisHash: Hex
  height: number
  blockHash: Hex
  stateRoot: Hex
  timeMs: number
  peers: number
  syncing: boolean
  validator: Address | null
}

export interface FeeSplit {
  contributors: number
  modelOwner: number
  operator: number
  validators: number
  treasury: number
}

export interface ChainParams {
  minTxFee: AmountString
  blockReward: AmountString
  feeSplit: FeeSplit
  treasury: Address
  maxReceiptsPerTx: number
  maxAttribution: number
  maxBlockTxs: number
  maxBlockBytes: number
  minValidatorStake: AmountString
  maxValidators: number
  unbondingBlocks: number
  jailBlocks: number
  slashDoubleSignBps: number
  slashDowntimeBps: number
  downtimeWindow: number
  downtimeMissedBps: number
  /** consensus timeouts and parameters added later */
  [key: string]: unknown
}

/** The header as the node serves it: the chain's own `Header` type (state/block.ts), ids as 0x-hex. */
export type BlockHeader = Header

export interface CommitSignature {
  validator: Address
  signature: Hex
}

export interface CommitInfo {
  height: number
  round: number
  blockHash: Hex
  signatures: CommitSignature[]
}

/** A tx as blocks (full) and tx_get show it; `body` holds the call's fields by name. */
export interface TxInfo {
  hash: Hex
  type: TxType
  sender: Address
  nonce: number
  fee: AmountString
  body: Record<string, unknown>
}

export interface BlockInfo<T = Hex> {
  hash: Hex
  header: BlockHeader
  txs: T[]
  lastCommit: CommitInfo | null
  /** number of evidence items in the block */
  evidence: number
}

export type DistributionRole = 'contributor' | 'modelOwner' | 'operator' | 'validator' | 'delegator' | 'treasury'

export interface DistributionEntry {
  address: Address
  role: DistributionRole
  amount: AmountString
}

export interface DistributionInfo {
  height: number
  minted: AmountString
  entries: DistributionEntry[]
}

export type WaitMode = 'none' | 'commit'

export interface TxErrorInfo {
  code: string
  message: string
}

export interface TxSendResult {
  hash: Hex
  /** with wait "commit": the block that included the tx */
  height?: number
  /** with wait "commit": a failed body still paid its fee (DESIGN §3) */
  status?: 'ok' | 'failed'
  error?: TxErrorInfo
}

export interface TxRecord extends TxInfo {
  height: number | null
  index: number | null
  status: 'ok' | 'failed' | 'pending'
  error?: TxErrorInfo
}

export interface AccountInfo {
  address: Address
  balance: AmountString
  nonce: number
  staked: AmountString
  unbonding: AmountString
  pendingRewards: AmountString
}

export interface AccountAmounts {
  balance: bigint
  staked: bigint
  unbonding: bigint
  pendingRewards: bigint
}

export function accountAmounts(a: AccountInfo): AccountAmounts {
  return { balance: units(a.balance), staked: units(a.staked), unbonding: units(a.unbonding), pendingRewards: units(a.pendingRewards) }
}

export interface AllowanceInfo {
  payer: Address
  operator: Address
  amount: AmountString
}

export interface ValidatorInfo {
  address: Address
  pubKey: Hex
  moniker: string
  selfStake: AmountString
  delegated: AmountString
  power: AmountString
  commissionBps: number
  jailed: boolean
  jailedUntil: number
  missed: number
}

export interface DelegationInfo {
  validator: Address
  amount: AmountString
}

export interface DatanetInfo {
  id: Hex
  owner: Address
  name: string
  metadataUri: string
  contributionBond: AmountString
  contributions: number
  accepted: number
  totalWeight: AmountString
  earned: AmountString
}

export type ContributionStatus = 'pending' | 'accepted' | 'rejected'

export interface ContributionInfo {
  id: Hex
  datanetId: Hex
  contributor: Address
  dataHash: Hex
  metadataUri: string
  status: ContributionStatus
  weight: number
  bond: AmountString
  receipts: number
  weightSharePpm: number
  /** claimed plus unclaimed */
  earned: AmountString
  unclaimed: AmountString
}

export interface ModelInfo {
  id: Hex
  owner: Address
  name: string
  baseModel: string
  datanets: { datanetId: Hex; weight: number }[]
  minFee: AmountString
  receipts: number
  feesTotal: AmountString
}

export interface ReceiptPayout {
  /** null for the block's validator pool; a Datanet id for `datanetPool` */
  address: Address | Hex | null
  role: string
  amount: AmountString
}

export interface ReceiptInfo {
  id: Hex
  txHash: Hex
  height: number
  index: number
  operator: Address
  modelId: Hex
  payer: Address
  fee: AmountString
  inputHash: Hex
  outputHash: Hex
  attribution: { contributionId: Hex; weight: number }[]
  /** DESIGN §4.1: the id shared by every receipt of one end-user request, or null */
  traceId: Hex | null
  payouts: ReceiptPayout[]
}

/** One flow of a receipt's fee (DESIGN §4.1 `attribution_explain`). */
export interface ExplainedFlow {
  /** null for the block's validator pool; a Datanet id for `datanetPool` */
  address: Address | Hex | null
  /** contributor, datanetPool, modelOwner, operator, validators, treasury, royalty or curator */
  role: string
  amount: AmountString
  /** the step that sent the amount here: split, attributionWeight, pool, royalty, curation, synthetic or rounding */
  rule: 'split' | 'attributionWeight' | 'pool' | 'royalty' | 'curation' | 'synthetic' | 'rounding'
  /** the model, contribution or Datanet whose rule moved it; null for the plain split */
  via: Hex | null
}

/** `attribution_explain [receiptId]`: every flow of the fee; the amounts sum to `fee` exactly. */
export interface AttributionExplainInfo {
  receiptId: Hex
  fee: AmountString
  modelId: Hex
  traceId: Hex | null
  flows: ExplainedFlow[]
}

/** `model_lineage [modelId, {offset?, limit?}]`: terms, parents, frozen royalty stack (ascending id) and a page of children. */
export interface ModelLineageInfo {
  modelId: Hex
  derivativeRoyaltyBps: number
  allowDerivatives: boolean
  parents: Hex[]
  stack: { modelId: Hex; royaltyBps: number }[]
  /** children in registration order, the requested page (at most 1,000) */
  children: Hex[]
  /** how many children the model has in all */
  childCount: number
}

export interface AttributionInfo {
  address: Address
  earned: Record<string, AmountString>
  total: AmountString
}

export interface PageOptions {
  offset?: number
  limit?: number
}

export interface ListOptions extends PageOptions {
  owner?: Address
}

export interface ContributionListOptions extends PageOptions {
  status?: ContributionStatus
}

export type SubscriptionTopic = 'newBlocks' | 'distributions'

export interface TopicResult {
  newBlocks: BlockInfo
  distributions: DistributionInfo
}

export interface AttrchainClientOptions {
  /**
   * Per-call timeout. Longer than the node's default commit wait (30 s) so
   * that `wait: "commit"` ends with the node's own -32003 answer.
   */
  timeoutMs: number
}

export const defaultAttrchainClientOptions: AttrchainClientOptions = { timeoutMs: 60_000 }

/** `http://h:p/x` → `ws://h:p/x`: the server serves WebSocket on the HTTP port (DESIGN §6). */
export function wsUrlFor(httpUrl: string): string {
  const u = new URL(httpUrl)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return httpUrl
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
  return u.toString()
}

export class AttrchainClient {
  readonly transport: RpcTransport
  private ws: RpcWsTransport | null = null

  constructor(urlOrTransport: string | RpcTransport, opts: Partial<AttrchainClientOptions> = {}) {
    const o = { ...defaultAttrchainClientOptions, ...opts }
    this.transport = typeof urlOrTransport === 'string' ? new RpcTransport(urlOrTransport, { timeoutMs: o.timeoutMs }) : urlOrTransport
  }

  get url(): string {
    return this.transport.url
  }

  call<T>(method: string, params: unknown[] = []): Promise<T> {
    return this.transport.call<T>(method, params)
  }

  status(): Promise<ChainStatus> {
    return this.call('chain_status')
  }

  params(): Promise<ChainParams> {
    return this.call('chain_params')
  }

  getBlock(height: number | 'latest', opts: { full: true }): Promise<BlockInfo<TxInfo> | null>
  getBlock(height: number | 'latest', opts?: { full?: false }): Promise<BlockInfo | null>
  getBlock(height: number | 'latest', opts: { full?: boolean } = {}): Promise<BlockInfo<TxInfo> | BlockInfo | null> {
    return this.call('chain_getBlock', [height, { full: Boolean(opts.full) }])
  }

  getCommit(height: number | 'latest'): Promise<CommitInfo | null> {
    return this.call('chain_getCommit', [height])
  }

  getDistribution(height: number | 'latest'): Promise<DistributionInfo | null> {
    return this.call('chain_getDistribution', [height])
  }

  /** Submit signed tx bytes (or their `0x`-hex). */
  sendRawTx(raw: Uint8Array | Hex, opts: { wait?: WaitMode } = {}): Promise<TxSendResult> {
    return this.call('tx_send', [typeof raw === 'string' ? raw : toHex(raw), { wait: opts.wait ?? 'none' }])
  }

  sendTx(stx: SignedTx, opts: { wait?: WaitMode } = {}): Promise<TxSendResult> {
    return this.sendRawTx(stx.bytes, opts)
  }

  getTx(hash: Hex): Promise<TxRecord | null> {
    return this.call('tx_get', [hash])
  }

  getAccount(address: Address): Promise<AccountInfo> {
    return this.call('account_get', [address])
  }

  getAllowance(payer: Address, operator: Address): Promise<AllowanceInfo> {
    return this.call('account_allowance', [payer, operator])
  }

  validators(): Promise<ValidatorInfo[]> {
    return this.call('staking_validators')
  }

  delegations(address: Address): Promise<DelegationInfo[]> {
    return this.call('staking_delegations', [address])
  }

  getDatanet(id: Hex): Promise<DatanetInfo | null> {
    return this.call('datanet_get', [id])
  }

  listDatanets(opts: ListOptions = {}): Promise<DatanetInfo[]> {
    return this.call('datanet_list', [opts])
  }

  /** null when the Datanet does not exist */
  datanetContributions(datanetId: Hex, opts: ContributionListOptions = {}): Promise<ContributionInfo[] | null> {
    return this.call('datanet_contributions', [datanetId, opts])
  }

  getContribution(id: Hex): Promise<ContributionInfo | null> {
    return this.call('contribution_get', [id])
  }

  getModel(id: Hex): Promise<ModelInfo | null> {
    return this.call('model_get', [id])
  }

  listModels(opts: ListOptions = {}): Promise<ModelInfo[]> {
    return this.call('model_list', [opts])
  }

  getReceipt(id: Hex): Promise<ReceiptInfo | null> {
    return this.call('receipt_get', [id])
  }

  attribution(address: Address): Promise<AttributionInfo> {
    return this.call('attribution_address', [address])
  }

  /** `attribution_explain`: every flow of a receipt's fee with its rule (DESIGN §4.1); null for an unknown receipt. */
  explainReceipt(receiptId: Hex): Promise<AttributionExplainInfo | null> {
    return this.call('attribution_explain', [receiptId])
  }

  /** `model_lineage`: parents, frozen royalty stack and children (paged, limit ≤ 1,000); null for an unknown model. */
  modelLineage(modelId: Hex, opts: PageOptions = {}): Promise<ModelLineageInfo | null> {
    return this.call('model_lineage', [modelId, opts])
  }

  /** `receipt_trace`: the receipts carrying `traceId` (32-byte hex), in chain order, paged (limit ≤ 1,000); [] for an unknown trace. */
  receiptTrace(traceId: Hex, opts: PageOptions = {}): Promise<ReceiptInfo[]> {
    return this.call('receipt_trace', [traceId, opts])
  }

  /**
   * Subscribe over WebSocket (opened on first use, on the HTTP URL's host and
   * port). Resolves once the node confirmed; the returned function unsubscribes.
   */
  subscribe<K extends SubscriptionTopic>(topic: K, onResult: (result: TopicResult[K]) => void): Promise<() => Promise<boolean>> {
    this.ws ??= new RpcWsTransport(wsUrlFor(this.url), { onClose: () => { this.ws = null } })
    return this.ws.subscribe(topic, (r) => onResult(r as TopicResult[K]))
  }

  /** Close the WebSocket, if one was opened. HTTP calls need no cleanup. */
  async close(): Promise<void> {
    const ws = this.ws
    this.ws = null
    await ws?.close()
  }
}

// ---------------------------------------------------------------- signing and nonces

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
    const [status, account, params] = await this.client.transport.batch([
      { method: 'chain_status' }, { method: 'account_get', params: [this.address] }, { method: 'chain_params' },
    ])
    const ok = <T>(r: RpcBatchResult): T => {
      if (!r.ok) throw r.error
      return r.result as T
    }
    this.next = ok<AccountInfo>(account).nonce
    return {
      chainId: this.opts.chainId ?? ok<ChainStatus>(status).chainId,
      fee: this.opts.fee !== undefined ? toUnits(this.opts.fee, 'fee') : units(ok<ChainParams>(params).minTxFee, 'minTxFee'),
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
    for (let delay = 100; ; delay = Math.min(2000, delay * 2)) {
      try {
        return await this.client.sendTx(stx, opts)
      } catch (e) {
        if (!(e instanceof RpcRequestError) || e.reason !== 'MEMPOOL_ERROR_FULL' || Date.now() + delay > deadline) throw e
        await new Promise((r) => setTimeout(r, delay))
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
   * does not stop the others.
   */
  async sendMany(calls: readonly TxCall[], opts: SendOptions = {}): Promise<SendManyResult[]> {
    const signed: { stx: SignedTx; alloc: Allocation }[] = []
    for (const call of calls) signed.push(await this.signAllocated(call, opts))
    const size = Math.max(1, this.opts.batchSize ?? 100)
    const chunks: (typeof signed)[] = []
    for (let i = 0; i < signed.length; i += size) chunks.push(signed.slice(i, i + size))
    const wait = opts.wait ?? 'none'
    const results = await Promise.all(chunks.map(async (chunk): Promise<SendManyResult[]> => {
      let replies: RpcBatchResult[]
      try {
        replies = await this.client.transport.batch(chunk.map((s) => ({ method: 'tx_send', params: [toHex(s.stx.bytes), { wait }] })))
      } catch (e) {
        return chunk.map(() => ({ ok: false, error: e as Error }))
      }
      return replies.map((r) => (r.ok ? { ok: true, result: r.result as TxSendResult } : { ok: false, error: r.error }))
    }))
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

  private async resyncOnce(alloc: Allocation): Promise<void> {
    if (alloc.generation === this.generation) await this.resync()
  }
}
