import { toHex, fromHex } from '../core/bytes.js'
import { formatAmount } from '../core/amount.js'
import { parseAddress } from '../core/address.js'
import { decodeSignedTx, callToJson, txHashOf, DEFAULT_TX_LIMITS_UNBOUNDED, type SignedTx } from '../core/tx.js'
import { blockHash, type Block } from '../state/block.js'
import type { Distribution } from '../state/distribution.js'
import type { ReceiptRecord } from '../state/execute.js'
import { readCheckpoint, readCheckpointSet, checkpointToJson, checkpointSetHash, checkpointSetPower } from '../state/checkpoint.js'
import { LineageQueries, explainJson } from '../state/explain.js'
import { proofKey, normalizeProofId, decodeProvenValue, ProofSpecError, type ProofKind } from '../state/proofSpec.js'
import { RpcError, RpcErrorCode } from '../rpc/errors.js'
import { commitFromEncodable, decodeCommit, type Commit } from '../consensus/index.js'
import { implement, type MethodSpec, type ResultOf, type CommitInfo, type DistributionInfo, type TxInfo, type ReceiptInfo } from '../rpc/index.js'
import type { ChainService } from './chain.js'
import { BlockJsonCache, type BlockJsonParts } from './blockJsonCache.js'
import type { Mempool } from './mempool.js'

/** What the chain methods need from the node (node/node.ts provides it). */
export interface RpcNodeContext {
  chain: ChainService
  mempool: Mempool
  /** admit raw tx bytes to the mempool and gossip them; throws a TxError/MempoolError */
  submitTx(bytes: Uint8Array): Promise<SignedTx>
  /**
   * tx_send's load shedding: the capacity refusal of a raw tx of
   * `byteLength` bytes before it is decoded, `earlier` the one an earlier
   * tx_send of the same batch got (node.shedTx)
   */
  shedTx?(byteLength: number, earlier: Error | null): Error | null
  /** resolves once the tx is committed, rejects with RPC_ERROR_TIMEOUT */
  waitForTx(hash: string, signal: AbortSignal): Promise<{ height: number; status: 'ok' | 'failed'; error?: { code: string; message: string } }>
  status(): { peers: number; syncing: boolean; validator: string | null }
}

export function commitToJson(c: Commit): CommitInfo {
  return { height: c.height, round: c.round, blockHash: toHex(c.blockHash), signatures: c.signatures.map((s) => ({ validator: s.validator, signature: toHex(s.signature) })) }
}

export function distributionToJson(d: Distribution): DistributionInfo {
  return { height: d.height, minted: formatAmount(d.minted), entries: d.entries.map((e) => ({ address: e.address, role: e.role, amount: formatAmount(e.amount) })) }
}

