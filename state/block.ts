import { encode, decode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { toHex, fromHex } from '../core/bytes.js'
import { BlockError } from '../core/errors.js'
import type { Address } from '../core/address.js'
import type { Hex } from '../core/tx.js'

/**
 * Block format (DESIGN §5). The header is
 *   [chainId, height, timeMs, prevHash, txRoot, stateRoot, validatorsHash, proposer, lastCommitHash]
 * and a block is [header, [signedTx…], lastCommit | null, [evidence…]]. The
 * commit and evidence encodings belong to consensus/; here they are opaque
 * canonical values whose hashes the header binds.
 */
export interface Header {
  chainId: string
  height: number
  timeMs: number
  prevHash: Hex
  txRoot: Hex
  /** state root after this block's execution */
  stateRoot: Hex
  /** hash of the validator set that commits this height */
  validatorsHash: Hex
  proposer: Address
  lastCommitHash: Hex
}

export interface Block {
  header: Header
  /** canonical bytes of each signed tx */
  txs: Uint8Array[]
  /** the encoded commit certificate of height − 1 (null at height 1) */
  lastCommit: Encodable | null
  /** encoded double-sign evidence */
  evidence: Encodable[]
}

export const ZERO_HASH: Hex = toHex(new Uint8Array(32))

export function encodeHeader(h: Header): Encodable {
  return [
    h.chainId, h.height, h.timeMs, fromHex(h.prevHash, 'prevHash', 32), fromHex(h.txRoot, 'txRoot', 32),
    fromHex(h.stateRoot, 'stateRoot', 32), fromHex(h.validatorsHash, 'validatorsHash', 32),
    fromHex(h.proposer, 'proposer', 20), fromHex(h.lastCommitHash, 'lastCommitHash', 32),
  ]
}

export function blockHash(h: Header): Hex {
  return toHex(sha256(encode(encodeHeader(h))))
}

/** txRoot = sha256(msgpack([txHash…])) over the txs in block order. */
export function txRoot(txs: Uint8Array[]): Hex {
  return txRootOfHashes(txs.map((t) => sha256(t)))
}

/** txRoot from the txs' hashes, for callers that hashed the txs already. */
export function txRootOfHashes(hashes: Uint8Array[]): Hex {
  return toHex(sha256(encode(hashes)))
}

export function commitHash(lastCommit: Encodable | null): Hex {
  return lastCommit === null ? ZERO_HASH : toHex(sha256(encode(lastCommit)))
}

export function encodeBlock(b: Block): Uint8Array {
  return encode([encodeHeader(b.header), b.txs, b.lastCommit, b.evidence])
}

function bad(message: string): never {
  throw new BlockError('BLOCK_ERROR_MALFORMED', message)
}

function hex(v: Encodable, len: number, field: string): Hex {
  if (!(v instanceof Uint8Array) || v.length !== len) bad(`${field} must be ${len} bytes`)
  return toHex(v)
}

function uint(v: Encodable, field: string): number {
  if (typeof v !== 'number') bad(`${field} must be an integer`)
  return v
}

export function decodeHeader(e: Encodable): Header {
  if (!Array.isArray(e) || e.length !== 9) bad('header must be an array of 9')
  const h = e as Encodable[]
  if (typeof h[0] !== 'string') bad('chainId must be a string')
  return {
    chainId: h[0] as string, height: uint(h[1], 'height'), timeMs: uint(h[2], 'timeMs'), prevHash: hex(h[3], 32, 'prevHash'),
    txRoot: hex(h[4], 32, 'txRoot'), stateRoot: hex(h[5], 32, 'stateRoot'), validatorsHash: hex(h[6], 32, 'validatorsHash'),
    proposer: hex(h[7], 20, 'proposer'), lastCommitHash: hex(h[8], 32, 'lastCommitHash'),
  }
}

export function decodeBlock(bytes: Uint8Array, maxBytes: number): Block {
  let e: Encodable
  try {
    e = decode(bytes, maxBytes)
  } catch (err) {
    throw new BlockError('BLOCK_ERROR_MALFORMED', `block is not canonical msgpack: ${(err as Error).message}`)
  }
  if (!Array.isArray(e) || e.length !== 4) bad('block must be an array of 4')
  const [header, txs, lastCommit, evidence] = e as Encodable[]
  if (!Array.isArray(txs) || !txs.every((t) => t instanceof Uint8Array)) bad('txs must be an array of byte strings')
  if (!Array.isArray(evidence)) bad('evidence must be an array')
  return { header: decodeHeader(header), txs: txs as Uint8Array[], lastCommit, evidence: evidence as Encodable[] }
}
