import { TX_TYPES } from '../core/tx.js'
import { MAX_LINEAGE_CHILDREN } from '../state/explain.js'
import { PROOF_KINDS } from '../state/proofSpec.js'
import type { RawJson } from './errors.js'
import { commonSchemas, type CallContext, type JsonSchema, type MethodExample, type MethodSpec, type ParamSpec } from './methodTable.js'
import {
  arrayOf, mapOf, nullable, optionalParam, options, param, record, recordWithOptional, type FromSchema, type ParamsFromSpecs,
} from './schemaTypes.js'

/**
 * The chain's JSON-RPC API (DESIGN §6.1), declared once: every method's
 * summary, positional params and result as JSON Schema, and examples. The
 * node's handlers (`node/rpcMethods.ts`) are typed from it, the client's
 * `call` returns its result types (`rpc/wire.ts` names them), and
 * `rpc.discover` publishes it as OpenRPC. A method is added here first; see
 * the README's "Where a new RPC method goes".
 *
 * Amounts are canonical decimal strings of units, ids and addresses
 * `0x`-hex, heights integers. An unknown id answers `null`.
 *
 * Longer than ~400 lines on purpose: the whole API is one table, and it
 * grows by one entry per method; splitting it would scatter the contract.
 */

const { address, hash, hex, amount, height, heightOrLatest } = commonSchemas
const count = { type: 'integer', minimum: 0 } as const
const bps = { type: 'integer', minimum: 0, maximum: 10_000, description: 'basis points' } as const
const text = { type: 'string' } as const
/** A non-negative integer too large for a JSON number, as a decimal string (not an amount: the CLI does not show it in OPEN). */
const decimal = { type: 'string', pattern: '^(0|[1-9][0-9]*)$', maxLength: 78, description: 'decimal integer' } as const
const bool = { type: 'boolean' } as const
/** A 20-byte address or, for pool credits (`datanetPool`), a 32-byte id; null for the block's validator pool. */
const payee = nullable({ oneOf: [address, hash], description: 'address, or a Datanet id for datanetPool' })
const pageOptions = { offset: count, limit: { type: 'integer', minimum: 1, maximum: 1000 } } as const

// ---- result schemas shared by several methods

const feeSplit = record({ contributors: bps, modelOwner: bps, operator: bps, validators: bps, treasury: bps }, 'basis points of every fee, summing to 10 000')

/** Every chain parameter (genesis `params`), amounts as decimal strings, timeouts in ms. */
const chainParams = record({
  minTxFee: amount, blockReward: amount, feeSplit, treasury: address, maxReceiptsPerTx: count, maxAttribution: count, maxBlockTxs: count,
  maxBlockBytes: count, maxBlockReceipts: count, minValidatorStake: amount, maxValidators: count, unbondingBlocks: count, jailBlocks: count,
  slashDoubleSignBps: bps, slashDowntimeBps: bps, downtimeWindow: count, downtimeMissedBps: bps,
  timeoutProposeMs: count, timeoutProposeDeltaMs: count, timeoutPrevoteMs: count, timeoutPrevoteDeltaMs: count, timeoutPrecommitMs: count,
  timeoutPrecommitDeltaMs: count, maxModelParents: count, maxRoyaltyStack: count, maxRoyaltyStackBps: bps, maxCuratorBps: bps,
  checkpointInterval: { type: 'integer', minimum: 0, description: 'blocks between rollup checkpoints; 0 = none' },
})

const header = record({
  chainId: text, height, timeMs: count, prevHash: hash, txRoot: hash, stateRoot: hash, validatorsHash: hash, proposer: address, lastCommitHash: hash,
})

const commit = record({
  height, round: count, blockHash: hash, signatures: arrayOf(record({ validator: address, signature: hex })),
})

/** A validator set as stored and hashed by the chain (validatorsHash); light clients hash it (rpc/lightClient.ts). */
const validatorSet = record({
  height, hash, totalPower: amount, proposer: nullable(address),
  validators: arrayOf(record({ address, pubKey: hash, power: amount, priority: { type: 'string', pattern: '^(0|-?[1-9][0-9]*)$', description: 'proposer priority, signed decimal' } })),
})

