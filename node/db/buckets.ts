// Over 400 lines with one job: the on-disk layout, each bucket's key and its
// record's encoder and decoder side by side, so a format is read where it is
// written. The checks every decoder makes are in record.ts.
import { encode } from '../../core/codec.js'
import { u64be, readU64be, toHex, fromHex, utf8, concatBytes } from '../../core/bytes.js'
import { formatAmount } from '../../core/amount.js'
import type { Hex } from '../../core/tx.js'
import type { Distribution, DistributionRole } from '../../state/distribution.js'
import type { Payout } from '../../state/execute.js'
import { FLOW_RULES, payoutsOfFlows, type Flow, type FlowRole } from '../../state/lineage.js'
import { DbError } from './errors.js'
import { amount, arr, corrupt, decodeRecord, hex, oneOf, str, uint } from './record.js'

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
  /** receiptId(32) → ReceiptEntry: [height, tx position, index in the tx, payouts] (the receipt is read from its tx) */
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
  /** u64be(height) → the block's flow statistics record (node/flowStats.ts encodeFlowRecord), written in its batch */
  flowStats = 0x0b,
  /**
   * traceId(32) ‖ u64be(height) ‖ u32be(tx position) ‖ u32be(index in the tx)
   * → receiptId(32): the receipts of a trace in chain order (DESIGN §4.1)
   */
  trace = 0x0c,
  /**
   * nodeHash(32) → a state tree node (state/stateTree.ts encodeTreeNode):
   * content-addressed, written in the batch of the block that created it,
   * so the tree of every committed state root can be walked for proofs
   */
  stateNode = 0x0d,
}

/**
 * Bumped when a record layout changes, so an old dir is refused instead of
 * misread. v3: every block has a flowStats record (a v2 dir lacks them).
 * v4: state root v2 (a Merkle tree root) with the tree's nodes in stateNode.
 */
export const SCHEMA_VERSION = 4

const prefixed = (b: Bucket, rest: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(b), rest)

/** bucket ‖ the bytes of a 0x-hex id, written straight into the key (one per receipt: hot). */
function prefixedHex(b: Bucket, hex: Hex, field: string, len: number): Uint8Array {
  const out = Buffer.allocUnsafe(1 + len)
  out[0] = b
  if (typeof hex !== 'string' || hex.length !== 2 + 2 * len || hex[0] !== '0' || hex[1] !== 'x' || out.write(hex.slice(2), 1, len, 'hex') !== len) {
    return prefixed(b, fromHex(hex, field, len))
  }
  return out
}

export const keys = {
  chainInfo: (): Uint8Array => Uint8Array.of(Bucket.chainInfo),
  head: (): Uint8Array => Uint8Array.of(Bucket.head),
  block: (height: number): Uint8Array => prefixed(Bucket.block, u64be(height)),
  blockHash: (hash: Hex): Uint8Array => prefixedHex(Bucket.blockHash, hash, 'blockHash', 32),
  commit: (height: number): Uint8Array => prefixed(Bucket.commit, u64be(height)),
  tx: (hash: Hex): Uint8Array => prefixedHex(Bucket.tx, hash, 'txHash', 32),
  receipt: (id: Hex): Uint8Array => prefixedHex(Bucket.receipt, id, 'receiptId', 32),
  distribution: (height: number): Uint8Array => prefixed(Bucket.distribution, u64be(height)),
  state: (key: string): Uint8Array => prefixed(Bucket.state, utf8(key)),
  nodeMeta: (key: string): Uint8Array => prefixed(Bucket.nodeMeta, utf8(key)),
  flowStats: (height: number): Uint8Array => prefixed(Bucket.flowStats, u64be(height)),
  stateNode: (hash: Uint8Array): Uint8Array => prefixed(Bucket.stateNode, hash),
  trace: (traceId: Hex, height: number, txPosition: number, index: number): Uint8Array => {
    const out = Buffer.allocUnsafe(1 + 32 + 8 + 4 + 4)
    out.set(prefixedHex(Bucket.trace, traceId, 'traceId', 32), 0)
    out.set(u64be(height), 33)
    out.writeUInt32BE(txPosition, 41)
    out.writeUInt32BE(index, 45)
    return out
  },
  /** Every key of one trace: [bucket ‖ traceId, bucket ‖ traceId + 1). */
  traceRange: (traceId: Hex): { gte: Uint8Array; lt: Uint8Array } => {
    const gte = prefixedHex(Bucket.trace, traceId, 'traceId', 32)
    return { gte, lt: concatBytes(gte, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)) }
  },
}

