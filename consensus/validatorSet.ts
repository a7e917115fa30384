import { addressFromPubKey, isAddress, type Address } from '../core/address.js'
import { fromHex, toHex } from '../core/bytes.js'
import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { PUBKEY_LENGTH } from '../core/keys.js'
import { ConsensusError } from './errors.js'
import { bytesField, decodeStrict, malformed } from './wire.js'
import { incrementProposerPriority, joiningPriority, rescalePriorities, centerPriorities, totalPower, type PriorityEntry } from './proposerPriority.js'

/** A validator as the host's staking module reports it (DESIGN §5: power = bonded stake). */
export interface ValidatorInfo {
  readonly address: Address
  readonly pubKey: Uint8Array
  readonly power: bigint
}

export interface Validator extends ValidatorInfo {
  /** CometBFT's ProposerPriority; signed. */
  readonly priority: bigint
}

const POWER_RE = /^(0|[1-9][0-9]*)$/
const PRIORITY_RE = /^(0|-?[1-9][0-9]*)$/

function checkInfo(v: ValidatorInfo, i: number): void {
  const field = `validators[${i}]`
  if (!isAddress(v.address) || v.address !== v.address.toLowerCase()) {
    throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `${field}.address must be a lowercase 0x address`, { field })
  }
  if (!(v.pubKey instanceof Uint8Array) || v.pubKey.length !== PUBKEY_LENGTH || addressFromPubKey(v.pubKey) !== v.address) {
    throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `${field}.pubKey must be the 32-byte key of its address`, { field })
  }
  if (typeof v.power !== 'bigint' || v.power <= 0n) {
    throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `${field}.power must be a positive bigint`, { field })
  }
}

/**
 * An immutable validator set, sorted by address, with CometBFT proposer
 * priorities. Heights use it as CometBFT's state does (DESIGN §5, changes
 * at H + 2): `validators(H+1) = next(H)`, `next(H+1) = next(H).withChanges(updates of block H)`;
 * at genesis `validators(1) = create(g)` and `next(1) = create(g).copyIncrement(1)`.
 */
export class ValidatorSet {
  readonly validators: readonly Validator[]
  readonly totalPower: bigint
  private readonly proposerAddress: Address | null
  private readonly index: Map<Address, number>
  private cachedHash: Uint8Array | null = null

  private constructor(validators: Validator[], proposer: Address | null) {
    this.validators = validators
    this.totalPower = totalPower(validators)
    this.proposerAddress = proposer
    this.index = new Map(validators.map((v, i) => [v.address, i]))
  }

  /** NewValidatorSet: everyone joins at once (priorities centre to 0), then one election. */
  static create(infos: readonly ValidatorInfo[]): ValidatorSet {
    return ValidatorSet.fromValidators(sortedInfos(infos).map((v) => ({ ...v, priority: 0n })), null).copyIncrement(1)
  }

  /** Rebuild a stored set (priorities included) without running an election. */
  static fromValidators(validators: readonly Validator[], proposer: Address | null): ValidatorSet {
    const sorted = sortedInfos(validators) as Validator[]
    const set = new ValidatorSet(sorted.map((v) => ({ address: v.address, pubKey: v.pubKey, power: v.power, priority: v.priority })), proposer)
    if (proposer !== null && !set.has(proposer)) {
      throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', 'proposer is not in the set', { proposer })
    }
    return set
  }

  get size(): number {
    return this.validators.length
  }

  /** The proposer chosen by the last election (round 0 of the height this set is for). */
  get proposer(): Validator {
    if (this.proposerAddress === null) throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', 'no election has run on this set')
    return this.get(this.proposerAddress)!
  }

  /** The proposer, or null on a set fresh from `update` (no election yet). */
  get proposerOrNull(): Address | null {
    return this.proposerAddress
  }

  get(address: Address): Validator | undefined {
    const i = this.index.get(address)
    return i === undefined ? undefined : this.validators[i]
  }

  has(address: Address): boolean {
    return this.index.has(address)
  }

  /** validatorsHash of the header (DESIGN §5): powers as decimal strings, as every amount (DESIGN §2). */
  hash(): Uint8Array {
    this.cachedHash ??= sha256(encode(this.validators.map((v) => [fromHex(v.address), v.pubKey, v.power.toString()])))
    return this.cachedHash
  }

  /** CopyIncrementProposerPriority(times). */
  copyIncrement(times: number): ValidatorSet {
    const entries = this.entries()
    const elected = incrementProposerPriority(entries, times)
    return this.withEntries(entries, elected[elected.length - 1]!.key)
  }

