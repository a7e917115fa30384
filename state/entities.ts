import { encode, decode, type Encodable } from '../core/codec.js'
import { fromHex, toHex } from '../core/bytes.js'
import type { Address } from '../core/address.js'
import type { Hex } from '../core/tx.js'

/**
 * State entities and their canonical encodings. Each entity is stored as a
 * msgpack array in the field order declared here; amounts and accumulators as
 * decimal strings, ids and addresses as bin. The declaration order is part of
 * the state root, so fields are only ever appended.
 */
type Kind = 'uint' | 'big' | 'str' | 'hex' | 'bool' | Codec<any> | { list: Kind }

export interface Codec<T> {
  encode(v: T): Encodable
  decode(e: Encodable): T
}

function enc(kind: Kind, v: unknown): Encodable {
  if (kind === 'uint' || kind === 'str' || kind === 'bool') return v as Encodable
  if (kind === 'big') return (v as bigint).toString()
  if (kind === 'hex') return fromHex(v as string)
  if ('list' in kind) return (v as unknown[]).map((x) => enc(kind.list, x))
  return kind.encode(v)
}

function dec(kind: Kind, e: Encodable): unknown {
  if (kind === 'uint' || kind === 'str' || kind === 'bool') return e
  if (kind === 'big') return BigInt(e as string)
  if (kind === 'hex') return toHex(e as Uint8Array)
  if ('list' in kind) return (e as Encodable[]).map((x) => dec(kind.list, x))
  return kind.decode(e)
}

export function record<T>(fields: { [K in keyof T]: Kind }): Codec<T> {
  const entries = Object.entries(fields) as [string, Kind][]
  return {
    encode: (v) => entries.map(([name, kind]) => enc(kind, (v as Record<string, unknown>)[name])),
    decode: (e) => {
      const arr = e as Encodable[]
      const out: Record<string, unknown> = {}
      entries.forEach(([name, kind], i) => { out[name] = dec(kind, arr[i]) })
      return out as T
    },
  }
}

export function toBytes<T>(codec: Codec<T>, v: T): Uint8Array {
  return encode(codec.encode(v))
}

export function fromBytes<T>(codec: Codec<T>, b: Uint8Array): T {
  return codec.decode(decode(b))
}

// ---------------------------------------------------------------- entities

export interface Account { balance: bigint; nonce: number }
export const AccountCodec = record<Account>({ balance: 'big', nonce: 'uint' })

export interface Allowance { amount: bigint }
export const AllowanceCodec = record<Allowance>({ amount: 'big' })

/**
 * A reward pool (DESIGN §4): reward-per-share accumulator scaled by
 * POOL_SCALE. `balance` is what the pool holds for its members (credited,
 * minus claimed): it counts in total supply.
 */
export interface Pool { totalShares: bigint; accPerShare: bigint; balance: bigint }
export const PoolCodec = record<Pool>({ totalShares: 'big', accPerShare: 'big', balance: 'big' })

export interface Validator {
  address: Address
  pubKey: Hex
  moniker: string
  commissionBps: number
  selfStake: bigint
  /** delegated tokens; delegations own `pool.totalShares` shares of them */
  delegated: bigint
  jailed: boolean
  jailedUntil: number
  /** delegator reward pool; shares = delegation shares */
  pool: Pool
}
export const ValidatorCodec = record<Validator>({
  address: 'hex', pubKey: 'hex', moniker: 'str', commissionBps: 'uint', selfStake: 'big', delegated: 'big',
  jailed: 'bool', jailedUntil: 'uint', pool: PoolCodec,
})

export interface AddressList { items: string[] }
export const AddressListCodec = record<AddressList>({ items: { list: 'hex' } })

export interface ValidatorSetMember { address: Address; pubKey: Hex; power: bigint }
export interface ValidatorSetRecord { members: ValidatorSetMember[] }
export const ValidatorSetCodec = record<ValidatorSetRecord>({
  members: { list: record<ValidatorSetMember>({ address: 'hex', pubKey: 'hex', power: 'big' }) },
})

export interface Delegation { shares: bigint; rewardDebt: bigint }
export const DelegationCodec = record<Delegation>({ shares: 'big', rewardDebt: 'big' })

/**
 * Stake on its way out. `amount` is what is left of `initialAmount` after
 * slashes; `validator`, `creationHeight` and `fromDelegation` say which bonded
 * stake it was, so that evidence of an infraction it was bonded for slashes
 * it too (Cosmos SDK x/staking: unbonding delegations started after the
 * infraction are slashed).
 */
export interface UnbondingEntry {
  amount: bigint
  releaseHeight: number
  validator: Address
  creationHeight: number
  /** true: from `undelegate`; false: the validator's own `unstake` */
  fromDelegation: boolean
  initialAmount: bigint
}
export interface Unbonding { entries: UnbondingEntry[] }
export const UnbondingCodec = record<Unbonding>({
  entries: {
    list: record<UnbondingEntry>({
      amount: 'big', releaseHeight: 'uint', validator: 'hex', creationHeight: 'uint', fromDelegation: 'bool', initialAmount: 'big',
    }),
  },
})

/**
 * The bonded stake, split in self-stake and delegated stake, of every member
 * of the validator set of one height: what a slash for an infraction at that
 * height is a fraction of. Kept for the evidence window only.
 */
