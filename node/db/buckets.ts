import { encode, decode, type Encodable } from '../../core/codec.js'
import { u64be, readU64be, toHex, fromHex, utf8, concatBytes } from '../../core/bytes.js'
import { formatAmount, parseAmount } from '../../core/amount.js'
import type { Hex, Receipt } from '../../core/tx.js'
import type { Distribution, DistributionRole } from '../../state/distribution.js'
import type { ReceiptRecord, Payout } from '../../state/execute.js'
import { DbError } from './errors.js'

/**
 * The on-disk layout (STYLE.md "Database buckets"). Every key starts with
 * one byte naming its bucket, so one LevelDB holds all of them and a bucket
 * is a contiguous key range. Heights are 8-byte big-endian so that key order
 * is height order; hashes and ids are their raw 32 bytes. A retired bucket
 * id is never reused: an old data dir must never be misread as a new record.
 */
export enum Bucket {
  /** single key: [schemaVersion, genesisHash, chainId], written when the dir is created */
  chainInfo = 0x01,
  /** single key: [height, blockHash, stateRoot, timeMs] of the last committed block */
  head = 0x02,
  /** u64be(height) → the block's canonical bytes (state/block.ts encodeBlock) */
  block = 0x03,
  /** blockHash(32) → u64be(height) */
  blockHash = 0x04,
  /** u64be(height) → the encoded commit certificate that committed this block */
  commit = 0x05,
  /** txHash(32) → [height, index, status, errorCode | null, errorMessage | null] */
  tx = 0x06,
  /** receiptId(32) → encoded ReceiptRecord */
  receipt = 0x07,
  /** u64be(height) → [height, minted, [[address, role, amount]…]] */
  distribution = 0x08,
  /** UTF-8 state key → state value (the StateStore's contents) */
  state = 0x09,
  /**
   * UTF-8 key → opaque bytes the node keeps beside the chain outside the
   * state machine (e.g. consensus validator sets with proposer priorities),
   * written in the same batch as the block they belong to
   */
  nodeMeta = 0x0a,
}

/** Bumped when a record layout changes, so an old dir is refused instead of misread. */
export const SCHEMA_VERSION = 1

const prefixed = (b: Bucket, rest: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(b), rest)

export const keys = {
  chainInfo: (): Uint8Array => Uint8Array.of(Bucket.chainInfo),
  head: (): Uint8Array => Uint8Array.of(Bucket.head),
  block: (height: number): Uint8Array => prefixed(Bucket.block, u64be(height)),
  blockHash: (hash: Hex): Uint8Array => prefixed(Bucket.blockHash, fromHex(hash, 'blockHash', 32)),
  commit: (height: number): Uint8Array => prefixed(Bucket.commit, u64be(height)),
  tx: (hash: Hex): Uint8Array => prefixed(Bucket.tx, fromHex(hash, 'txHash', 32)),
  receipt: (id: Hex): Uint8Array => prefixed(Bucket.receipt, fromHex(id, 'receiptId', 32)),
  distribution: (height: number): Uint8Array => prefixed(Bucket.distribution, u64be(height)),
  state: (key: string): Uint8Array => prefixed(Bucket.state, utf8(key)),
  nodeMeta: (key: string): Uint8Array => prefixed(Bucket.nodeMeta, utf8(key)),
}

/** The whole key range of one bucket, for iterators: [bucket, bucket + 1). */
export function bucketRange(b: Bucket): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: Uint8Array.of(b), lt: Uint8Array.of(b + 1) }
}

/** The height of a block/commit/distribution key (the 8 bytes after the prefix). */
export function heightOfKey(key: Uint8Array): number {
  return readU64be(key, 1)
}

const textDecoder = new TextDecoder('utf-8', { fatal: true })

/** The state key of a state-bucket key. */
export function stateKeyOf(key: Uint8Array): string {
  return textDecoder.decode(key.subarray(1))
}

export const encodeHeight = (height: number): Uint8Array => u64be(height)
export const decodeHeight = (value: Uint8Array): number => {
  if (value.length !== 8) corrupt('height', 'must be 8 bytes')
  return readU64be(value)
}