/** A tx as full blocks and tx_get show it; `body` holds the call's fields by name (DESIGN §3). */
const txInfo = record({
  hash, type: { type: 'string', enum: TX_TYPES }, sender: address, nonce: count, fee: amount, body: { type: 'object', description: 'the call\'s fields' },
})

const block = record({
  hash,
  header,
  txs: arrayOf({ oneOf: [hash, txInfo] }, 'tx hashes, or txs with options.full'),
  lastCommit: nullable(commit),
  evidence: { type: 'integer', minimum: 0, description: 'number of evidence items' },
})

const distributionRole = {
  type: 'string',
  enum: ['contributor', 'datanetPool', 'modelOwner', 'operator', 'validator', 'delegatorPool', 'treasury', 'royalty', 'curator'],
} as const

const distribution = record({
  height, minted: amount, entries: arrayOf(record({ address: { oneOf: [address, hash] }, role: distributionRole, amount })),
})

const txError = record({ code: text, message: text })

const txStatus = { type: 'string', enum: ['ok', 'failed'] } as const

const account = record({ address, balance: amount, nonce: count, staked: amount, unbonding: amount, pendingRewards: amount })

const validator = record({
  address, pubKey: hex, moniker: text, selfStake: amount, delegated: amount, power: amount, commissionBps: bps, jailed: bool, jailedUntil: count, missed: count,
})

const datanetFields = {
  id: hash, owner: address, name: text, metadataUri: text, contributionBond: amount, contributions: count, accepted: count, totalWeight: decimal, earned: amount,
} as const
const datanet = record(datanetFields)
/** datanet_get adds the curation terms and total (DESIGN §4.1). */
const datanetDetail = record({ ...datanetFields, curatorBps: bps, curationEarned: amount })

const contributionStatus = { type: 'string', enum: ['pending', 'accepted', 'rejected'] } as const
const contributionFields = {
  id: hash, datanetId: hash, contributor: address, dataHash: hash, metadataUri: text, status: contributionStatus, weight: count, bond: amount,
  receipts: count, weightSharePpm: count, earned: amount, unclaimed: amount,
} as const
const contribution = record(contributionFields)
/** contribution_get adds its synthetic source and what curation and the synthetic royalty took (DESIGN §4.1). */
const contributionDetail = record({ ...contributionFields, sourceModelId: nullable(hash), synthBps: bps, curationPaid: amount, syntheticPaid: amount })

const royaltyStack = arrayOf(record({ modelId: hash, royaltyBps: bps }), 'frozen royalty stack, ascending id')
const modelFields = {
  id: hash, owner: address, name: text, baseModel: text, datanets: arrayOf(record({ datanetId: hash, weight: count })), minFee: amount,
  receipts: count, feesTotal: amount,
} as const
const model = record(modelFields)
/** model_get adds its lineage terms, parents, stack and royalty totals (DESIGN §4.1). */
const modelDetail = record({
  ...modelFields, derivativeRoyaltyBps: bps, allowDerivatives: bool, parents: arrayOf(hash), stack: royaltyStack, royaltiesEarned: amount, royaltiesPaid: amount,
})

const receipt = record({
  id: hash, txHash: hash, height, index: count, operator: address, modelId: hash, payer: address, fee: amount, inputHash: hash, outputHash: hash,
  attribution: arrayOf(record({ contributionId: hash, weight: count })),
  traceId: nullable(hash),
  payouts: arrayOf(record({
    address: payee,
    role: { type: 'string', enum: ['contributor', 'datanetPool', 'modelOwner', 'operator', 'validators', 'treasury', 'royalty', 'curator'] },
    amount,
  })),
})

const explainedFlow = record({
  address: payee,
  role: text,
  amount,
  rule: { type: 'string', enum: ['split', 'attributionWeight', 'pool', 'royalty', 'curation', 'synthetic', 'rounding'] },
  via: nullable(hash),
})

