import { encode } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { fromHex, toHex } from '../core/bytes.js'
import type { Params } from '../genesis/params.js'
import type { BlockState } from './blockState.js'
import { K } from './keys.js'
import { AddressListCodec, ValidatorCodec, ValidatorSetCodec, type Validator, type ValidatorSetMember, type ValidatorSetRecord } from './entities.js'

/** Voting power = bonded stake (self + delegated) in units (DESIGN §5). */
export function powerOf(v: Validator): bigint {
  return v.selfStake + v.delegated
}

/**
 * The active set: non-jailed validators with at least minValidatorStake of
 * self-stake, the `maxValidators` highest by power (ties by address),
 * listed by address.
 */
export function computeValidatorSet(s: BlockState, params: Params): ValidatorSetRecord {
  const addresses = s.get(AddressListCodec, K.validatorIndex())?.items ?? []
  const candidates = addresses
    .map((a) => s.get(ValidatorCodec, K.validator(a)) as Validator)
    .filter((v) => !v.jailed && v.selfStake >= params.minValidatorStake)
    .map((v) => ({ address: v.address, pubKey: v.pubKey, power: powerOf(v) }))
    .sort((a, b) => (a.power === b.power ? (a.address < b.address ? -1 : 1) : a.power > b.power ? -1 : 1))
    .slice(0, params.maxValidators)
  return { members: candidates.sort((a, b) => (a.address < b.address ? -1 : 1)) }
}

export function getValidatorSet(s: BlockState, height: number): ValidatorSetRecord | undefined {
  return s.get(ValidatorSetCodec, K.validatorSet(height))
}

/** validatorsHash = sha256(msgpack([[address, pubKey, power as decimal string]…])), members by address. */
export function validatorsHash(members: ValidatorSetMember[]): string {
  return toHex(sha256(encode(members.map((m) => [fromHex(m.address, 'address', 20), fromHex(m.pubKey, 'pubKey', 32), m.power.toString()]))))
}

export function totalPower(members: ValidatorSetMember[]): bigint {
  return members.reduce((s, m) => s + m.power, 0n)
}
