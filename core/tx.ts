import { encode, decode, type Encodable } from './codec.js'
import { sha256 } from './hash.js'
import { fromHex, toHex, utf8 } from './bytes.js'
import { addressFromPubKey, type Address } from './address.js'
import { parseAmount, formatAmount } from './amount.js'
import { KeyPair, verifySignature, PUBKEY_LENGTH, SIGNATURE_LENGTH } from './keys.js'
import { TxError, CodecError, type TxErrorCode } from './errors.js'

/**
 * Transactions (DESIGN §3).
 *   unsigned: [1, chainId, nonce, fee, type, body]
 *   signed:   [unsigned, pubkey(32), signature(64)]
 *   signature = Ed25519(sha256("attrchain/tx/v1" ‖ msgpack(unsigned)))
 *   hash      = sha256(msgpack(signed))
 * Addresses are 20-byte `bin`, ids and hashes 32-byte `bin`, amounts decimal
 * strings, weights and bps non-negative integers.
 */

/*
 * Over 400 lines, one job: the tx wire format. Types, encoding and decoding
 * (with every field's bound) are the two directions of one format and stay
 * side by side, so that a field added to a call is added to its type, its
 * encoder and its checked decoder in one file; a split would also need the
 * bounds in a third module for the decoder and the types to import without
 * a cycle.
 */
export const TX_VERSION = 1
export const TX_DOMAIN = 'attrchain/tx/v1'
/** Hard cap on a signed tx; blocks have their own byte limit in params. */
export const MAX_TX_BYTES = 1024 * 1024

export const MAX_NAME_BYTES = 128
export const MAX_URI_BYTES = 512
export const MAX_MONIKER_BYTES = 64
export const MAX_WEIGHT = 0xffffffff
/** A model may declare provenance over at most this many Datanets. */
export const MAX_MODEL_DATANETS = 64
/**
 * Static cap on `registerModel` parents (the params' maxModelParents, 4 by
 * default, is checked by the state machine); bounds a body before state is read.
 */
export const MAX_MODEL_PARENTS = 64

export type Hex = string

export interface Receipt {
  modelId: Hex
  payer: Address
  fee: bigint
  inputHash: Hex
  outputHash: Hex
  /** [contributionId, weight] pairs; empty = attribute by the model's provenance. */
  attribution: { contributionId: Hex; weight: number }[]
  /** DESIGN §4.1: the id (32 bytes) shared by every receipt of one end-user request; absent when unused */
  traceId?: Hex
}

export type TxCall =
  | { type: 'transfer'; to: Address; amount: bigint }
  | { type: 'createValidator'; amount: bigint; moniker: string; commissionBps: number }
  | { type: 'stake'; amount: bigint }
  | { type: 'unstake'; amount: bigint }
  | { type: 'delegate'; validator: Address; amount: bigint }
  | { type: 'undelegate'; validator: Address; amount: bigint }
  | { type: 'unjail' }
  | { type: 'registerDatanet'; name: string; metadataUri: string; contributionBond: bigint }
  | { type: 'contribute'; datanetId: Hex; dataHash: Hex; metadataUri: string; sourceModelId?: Hex }
  | { type: 'reviewContribution'; contributionId: Hex; accept: boolean; weight: number }
  | { type: 'registerModel'; name: string; baseModel: string; datanets: { datanetId: Hex; weight: number }[]; minFee: bigint; parents?: Hex[] }
  | { type: 'approveOperator'; operator: Address; amount: bigint }
  | { type: 'submitReceipts'; receipts: Receipt[] }
  | { type: 'claim' }
  | { type: 'setModelTerms'; modelId: Hex; derivativeRoyaltyBps: number; allowDerivatives: boolean }
  | { type: 'setDatanetTerms'; datanetId: Hex; curatorBps: number }
  /** README "Rollup checkpoints": a validator's checkpoint key, by its Ethereum address (20 bytes) */
  | { type: 'setCheckpointKey'; ethAddress: Hex }
  /** README "Rollup checkpoints": a validator's EIP-712 signature (r ‖ s ‖ v, 65 bytes) of checkpoint `height` */
  | { type: 'signCheckpoint'; height: number; signature: Hex }

export type TxType = TxCall['type']

export const TX_TYPES: readonly TxType[] = [
  'transfer', 'createValidator', 'stake', 'unstake', 'delegate', 'undelegate', 'unjail',
  'registerDatanet', 'contribute', 'reviewContribution', 'registerModel', 'approveOperator',
  'submitReceipts', 'claim', 'setModelTerms', 'setDatanetTerms', 'setCheckpointKey', 'signCheckpoint',
]

