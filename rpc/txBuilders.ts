import { AttrchainError } from '../core/errors.js'
import { parseHumanAmount } from '../core/amount.js'
import { toHex, fromHex } from '../core/bytes.js'
import { validateCall, type Hex, type Receipt, type TxCall, type TxType } from '../core/tx.js'
import { parseAddress, type Address } from '../core/address.js'

/**
 * Tx builders, one per type of DESIGN §3, with arguments in body order.
 * Each returns a `TxCall` that `signTx` (or `TxSender.send`) accepts.
 * Amounts are `bigint` units or human strings ("1.5OPEN", "1.5 OPEN", or a
 * decimal string of units); numbers are refused so that money never goes
 * through a float. Every call is statically validated here (the same decoder
 * the node runs), so a bad argument fails in the caller with the field named,
 * not later as an RPC error; addresses and ids come back lowercase.
 */
export type AmountInput = bigint | string
/** 32-byte ids and hashes: `0x`-hex or raw bytes. */
export type BytesInput = Hex | Uint8Array

/** What `TxBuildError` carries (client side, before anything is signed). */
export type TxBuildErrorCode =
  /** an amount that is neither a bigint nor a string such as "1.5OPEN" or "1000" (units) */
  | 'TX_BUILD_ERROR_BAD_AMOUNT'
  /** a receipt that is not an object or array of the expected fields */
  | 'TX_BUILD_ERROR_BAD_RECEIPT'

export class TxBuildError extends AttrchainError<TxBuildErrorCode> {}

export function toUnits(value: AmountInput, field = 'amount'): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'string') return parseHumanAmount(value, field)
  throw new TxBuildError('TX_BUILD_ERROR_BAD_AMOUNT', `${field} must be a bigint or a string such as "1.5OPEN"`, { field })
}

/** Checked here rather than by the encoder so that an error names the argument. */
function hex(v: BytesInput, field: string): Hex {
  return v instanceof Uint8Array ? toHex(fromHex(toHex(v), field, 32)) : toHex(fromHex(v, field, 32))
}

const addr = (v: Address, field: string): Address => parseAddress(v, field)

function built<T extends TxCall>(call: T): T {
  return validateCall(call) as T
}

export const transfer = (to: Address, amount: AmountInput) =>
  built({ type: 'transfer', to: addr(to, 'to'), amount: toUnits(amount) })

export const createValidator = (amount: AmountInput, moniker: string, commissionBps: number) =>
  built({ type: 'createValidator', amount: toUnits(amount), moniker, commissionBps })

export const stake = (amount: AmountInput) => built({ type: 'stake', amount: toUnits(amount) })

export const unstake = (amount: AmountInput) => built({ type: 'unstake', amount: toUnits(amount) })

export const delegate = (validator: Address, amount: AmountInput) =>
  built({ type: 'delegate', validator: addr(validator, 'validator'), amount: toUnits(amount) })

export const undelegate = (validator: Address, amount: AmountInput) =>
  built({ type: 'undelegate', validator: addr(validator, 'validator'), amount: toUnits(amount) })

export const unjail = () => built({ type: 'unjail' })

export const registerDatanet = (name: string, metadataUri: string, contributionBond: AmountInput) =>
  built({ type: 'registerDatanet', name, metadataUri, contributionBond: toUnits(contributionBond, 'contributionBond') })

/** `sourceModelId`: the model that generated the data (a synthetic contribution, DESIGN §4.1); leave it out otherwise. */
export const contribute = (datanetId: BytesInput, dataHash: BytesInput, metadataUri: string, sourceModelId?: BytesInput) =>
  built({
    type: 'contribute', datanetId: hex(datanetId, 'datanetId'), dataHash: hex(dataHash, 'dataHash'), metadataUri,
    ...(sourceModelId === undefined ? {} : { sourceModelId: hex(sourceModelId, 'sourceModelId') }),
  })

/** A rejection carries weight 0; an acceptance needs a weight ≥ 1. */
export const reviewContribution = (contributionId: BytesInput, accept: boolean, weight = 0) =>
  built({ type: 'reviewContribution', contributionId: hex(contributionId, 'contributionId'), accept, weight })

/** `[datanetId, weight]` pairs or `{datanetId, weight}` objects. */
export type WeightedInput = readonly [BytesInput, number] | { datanetId: BytesInput; weight: number }

/** `parents`: the models a derived model was built from (DESIGN §4.1); leave it out (not empty) for a model without parents. */
export const registerModel = (name: string, baseModel: string, datanets: readonly WeightedInput[], minFee: AmountInput, parents?: readonly BytesInput[]) =>
  built({
    type: 'registerModel', name, baseModel, minFee: toUnits(minFee, 'minFee'),
    datanets: datanets.map((d, i) => {
      const [id, weight] = Array.isArray(d) ? d : [(d as { datanetId: BytesInput }).datanetId, (d as { weight: number }).weight]
      return { datanetId: hex(id as BytesInput, `datanets[${i}]`), weight: weight as number }
    }),
    ...(parents === undefined ? {} : { parents: parents.map((p, i) => hex(p, `parents[${i}]`)) }),
  })

/** Model owner only: the royalty (bps of a derived model's owner share) and whether derivatives may be registered, for models derived later (DESIGN §4.1). */
export const setModelTerms = (modelId: BytesInput, derivativeRoyaltyBps: number, allowDerivatives = true) =>
  built({ type: 'setModelTerms', modelId: hex(modelId, 'modelId'), derivativeRoyaltyBps, allowDerivatives })