// ---------------------------------------------------------------- decode helpers

function corrupt(record: string, why: string): never {
  throw new DbError('DB_ERROR_CORRUPT', `stored ${record} record is damaged: ${why}`, { record })
}

function decodeRecord(bytes: Uint8Array, record: string, len: number): Encodable[] {
  let v: Encodable
  try {
    v = decode(bytes, bytes.length)
  } catch (e) {
    corrupt(record, (e as Error).message)
  }
  return arr(v, record, len)
}

function arr(v: Encodable, record: string, len?: number): Encodable[] {
  if (!Array.isArray(v)) corrupt(record, 'expected an array')
  const a = v as Encodable[]
  if (len !== undefined && a.length !== len) corrupt(record, `expected ${len} fields, got ${a.length}`)
  return a
}

function uint(v: Encodable, record: string): number {
  if (typeof v !== 'number') corrupt(record, 'expected an integer')
  return v as number
}

function str(v: Encodable, record: string): string {
  if (typeof v !== 'string') corrupt(record, 'expected a string')
  return v as string
}

function hex(v: Encodable, record: string, ...lens: number[]): Hex {
  if (!(v instanceof Uint8Array) || !lens.includes(v.length)) corrupt(record, `expected ${lens.join(' or ')} bytes`)
  return toHex(v as Uint8Array)
}

function amount(v: Encodable, record: string): bigint {
  try {
    return parseAmount(v, record)
  } catch (e) {
    corrupt(record, (e as Error).message)
  }
}

function oneOf<T extends string>(v: Encodable, allowed: Record<T, true>, record: string): T {
  if (typeof v !== 'string' || !Object.hasOwn(allowed, v)) corrupt(record, `unknown value ${String(v)}`)
  return v as T
}

/**
 * Addresses are 20 bytes; the `datanetPool` role uses the 32-byte Datanet id
 * as its address (state/distribution.ts). Both are stored as raw bytes.
 */
const ADDRESS_OR_ID = [20, 32]
const bin = (h: Hex, field: string): Uint8Array => fromHex(h, field)

// ---------------------------------------------------------------- chain info and head

export interface ChainInfo {
  schemaVersion: number
  genesisHash: Hex
  chainId: string
}

export function encodeChainInfo(c: ChainInfo): Uint8Array {
  return encode([c.schemaVersion, fromHex(c.genesisHash, 'genesisHash', 32), c.chainId])
}

export function decodeChainInfo(bytes: Uint8Array): ChainInfo {
  const r = decodeRecord(bytes, 'chainInfo', 3)
  return { schemaVersion: uint(r[0], 'chainInfo'), genesisHash: hex(r[1], 'chainInfo', 32), chainId: str(r[2], 'chainInfo') }
}

/** The last committed block; height 0 is genesis applied, with blockHash ZERO_HASH. */
export interface Head {
  height: number
  blockHash: Hex
  /** state root after this block, as in its header */
  stateRoot: Hex
  timeMs: number
}

export function encodeHead(h: Head): Uint8Array {
  return encode([h.height, fromHex(h.blockHash, 'blockHash', 32), fromHex(h.stateRoot, 'stateRoot', 32), h.timeMs])
}

export function decodeHead(bytes: Uint8Array): Head {
  const r = decodeRecord(bytes, 'head', 4)
  return { height: uint(r[0], 'head'), blockHash: hex(r[1], 'head', 32), stateRoot: hex(r[2], 'head', 32), timeMs: uint(r[3], 'head') }
}

// ---------------------------------------------------------------- tx index

export interface TxLocation {
  height: number
  /** position of the tx in its block */
  index: number
  status: 'ok' | 'failed'
  error?: { code: string; message: string }
}

const TX_STATUSES: Record<TxLocation['status'], true> = { ok: true, failed: true }

export function encodeTxLocation(t: TxLocation): Uint8Array {
  return encode([t.height, t.index, t.status, t.error?.code ?? null, t.error?.message ?? null])
}