export interface UnsignedTx {
  chainId: string
  nonce: number
  fee: bigint
  call: TxCall
}

export interface SignedTx {
  tx: UnsignedTx
  pubKey: Uint8Array
  signature: Uint8Array
  /** Canonical bytes of the signed tx. */
  bytes: Uint8Array
  hash: Hex
  sender: Address
  /**
   * The ids of its receipts, packed 32 bytes each, when they were computed
   * off the main thread (node/verifier.ts); execution computes them otherwise.
   */
  receiptIds?: Uint8Array
}

/** Static limits a decoder checks; the state machine checks the params-based ones too. */
export interface TxLimits {
  maxReceiptsPerTx: number
  maxAttribution: number
}

export const DEFAULT_TX_LIMITS: TxLimits = { maxReceiptsPerTx: 1000, maxAttribution: 64 }

// ---------------------------------------------------------------- encoding

const bin = (hex: Hex, len: number): Uint8Array => fromHex(hex, 'hex', len)

function encodeReceipt(r: Receipt): Encodable {
  return [
    bin(r.modelId, 32), bin(r.payer, 20), formatAmount(r.fee), bin(r.inputHash, 32), bin(r.outputHash, 32),
    r.attribution.map((a) => [bin(a.contributionId, 32), a.weight]),
    // optional trailing field: absent when unused (DESIGN §4.1)
    ...(r.traceId === undefined ? [] : [bin(r.traceId, 32)]),
  ]
}

export function encodeCall(call: TxCall): Encodable[] {
  switch (call.type) {
    case 'transfer': return [bin(call.to, 20), formatAmount(call.amount)]
    case 'createValidator': return [formatAmount(call.amount), call.moniker, call.commissionBps]
    case 'stake':
    case 'unstake': return [formatAmount(call.amount)]
    case 'delegate':
    case 'undelegate': return [bin(call.validator, 20), formatAmount(call.amount)]
    case 'unjail':
    case 'claim': return []
    case 'registerDatanet': return [call.name, call.metadataUri, formatAmount(call.contributionBond)]
    case 'contribute': return [bin(call.datanetId, 32), bin(call.dataHash, 32), call.metadataUri, ...(call.sourceModelId === undefined ? [] : [bin(call.sourceModelId, 32)])]
    case 'reviewContribution': return [bin(call.contributionId, 32), call.accept, call.weight]
    case 'registerModel': return [
      call.name, call.baseModel, call.datanets.map((d) => [bin(d.datanetId, 32), d.weight]), formatAmount(call.minFee),
      ...(call.parents === undefined ? [] : [call.parents.map((p) => bin(p, 32))]),
    ]
    case 'setModelTerms': return [bin(call.modelId, 32), call.derivativeRoyaltyBps, call.allowDerivatives]
    case 'setDatanetTerms': return [bin(call.datanetId, 32), call.curatorBps]
    case 'approveOperator': return [bin(call.operator, 20), formatAmount(call.amount)]
    case 'submitReceipts': return call.receipts.map(encodeReceipt)
    case 'setCheckpointKey': return [bin(call.ethAddress, 20)]
    case 'signCheckpoint': return [call.height, bin(call.signature, 65)]
  }
}

export function encodeUnsigned(tx: UnsignedTx): Uint8Array {
  return encode([TX_VERSION, tx.chainId, tx.nonce, formatAmount(tx.fee), tx.call.type, encodeCall(tx.call)])
}

const TX_DOMAIN_BYTES = utf8(TX_DOMAIN)

/** sha256(TX_DOMAIN ‖ unsigned tx bytes): what a tx's Ed25519 signature signs (DESIGN §3). */
export function signingDigest(unsignedBytes: Uint8Array): Uint8Array {
  return sha256(TX_DOMAIN_BYTES, unsignedBytes)
}

/**
 * Signed tx bytes are `0x93 ‖ unsigned ‖ c4 20 pubkey(32) ‖ c4 40 signature(64)`
 * (canonical, checked at decode), so the unsigned bytes are a slice: no need
 * to encode them again to compute the digest.
 */
const SIGNED_TAIL_BYTES = 2 + 32 + 2 + 64

/** The signing digest of canonical signed-tx bytes (as decodeSignedTx accepts them). */
export function signingDigestOfSigned(bytes: Uint8Array): Uint8Array {
  return signingDigest(bytes.subarray(1, bytes.length - SIGNED_TAIL_BYTES))
}