const number = { type: 'number' } as const
const flowWindow = record({
  fromHeight: height, toHeight: height, startTimeMs: count, endTimeMs: count, seconds: number, blocks: count, txs: count, failedTxs: count,
  receipts: count, receiptsPerSecond: number, receiptFees: amount, feesPerSecond: amount, txFees: amount, minted: amount, distributed: amount,
  datanets: count, contributions: count, accepted: count, rejected: count, models: count,
  byRole: mapOf(record({ amount, payees: count }), 'by distribution role'),
  contributorPayments: count,
  contributors: record({ count, earned: amount, newEarners: count, gini: number, top10Share: number, bottom50Share: number }),
})

const ZERO_ADDRESS = '0x' + '00'.repeat(20)
const A_HASH = '0x' + 'ab'.repeat(32)

/** One declared method: everything but the handler (DESIGN §6). */
export interface MethodDeclaration {
  summary: string
  description?: string
  params: readonly ParamSpec[]
  result: JsonSchema
  examples?: readonly MethodExample[]
}

/** README "Rollup checkpoints": a member of a checkpoint set (power in units). */
const checkpointSigner = record({ validator: address, ethAddress: address, power: amount })

const checkpoint = record({
  chainId: text, height, blockHash: hash, stateRoot: hash, validatorSetHash: hash,
  digest: { ...hash, description: 'the EIP-712 digest the signers sign' },
  signers: arrayOf(checkpointSigner, 'the set that signs this checkpoint, by ascending ethAddress'),
  signerSetHash: hash,
  next: arrayOf(checkpointSigner, 'the set named by validatorSetHash, which signs the next checkpoint'),
  signatures: arrayOf(record({ index: count, validator: address, ethAddress: address, signature: hex }), 'r ‖ s ‖ v, by signer index'),
  signedPower: amount, totalPower: amount, quorum: { ...bool, description: 'signedPower · 3 > totalPower · 2: the L1 contract accepts it' },
})

