import { toHex, fromHex } from '../core/bytes.js'
import { formatAmount } from '../core/amount.js'
import { parseAddress } from '../core/address.js'
import { decodeSignedTx, callToJson, txHashOf, DEFAULT_TX_LIMITS_UNBOUNDED, type SignedTx } from '../core/tx.js'
import { blockHash, type Block } from '../state/block.js'
import type { Distribution } from '../state/distribution.js'
import type { ReceiptRecord } from '../state/execute.js'
import { LineageQueries, explainJson, MAX_LINEAGE_CHILDREN } from '../state/explain.js'
import { commitFromEncodable, decodeCommit, type Commit } from '../consensus/index.js'
import { commonSchemas, type JsonSchema, type MethodSpec, type CallContext } from '../rpc/index.js'
import type { ChainService } from './chain.js'
import { BlockJsonCache, type BlockJsonParts } from './blockJsonCache.js'
import type { Mempool } from './mempool.js'

/** What the chain methods need from the node (node/node.ts provides it). */
export interface RpcNodeContext {
  chain: ChainService
  mempool: Mempool
  /** admit raw tx bytes to the mempool and gossip them; throws a TxError/MempoolError */
  submitTx(bytes: Uint8Array): Promise<SignedTx>
  /** resolves once the tx is committed, rejects with RPC_ERROR_TIMEOUT */
  waitForTx(hash: string, signal: AbortSignal): Promise<{ height: number; status: 'ok' | 'failed'; error?: { code: string; message: string } }>
  status(): { peers: number; syncing: boolean; validator: string | null }
}

const obj = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({ type: 'object', properties, required, additionalProperties: false })
const nullable = (s: JsonSchema): JsonSchema => ({ oneOf: [s, { type: 'null' }] })
const pageOpts = (extra: Record<string, JsonSchema> = {}): JsonSchema => obj({
  offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 }, ...extra,
})
const ANY_OBJECT: JsonSchema = { type: 'object' }
const ANY_ARRAY: JsonSchema = { type: 'array' }

export function commitToJson(c: Commit): Record<string, unknown> {
  return { height: c.height, round: c.round, blockHash: toHex(c.blockHash), signatures: c.signatures.map((s) => ({ validator: s.validator, signature: toHex(s.signature) })) }
}

export function distributionToJson(d: Distribution): Record<string, unknown> {
  return { height: d.height, minted: formatAmount(d.minted), entries: d.entries.map((e) => ({ address: e.address, role: e.role, amount: formatAmount(e.amount) })) }
}

export function txToJson(stx: SignedTx): Record<string, unknown> {
  return { hash: stx.hash, type: stx.tx.call.type, sender: stx.sender, nonce: stx.tx.nonce, fee: formatAmount(stx.tx.fee), body: bodyJson(stx) }
}

function bodyJson(stx: SignedTx): Record<string, unknown> {
  const { type: _type, ...body } = callToJson(stx.tx.call)
  return body
}

export function blockToJson(hash: string, b: Block, full: boolean): Record<string, unknown> {
  const parts = blockJsonParts(hash, b, full)
  return { hash, header: parts.header, txs: b.txs.map(parts.tx), lastCommit: parts.lastCommit, evidence: parts.evidence }
}

/** What `blockToJson` is made of, for the chunked builder of BlockJsonCache. */
function blockJsonParts(hash: string, b: Block, full: boolean): BlockJsonParts {
  return {
    hash,
    header: b.header,
    txs: b.txs,
    // hashes need no decoding: a block of 20,000 receipts is not parsed again to announce it
    tx: full ? (bytes) => txToJson(decodeSignedTx(bytes, DEFAULT_TX_LIMITS_UNBOUNDED, { verify: false })) : txHashOf,
    lastCommit: b.lastCommit === null ? null : commitToJson(commitFromEncodable(b.lastCommit)),
    evidence: b.evidence.length,
  }
}

function receiptToJson(r: ReceiptRecord): Record<string, unknown> {
  return {
    id: r.id, txHash: r.txHash, height: r.height, index: r.index, operator: r.operator, modelId: r.receipt.modelId, payer: r.receipt.payer,
    fee: formatAmount(r.receipt.fee), inputHash: r.receipt.inputHash, outputHash: r.receipt.outputHash,
    attribution: r.receipt.attribution, traceId: r.receipt.traceId ?? null, payouts: r.payouts.map((p) => ({ address: p.address, role: p.role, amount: formatAmount(p.amount) })),
  }
}