export function signTx(tx: UnsignedTx, key: KeyPair): SignedTx {
  validateCall(tx.call, DEFAULT_TX_LIMITS_UNBOUNDED)
  const unsigned = encodeUnsigned(tx)
  const signature = key.sign(signingDigest(unsigned))
  const bytes = encode([decode(unsigned), key.publicKey, signature])
  return { tx, pubKey: key.publicKey, signature, bytes, hash: toHex(sha256(bytes)), sender: key.address }
}

// ---------------------------------------------------------------- decoding

/** A signed tx's hash: sha256 of its bytes (DESIGN §3); no decoding needed. */
export function txHashOf(bytes: Uint8Array): Hex {
  return toHex(sha256(bytes))
}

/** For txs already in a committed block: they were checked against the params of their time. */
export const DEFAULT_TX_LIMITS_UNBOUNDED: TxLimits = { maxReceiptsPerTx: Number.MAX_SAFE_INTEGER, maxAttribution: Number.MAX_SAFE_INTEGER }

function fail(code: TxErrorCode, message: string, field: string): never {
  throw new TxError(code, message, { field })
}

function asArray(v: Encodable, field: string, len?: number): Encodable[] {
  if (!Array.isArray(v)) fail('TX_ERROR_MALFORMED', `${field} must be an array`, field)
  if (len !== undefined && v.length !== len) fail('TX_ERROR_MALFORMED', `${field} must have ${len} elements, got ${v.length}`, field)
  return v as Encodable[]
}

function asBin(v: Encodable, field: string, len: number): Hex {
  if (!(v instanceof Uint8Array) || v.length !== len) fail('TX_ERROR_MALFORMED', `${field} must be ${len} bytes`, field)
  return toHex(v)
}

function asAmount(v: Encodable, field: string): bigint {
  try {
    return parseAmount(v, field)
  } catch (e) {
    throw new TxError('TX_ERROR_BAD_AMOUNT', (e as CodecError).reason, { field })
  }
}

/** Amounts that move stake or coins must be positive; bonds, fees and allowances may be zero. */
function asPositive(v: Encodable, field: string): bigint {
  const a = asAmount(v, field)
  if (a === 0n) fail('TX_ERROR_BAD_AMOUNT', `${field} must be positive`, field)
  return a
}

function asString(v: Encodable, field: string, maxBytes: number): string {
  if (typeof v !== 'string') fail('TX_ERROR_MALFORMED', `${field} must be a string`, field)
  if (Buffer.byteLength(v as string) > maxBytes) fail('TX_ERROR_FIELD_TOO_LONG', `${field} must be at most ${maxBytes} bytes`, field)
  return v as string
}

function asUint(v: Encodable, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail('TX_ERROR_BAD_INTEGER', `${field} must be an integer in [${min}, ${max}]`, field)
  }
  return v as number
}

function asBool(v: Encodable, field: string): boolean {
  if (typeof v !== 'boolean') fail('TX_ERROR_MALFORMED', `${field} must be a boolean`, field)
  return v as boolean
}

const addr = (v: Encodable, field: string): Address => asBin(v, field, 20)
const id32 = (v: Encodable, field: string): Hex => asBin(v, field, 32)

/**
 * One receipt of a `submitReceipts` body. The hot path of admission (a
 * 1000-receipt tx decodes 1000 of these): the checks are inline and a
 * field's name is only built when it is wrong.
 */
