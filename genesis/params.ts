import { sha256 } from '../core/hash.js'
import { toHex } from '../core/bytes.js'
import { UNITS_PER_OPEN } from '../core/amount.js'
import type { Address } from '../core/address.js'

/** Basis points of every fee, summing to 10 000 (DESIGN §4). */
export interface FeeSplit {
  contributors: number
  modelOwner: number
  operator: number
  validators: number
  treasury: number
}

export const FEE_SPLIT_KEYS = ['contributors', 'modelOwner', 'operator', 'validators', 'treasury'] as const

/**
 * Chain parameters (genesis `params`). Every one is documented with its unit
 * in the README; the names of DESIGN §4 are fixed.
 */
export interface Params {
  /** units; every tx pays at least this, to the block's validator pool */
  minTxFee: bigint
  /** units minted per block, credited to the validators pro rata to power */
  blockReward: bigint
  feeSplit: FeeSplit
  /** address receiving the treasury share, rounding remainders and slashed bonds */
  treasury: Address
  /** receipts per submitReceipts tx */
  maxReceiptsPerTx: number
  /** attribution entries per receipt */
  maxAttribution: number
  /** txs per block */
  maxBlockTxs: number
  /** bytes of txs per block */
  maxBlockBytes: number
  /**
   * inference receipts per block: bounds the work of executing a block, so
   * that validators can check a proposal within the consensus timeouts
   */
  maxBlockReceipts: number
  /** units of self-stake needed by createValidator */
  minValidatorStake: bigint
  /** size of the active set (highest power first) */
  maxValidators: number
  /** blocks an unstake/undelegate waits before the amount is liquid again */
  unbondingBlocks: number
  /** blocks a jailed validator waits before unjail is accepted */
  jailBlocks: number
  /** bps of bonded stake burned for double signing */
  slashDoubleSignBps: number
  /** bps of bonded stake burned for downtime */
  slashDowntimeBps: number
  /** blocks in the downtime sliding window */
  downtimeWindow: number
  /** bps of the window a validator may miss; missing more jails it */
  downtimeMissedBps: number
  /** consensus timeouts in milliseconds: base + delta per round */
  timeoutProposeMs: number
  timeoutProposeDeltaMs: number
  timeoutPrevoteMs: number
  timeoutPrevoteDeltaMs: number
  timeoutPrecommitMs: number
  timeoutPrecommitDeltaMs: number
  /** DESIGN §4.1: parents a derived model may name in registerModel */
  maxModelParents: number
  /** DESIGN §4.1: entries (distinct ancestors) a model's frozen royalty stack may hold */
  maxRoyaltyStack: number
  /** DESIGN §4.1: bps of the owner share a model's royalty stack may take in total */
  maxRoyaltyStackBps: number
  /** DESIGN §4.1: the largest curatorBps a Datanet owner may set */
  maxCuratorBps: number
  /** blocks between rollup checkpoints signed for the L1 (README "Rollup checkpoints"); 0 = none */
  checkpointInterval: number
}

export const DEFAULT_TREASURY: Address = toHex(sha256('attrchain/treasury').subarray(0, 20))

export function defaultParams(): Params {
  return {
    minTxFee: 10n ** 15n, // 0.001 OPEN
    blockReward: UNITS_PER_OPEN, // 1 OPEN
    feeSplit: { contributors: 5000, modelOwner: 2000, operator: 1500, validators: 1000, treasury: 500 },
    treasury: DEFAULT_TREASURY,
    maxReceiptsPerTx: 1000,
    maxAttribution: 64,
    maxBlockTxs: 20_000,
    maxBlockBytes: 8 * 1024 * 1024,
    maxBlockReceipts: 40_000,
    minValidatorStake: 10_000n * UNITS_PER_OPEN,
    maxValidators: 100,
    unbondingBlocks: 100,
    jailBlocks: 50,
    slashDoubleSignBps: 500,
    slashDowntimeBps: 10,
    downtimeWindow: 100,
    downtimeMissedBps: 5000,
    timeoutProposeMs: 1000,
    timeoutProposeDeltaMs: 500,
    timeoutPrevoteMs: 500,
    timeoutPrevoteDeltaMs: 250,
    timeoutPrecommitMs: 500,
    timeoutPrecommitDeltaMs: 250,
    maxModelParents: 4,
    maxRoyaltyStack: 8,
    maxRoyaltyStackBps: 5000,
    maxCuratorBps: 2000,
    checkpointInterval: 100,
  }
}

/** Keys of Params in their canonical (encoding) order. */
export const PARAM_KEYS = Object.keys(defaultParams()) as (keyof Params)[]

/** Params whose values are amounts (bigint units, decimal strings in JSON). */
export const AMOUNT_PARAMS: ReadonlySet<keyof Params> = new Set(['minTxFee', 'blockReward', 'minValidatorStake'])