export const chainApi = {
  chain_status: {
    summary: 'Chain id, genesis hash, head and this node\'s role',
    params: [],
    result: record({
      chainId: text, genesisHash: hash, height, blockHash: hash, stateRoot: hash, timeMs: count, peers: count, syncing: bool, validator: nullable(address),
    }),
    examples: [{
      name: 'a validator at height 12',
      params: [],
      result: {
        chainId: 'attrchain-devnet', genesisHash: A_HASH, height: 12, blockHash: A_HASH, stateRoot: A_HASH, timeMs: 1_767_225_600_000, peers: 3, syncing: false,
        validator: ZERO_ADDRESS,
      },
    }],
  },
  chain_params: {
    summary: 'The chain parameters (amounts in units as decimal strings)',
    params: [],
    result: chainParams,
  },
  chain_getBlock: {
    summary: 'A block by height, with tx hashes or full txs',
    params: [param('height', heightOrLatest), optionalParam('options', options({ full: bool }))],
    result: nullable(block),
    examples: [{ name: 'beyond the head', params: [1_000_000], result: null }],
  },
  chain_getCommit: {
    summary: 'The commit certificate (precommits) that committed a height',
    params: [param('height', heightOrLatest)],
    result: nullable(commit),
  },
  chain_getValidatorSet: {
    summary: 'The validator set that commits a height, as stored and hashed by the chain',
    description: 'hash is the header\'s validatorsHash: sha256(msgpack([[address(20 B), pubKey(32 B), power as decimal string]…])) over the validators by address '
      + '(priorities are not hashed). Known from height 1 to head + 2 (stake changes of block H take effect at H + 2); null otherwise.',
    params: [param('height', heightOrLatest)],
    result: nullable(validatorSet),
  },
  chain_getDistribution: {
    summary: 'The fee distribution of a block: every (address, role) credited and the minted reward',
    params: [param('height', heightOrLatest)],
    result: nullable(distribution),
  },
  tx_send: {
    summary: 'Submit a signed tx (0x-hex of its canonical bytes); optionally wait until it is committed',
    description: 'With wait "commit" the answer adds the height and status of the block that included the tx (a failed body still paid its fee, DESIGN §3).',
    params: [param('rawTx', hex), optionalParam('options', options({ wait: { type: 'string', enum: ['none', 'commit'] } }))],
    result: recordWithOptional({ hash, height, status: txStatus, error: txError }, ['height', 'status', 'error']),
    examples: [{ name: 'committed', params: ['0x00', { wait: 'commit' }], result: { hash: A_HASH, height: 7, status: 'ok' } }],
  },
  tx_get: {
    summary: 'A tx by hash with its inclusion and status ("pending" while in the mempool)',
    params: [param('hash', hash)],
    result: nullable(recordWithOptional({
      ...txInfo.properties, height: nullable(height), index: nullable(count), status: { type: 'string', enum: ['ok', 'failed', 'pending'] }, error: txError,
    }, ['error'])),
    examples: [{ name: 'unknown hash', params: [A_HASH], result: null }],
  },
  account_get: {
    summary: 'Balance, nonce, stake, unbonding and claimable rewards of an address',
    params: [param('address', address)],
    result: account,
    examples: [{
      name: 'an empty account', params: [ZERO_ADDRESS],
      result: { address: ZERO_ADDRESS, balance: '0', nonce: 0, staked: '0', unbonding: '0', pendingRewards: '0' },
    }],
  },
  account_allowance: {
    summary: 'What an operator may still charge a payer for inference',
    params: [param('payer', address), param('operator', address)],
    result: record({ payer: address, operator: address, amount }),
  },
  staking_validators: {
    summary: 'Every validator with stake, power, commission and jail status',
    params: [],
    result: arrayOf(validator),
  },
  staking_delegations: {
    summary: 'The delegations of an address',
    params: [param('address', address)],
    result: arrayOf(record({ validator: address, amount })),
  },
  datanet_get: {
    summary: 'A Datanet by id, with its curator share and curation total',
    params: [param('id', hash)],
    result: nullable(datanetDetail),
  },
  datanet_list: {
    summary: 'Datanets in creation order, optionally by owner',
    params: [optionalParam('options', options({ ...pageOptions, owner: address }))],
    result: arrayOf(datanet),
  },
  datanet_contributions: {
    summary: 'Contributions of a Datanet in submission order, optionally by status',
    params: [param('datanetId', hash), optionalParam('options', options({ ...pageOptions, status: contributionStatus }))],
    result: nullable(arrayOf(contribution)),
  },
  contribution_get: {
    summary: 'A contribution by id, with its receipts and earnings, its synthetic source and what curation and the synthetic royalty took',
    params: [param('id', hash)],
    result: nullable(contributionDetail),
  },
  model_get: {
    summary: 'A model by id, with provenance, receipts, fees, terms, parents, frozen royalty stack and royalty totals',
    params: [param('id', hash)],
    result: nullable(modelDetail),
  },
  model_lineage: {
    summary: 'A model\'s parents, frozen royalty stack [{modelId, royaltyBps}] and children (paged), DESIGN §4.1',
    params: [param('modelId', hash), optionalParam('options', options({ offset: count, limit: { type: 'integer', minimum: 1, maximum: MAX_LINEAGE_CHILDREN } }))],
    result: nullable(record({
      modelId: hash, derivativeRoyaltyBps: bps, allowDerivatives: bool, parents: arrayOf(hash), stack: royaltyStack,
      children: arrayOf(hash, 'the requested page, in registration order'), childCount: count,
    })),
  },
  model_list: {
    summary: 'Models in registration order, optionally by owner',
    params: [optionalParam('options', options({ ...pageOptions, owner: address }))],
    result: arrayOf(model),
  },
  receipt_get: {
    summary: 'An inference receipt by id with the payout of every unit of its fee',
    params: [param('receiptId', hash)],
    result: nullable(receipt),
  },
  attribution_explain: {
    summary: 'Every flow of a receipt\'s fee {address, role, amount, rule, via}, summing to the fee exactly (DESIGN §4.1)',
    params: [param('receiptId', hash)],
    result: nullable(record({ receiptId: hash, fee: amount, modelId: hash, traceId: nullable(hash), flows: arrayOf(explainedFlow) })),
  },
  receipt_trace: {
    summary: 'The receipts carrying a traceId, in chain order (height, tx, index), paged (DESIGN §4.1)',
    params: [param('traceId', hash), optionalParam('options', options(pageOptions))],
    result: arrayOf(receipt),
    examples: [{ name: 'unknown trace', params: [A_HASH], result: [] }],
  },
  attribution_address: {
    summary: 'What an address has earned, by role',
    params: [param('address', address)],
    result: record({ address, earned: mapOf(amount, 'by role'), total: amount }),
    examples: [{ name: 'nothing earned', params: [ZERO_ADDRESS], result: { address: ZERO_ADDRESS, earned: {}, total: '0' } }],
  },
  stats_flow: {
    summary: 'Flow statistics: receipts, fees and payees per role as a time series over a height window, with the window summary and the concentration of contributor earnings',
    description: 'Options {fromHeight?, toHeight?, buckets?} (heights inclusive; default the last 100 blocks, toHeight capped at the head; buckets 1 … 1000, default min(50, blocks)). '
      + 'Result {head, fromHeight, toHeight, series: [window…], summary: window}; a window has heights, times (ms) and seconds, txs, failedTxs, receipts, receiptsPerSecond, '
      + 'receiptFees, feesPerSecond (units/s), txFees, minted, distributed, byRole {role: {amount, payees}}, datanets, contributions, accepted, rejected, models, contributorPayments, '
      + 'and contributors {count, earned, newEarners, gini, top10Share, bottom50Share} at its end. Reads buckets + 1 stored per-block records (node/flowStats.ts).',
    params: [optionalParam('options', options({ fromHeight: count, toHeight: count, buckets: { type: 'integer', minimum: 1, maximum: 1000 } }))],
    result: record({ head: height, fromHeight: height, toHeight: height, series: arrayOf(flowWindow), summary: flowWindow }),
  },
  stats_leaders: {
    summary: 'The contributors with the largest earnings since genesis (attribution ledger, role contributor), largest first: {contributors: [{address, earned}]}',
    params: [optionalParam('options', options({ limit: { type: 'integer', minimum: 1, maximum: 1000 } }))],
    result: record({ contributors: arrayOf(record({ address, earned: amount })) }),
    examples: [{ name: 'no earnings yet', params: [{ limit: 3 }], result: { contributors: [] } }],
  },
  rollup_getCheckpoint: {
    summary: 'A rollup checkpoint with its signatures and their power (README "Rollup checkpoints"); without a height, the latest recorded one',
    description: 'Checkpoint H is recorded by block H + 1 for every H that is a positive multiple of params.checkpointInterval; null when there is none.',
    params: [optionalParam('height', height)],
    result: nullable(checkpoint),
  },
  rollup_getCheckpointSet: {
    summary: 'The checkpoint set that signs the next checkpoint, its validatorSetHash and the height of the last recorded checkpoint (0: none): what `attrchain rollup deploy` installs',
    params: [],
    result: record({ afterHeight: count, interval: count, validatorSetHash: hash, totalPower: amount, members: arrayOf(checkpointSigner) }),
  },
  state_getProof: {
    summary: 'A state entry with its Merkle proof against the stateRoot of a block, and that block\'s header and commit (README "State root")',
    description: 'spec {kind, id}: kind account | validator | ledger (attribution totals of an address, by role) (id: address), datanet | datanetTerms (id: Datanet id), '
      + 'contribution | contributionTotals (id: contribution id), model | modelLineage (id: model id). height: 1 … head, default the head. '
      + 'The result proves the entry present (value, rawValue) or absent (both null) under header.stateRoot: verify with verifyStateProof(stateRoot, key, proof) '
      + '(core/stateProof.ts) after checking the header against its commit. Errors: unknown kind or bad id (invalid params), a height above the head (invalid params), '
      + 'a pruned block (DB_ERROR_PRUNED).',
    params: [
      param('spec', record({ kind: { type: 'string', enum: PROOF_KINDS }, id: text })),
      optionalParam('height', { type: 'integer', minimum: 1, description: 'block height; default the head' }),
    ],
    result: record({
      kind: { type: 'string', enum: PROOF_KINDS }, id: text, key: { type: 'string', description: 'the state key (state/keys.ts)' }, height, stateRoot: hash,
      value: nullable({ type: 'object', description: 'the record decoded; null when absent' }), rawValue: nullable(hex),
      proof: arrayOf(hex, '[terminal node, sibling hashes from the deepest up] (core/stateProof.ts)'), header, commit: nullable(commit),
    }),
    examples: [{
      name: 'an absent account',
      params: [{ kind: 'account', id: '0x' + '00'.repeat(20) }, 1],
      result: {
        kind: 'account', id: '0x' + '00'.repeat(20), key: 'acct/0x' + '00'.repeat(20), height: 1, stateRoot: A_HASH, value: null, rawValue: null, proof: ['0x01' + 'ab'.repeat(64), '0x' + 'ab'.repeat(32)],
        header: {
          chainId: 'attrchain-devnet', height: 1, timeMs: 1_767_225_600_000, prevHash: '0x' + '00'.repeat(32), txRoot: A_HASH, stateRoot: A_HASH, validatorsHash: A_HASH,
          proposer: '0x' + '11'.repeat(20), lastCommitHash: A_HASH,
        },
        commit: { height: 1, round: 0, blockHash: A_HASH, signatures: [{ validator: '0x' + '11'.repeat(20), signature: '0x' + 'cd'.repeat(64) }] },
      },
    }],
  },
} as const satisfies Record<string, MethodDeclaration>