function decodeReceipt(v: Encodable, i: number, limits: TxLimits, memo: HexMemo): Receipt {
  if (!Array.isArray(v) || (v.length !== 6 && v.length !== 7)) {
    asArray(v, rf(i, ''))
    fail('TX_ERROR_MALFORMED', `${rf(i, '')} must have 6 elements, or 7 with a traceId, got ${(v as Encodable[]).length}`, rf(i, ''))
  }
  const r = v as Encodable[]
  const pairs = r[5]
  if (!Array.isArray(pairs)) asArray(pairs, rf(i, '[5]'))
  const n = (pairs as Encodable[]).length
  if (n > limits.maxAttribution) fail('TX_ERROR_TOO_MANY_ATTRIBUTIONS', `${rf(i, '[5]')} has ${n} entries, max ${limits.maxAttribution}`, rf(i, '[5]'))
  const attribution: Receipt['attribution'] = new Array(n)
  const seen = n > 8 ? new Set<string>() : null
  for (let j = 0; j < n; j++) {
    const p = (pairs as Encodable[])[j]
    if (!Array.isArray(p) || p.length !== 2) asArray(p, rf(i, `[5][${j}]`), 2)
    const id = (p as Encodable[])[0]
    const w = (p as Encodable[])[1]
    if (!(id instanceof Uint8Array) || id.length !== 32) asBin(id, rf(i, `[5][${j}][0]`), 32)
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > MAX_WEIGHT) asUint(w, rf(i, `[5][${j}][1]`), 1, MAX_WEIGHT)
    const contributionId = memo.hex(id as Uint8Array, 2 + j)
    let repeated = false
    if (seen !== null) {
      repeated = seen.has(contributionId)
      seen.add(contributionId)
    } else {
      for (let k = 0; k < j && !repeated; k++) repeated = attribution[k].contributionId === contributionId
    }
    if (repeated) fail('TX_ERROR_DUPLICATE_ATTRIBUTION', `${rf(i, `[5][${j}][0]`)} repeats a contribution`, rf(i, `[5][${j}][0]`))
    attribution[j] = { contributionId, weight: w as number }
  }
  let fee: bigint
  try {
    fee = parseAmount(r[2])
  } catch {
    fee = asAmount(r[2], rf(i, '[2]'))
  }
  const out: Receipt = {
    modelId: memo.hex(binAt(r, 0, 32, i), 0), payer: memo.hex(binAt(r, 1, 20, i), 1), fee, inputHash: toHex(binAt(r, 3, 32, i)), outputHash: toHex(binAt(r, 4, 32, i)), attribution,
  }
  if (r.length === 7) out.traceId = toHex(binAt(r, 6, 32, i))
  return out
}

/** A receipt part's field name, built only for an error. */
function rf(i: number, suffix: string): string {
  return `body[${i}]${suffix}`
}

function binAt(r: Encodable[], k: number, len: number, i: number): Uint8Array {
  const b = r[k]
  if (!(b instanceof Uint8Array) || b.length !== len) asBin(b, rf(i, `[${k}]`), len)
  return b as Uint8Array
}

/**
 * The receipts of one tx mostly repeat their model, payer and attributed
 * contributions. Per slot (0 model, 1 payer, 2+ attribution position) the
 * last bytes and their hex are kept: equal bytes give the same string
 * object back, which skips the hex conversion and keeps the string's cached
 * hash for the Map lookups of execution.
 */
class HexMemo {
  private readonly bytes: Uint8Array[] = []
  private readonly hexes: Hex[] = []