/**
 * Keys inside the nodeMeta bucket (UTF-8 strings, see `keys.nodeMeta`).
 * The consensus validator set of a height is `cvalset/` + the height as
 * 12-digit zero-padded decimal (string order is height order below 10^12).
 * Not 8-byte big-endian like the other height keys: the format predates
 * this table and is kept so that existing data dirs read unchanged.
 */
export const nodeMetaKeys = {
  validatorSet: (height: number): string => `cvalset/${height.toString().padStart(12, '0')}`,
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

/** Role codes of the receipt bucket's payouts; a code is never reused for another role. */
const PAYOUT_ROLE_CODES: readonly Payout['role'][] = ['contributor', 'datanetPool', 'modelOwner', 'operator', 'validators', 'treasury', 'royalty', 'curator']
const PAYOUT_ROLE_CODE = new Map(PAYOUT_ROLE_CODES.map((r, i) => [r, i]))

/**
 * What the receipt bucket keeps under a receipt id: where the receipt is
 * (its block, the tx's position there, its index in the tx) and its payouts.
 * The receipt itself is read back from the tx bytes in the block, so a
 * receipt is not stored twice; the payouts are stored because a Datanet
 * pool's rounding at that block cannot be recomputed later.
 */
export interface ReceiptEntry {
  height: number
  txPosition: number
  index: number
  payouts: Payout[]
  /**
   * A lineage receipt's flows (DESIGN §4.1). Stored after the payout
   * section (then empty) as 0x01 ‖ u16be count ‖ count × (u8 role ‖ u8 rule ‖
   * u8 addressLength ‖ address ‖ u8 viaLength (0 or 32) ‖ via ‖ u8
   * amountLength ‖ amount); its payouts are the flows summed per (address,
   * role). An entry without the section (every entry written before
   * lineage existed) is a plain receipt.
   */
  flows?: Flow[]
}

const FLOW_RULE_CODE = new Map(FLOW_RULES.map((r, i) => [r, i]))

function amountBytes(amount: bigint): Uint8Array {
  if (amount < 0n) throw new DbError('DB_ERROR_CORRUPT', `negative amount ${amount} in a receipt flow`)
  if (amount === 0n) return new Uint8Array(0)
  const h = amount.toString(16)
  return Buffer.from(h.length % 2 === 0 ? h : '0' + h, 'hex')
}

function encodeFlows(flows: Flow[]): Uint8Array {
  if (flows.length > 0xffff) throw new DbError('DB_ERROR_CORRUPT', `${flows.length} flows exceed 65535`)
  const parts: Uint8Array[] = [Uint8Array.of(1, flows.length >> 8, flows.length & 0xff)]
  for (const f of flows) {
    const role = PAYOUT_ROLE_CODE.get(f.role)
    const rule = FLOW_RULE_CODE.get(f.rule)
    if (role === undefined || rule === undefined) throw new DbError('DB_ERROR_CORRUPT', `unknown flow role ${f.role} or rule ${f.rule}`)
    const a = f.address === null ? new Uint8Array(0) : payoutAddressBytes(f.address)
    const via = f.via === null ? new Uint8Array(0) : fromHex(f.via, 'via', 32)
    const m = amountBytes(f.amount)
    parts.push(Uint8Array.of(role, rule, a.length), a, Uint8Array.of(via.length), via, Uint8Array.of(m.length), m)
  }
  return concatBytes(...parts)
}

function decodeFlows(b: Buffer, start: number): Flow[] {
  let o = start
  const need = (k: number) => { if (o + k > b.length) corrupt('receipt', 'truncated flow') }
  need(3)
  if (b[o++] !== 1) corrupt('receipt', 'unknown section after the payouts')
  const count = b.readUInt16BE(o)
  o += 2
  const flows: Flow[] = []
  for (let i = 0; i < count; i++) {
    need(3)
    const role = (PAYOUT_ROLE_CODES[b[o++]] ?? corrupt('receipt', 'unknown flow role code')) as FlowRole
    const rule = FLOW_RULES[b[o++]] ?? corrupt('receipt', 'unknown flow rule code')
    const alen = b[o++]
    if (alen !== 0 && !ADDRESS_OR_ID.includes(alen)) corrupt('receipt', `flow address of ${alen} bytes`)
    need(alen + 1)
    const address = alen === 0 ? null : toHex(b.subarray(o, o + alen))
    o += alen
    const vlen = b[o++]
    if (vlen !== 0 && vlen !== 32) corrupt('receipt', `flow via of ${vlen} bytes`)
    need(vlen + 1)
    const via = vlen === 0 ? null : toHex(b.subarray(o, o + vlen))
    o += vlen
    const mlen = b[o++]
    need(mlen)
    flows.push({ address, role, rule, via, amount: amountOfBytes(b.subarray(o, o + mlen)) })
    o += mlen
  }
  if (o !== b.length) corrupt('receipt', 'trailing bytes')
  return flows
}

const TWO_POW_53 = 2n ** 53n

/** Bytes of a non-negative amount below 2^53, big-endian, minimal (0 → none). */
function smallAmountLength(n: number): number {
  let len = 0
  for (let m = n; m > 0; m = Math.floor(m / 256)) len++
  return len
}

function amountOfBytes(b: Uint8Array): bigint {
  if (b.length <= 6) {
    let n = 0
    for (let i = 0; i < b.length; i++) n = n * 256 + b[i]
    return BigInt(n)
  }
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'))
}

/**
 * Payout addresses repeat across receipts (the same contributors, model
 * owner, operator, treasury), so their bytes are decoded from hex once and
 * kept; bounded, cleared when full.
 */
const addressBytes = new Map<string, Uint8Array>()

function payoutAddressBytes(address: string): Uint8Array {
  let b = addressBytes.get(address)
  if (b === undefined) {
    const len = (address.length - 2) / 2
    if ((len !== 20 && len !== 32) || address[0] !== '0' || address[1] !== 'x') {
      throw new DbError('DB_ERROR_CORRUPT', `payout address ${address} is not a 20- or 32-byte hex value`)
    }
    b = Buffer.from(address.slice(2), 'hex')
    if (b.length !== len) throw new DbError('DB_ERROR_CORRUPT', `payout address ${address} is not a 20- or 32-byte hex value`)
    if (addressBytes.size >= 10_000) addressBytes.clear()
    addressBytes.set(address, b)
  }
  return b
}

/**
 * u64be height ‖ u32be txPosition ‖ u32be index ‖ u8 count ‖ count × (u8 role ‖
 * u8 addressLength (0 for the validators' pool, 20, or 32 for a Datanet) ‖
 * address ‖ u8 amountLength ‖ amount, big-endian, minimal). Hand-laid
 * because one is written per receipt: the hot path of a full block.
 */
export function encodeReceiptEntry(e: ReceiptEntry): Uint8Array {
  if (e.flows !== undefined) {
    const head = encodeReceiptEntry({ height: e.height, txPosition: e.txPosition, index: e.index, payouts: [] })
    return concatBytes(head, encodeFlows(e.flows))
  }
  const { payouts } = e
  // one pass into a scratch buffer (≤ 255 payouts × (3 + 32 + 17 bytes) fits), copied out at the end
  const out = entryScratch
  entryView.setUint32(0, Math.floor(e.height / 2 ** 32))
  entryView.setUint32(4, e.height >>> 0)
  entryView.setUint32(8, e.txPosition)
  entryView.setUint32(12, e.index)
  if (payouts.length > 255) throw new DbError('DB_ERROR_CORRUPT', `${payouts.length} payouts exceed 255`)
  out[16] = payouts.length
  let o = 17
  for (let i = 0; i < payouts.length; i++) {
    const p = payouts[i]
    const code = PAYOUT_ROLE_CODE.get(p.role)
    if (code === undefined) throw new DbError('DB_ERROR_CORRUPT', `unknown payout role ${p.role}`)
    out[o++] = code
    if (p.address === null) {
      out[o++] = 0
    } else {
      const a = payoutAddressBytes(p.address)
      out[o++] = a.length
      out.set(a, o)
      o += a.length
    }
    const amount = p.amount
    if (amount < 0n) throw new DbError('DB_ERROR_CORRUPT', `negative amount ${amount} in a receipt payout`)
    if (amount < TWO_POW_53) {
      // every realistic fee share: minimal big-endian bytes straight from the number
      let n = Number(amount)
      const len = smallAmountLength(n)
      out[o++] = len
      for (let k = o + len - 1; k >= o; k--) { out[k] = n % 256; n = Math.floor(n / 256) }
      o += len
    } else {
      const h = amount.toString(16)
      const b = Buffer.from(h.length % 2 === 0 ? h : '0' + h, 'hex')
      out[o++] = b.length
      out.set(b, o)
      o += b.length
    }
  }
  // copied out into Buffer's pooled slab: a fresh small ArrayBuffer per entry costs far more
  const entry = Buffer.allocUnsafe(o)
  entry.set(out.subarray(0, o))
  return entry
}

/**
 * 17 + 255 × (1 + 1 + 32 + 1 + 17): the largest entry (amounts are at most
 * 2^128 − 1, 16 bytes).
 */
const entryScratch = new Uint8Array(17 + 255 * 52)
const entryView = new DataView(entryScratch.buffer)

export function decodeReceiptEntry(bytes: Uint8Array): ReceiptEntry {
  const n = 'receipt'
  if (bytes.length < 17) corrupt(n, 'shorter than its fixed part')
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  const height = b.readUInt32BE(0) * 2 ** 32 + b.readUInt32BE(4)
  const payouts: Payout[] = []
  let o = 17
  const need = (k: number) => { if (o + k > b.length) corrupt(n, 'truncated payout') }
  for (let i = 0; i < b[16]; i++) {
    need(2)
    const role = PAYOUT_ROLE_CODES[b[o++]] ?? corrupt(n, `unknown payout role code ${b[o - 1]}`)
    const alen = b[o++]
    if (alen !== 0 && !ADDRESS_OR_ID.includes(alen)) corrupt(n, `payout address of ${alen} bytes`)
    need(alen + 1)
    const address = alen === 0 ? null : toHex(b.subarray(o, o + alen))
    o += alen
    const mlen = b[o++]
    need(mlen)
    payouts.push({ address, role, amount: amountOfBytes(b.subarray(o, o + mlen)) })
    o += mlen
  }
  if (o !== b.length) {
    const flows = decodeFlows(b, o)
    return { height, txPosition: b.readUInt32BE(8), index: b.readUInt32BE(12), payouts: payoutsOfFlows(flows), flows }
  }
  return { height, txPosition: b.readUInt32BE(8), index: b.readUInt32BE(12), payouts }
}

// ---------------------------------------------------------------- distributions

const DISTRIBUTION_ROLES: Record<DistributionRole, true> = {
  contributor: true, datanetPool: true, modelOwner: true, operator: true, validator: true, delegatorPool: true, treasury: true,
  royalty: true, curator: true,
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