  /**
   * The proposers of rounds 1..rounds of the height this set is for: one
   * IncrementProposerPriority(rounds) sequence, so proposer(h, r) depends on
   * r only, never on the path of rounds a node went through.
   */
  proposersOfRounds(rounds: number): Address[] {
    return incrementProposerPriority(this.entries(), rounds).map((e) => e.key)
  }

  /**
   * UpdateWithChangeSet: `changes` lists validators whose power changes (0
   * removes one); a newcomer starts at −1.125 × total so that re-joining
   * never jumps the queue; then rescale and centre. No election runs.
   */
  update(changes: readonly ValidatorInfo[]): ValidatorSet {
    const seen = new Set<Address>()
    changes.forEach((c, i) => {
      if (seen.has(c.address)) throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `duplicate change for ${c.address}`, { index: i })
      seen.add(c.address)
      if (c.power !== 0n) checkInfo(c, i)
      else if (!this.has(c.address)) throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `cannot remove unknown validator ${c.address}`)
    })
    let afterUpdates = this.totalPower
    for (const c of changes) if (c.power > 0n) afterUpdates += c.power - (this.get(c.address)?.power ?? 0n)
    const next = new Map<Address, Validator>(this.validators.map((v) => [v.address, v]))
    for (const c of changes) {
      if (c.power === 0n) next.delete(c.address)
      else next.set(c.address, { address: c.address, pubKey: c.pubKey, power: c.power, priority: this.get(c.address)?.priority ?? joiningPriority(afterUpdates) })
    }
    if (next.size === 0) throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', 'a change set may not remove every validator')
    const entries = [...next.values()].map((v) => ({ key: v.address, power: v.power, priority: v.priority }))
    const total = totalPower(entries)
    rescalePriorities(entries, 2n * total)
    centerPriorities(entries)
    const proposer = this.proposerAddress !== null && next.has(this.proposerAddress) ? this.proposerAddress : null
    return ValidatorSet.fromValidators(entries.map((e) => ({ ...next.get(e.key)!, priority: e.priority })), proposer)
  }

  /** The set for the height after next: apply the block's changes, then one election. */
  withChanges(changes: readonly ValidatorInfo[]): ValidatorSet {
    return (changes.length === 0 ? this : this.update(changes)).copyIncrement(1)
  }

  private entries(): PriorityEntry[] {
    return this.validators.map((v) => ({ key: v.address, power: v.power, priority: v.priority }))
  }

  private withEntries(entries: PriorityEntry[], proposer: Address): ValidatorSet {
    return new ValidatorSet(this.validators.map((v, i) => ({ ...v, priority: entries[i]!.priority })), proposer)
  }
}

function sortedInfos(infos: readonly ValidatorInfo[]): ValidatorInfo[] {
  if (infos.length === 0) throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', 'a validator set may not be empty')
  infos.forEach(checkInfo)
  const sorted = [...infos].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.address === sorted[i - 1]!.address) {
      throw new ConsensusError('CONSENSUS_ERROR_BAD_VALIDATOR_SET', `duplicate validator ${sorted[i]!.address}`)
    }
  }
  return sorted
}

/** Storage form, priorities included: `[[address(20), pubKey, power, priority]…, proposer | null]`. */
export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  const proposer = set.proposerOrNull
  return encode([set.validators.map((v) => [fromHex(v.address), v.pubKey, v.power.toString(), v.priority.toString()]), proposer === null ? null : fromHex(proposer)])
}

export function decodeValidatorSet(bytes: Uint8Array): ValidatorSet {
  const value = decodeStrict(bytes, 'validator set')
  if (!Array.isArray(value) || value.length !== 2 || !Array.isArray(value[0])) throw malformed('validator set must be [validators, proposer]')
  const validators = (value[0] as Encodable[]).map((row, i) => decodeValidatorRow(row, i))
  const proposer = value[1] === null ? null : toHex(bytesField(value[1], 20, 'proposer'))
  return ValidatorSet.fromValidators(validators, proposer)
}

function decodeValidatorRow(row: Encodable, i: number): Validator {
  if (!Array.isArray(row) || row.length !== 4) throw malformed(`validators[${i}] must be [address, pubKey, power, priority]`)
  const [address, pubKey, power, priority] = row as Encodable[]
  if (typeof power !== 'string' || !POWER_RE.test(power)) throw malformed(`validators[${i}].power must be a decimal string`)
  if (typeof priority !== 'string' || !PRIORITY_RE.test(priority)) throw malformed(`validators[${i}].priority must be a signed decimal string`)
  return { address: toHex(bytesField(address, 20, 'address')), pubKey: bytesField(pubKey, PUBKEY_LENGTH, 'pubKey'), power: BigInt(power), priority: BigInt(priority) }
}