  hex(b: Uint8Array, slot: number): Hex {
    const last = this.bytes[slot]
    if (last !== undefined && sameBytes(last, b)) return this.hexes[slot]
    const h = toHex(b)
    this.bytes[slot] = b
    this.hexes[slot] = h
    return h
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false
  return true
}

/** Decode and statically validate a body; errors name the offending field, e.g. `body[1]`. */
export function decodeCall(type: string, body: Encodable, limits: TxLimits = DEFAULT_TX_LIMITS): TxCall {
  const n = (len: number) => asArray(body, 'body', len)
  switch (type) {
    case 'transfer': { const b = n(2); return { type, to: addr(b[0], 'body[0]'), amount: asPositive(b[1], 'body[1]') } }
    case 'createValidator': {
      const b = n(3)
      return { type, amount: asPositive(b[0], 'body[0]'), moniker: asString(b[1], 'body[1]', MAX_MONIKER_BYTES), commissionBps: asUint(b[2], 'body[2]', 0, 10_000) }
    }
    case 'stake':
    case 'unstake': { const b = n(1); return { type, amount: asPositive(b[0], 'body[0]') } }
    case 'delegate':
    case 'undelegate': { const b = n(2); return { type, validator: addr(b[0], 'body[0]'), amount: asPositive(b[1], 'body[1]') } }
    case 'unjail':
    case 'claim': n(0); return { type }
    case 'registerDatanet': {
      const b = n(3)
      return { type, name: asString(b[0], 'body[0]', MAX_NAME_BYTES), metadataUri: asString(b[1], 'body[1]', MAX_URI_BYTES), contributionBond: asAmount(b[2], 'body[2]') }
    }
    case 'contribute': {
      const b = optionalTail(body, 3)
      const call: TxCall = { type, datanetId: id32(b[0], 'body[0]'), dataHash: id32(b[1], 'body[1]'), metadataUri: asString(b[2], 'body[2]', MAX_URI_BYTES) }
      if (b.length === 4) call.sourceModelId = id32(b[3], 'body[3]')
      return call
    }
    case 'reviewContribution': {
      const b = n(3)
      const accept = asBool(b[1], 'body[1]')
      return { type, contributionId: id32(b[0], 'body[0]'), accept, weight: asUint(b[2], 'body[2]', accept ? 1 : 0, MAX_WEIGHT) }
    }
    case 'registerModel': {
      const b = optionalTail(body, 4)
      const list = asArray(b[2], 'body[2]')
      if (list.length < 1 || list.length > MAX_MODEL_DATANETS) fail('TX_ERROR_BAD_PROVENANCE', `body[2] must list 1 to ${MAX_MODEL_DATANETS} Datanets`, 'body[2]')
      const datanets = list.map((p, i) => {
        const pair = asArray(p, `body[2][${i}]`, 2)
        return { datanetId: id32(pair[0], `body[2][${i}][0]`), weight: asUint(pair[1], `body[2][${i}][1]`, 1, MAX_WEIGHT) }
      })
      if (new Set(datanets.map((d) => d.datanetId)).size !== datanets.length) fail('TX_ERROR_BAD_PROVENANCE', 'body[2] repeats a Datanet', 'body[2]')
      const call: TxCall = { type, name: asString(b[0], 'body[0]', MAX_NAME_BYTES), baseModel: asString(b[1], 'body[1]', MAX_NAME_BYTES), datanets, minFee: asAmount(b[3], 'body[3]') }
      if (b.length === 5) call.parents = decodeParents(b[4])
      return call
    }
    case 'setModelTerms': {
      const b = n(3)
      return { type, modelId: id32(b[0], 'body[0]'), derivativeRoyaltyBps: asUint(b[1], 'body[1]', 0, 10_000), allowDerivatives: asBool(b[2], 'body[2]') }
    }
    case 'setDatanetTerms': {
      const b = n(2)
      return { type, datanetId: id32(b[0], 'body[0]'), curatorBps: asUint(b[1], 'body[1]', 0, 10_000) }
    }
    case 'approveOperator': { const b = n(2); return { type, operator: addr(b[0], 'body[0]'), amount: asAmount(b[1], 'body[1]') } }
    case 'submitReceipts': {
      const list = asArray(body, 'body')
      if (list.length < 1 || list.length > limits.maxReceiptsPerTx) fail('TX_ERROR_TOO_MANY_RECEIPTS', `body must hold 1 to ${limits.maxReceiptsPerTx} receipts, got ${list.length}`, 'body')
      const memo = new HexMemo()
      return { type, receipts: list.map((r, i) => decodeReceipt(r, i, limits, memo)) }
    }
    case 'setCheckpointKey': { const b = n(1); return { type, ethAddress: addr(b[0], 'body[0]') } }
    case 'signCheckpoint': { const b = n(2); return { type, height: asUint(b[0], 'body[0]', 1, Number.MAX_SAFE_INTEGER), signature: asBin(b[1], 'body[1]', 65) } }
    default: fail('TX_ERROR_UNKNOWN_TYPE', `unknown tx type "${type}"`, 'type')
  }
}

/** A body of `base` fields plus one optional trailing field (DESIGN §4.1: absent when unused). */
function optionalTail(body: Encodable, base: number): Encodable[] {
  const b = asArray(body, 'body')
  if (b.length !== base && b.length !== base + 1) fail('TX_ERROR_MALFORMED', `body must have ${base} elements, or ${base + 1} with the optional field, got ${b.length}`, 'body')
  return b
}

/** `registerModel` parents: 1 … MAX_MODEL_PARENTS distinct model ids; a present empty list is not canonical. */
function decodeParents(v: Encodable): Hex[] {
  const list = asArray(v, 'body[4]')
  if (list.length === 0) fail('TX_ERROR_EMPTY_PARENTS', 'body[4]: parents, when present, must name at least one model (leave the field out for a model without parents)', 'body[4]')
  if (list.length > MAX_MODEL_PARENTS) fail('TX_ERROR_TOO_MANY_PARENTS', `body[4] names ${list.length} parents, max ${MAX_MODEL_PARENTS}`, 'body[4]')
  const parents = list.map((p, i) => id32(p, `body[4][${i}]`))
  if (new Set(parents).size !== parents.length) fail('TX_ERROR_DUPLICATE_PARENT', 'body[4] repeats a parent', 'body[4]')
  return parents
}

/** Static validity of a call built in code (clients), by round-tripping through the decoder. */
export function validateCall(call: TxCall, limits: TxLimits = DEFAULT_TX_LIMITS): TxCall {
  return decodeCall(call.type, decode(encode(encodeCall(call))), limits)
}

/**
 * Decode a signed tx and check its format and signature. Chain id, nonce,
 * fee and balance are checked against state by the mempool and executor.
 */
export function decodeSignedTx(
  input: Uint8Array, limits: TxLimits = DEFAULT_TX_LIMITS,
  /** `hash`: the sha256 of `input`, when the caller has computed it (block validation hashes every tx once) */
  opts: { verify?: boolean; committed?: boolean; hash?: Hex } = {},
): SignedTx {
  if (input.length > MAX_TX_BYTES) fail('TX_ERROR_TOO_LARGE', `tx of ${input.length} bytes exceeds ${MAX_TX_BYTES}`, 'tx')
  // The tx keeps its own copy of its bytes, and the decoded ids and keys are
  // views into that copy rather than one small copy each (GC, at 1000 receipts a tx).
  const bytes = new Uint8Array(input)
  let root: Encodable
  try {
    // a committed tx's bytes are bound by the commit: no canonical re-encoding check (core/codec.ts decode)
    root = decode(bytes, MAX_TX_BYTES, { copyBins: false, canonical: opts.committed !== true })
  } catch (e) {
    throw new TxError('TX_ERROR_MALFORMED', `tx is not canonical msgpack: ${(e as CodecError).reason}`, { field: 'tx' })
  }
  const [unsigned, pubKey, signature] = asArray(root, 'tx', 3)
  const u = asArray(unsigned, 'tx[0]', 6)
  if (u[0] !== TX_VERSION) fail('TX_ERROR_BAD_VERSION', `tx[0][0] must be version ${TX_VERSION}`, 'version')
  if (typeof u[1] !== 'string' || u[1].length === 0 || u[1].length > 64) fail('TX_ERROR_MALFORMED', 'chainId must be a non-empty string', 'chainId')
  const nonce = asUint(u[2], 'nonce', 0, Number.MAX_SAFE_INTEGER)
  const fee = asAmount(u[3], 'fee')
  if (typeof u[4] !== 'string') fail('TX_ERROR_MALFORMED', 'type must be a string', 'type')
  const call = decodeCall(u[4] as string, u[5], limits)
  if (!(pubKey instanceof Uint8Array) || pubKey.length !== PUBKEY_LENGTH) fail('TX_ERROR_MALFORMED', 'pubkey must be 32 bytes', 'pubkey')
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) fail('TX_ERROR_MALFORMED', 'signature must be 64 bytes', 'signature')
  const pk = pubKey as Uint8Array
  const sig = signature as Uint8Array
  if (opts.verify !== false && !verifySignature(pk, signingDigestOfSigned(bytes), sig)) {
    fail('TX_ERROR_BAD_SIGNATURE', 'signature does not verify for this pubkey and tx', 'signature')
  }
  return {
    tx: { chainId: u[1] as string, nonce, fee, call },
    pubKey: pk, signature: sig, bytes, hash: opts.hash ?? txHashOf(bytes), sender: addressFromPubKey(pk),
  }
}

