import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { toHex, fromHex } from '../core/bytes.js'
import { parseAmount, formatAmount, MAX_AMOUNT } from '../core/amount.js'
import { parseAddress, addressFromPubKey, type Address } from '../core/address.js'
import { GenesisError, CodecError } from '../core/errors.js'
import { MAX_MONIKER_BYTES } from '../core/tx.js'
import { defaultParams, PARAM_KEYS, AMOUNT_PARAMS, FEE_SPLIT_KEYS, type Params, type FeeSplit } from './params.js'

export interface GenesisAccount {
  address: Address
  balance: bigint
}

export interface GenesisValidator {
  address: Address
  pubKey: Uint8Array
  stake: bigint
  moniker: string
  /** optional in the file; defaults to DEFAULT_COMMISSION_BPS */
  commissionBps: number
  /** optional: the Ethereum address of the validator's checkpoint key (README "Rollup checkpoints") */
  checkpointAddress?: string
}

export interface Genesis {
  chainId: string
  /** RFC 3339 time; block 1's timeMs must not be earlier */
  genesisTime: string
  params: Params
  accounts: GenesisAccount[]
  validators: GenesisValidator[]
}

export const DEFAULT_COMMISSION_BPS = 1000

const CHAIN_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/

function bad(message: string, field: string): never {
  throw new GenesisError('GENESIS_ERROR_INVALID', `${field}: ${message}`, { field })
}

function wrap<T>(field: string, f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (e instanceof CodecError) bad(e.reason, field)
    throw e
  }
}

function uintField(v: unknown, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`must be an integer in [${min}, ${max}]`, field)
  return v as number
}

function parseParams(raw: unknown): Params {
  const p = defaultParams()
  if (raw === undefined) return p
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('must be an object', 'params')
  const obj = raw as Record<string, unknown>
  for (const key of Object.keys(obj)) {
    if (!PARAM_KEYS.includes(key as keyof Params)) bad('unknown param', `params.${key}`)
  }
  const out = p as unknown as Record<string, unknown>
  for (const key of PARAM_KEYS) {
    const v = obj[key]
    if (v === undefined) continue
    const field = `params.${key}`
    if (AMOUNT_PARAMS.has(key)) out[key] = wrap(field, () => parseAmount(v, field))
    else if (key === 'treasury') out[key] = wrap(field, () => parseAddress(v, field))
    else if (key === 'feeSplit') out[key] = parseFeeSplit(v)
    else out[key] = uintField(v, field)
  }
  checkParams(p)
  return p
}

function parseFeeSplit(v: unknown): FeeSplit {
  if (typeof v !== 'object' || v === null) bad('must be an object', 'params.feeSplit')
  const o = v as Record<string, unknown>
  const split = {} as FeeSplit
  for (const k of FEE_SPLIT_KEYS) split[k] = uintField(o[k], `params.feeSplit.${k}`, 0, 10_000)
  if (Object.keys(o).length !== FEE_SPLIT_KEYS.length) bad(`must have exactly ${FEE_SPLIT_KEYS.join(', ')}`, 'params.feeSplit')
  return split
}

function checkParams(p: Params): void {
  const sum = FEE_SPLIT_KEYS.reduce((s, k) => s + p.feeSplit[k], 0)
  if (sum !== 10_000) bad(`must sum to 10000 bps, got ${sum}`, 'params.feeSplit')
  for (const k of ['maxReceiptsPerTx', 'maxAttribution', 'maxBlockTxs', 'maxBlockBytes', 'maxBlockReceipts', 'maxValidators', 'downtimeWindow'] as const) {
    if (p[k] < 1) bad('must be at least 1', `params.${k}`)
  }
  for (const k of ['slashDoubleSignBps', 'slashDowntimeBps', 'downtimeMissedBps', 'maxRoyaltyStackBps', 'maxCuratorBps'] as const) {
    if (p[k] > 10_000) bad('must be at most 10000 bps', `params.${k}`)
  }
  if (p.minValidatorStake < 1n) bad('must be positive', 'params.minValidatorStake')
  if (p.maxBlockReceipts < p.maxReceiptsPerTx) bad('must be at least maxReceiptsPerTx, or a full submitReceipts tx could never be included', 'params.maxBlockReceipts')
}