export type ChainApi = typeof chainApi
/** The name of a method declared in `chainApi`. */
export type ChainMethod = keyof ChainApi
/** A method's positional params: required first, optional ones may be left out. */
export type ParamsOf<M extends ChainMethod> = ParamsFromSpecs<ChainApi[M]['params']>
/** What a method answers with, as the wire carries it. */
export type ResultOf<M extends ChainMethod> = FromSchema<ChainApi[M]['result']>

/** The schemas of chainApi by name, for tools that want them by the objects' names (wire types, CLI rendering). */
export const wireSchemas = {
  chainParams, header, commit, txInfo, block, distribution, account, validator, datanet, datanetDetail, contribution, contributionDetail, model, modelDetail,
  receipt, explainedFlow, flowWindow,
} as const

/**
 * Names of the properties that hold amounts (`commonSchemas.amount`)
 * anywhere in the results of `chainApi`: the CLI shows them in OPEN.
 */
export function amountFields(): Set<string> {
  const out = new Set<string>()
  const walk = (s: JsonSchema): void => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      if (v === amount) out.add(k)
      walk(v)
    }
    if (s.items) walk(s.items)
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties)
    for (const b of s.oneOf ?? []) walk(b)
  }
  for (const m of Object.values(chainApi) as MethodDeclaration[]) walk(m.result)
  return out
}

/** The handler of a declared method: params and result typed from its declaration; may answer with pre-serialized `RawJson`. */
export type MethodHandler<M extends ChainMethod> = (
  params: ParamsOf<M>,
  ctx: CallContext,
) => ResultOf<M> | RawJson | Promise<ResultOf<M> | RawJson>

/**
 * The runtime spec of a declared method: its declaration plus `handler`
 * (and, for tx_send, a load-shedding hook: MethodSpec.shed).
 * The table validates the params against the declared schemas before the
 * handler runs, which is what makes the params' type true.
 */
export function implement<M extends ChainMethod>(name: M, handler: MethodHandler<M>, opts: Pick<MethodSpec, 'shed'> = {}): MethodSpec {
  const declaration: MethodDeclaration = chainApi[name]
  return { name, ...declaration, handler: (params, ctx) => handler(params as ParamsOf<M>, ctx), ...opts }
}
