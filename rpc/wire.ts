import { parseAmount } from '../core/amount.js'
import type { Hex } from '../core/tx.js'
import type { ParamsOf, ResultOf } from './api.js'
import type { FromSchema } from './schemaTypes.js'
import type { wireSchemas } from './api.js'

/**
 * Names for the objects the chain's RPC methods carry. None is written by
 * hand: each is the type of a result schema in `rpc/api.ts`, so the client,
 * the node's handlers and `rpc.discover` cannot drift apart. Amounts are
 * canonical decimal strings of units (`units()` turns one into a bigint, `accountAmounts()` a
 * whole account); ids and addresses `0x`-hex; heights numbers.
 */

/** An amount as the wire carries it: a canonical decimal string of units. */
export type AmountString = string

/** A wire amount as bigint units. */
export function units(value: AmountString, field = 'amount'): bigint {
  return parseAmount(value, field)
}

type Schemas = typeof wireSchemas

export type ChainStatus = ResultOf<'chain_status'>
export type ChainParams = FromSchema<Schemas['chainParams']>
export type FeeSplit = ChainParams['feeSplit']
/** The block header (the chain's `Header` of state/block.ts), ids as 0x-hex. */
export type BlockHeader = FromSchema<Schemas['header']>
export type CommitInfo = FromSchema<Schemas['commit']>
export type CommitSignature = CommitInfo['signatures'][number]
/** chain_getValidatorSet: the set that commits a height, hash = its validatorsHash. */
export type ValidatorSetInfo = NonNullable<ResultOf<'chain_getValidatorSet'>>
/** A tx as blocks (full) and tx_get show it; `body` holds the call's fields by name. */
export type TxInfo = FromSchema<Schemas['txInfo']>

/** A block with tx hashes (`T` = Hex) or full txs (`T` = TxInfo). */
export type BlockInfo<T = Hex> = Omit<FromSchema<Schemas['block']>, 'txs'> & { txs: T[] }

export type DistributionInfo = FromSchema<Schemas['distribution']>
export type DistributionEntry = DistributionInfo['entries'][number]
export type DistributionRole = DistributionEntry['role']

export type WaitMode = NonNullable<NonNullable<ParamsOf<'tx_send'>[1]>['wait']>
export type TxSendResult = ResultOf<'tx_send'>
export type TxErrorInfo = NonNullable<TxSendResult['error']>
export type TxRecord = NonNullable<ResultOf<'tx_get'>>

export type AccountInfo = ResultOf<'account_get'>
export type AllowanceInfo = ResultOf<'account_allowance'>
export type ValidatorInfo = FromSchema<Schemas['validator']>
export type DelegationInfo = ResultOf<'staking_delegations'>[number]

/** A Datanet as `datanet_list` shows it. */
export type DatanetInfo = FromSchema<Schemas['datanet']>
/** A Datanet as `datanet_get` shows it: with its curation terms and total. */
export type DatanetDetail = FromSchema<Schemas['datanetDetail']>
export type ContributionStatus = ContributionInfo['status']
/** A contribution as `datanet_contributions` shows it. */
export type ContributionInfo = FromSchema<Schemas['contribution']>
/** A contribution as `contribution_get` shows it: with synthetic source and what curation and royalties took. */
export type ContributionDetail = FromSchema<Schemas['contributionDetail']>
/** A model as `model_list` shows it. */
export type ModelInfo = FromSchema<Schemas['model']>
/** A model as `model_get` shows it: with lineage terms, parents, stack and royalty totals. */
export type ModelDetail = FromSchema<Schemas['modelDetail']>

export type ReceiptInfo = FromSchema<Schemas['receipt']>
export type ReceiptPayout = ReceiptInfo['payouts'][number]
/** One flow of a receipt's fee (DESIGN §4.1 `attribution_explain`). */
export type ExplainedFlow = FromSchema<Schemas['explainedFlow']>
/** `attribution_explain [receiptId]`: every flow of the fee; the amounts sum to `fee` exactly. */
export type AttributionExplainInfo = NonNullable<ResultOf<'attribution_explain'>>
/** `model_lineage [modelId, {offset?, limit?}]`: terms, parents, frozen royalty stack (ascending id) and a page of children. */
export type ModelLineageInfo = NonNullable<ResultOf<'model_lineage'>>
export type AttributionInfo = ResultOf<'attribution_address'>
export type FlowStatsInfo = ResultOf<'stats_flow'>
export type FlowWindowInfo = FromSchema<Schemas['flowWindow']>
export type LeadersInfo = ResultOf<'stats_leaders'>

export type PageOptions = NonNullable<ParamsOf<'receipt_trace'>[1]>
export type ListOptions = NonNullable<ParamsOf<'datanet_list'>[0]>
export type ContributionListOptions = NonNullable<ParamsOf<'datanet_contributions'>[1]>

export type SubscriptionTopic = 'newBlocks' | 'distributions'

export interface TopicResult {
  newBlocks: BlockInfo
  distributions: DistributionInfo
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