/** Datanet owner only: the curator's share (bps, ≤ params.maxCuratorBps) of what the Datanet's contributions earn (DESIGN §4.1). */
export const setDatanetTerms = (datanetId: BytesInput, curatorBps: number) =>
  built({ type: 'setDatanetTerms', datanetId: hex(datanetId, 'datanetId'), curatorBps })

export const approveOperator = (operator: Address, amount: AmountInput) =>
  built({ type: 'approveOperator', operator: addr(operator, 'operator'), amount: toUnits(amount) })

export type AttributionInput = readonly [BytesInput, number] | { contributionId: BytesInput; weight: number }

export interface ReceiptInput {
  modelId: BytesInput
  payer: Address
  fee: AmountInput
  inputHash: BytesInput
  outputHash: BytesInput
  /** empty or absent: attribute by the model's declared provenance (DESIGN §4) */
  attribution?: readonly AttributionInput[]
  /** 32 bytes shared by every receipt of one end-user request (DESIGN §4.1); absent when unused */
  traceId?: BytesInput
}

export function receipt(r: ReceiptInput, index = 0): Receipt {
  const f = (name: string) => `receipts[${index}].${name}`
  return {
    modelId: hex(r.modelId, f('modelId')), payer: addr(r.payer, f('payer')), fee: toUnits(r.fee, f('fee')),
    inputHash: hex(r.inputHash, f('inputHash')), outputHash: hex(r.outputHash, f('outputHash')),
    attribution: (r.attribution ?? []).map((a, i) => {
      const [id, weight] = Array.isArray(a) ? a : [(a as { contributionId: BytesInput }).contributionId, (a as { weight: number }).weight]
      return { contributionId: hex(id as BytesInput, f(`attribution[${i}]`)), weight: weight as number }
    }),
    ...(r.traceId === undefined ? {} : { traceId: hex(r.traceId, f('traceId')) }),
  }
}

/** The sender is the operator; the node checks the count against `params.maxReceiptsPerTx`. */
export const submitReceipts = (receipts: readonly ReceiptInput[]) =>
  built({ type: 'submitReceipts', receipts: receipts.map((r, i) => receipt(r, i)) })

export const claim = () => built({ type: 'claim' })

/** Validator only: the Ethereum address (20 bytes) of its secp256k1 checkpoint key; used from the next rollup checkpoint on (README "Rollup checkpoints"). */
export const setCheckpointKey = (ethAddress: BytesInput) =>
  built({ type: 'setCheckpointKey', ethAddress: hexOf(ethAddress, 'ethAddress', 20) })

/** Checkpoint signer only: its EIP-712 signature (r ‖ s ‖ v, 65 bytes) of the checkpoint at `height`; validator nodes send it themselves. */
export const signCheckpoint = (height: number, signature: BytesInput) =>
  built({ type: 'signCheckpoint', height, signature: hexOf(signature, 'signature', 65) })

function hexOf(v: BytesInput, field: string, len: number): Hex {
  return toHex(fromHex(v instanceof Uint8Array ? toHex(v) : v, field, len))
}

/** The builders by tx type, for code that dispatches on a type name (the CLI). */
export const txBuilders = {
  transfer, createValidator, stake, unstake, delegate, undelegate, unjail, registerDatanet, contribute,
  reviewContribution, registerModel, approveOperator, submitReceipts, claim, setModelTerms, setDatanetTerms,
  setCheckpointKey, signCheckpoint,
} as const satisfies Record<TxType, (...args: never[]) => TxCall>

/**
 * Receipts from JSON (a file or inline on the command line): one receipt or
 * an array of them, each an object `{modelId, payer, fee, inputHash,
 * outputHash, attribution?}` or an array in body order `[modelId, payer,
 * fee, inputHash, outputHash, [[contributionId, weight]…]]`. Fees are
 * strings ("1.5OPEN" or units).
 */
export function receiptsFromJson(value: unknown): ReceiptInput[] {
  const list = Array.isArray(value) && (value.length === 0 || typeof value[0] === 'object') ? value : [value]
  return list.map((item, i) => {
    if (Array.isArray(item)) {
      const [modelId, payer, fee, inputHash, outputHash, attribution, traceId] = item as unknown[]
      return checkedReceipt({ modelId, payer, fee, inputHash, outputHash, attribution, traceId }, i)
    }
    if (typeof item === 'object' && item !== null) return checkedReceipt(item as Record<string, unknown>, i)
    throw new TxBuildError('TX_BUILD_ERROR_BAD_RECEIPT', `receipt ${i} must be an object or an array`, { index: i })
  })
}

function checkedReceipt(r: Record<string, unknown>, i: number): ReceiptInput {
  for (const key of ['modelId', 'payer', 'fee', 'inputHash', 'outputHash'] as const) {
    if (typeof r[key] !== 'string') throw new TxBuildError('TX_BUILD_ERROR_BAD_RECEIPT', `receipt ${i}: ${key} must be a string`, { index: i, field: key })
  }
  const attribution = r.attribution ?? []
  if (!Array.isArray(attribution)) throw new TxBuildError('TX_BUILD_ERROR_BAD_RECEIPT', `receipt ${i}: attribution must be an array`, { index: i, field: 'attribution' })
  return {
    modelId: r.modelId as string, payer: r.payer as string, fee: r.fee as string, inputHash: r.inputHash as string, outputHash: r.outputHash as string,
    attribution: attribution as AttributionInput[],
    ...(typeof r.traceId === 'string' ? { traceId: r.traceId } : {}),
  }
}