export function txToJson(stx: SignedTx): TxInfo {
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

function receiptToJson(r: ReceiptRecord): ReceiptInfo {
  return {
    id: r.id, txHash: r.txHash, height: r.height, index: r.index, operator: r.operator, modelId: r.receipt.modelId, payer: r.receipt.payer,
    fee: formatAmount(r.receipt.fee), inputHash: r.receipt.inputHash, outputHash: r.receipt.outputHash,
    attribution: r.receipt.attribution, traceId: r.receipt.traceId ?? null, payouts: r.payouts.map((p) => ({ address: p.address, role: p.role, amount: formatAmount(p.amount) })),
  }
}

/**
 * The handlers of the chain methods of DESIGN §6.1. A method is declared in
 * `rpc/api.ts` (params, result schema, summary) and implemented here with
 * `implement(name, handler)`, which types the handler from the declaration.
 * Results that state/ builds as untyped records (`Record<string, unknown>`)
 * are asserted to the declared type; test/unit/rpc/apiConformance.test.ts
 * checks them against the result schemas on a live node. `blockJson` caches
 * the JSON of blocks read (a private one with the default size when not given).
 */
export function chainMethods(ctx: RpcNodeContext, blockJson: BlockJsonCache = new BlockJsonCache()): MethodSpec[] {
  const { chain, mempool } = ctx
  const q = chain.queries
  const db = chain.db
  const lineage = new LineageQueries(db.state)
  /** DESIGN §4.1: the lineage / curation / synthetic totals an object gains (null stays null). */
  const withExtras = (o: Record<string, unknown> | null, extras: (id: string) => Record<string, unknown>) => (o === null ? null : { ...o, ...extras(o.id as string) })
  const optionsOf = <T extends object>(o: T | undefined): T | Record<string, never> => o ?? {}

  return [
    implement('chain_status', () => {
      const head = chain.head
      return { chainId: chain.config.chainId, genesisHash: chain.genesisHash, height: head.height, blockHash: head.blockHash, stateRoot: head.stateRoot, timeMs: head.timeMs, ...ctx.status() }
    }),
    implement('chain_params', () => q.params() as ResultOf<'chain_params'>),
    // Served as cached JSON text built in slices: a 20,000-receipt block is 6.5 MB of JSON (issue 12 item 3).
    implement('chain_getBlock', async ([h, opts]) => {
      const height = h === 'latest' ? chain.head.height : h
      const full = Boolean(opts?.full)
      db.assertNotPruned(height) // a pruned block may still sit in the JSON cache
      return blockJson.get(height, full, async () => {
        const stored = await db.getBlock(height)
        return stored ? blockJsonParts(blockHash(stored.header), stored, full) : null
      })
    }),
    implement('chain_getCommit', async ([h]) => {
      const bytes = await db.getCommit(h === 'latest' ? chain.head.height : h)
      return bytes ? commitToJson(decodeCommit(bytes)) : null
    }),
    implement('chain_getValidatorSet', async ([h]) => {
      const height = h === 'latest' ? chain.head.height : h
      const set = height < 1 ? null : await chain.validatorSetAt(height)
      return set === null ? null : {
        height, hash: toHex(set.hash()), totalPower: set.totalPower.toString(), proposer: set.proposerOrNull,
        validators: set.validators.map((v) => ({ address: v.address, pubKey: toHex(v.pubKey), power: v.power.toString(), priority: v.priority.toString() })),
      }
    }),
    implement('rollup_getCheckpoint', ([h]) => {
      const cp = readCheckpoint(db.state, h)
      return cp ? checkpointToJson(chain.config.chainId, cp) as ResultOf<'rollup_getCheckpoint'> : null
    }),
    implement('rollup_getCheckpointSet', () => {
      const set = readCheckpointSet(db.state)
      return {
        afterHeight: set.afterHeight, interval: chain.config.params.checkpointInterval, validatorSetHash: checkpointSetHash(set.members),
        totalPower: checkpointSetPower(set.members).toString(), members: set.members.map((m) => ({ validator: m.validator, ethAddress: m.ethAddress, power: m.power.toString() })),
      }
    }),
    // issue 15: one state entry with its Merkle proof under the stateRoot of a stored header (state/proofSpec.ts, core/stateProof.ts)
    implement('state_getProof', async ([spec, h]) => {
      const head = chain.head.height
      const height = h ?? head
      if (height > head) throw new RpcError(RpcErrorCode.invalidParams, `height ${height} is above the head ${head}: no state root to prove against yet`, { height, head })
      let key: string
      let id: string
      try {
        key = proofKey(spec.kind, spec.id)
        id = normalizeProofId(spec.kind as ProofKind, spec.id)
      } catch (e) {
        if (e instanceof ProofSpecError) throw new RpcError(RpcErrorCode.invalidParams, e.reason, { ...e.meta, reason: e.code })
        throw e
      }
      const block = await db.getBlock(height)
      if (block === null) throw new RpcError(RpcErrorCode.invalidParams, `no block stored at height ${height}`, { height })
      const { value, proof } = await db.proveState(fromHex(block.header.stateRoot), key)
      const commit = await db.getCommit(height)
      return {
        kind: spec.kind, id, key, height, stateRoot: block.header.stateRoot,
        value: value === null ? null : decodeProvenValue(spec.kind as ProofKind, value), rawValue: value === null ? null : toHex(value),
        proof: proof.map(toHex), header: block.header, commit: commit === null ? null : commitToJson(decodeCommit(commit)),
      }
    }),
    implement('chain_getDistribution', async ([h]) => {
      const d = await db.getDistribution(h === 'latest' ? chain.head.height : h)
      return d ? distributionToJson(d) : null
    }),
    implement('tx_send', async ([raw, opts], call) => {
      const stx = await ctx.submitTx(fromHex(raw, 'rawTx'))
      if (opts?.wait !== 'commit') return { hash: stx.hash }
      const r = await ctx.waitForTx(stx.hash, call.signal)
      return { hash: stx.hash, ...r }
    }, {
      // refused before the hex is checked or decoded when the node is saturated (the size is read off the string's length)
      shed: (params, earlier) => {
        const raw = Array.isArray(params) ? params[0] : undefined
        return typeof raw === 'string' && ctx.shedTx ? ctx.shedTx(Math.max(0, (raw.length - 2) >> 1), earlier) : null
      },
    }),
    implement('tx_get', async ([hash]) => {
      const h = hash.toLowerCase()
      const pending = mempool.get(h)
      if (pending) return { ...txToJson(pending), height: null, index: null, status: 'pending' }
      const loc = await db.getTx(h)
      if (!loc) return null
      const bytes = await db.getTxBytes(h)
      if (!bytes) return null
      const stx = decodeSignedTx(bytes, undefined, { verify: false })
      return { ...txToJson(stx), height: loc.height, index: loc.index, status: loc.status, ...(loc.error ? { error: loc.error } : {}) }
    }),
    implement('account_get', ([a]) => q.account(parseAddress(a))),
    implement('account_allowance', ([p, o]) => ({ payer: parseAddress(p), operator: parseAddress(o), amount: q.allowance(parseAddress(p), parseAddress(o)) })),
    implement('staking_validators', () => q.validators() as ResultOf<'staking_validators'>),
    implement('staking_delegations', ([a]) => q.delegations(parseAddress(a))),
    implement('datanet_get', ([i]) => withExtras(q.datanet(i.toLowerCase()), (x) => lineage.datanetExtras(x)) as ResultOf<'datanet_get'>),
    implement('datanet_list', ([o]) => {
      const opts = optionsOf(o)
      return q.datanets({ ...opts, owner: opts.owner ? parseAddress(opts.owner) : undefined }) as ResultOf<'datanet_list'>
    }),
    implement('datanet_contributions', ([i, o]) => q.contributions(i.toLowerCase(), optionsOf(o)) as ResultOf<'datanet_contributions'>),
    implement('contribution_get', ([i]) => withExtras(q.contribution(i.toLowerCase()), (x) => lineage.contributionExtras(x)) as ResultOf<'contribution_get'>),
    implement('model_get', ([i]) => withExtras(q.model(i.toLowerCase()), (x) => lineage.modelExtras(x)) as ResultOf<'model_get'>),
    implement('model_lineage', ([i, o]) => lineage.lineage(i.toLowerCase(), optionsOf(o)) as ResultOf<'model_lineage'>),
    implement('model_list', ([o]) => {
      const opts = optionsOf(o)
      return q.models({ ...opts, owner: opts.owner ? parseAddress(opts.owner) : undefined }) as ResultOf<'model_list'>
    }),
    implement('receipt_get', async ([i]) => {
      const r = await db.getReceipt(i.toLowerCase())
      return r ? receiptToJson(r) : null
    }),
    implement('attribution_explain', async ([i]) => {
      const r = await db.getReceipt(i.toLowerCase())
      return r ? (explainJson(r, chain.config.params) as ResultOf<'attribution_explain'>) : null
    }),
    implement('receipt_trace', async ([i, o]) => {
      const opts = optionsOf(o)
      const ids = await db.getTraceReceiptIds(i.toLowerCase(), opts.offset ?? 0, Math.min(opts.limit ?? 100, 1000))
      const out: ReceiptInfo[] = []
      for (const rid of ids) {
        const r = await db.getReceipt(rid)
        if (r) out.push(receiptToJson(r))
      }
      return out
    }),
    implement('attribution_address', ([a]) => q.attribution(parseAddress(a))),
    implement('stats_flow', ([o]) => chain.statsFlow(optionsOf(o))),
    implement('stats_leaders', ([o]) => ({
      contributors: chain.topContributors(o?.limit ?? 10).map((e) => ({ address: e.address, earned: formatAmount(e.earned) })),
    })),
  ]
}
