import { toHex } from '../core/bytes.js'
import type { Hex, SignedTx } from '../core/tx.js'
import type { Address } from '../core/address.js'
import { RpcTransport, RpcWsTransport, type RpcBatchResult } from './transport.js'
import type { ChainMethod, ParamsOf, ResultOf } from './api.js'
import type {
  AccountInfo, AllowanceInfo, AttributionExplainInfo, AttributionInfo, BlockInfo, ChainParams, ChainStatus, CommitInfo, ContributionDetail,
  ContributionInfo, ContributionListOptions, DatanetDetail, DatanetInfo, DelegationInfo, DistributionInfo, FlowStatsInfo, LeadersInfo, ListOptions,
  ModelDetail, ModelInfo, ModelLineageInfo, PageOptions, ReceiptInfo, SubscriptionTopic, TopicResult, TxInfo, TxRecord, TxSendResult, ValidatorInfo,
  ValidatorSetInfo, WaitMode,
} from './wire.js'

/**
 * The typed client SDK over the JSON-RPC methods of DESIGN §6.1. Results are
 * what the wire carries: amounts stay canonical decimal strings of units
 * (`units()` turns one into a bigint, `accountAmounts()` a whole account), ids
 * and addresses `0x`-hex, heights numbers. Unknown ids resolve to `null`.
 */

/** One item of a typed batch: a method of the API table and its params. */
export type TableCall<M extends ChainMethod = ChainMethod> = M extends ChainMethod ? { method: M; params?: Readonly<ParamsOf<M>> } : never

/** The answers to a typed batch, each typed by its call's method. */
export type TableBatchResults<C extends readonly TableCall[]> = {
  -readonly [K in keyof C]: RpcBatchResult<C[K] extends { method: infer M extends ChainMethod } ? ResultOf<M> : never>
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

  /**
   * Call a method of the API table (`rpc/api.ts`): params and result are
   * typed from its schemas (a table method with wrong params does not
   * compile). A method not in the table (another node's, or one not
   * declared yet) takes the result type as a type argument.
   */
  call<M extends ChainMethod>(method: M, ...params: [] extends ParamsOf<M> ? [params?: ParamsOf<M>] : [params: ParamsOf<M>]): Promise<ResultOf<M>>
  call<T = unknown, N extends string = string>(method: N & (N extends ChainMethod ? never : unknown), params?: unknown[]): Promise<T>
  call(method: string, params: unknown[] = []): Promise<unknown> {
    return this.transport.call(method, params)
  }

  /**
   * Methods of the API table in one JSON-RPC batch: one answer per call, in
   * order, each typed by its method; an error answers its own item only.
   */
  batch<const C extends readonly TableCall[]>(calls: C): Promise<TableBatchResults<C>> {
    const wire = calls.map((c) => (c.params === undefined ? { method: c.method } : { method: c.method, params: [...c.params] }))
    // The transport answers in call order; each result is what its method's schema says.
    return this.transport.batch(wire) as Promise<TableBatchResults<C>>
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
    // The node sends full txs exactly when asked to (options.full), which the overloads say and the schema cannot.
    return this.call('chain_getBlock', [height, { full: Boolean(opts.full) }]) as Promise<BlockInfo<TxInfo> | BlockInfo | null>
  }

  getCommit(height: number | 'latest'): Promise<CommitInfo | null> {
    return this.call('chain_getCommit', [height])
  }

  /** `chain_getValidatorSet`: the set that commits `height` (its hash is the header's validatorsHash); null beyond head + 2. */
  getValidatorSet(height: number | 'latest'): Promise<ValidatorSetInfo | null> {
    return this.call('chain_getValidatorSet', [height])
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

  getDatanet(id: Hex): Promise<DatanetDetail | null> {
    return this.call('datanet_get', [id])
  }

  listDatanets(opts: ListOptions = {}): Promise<DatanetInfo[]> {
    return this.call('datanet_list', [opts])
  }

  /** null when the Datanet does not exist */
  datanetContributions(datanetId: Hex, opts: ContributionListOptions = {}): Promise<ContributionInfo[] | null> {
    return this.call('datanet_contributions', [datanetId, opts])
  }

  getContribution(id: Hex): Promise<ContributionDetail | null> {
    return this.call('contribution_get', [id])
  }

  getModel(id: Hex): Promise<ModelDetail | null> {
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

  /** `stats_flow`: receipts, fees and payees per role over a height window, as a series and a summary. */
  flowStats(opts: NonNullable<ParamsOf<'stats_flow'>[0]> = {}): Promise<FlowStatsInfo> {
    return this.call('stats_flow', [opts])
  }

  /** `stats_leaders`: the contributors with the largest earnings since genesis, largest first. */
  leaders(limit?: number): Promise<LeadersInfo> {
    return this.call('stats_leaders', [limit === undefined ? {} : { limit }])
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