/**
 * Every chain method of DESIGN §6.1, in one table: dispatch, validation and
 * rpc.discover read it. `blockJson` caches the JSON of blocks read (a private
 * one with the default size when not given).
 */
export function chainMethods(ctx: RpcNodeContext, blockJson: BlockJsonCache = new BlockJsonCache()): MethodSpec[] {
  const { chain, mempool } = ctx
  const q = chain.queries
  const db = chain.db
  const address = { name: 'address', required: true, schema: commonSchemas.address }
  const id = (name: string) => ({ name, required: true, schema: commonSchemas.hash })
  const lineage = new LineageQueries(db.state)
  /** DESIGN §4.1: the lineage / curation / synthetic totals an object gains (null stays null). */
  const withExtras = (o: Record<string, unknown> | null, extras: (id: string) => Record<string, unknown>) => (o === null ? null : { ...o, ...extras(o.id as string) })

  return [
    {
      name: 'chain_status', summary: 'Chain id, genesis hash, head and this node\'s role', params: [], result: ANY_OBJECT,
      handler: () => {
        const head = chain.head
        return { chainId: chain.config.chainId, genesisHash: chain.genesisHash, height: head.height, blockHash: head.blockHash, stateRoot: head.stateRoot, timeMs: head.timeMs, ...ctx.status() }
      },
    },
    { name: 'chain_params', summary: 'The chain parameters (amounts in units as decimal strings)', params: [], result: ANY_OBJECT, handler: () => q.params() },
    {
      name: 'chain_getBlock', summary: 'A block by height, with tx hashes or full txs',
      params: [{ name: 'height', required: true, schema: commonSchemas.heightOrLatest }, { name: 'options', schema: obj({ full: { type: 'boolean' } }) }],
      result: nullable(ANY_OBJECT),
      // Served as cached JSON text built in slices: a 20,000-receipt block is 6.5 MB of JSON (issue 12 item 3).
      handler: async ([h, opts]) => {
        const height = h === 'latest' ? chain.head.height : (h as number)
        const full = Boolean((opts as { full?: boolean } | undefined)?.full)
        return blockJson.get(height, full, async () => {
          const stored = await db.getBlock(height)
          return stored ? blockJsonParts(blockHash(stored.header), stored, full) : null
        })
      },
    },
    {
      name: 'chain_getCommit', summary: 'The commit certificate (precommits) that committed a height',
      params: [{ name: 'height', required: true, schema: commonSchemas.heightOrLatest }], result: nullable(ANY_OBJECT),
      handler: async ([h]) => {
        const bytes = await db.getCommit(h === 'latest' ? chain.head.height : (h as number))
        return bytes ? commitToJson(decodeCommit(bytes)) : null
      },
    },
    {
      name: 'chain_getValidatorSet',
      summary: 'The validator set that commits a height, as stored and hashed by the chain: {height, hash, totalPower, proposer, validators: [{address, pubKey, power, priority}]}',
      description: 'hash = the header\'s validatorsHash: sha256(msgpack([[address(20 B), pubKey(32 B), power as decimal string]…])) over the validators by address. '
        + 'Known from height 1 to head + 2 (stake changes of block H take effect at H + 2); null otherwise. Light clients (rpc/lightClient.ts) hash it and compare.',
      params: [{ name: 'height', required: true, schema: commonSchemas.heightOrLatest }], result: nullable(ANY_OBJECT),
      handler: async ([h]) => {
        const height = h === 'latest' ? chain.head.height : (h as number)
        const set = height < 1 ? null : await chain.validatorSetAt(height)
        return set === null ? null : {
          height, hash: toHex(set.hash()), totalPower: set.totalPower.toString(), proposer: set.proposerOrNull,
          validators: set.validators.map((v) => ({ address: v.address, pubKey: toHex(v.pubKey), power: v.power.toString(), priority: v.priority.toString() })),
        }
      },
    },
    {
      name: 'chain_getDistribution', summary: 'The fee distribution of a block: every (address, role) credited and the minted reward',
      params: [{ name: 'height', required: true, schema: commonSchemas.heightOrLatest }], result: nullable(ANY_OBJECT),
      handler: async ([h]) => {
        const d = await db.getDistribution(h === 'latest' ? chain.head.height : (h as number))
        return d ? distributionToJson(d) : null
      },
    },
    {
      name: 'tx_send', summary: 'Submit a signed tx (0x-hex of its canonical bytes); optionally wait until it is committed',
      params: [{ name: 'rawTx', required: true, schema: commonSchemas.hex }, { name: 'options', schema: obj({ wait: { type: 'string', enum: ['none', 'commit'] } }) }],
      result: ANY_OBJECT,
      handler: async ([raw, opts], call: CallContext) => {
        const stx = await ctx.submitTx(fromHex(raw as string, 'rawTx'))
        if ((opts as { wait?: string } | undefined)?.wait !== 'commit') return { hash: stx.hash }
        const r = await ctx.waitForTx(stx.hash, call.signal)
        return { hash: stx.hash, ...r }
      },
    },
    {
      name: 'tx_get', summary: 'A tx by hash with its inclusion and status ("pending" while in the mempool)',
      params: [id('hash')], result: nullable(ANY_OBJECT),
      handler: async ([hash]) => {
        const h = (hash as string).toLowerCase()
        const pending = mempool.get(h)
        if (pending) return { ...txToJson(pending), height: null, index: null, status: 'pending' }
        const loc = await db.getTx(h)
        if (!loc) return null
        const bytes = await db.getTxBytes(h)
        if (!bytes) return null
        const stx = decodeSignedTx(bytes, undefined, { verify: false })
        return { ...txToJson(stx), height: loc.height, index: loc.index, status: loc.status, ...(loc.error ? { error: loc.error } : {}) }
      },
    },
    { name: 'account_get', summary: 'Balance, nonce, stake, unbonding and claimable rewards of an address', params: [address], result: ANY_OBJECT, handler: ([a]) => q.account(parseAddress(a)) },
    {
      name: 'account_allowance', summary: 'What an operator may still charge a payer for inference',
      params: [{ name: 'payer', required: true, schema: commonSchemas.address }, { name: 'operator', required: true, schema: commonSchemas.address }],
      result: ANY_OBJECT,
      handler: ([p, o]) => ({ payer: parseAddress(p), operator: parseAddress(o), amount: q.allowance(parseAddress(p), parseAddress(o)) }),
    },
    { name: 'staking_validators', summary: 'Every validator with stake, power, commission and jail status', params: [], result: ANY_ARRAY, handler: () => q.validators() },
    { name: 'staking_delegations', summary: 'The delegations of an address', params: [address], result: ANY_ARRAY, handler: ([a]) => q.delegations(parseAddress(a)) },
    { name: 'datanet_get', summary: 'A Datanet by id, with its curator share and curation total', params: [id('id')], result: nullable(ANY_OBJECT), handler: ([i]) => withExtras(q.datanet((i as string).toLowerCase()), (x) => lineage.datanetExtras(x)) },
    {
      name: 'datanet_list', summary: 'Datanets in creation order, optionally by owner',
      params: [{ name: 'options', schema: pageOpts({ owner: commonSchemas.address }) }], result: ANY_ARRAY,
      handler: ([o]) => {
        const opts = (o ?? {}) as { owner?: string; offset?: number; limit?: number }
        return q.datanets({ ...opts, owner: opts.owner ? parseAddress(opts.owner) : undefined })
      },
    },
    {
      name: 'datanet_contributions', summary: 'Contributions of a Datanet in submission order, optionally by status',
      params: [id('datanetId'), { name: 'options', schema: pageOpts({ status: { type: 'string', enum: ['pending', 'accepted', 'rejected'] } }) }],
      result: nullable(ANY_ARRAY),
      handler: ([i, o]) => q.contributions((i as string).toLowerCase(), (o ?? {}) as { status?: 'pending' }),
    },
    {
      name: 'contribution_get', summary: 'A contribution by id, with its receipts and earnings, its synthetic source and what curation and the synthetic royalty took',
      params: [id('id')], result: nullable(ANY_OBJECT), handler: ([i]) => withExtras(q.contribution((i as string).toLowerCase()), (x) => lineage.contributionExtras(x)),
    },
    {
      name: 'model_get', summary: 'A model by id, with provenance, receipts, fees, terms, parents, frozen royalty stack and royalty totals',
      params: [id('id')], result: nullable(ANY_OBJECT), handler: ([i]) => withExtras(q.model((i as string).toLowerCase()), (x) => lineage.modelExtras(x)),
    },
    {
      name: 'model_lineage', summary: 'A model\'s parents, frozen royalty stack [{modelId, royaltyBps}] and children (paged), DESIGN §4.1',
      params: [id('modelId'), { name: 'options', schema: obj({ offset: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: MAX_LINEAGE_CHILDREN } }) }],
      result: nullable(ANY_OBJECT), handler: ([i, o]) => lineage.lineage((i as string).toLowerCase(), (o ?? {}) as { offset?: number; limit?: number }),
    },
    {
      name: 'model_list', summary: 'Models in registration order, optionally by owner',
      params: [{ name: 'options', schema: pageOpts({ owner: commonSchemas.address }) }], result: ANY_ARRAY,
      handler: ([o]) => {
        const opts = (o ?? {}) as { owner?: string; offset?: number; limit?: number }
        return q.models({ ...opts, owner: opts.owner ? parseAddress(opts.owner) : undefined })
      },
    },
    {
      name: 'receipt_get', summary: 'An inference receipt by id with the payout of every unit of its fee',
      params: [id('receiptId')], result: nullable(ANY_OBJECT),
      handler: async ([i]) => {
        const r = await db.getReceipt((i as string).toLowerCase())
        return r ? receiptToJson(r) : null
      },
    },
    {
      name: 'attribution_explain', summary: 'Every flow of a receipt\'s fee {address, role, amount, rule, via}, summing to the fee exactly (DESIGN §4.1)',
      params: [id('receiptId')], result: nullable(ANY_OBJECT),
      handler: async ([i]) => {
        const r = await db.getReceipt((i as string).toLowerCase())
        return r ? explainJson(r, chain.config.params) : null
      },
    },
    {
      name: 'receipt_trace', summary: 'The receipts carrying a traceId, in chain order (height, tx, index), paged (DESIGN §4.1)',
      params: [id('traceId'), { name: 'options', schema: pageOpts() }], result: ANY_ARRAY,
      handler: async ([i, o]) => {
        const opts = (o ?? {}) as { offset?: number; limit?: number }
        const ids = await db.getTraceReceiptIds((i as string).toLowerCase(), opts.offset ?? 0, Math.min(opts.limit ?? 100, 1000))
        const out: Record<string, unknown>[] = []
        for (const rid of ids) {
          const r = await db.getReceipt(rid)
          if (r) out.push(receiptToJson(r))
        }
        return out
      },
    },
    { name: 'attribution_address', summary: 'What an address has earned, by role', params: [address], result: ANY_OBJECT, handler: ([a]) => q.attribution(parseAddress(a)) },
    {
      name: 'stats_flow',
      summary: 'Flow statistics: receipts, fees and payees per role as a time series over a height window, with the window summary and the concentration of contributor earnings',
      description: 'Options {fromHeight?, toHeight?, buckets?} (heights inclusive; default the last 100 blocks, toHeight capped at the head; buckets 1 … 1000, default min(50, blocks)). '
        + 'Result {head, fromHeight, toHeight, series: [window…], summary: window}; a window has heights, times (ms) and seconds, txs, failedTxs, receipts, receiptsPerSecond, '
        + 'receiptFees, feesPerSecond (units/s), txFees, minted, distributed, byRole {role: {amount, payees}}, datanets, contributions, accepted, rejected, models, contributorPayments, '
        + 'and contributors {count, earned, newEarners, gini, top10Share, bottom50Share} at its end. Reads buckets + 1 stored per-block records (node/flowStats.ts).',
      params: [{ name: 'options', schema: obj({ fromHeight: { type: 'integer', minimum: 0 }, toHeight: { type: 'integer', minimum: 0 }, buckets: { type: 'integer', minimum: 1, maximum: 1000 } }) }],
      result: ANY_OBJECT,
      handler: ([o]) => chain.statsFlow((o ?? {}) as { fromHeight?: number; toHeight?: number; buckets?: number }),
    },
    {
      name: 'stats_leaders',
      summary: 'The contributors with the largest earnings since genesis (attribution ledger, role contributor), largest first: {contributors: [{address, earned}]}',
      params: [{ name: 'options', schema: obj({ limit: { type: 'integer', minimum: 1, maximum: 1000 } }) }],
      result: ANY_OBJECT,
      handler: ([o]) => ({
        contributors: chain.topContributors((o as { limit?: number } | undefined)?.limit ?? 10).map((e) => ({ address: e.address, earned: formatAmount(e.earned) })),
      }),
    },
  ]
}