/** Receipt ids 0..count-1 of a tx, packed 32 bytes each (what node/verifyWorker.mjs computes off-thread). */
export function receiptIdsOf(txHash: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * 32)
  for (let i = 0; i < count; i++) out.set(fromHex(receiptId(txHash, i), 'receiptId', 32), i * 32)
  return out
}

/** Receipt id = sha256(txHash ‖ u32be(index)) (DESIGN §4). */
export function receiptId(txHash: Hex | Uint8Array, index: number): Hex {
  const b = Buffer.allocUnsafe(36)
  if (typeof txHash === 'string') b.set(fromHex(txHash, 'txHash', 32))
  else if (txHash.length === 32) b.set(txHash)
  else fail('TX_ERROR_MALFORMED', 'txHash must be 32 bytes', 'txHash')
  b.writeUInt32BE(index, 32)
  return toHex(sha256(b))
}

/** JSON view of a call's body (amounts as strings), for RPC and the CLI. */
export function callToJson(call: TxCall): Record<string, unknown> {
  return JSON.parse(JSON.stringify(call, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
}

/** Inference receipts a tx carries (a submitReceipts tx's receipts; 0 for every other call): what params.maxBlockReceipts counts. */
export function receiptCount(stx: SignedTx): number {
  return stx.tx.call.type === 'submitReceipts' ? stx.tx.call.receipts.length : 0
}