export function decodeTxLocation(bytes: Uint8Array): TxLocation {
  const r = decodeRecord(bytes, 'tx', 5)
  const loc: TxLocation = { height: uint(r[0], 'tx'), index: uint(r[1], 'tx'), status: oneOf(r[2], TX_STATUSES, 'tx') }
  if (r[3] !== null) loc.error = { code: str(r[3], 'tx'), message: str(r[4], 'tx') }
  return loc
}

// ---------------------------------------------------------------- receipts

const PAYOUT_ROLES: Record<Payout['role'], true> = {
  contributor: true, datanetPool: true, modelOwner: true, operator: true, validators: true, treasury: true,
}

/** Same field order as the receipt inside a `submitReceipts` body (DESIGN §3). */
function encodeReceipt(r: Receipt): Encodable {
  return [
    fromHex(r.modelId, 'modelId', 32), fromHex(r.payer, 'payer', 20), formatAmount(r.fee), fromHex(r.inputHash, 'inputHash', 32),
    fromHex(r.outputHash, 'outputHash', 32), r.attribution.map((a) => [fromHex(a.contributionId, 'contributionId', 32), a.weight]),
  ]
}

function decodeReceipt(v: Encodable): Receipt {
  const n = 'receipt'
  const r = arr(v, n, 6)
  return {
    modelId: hex(r[0], n, 32), payer: hex(r[1], n, 20), fee: amount(r[2], n), inputHash: hex(r[3], n, 32), outputHash: hex(r[4], n, 32),
    attribution: arr(r[5], n).map((p) => {
      const pair = arr(p, n, 2)
      return { contributionId: hex(pair[0], n, 32), weight: uint(pair[1], n) }
    }),
  }
}

/** [id, txHash, height, index, operator, receipt, [[address | null, role, amount]…]] */
export function encodeReceiptRecord(r: ReceiptRecord): Uint8Array {
  return encode([
    fromHex(r.id, 'id', 32), fromHex(r.txHash, 'txHash', 32), r.height, r.index, fromHex(r.operator, 'operator', 20), encodeReceipt(r.receipt),
    r.payouts.map((p) => [p.address === null ? null : bin(p.address, 'payout address'), p.role, formatAmount(p.amount)]),
  ])
}

export function decodeReceiptRecord(bytes: Uint8Array): ReceiptRecord {
  const n = 'receipt'
  const r = decodeRecord(bytes, n, 7)
  return {
    id: hex(r[0], n, 32), txHash: hex(r[1], n, 32), height: uint(r[2], n), index: uint(r[3], n), operator: hex(r[4], n, 20),
    receipt: decodeReceipt(r[5]),
    payouts: arr(r[6], n).map((p) => {
      const e = arr(p, n, 3)
      return { address: e[0] === null ? null : hex(e[0], n, ...ADDRESS_OR_ID), role: oneOf(e[1], PAYOUT_ROLES, n), amount: amount(e[2], n) }
    }),
  }
}

// ---------------------------------------------------------------- distributions

const DISTRIBUTION_ROLES: Record<DistributionRole, true> = {
  contributor: true, datanetPool: true, modelOwner: true, operator: true, validator: true, delegatorPool: true, treasury: true,
}

export function encodeDistribution(d: Distribution): Uint8Array {
  return encode([
    d.height, formatAmount(d.minted),
    d.entries.map((e) => [bin(e.address, 'distribution address'), e.role, formatAmount(e.amount)]),
  ])
}

export function decodeDistribution(bytes: Uint8Array): Distribution {
  const n = 'distribution'
  const r = decodeRecord(bytes, n, 3)
  return {
    height: uint(r[0], n), minted: amount(r[1], n),
    entries: arr(r[2], n).map((v) => {
      const e = arr(v, n, 3)
      return { address: hex(e[0], n, ...ADDRESS_OR_ID), role: oneOf(e[1], DISTRIBUTION_ROLES, n), amount: amount(e[2], n) }
    }),
  }
}