export interface StakeSnapshotMember { address: Address; selfStake: bigint; delegated: bigint }
export interface StakeSnapshot { members: StakeSnapshotMember[] }
export const StakeSnapshotCodec = record<StakeSnapshot>({
  members: { list: record<StakeSnapshotMember>({ address: 'hex', selfStake: 'big', delegated: 'big' }) },
})

export interface Datanet {
  id: Hex
  owner: Address
  name: string
  metadataUri: string
  contributionBond: bigint
  contributions: number
  accepted: number
  /** earned by the Datanet's contributions: direct attribution + pool credits */
  earned: bigint
  pool: Pool
  seq: number
}
export const DatanetCodec = record<Datanet>({
  id: 'hex', owner: 'hex', name: 'str', metadataUri: 'str', contributionBond: 'big', contributions: 'uint', accepted: 'uint',
  earned: 'big', pool: PoolCodec, seq: 'uint',
})

export type ContributionStatus = 'pending' | 'accepted' | 'rejected'

export interface Contribution {
  id: Hex
  datanetId: Hex
  contributor: Address
  dataHash: Hex
  metadataUri: string
  status: ContributionStatus
  weight: number
  bond: bigint
  receipts: number
  /** parts per million of receipt attribution, summed over receipts */
  weightSharePpm: number
  /** direct attribution credits (pool rewards are counted in the contributor's RewardPosition, issue 12) */
  earned: bigint
  /** the pool's debt for this contribution's weight at acceptance; never changed by claims */
  rewardDebt: bigint
  seq: number
}
export const ContributionCodec = record<Contribution>({
  id: 'hex', datanetId: 'hex', contributor: 'hex', dataHash: 'hex', metadataUri: 'str', status: 'str', weight: 'uint', bond: 'big',
  receipts: 'uint', weightSharePpm: 'uint', earned: 'big', rewardDebt: 'big', seq: 'uint',
})

/**
 * A contributor's stake in one Datanet's pool (issue 12): the sum of the
 * weights of its accepted contributions there and the sum of their debts,
 * so that pending rewards and `claim` cost one read per Datanet, not one per
 * contribution. `claimedAcc` is the pool's accumulator at the last claim
 * (for a contribution's `unclaimed`); `seq` numbers the address's positions
 * from 1 in the order they were opened.
 */
export interface RewardPosition { datanetId: Hex; shares: bigint; rewardDebt: bigint; claimedAcc: bigint; seq: number }
export const RewardPositionCodec = record<RewardPosition>({ datanetId: 'hex', shares: 'big', rewardDebt: 'big', claimedAcc: 'big', seq: 'uint' })

/** How many RewardPositions an address has and where its next bounded `claim` starts (1-based seq). */
export interface RewardPositions { count: number; cursor: number }
export const RewardPositionsCodec = record<RewardPositions>({ count: 'uint', cursor: 'uint' })

export interface ModelProvenance { datanetId: Hex; weight: number }
export interface Model {
  id: Hex
  owner: Address
  name: string
  baseModel: string
  datanets: ModelProvenance[]
  minFee: bigint
  receipts: number
  feesTotal: bigint
  seq: number
}
export const ModelCodec = record<Model>({
  id: 'hex', owner: 'hex', name: 'str', baseModel: 'str',
  datanets: { list: record<ModelProvenance>({ datanetId: 'hex', weight: 'uint' }) },
  minFee: 'big', receipts: 'uint', feesTotal: 'big', seq: 'uint',
})

export const ROLES = ['contributor', 'modelOwner', 'operator', 'validator', 'delegator', 'treasury', 'royalty', 'curator'] as const
export type Role = (typeof ROLES)[number]

/** Running earned totals per role for one address (the attribution ledger). */
export type Ledger = Record<Role, bigint>
const LedgerBaseCodec = record<Omit<Ledger, 'royalty' | 'curator'>>({ contributor: 'big', modelOwner: 'big', operator: 'big', validator: 'big', delegator: 'big', treasury: 'big' })
/**
 * The six roles of DESIGN §4, then `royalty` and `curator` (§4.1) as an
 * optional tail: written only when one of them is non-zero, so that the
 * ledger of an address that never earned them keeps its earlier bytes.
 */
export const LedgerCodec: Codec<Ledger> = {
  encode: (v) => {
    const base = LedgerBaseCodec.encode(v) as Encodable[]
    return v.royalty === 0n && v.curator === 0n ? base : [...base, v.royalty.toString(), v.curator.toString()]
  },
  decode: (e) => {
    const arr = e as Encodable[]
    const base = LedgerBaseCodec.decode(arr.slice(0, 6))
    return { ...base, royalty: arr.length > 6 ? BigInt(arr[6] as string) : 0n, curator: arr.length > 7 ? BigInt(arr[7] as string) : 0n }
  },
}

export interface Missed { heights: number[] }
export const MissedCodec = record<Missed>({ heights: { list: 'uint' } })

export interface IdRef { id: Hex }
export const IdRefCodec = record<IdRef>({ id: 'hex' })

export interface IdList { ids: Hex[] }
export const IdListCodec = record<IdList>({ ids: { list: 'hex' } })

/** Chain-wide counters and the supply the invariant is checked against. */
export interface ChainMeta {
  height: number
  datanets: number
  models: number
  supply: bigint
  minted: bigint
  burned: bigint
}
export const ChainMetaCodec = record<ChainMeta>({ height: 'uint', datanets: 'uint', models: 'uint', supply: 'big', minted: 'big', burned: 'big' })

export interface Marker { height: number }
export const MarkerCodec = record<Marker>({ height: 'uint' })
