import { decode, encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { P2PError } from './errors.js'

/**
 * Compact blocks (issue 10: proposals do not re-ship what validators already
 * hold). A block too large to ride inside its proposal message rides as its
 * compact body `[header, [txHash(32)…], lastCommit, evidence]` instead (up
 * to INLINE_COMPACT_BYTES; p2p/topics.ts); the validator fills in every tx
 * its mempool holds (verified at admission, so not verified again) and
 * pulls only the missing ones from the peer that forwarded the proposal,
 * over `/attrchain/<chainId>/blockparts/1`:
 *
 *   request  [blockHash(32), null]        → compact body (a proposal that came with neither block nor body)
 *   request  [blockHash(32), [index…]]    → [txBytes…] of those positions
 *
 * The block is re-encoded from its parts: the codec is canonical, so the
 * bytes are the proposer's, and gossip validation still checks the header
 * hash and the txRoot (which binds every tx hash) before anything is
 * accepted. On any failure the whole block is pulled over `/block/1`.
 * Riding along saves the body's round trip, which under the 4-validator
 * flood took 20–660 ms (the proposer's event loop busy with admission) and
 * made validators miss their propose timeout. Written here because it is
 * attrchain's own block format: no library knows it.
 */
export interface CompactBlock {
  header: Encodable
  txHashes: Uint8Array[]
  lastCommit: Encodable
  evidence: Encodable
}

/** A held block split for serving: its compact body (encoded) and its txs. */
export interface BlockParts {
  compact: Uint8Array
  txs: Uint8Array[]
}

function malformed(what: string): P2PError {
  return new P2PError('P2P_ERROR_BAD_RESPONSE', `compact block: ${what}`)
}

/** Split canonical block bytes `[header, [tx…], lastCommit, evidence]` into parts. */
export function blockParts(blockBytes: Uint8Array): BlockParts {
  // a block this node holds was checked when it was accepted: no canonical re-encoding check
  const value = decode(blockBytes, blockBytes.length, { canonical: false })
  if (!Array.isArray(value) || value.length !== 4 || !Array.isArray(value[1])) throw malformed('not a block')
  const [header, txs, lastCommit, evidence] = value as [Encodable, Encodable[], Encodable, Encodable]
  if (!txs.every((t) => t instanceof Uint8Array)) throw malformed('txs must be byte strings')
  const list = txs as Uint8Array[]
  return { compact: encode([header, list.map((t) => sha256(t)), lastCommit, evidence]), txs: list }
}

/**
 * The most tx hashes a compact body within `maxBytes` can name (32 bytes
 * each): the tx-count bound of decodeCompact and compactFromValue for a
 * body carried in, or pulled as, a proposal of at most `maxBytes`.
 */
export function maxCompactTxs(maxBytes: number): number {
  return Math.floor(maxBytes / 32)
}

/** Decode a compact body of at most `maxTxs` tx hashes. */
export function decodeCompact(bytes: Uint8Array, maxBytes: number, maxTxs: number): CompactBlock {
  let value: Encodable
  try {
    value = decode(bytes, maxBytes)
  } catch (e) {
    throw malformed((e as Error).message)
  }
  return compactFromValue(value, maxTxs)
}

/** A compact body already decoded (inside a proposal message), of at most `maxTxs` tx hashes; throws P2P_ERROR_BAD_RESPONSE when malformed. */
export function compactFromValue(value: Encodable, maxTxs: number): CompactBlock {
  if (!Array.isArray(value) || value.length !== 4 || !Array.isArray(value[1])) throw malformed('must be [header, [txHash…], lastCommit, evidence]')
  const hashes = value[1] as Encodable[]
  if (hashes.length > maxTxs) throw malformed(`${hashes.length} txs exceed ${maxTxs}`)
  if (!hashes.every((h) => h instanceof Uint8Array && h.length === 32)) throw malformed('tx hashes must be 32 bytes')
  return { header: value[0]!, txHashes: hashes as Uint8Array[], lastCommit: value[2]!, evidence: value[3]! }
}

/** The block's canonical bytes from its compact body and its txs in order. */
export function assembleBlock(c: CompactBlock, txs: Uint8Array[]): Uint8Array {
  return encode([c.header, txs, c.lastCommit, c.evidence])
}

/** `[blockHash, null | [index…]]` */
export function encodePartsRequest(blockHash: Uint8Array, indexes: number[] | null): Uint8Array {
  return encode([blockHash, indexes])
}

export function decodePartsRequest(bytes: Uint8Array, maxBytes: number): { blockHash: Uint8Array; indexes: number[] | null } {
  let value: Encodable
  try {
    value = decode(bytes, maxBytes)
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_REQUEST', `block parts request: ${(e as Error).message}`)
  }
  const bad = (): never => { throw new P2PError('P2P_ERROR_BAD_REQUEST', 'block parts request must be [blockHash(32), null | [index…]]') }
  if (!Array.isArray(value) || value.length !== 2) return bad()
  const [hash, idx] = value as [Encodable, Encodable]
  if (!(hash instanceof Uint8Array) || hash.length !== 32) return bad()
  if (idx === null) return { blockHash: hash, indexes: null }
  if (!Array.isArray(idx) || !idx.every((i) => typeof i === 'number' && Number.isSafeInteger(i) && i >= 0)) return bad()
  return { blockHash: hash, indexes: idx as number[] }
}

/** `[txBytes…]` answering an index request, checked against the hashes asked for. */
export function decodeTxParts(bytes: Uint8Array, maxBytes: number, expected: Uint8Array[]): Uint8Array[] {
  let value: Encodable
  try {
    value = decode(bytes, maxBytes)
  } catch (e) {
    throw malformed((e as Error).message)
  }
  if (!Array.isArray(value) || value.length !== expected.length) throw malformed(`expected ${expected.length} txs`)
  return (value as Encodable[]).map((t, i) => {
    if (!(t instanceof Uint8Array)) throw malformed('txs must be byte strings')
    const h = sha256(t)
    if (h.length !== 32 || !h.every((b, j) => b === expected[i]![j])) throw malformed(`tx ${i} does not hash to the hash asked for`)
    return t
  })
}