/** Parse and validate a genesis JSON object; errors name the field. */
export function parseGenesis(raw: unknown): Genesis {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('must be a JSON object', 'genesis')
  const g = raw as Record<string, unknown>
  if (typeof g.chainId !== 'string' || !CHAIN_ID_RE.test(g.chainId)) bad('must match [a-z0-9][a-z0-9._-]{0,63}', 'chainId')
  if (typeof g.genesisTime !== 'string' || Number.isNaN(Date.parse(g.genesisTime))) bad('must be an RFC 3339 time', 'genesisTime')
  const params = parseParams(g.params)
  if (!Array.isArray(g.accounts)) bad('must be an array', 'accounts')
  if (!Array.isArray(g.validators) || g.validators.length === 0) bad('must be a non-empty array', 'validators')
  const accounts = (g.accounts as unknown[]).map((a, i) => parseAccount(a, `accounts[${i}]`))
  const validators = (g.validators as unknown[]).map((v, i) => parseValidator(v, `validators[${i}]`, params))
  if (new Set(accounts.map((a) => a.address)).size !== accounts.length) bad('an address appears twice', 'accounts')
  if (new Set(validators.map((v) => v.address)).size !== validators.length) bad('a validator appears twice', 'validators')
  const ckAddresses = validators.flatMap((v) => (v.checkpointAddress === undefined ? [] : [v.checkpointAddress]))
  if (new Set(ckAddresses).size !== ckAddresses.length) bad('a checkpointAddress appears twice', 'validators')
  if (validators.length > params.maxValidators) bad(`more than params.maxValidators (${params.maxValidators})`, 'validators')
  const supply = accounts.reduce((s, a) => s + a.balance, 0n) + validators.reduce((s, v) => s + v.stake, 0n)
  if (supply > MAX_AMOUNT) bad('total supply exceeds 2^128 - 1', 'accounts')
  return { chainId: g.chainId as string, genesisTime: g.genesisTime as string, params, accounts, validators }
}

function parseAccount(raw: unknown, field: string): GenesisAccount {
  if (typeof raw !== 'object' || raw === null) bad('must be an object', field)
  const a = raw as Record<string, unknown>
  return {
    address: wrap(`${field}.address`, () => parseAddress(a.address, `${field}.address`)),
    balance: wrap(`${field}.balance`, () => parseAmount(a.balance, `${field}.balance`)),
  }
}

function parseValidator(raw: unknown, field: string, params: Params): GenesisValidator {
  if (typeof raw !== 'object' || raw === null) bad('must be an object', field)
  const v = raw as Record<string, unknown>
  const address = wrap(`${field}.address`, () => parseAddress(v.address, `${field}.address`))
  const pubKey = wrap(`${field}.pubKey`, () => fromHex(v.pubKey, `${field}.pubKey`, 32))
  if (addressFromPubKey(pubKey) !== address) bad('address is not the address of pubKey', `${field}.address`)
  const stake = wrap(`${field}.stake`, () => parseAmount(v.stake, `${field}.stake`))
  if (stake < params.minValidatorStake) bad(`below params.minValidatorStake`, `${field}.stake`)
  if (typeof v.moniker !== 'string' || Buffer.byteLength(v.moniker) > MAX_MONIKER_BYTES) bad(`must be a string of at most ${MAX_MONIKER_BYTES} bytes`, `${field}.moniker`)
  const commissionBps = v.commissionBps === undefined ? DEFAULT_COMMISSION_BPS : uintField(v.commissionBps, `${field}.commissionBps`, 0, 10_000)
  const out: GenesisValidator = { address, pubKey, stake, moniker: v.moniker as string, commissionBps }
  if (v.checkpointAddress !== undefined) {
    out.checkpointAddress = wrap(`${field}.checkpointAddress`, () => toHex(fromHex(v.checkpointAddress, `${field}.checkpointAddress`, 20)))
    if (out.checkpointAddress === '0x' + '00'.repeat(20)) bad('the zero address cannot sign', `${field}.checkpointAddress`)
  }
  return out
}

export function paramsToJson(p: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of PARAM_KEYS) {
    const v = p[key]
    out[key] = typeof v === 'bigint' ? formatAmount(v) : key === 'feeSplit' ? { ...(v as FeeSplit) } : v
  }
  return out
}

export function genesisToJson(g: Genesis): Record<string, unknown> {
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    params: paramsToJson(g.params),
    accounts: g.accounts.map((a) => ({ address: a.address, balance: formatAmount(a.balance) })),
    validators: g.validators.map((v) => ({
      address: v.address, pubKey: toHex(v.pubKey), stake: formatAmount(v.stake), moniker: v.moniker, commissionBps: v.commissionBps,
      ...(v.checkpointAddress === undefined ? {} : { checkpointAddress: v.checkpointAddress }),
    })),
  }
}

export function encodeParams(p: Params): Encodable {
  return PARAM_KEYS.map((key) => {
    const v = p[key]
    if (typeof v === 'bigint') return formatAmount(v)
    if (key === 'treasury') return fromHex(v as string, 'treasury', 20)
    if (key === 'feeSplit') return FEE_SPLIT_KEYS.map((k) => (v as FeeSplit)[k])
    return v as number
  })
}

/** Genesis hash: sha256 of the canonical encoding of every field, in file order. */
export function genesisHash(g: Genesis): string {
  return toHex(sha256(encode([
    g.chainId, g.genesisTime, encodeParams(g.params),
    g.accounts.map((a) => [fromHex(a.address, 'address', 20), formatAmount(a.balance)]),
    // the checkpoint address is an optional trailing field: a genesis without one keeps its hash
    g.validators.map((v) => [
      fromHex(v.address, 'address', 20), v.pubKey, formatAmount(v.stake), v.moniker, v.commissionBps,
      ...(v.checkpointAddress === undefined ? [] : [fromHex(v.checkpointAddress, 'checkpointAddress', 20)]),
    ]),
  ])))
}

export function genesisTimeMs(g: Genesis): number {
  return Date.parse(g.genesisTime)
}
