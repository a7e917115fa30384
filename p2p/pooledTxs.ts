import { decode, encode, type Encodable } from '../core/codec.js'
import { fromHex, toHex } from '../core/bytes.js'
import { decodeSignedTx, type SignedTx, type TxLimits } from '../core/tx.js'
import type { Address } from '../core/address.js'
import { P2PError } from './errors.js'

/**
 * Gap repair (issue 10): a node that holds a sender's txs behind a nonce
 * gap (gossip delivered a later nonce before an earlier one, or dropped
 * the earlier one while the node was busy) asks the peer that forwarded
 * them for the missing nonces, over `/attrchain/<chainId>/pooledtxs/1`,
 * instead of leaving them to the sender's node's turn to propose or to its
 * 10 s re-broadcast (node/txRelay.ts). Ethereum's eth/66+ pulls pooled txs
 * by hash (GetPooledTransactions); a node here does not know the hashes of
 * the txs it lacks, only their sender and nonces, so it asks by those:
 *
 *   request  [sender(20), fromNonce, count]   count 1..MAX_POOLED_TXS
 *   response [signedTx bytes…]                the txs the peer's mempool holds of that sender at
 *                                             fromNonce, fromNonce + 1, …: a consecutive prefix
 *                                             (maybe empty), within the tx message size limit
 *
 * The asker checks that every tx is the sender's, at the nonce of its
 * position, and verifies the signatures before its mempool takes them.
 * Written here because it is attrchain's own protocol: no library knows it.
 */
export interface PooledTxsRequest {
  sender: Address
  fromNonce: number
  count: number
}

/** txs one request may ask for (a 64-tx gossip message behind a gap is the common case; four of them at most) */
export const MAX_POOLED_TXS = 256
/** a request is `[bin 20, uint ≤ 9 bytes, uint ≤ 3 bytes]`: 36 bytes at most */
export const MAX_POOLED_REQUEST_BYTES = 64

/**
 * Per-peer budget of requests served (p2p/snapshot.ts PeerRateLimiter): a
 * node asks once per sender with a gap, after a pause (node/txGapRepair.ts,
 * at most 2 at a time per peer), and under the 4-validator flood asked 6–15
 * times in 20 s; an answer is up to 2 MiB, so this also bounds the upload a
 * 36-byte request can cost (20 MiB in a burst, 20 MiB/s after it).
 */
export const POOLED_RATE = { perSecond: 10, burst: 10, concurrent: 2, maxPeers: 256 }

export function encodePooledRequest(req: PooledTxsRequest): Uint8Array {
  return encode([fromHex(req.sender, 'sender', 20), req.fromNonce, req.count])
}

/** Throws P2P_ERROR_BAD_REQUEST unless `[sender(20), fromNonce ≥ 0, 1 ≤ count ≤ MAX_POOLED_TXS]`. */
export function decodePooledRequest(bytes: Uint8Array): PooledTxsRequest {
  let value: Encodable
  try {
    value = decode(bytes, MAX_POOLED_REQUEST_BYTES)
  } catch (e) {
    throw new P2PError('P2P_ERROR_BAD_REQUEST', `pooled txs request: ${(e as Error).message}`)
  }
  const bad = (): never => { throw new P2PError('P2P_ERROR_BAD_REQUEST', `pooled txs request must be [sender(20), fromNonce, count 1..${MAX_POOLED_TXS}]`) }
  if (!Array.isArray(value) || value.length !== 3) return bad()
  const [sender, from, count] = value as [Encodable, Encodable, Encodable]
  if (!(sender instanceof Uint8Array) || sender.length !== 20) return bad()
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) return bad()
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > MAX_POOLED_TXS) return bad()
  return { sender: toHex(sender) as Address, fromNonce: from, count }
}

/** The served frame: the txs as the mempool holds them. */
export function encodePooledResponse(txs: Uint8Array[]): Uint8Array {
  return encode(txs)
}

/**
 * The txs of a response, decoded (signatures verified with `verify`, else
 * left to the caller's verifier threads) and checked against the request: at most
 * `count`, each of `chainId`, the sender's, at `fromNonce` + its position.
 * Throws P2P_ERROR_BAD_RESPONSE otherwise.
 */
export function decodePooledResponse(bytes: Uint8Array, req: PooledTxsRequest, maxBytes: number, limits: TxLimits, chainId: string, verify = false): SignedTx[] {
  const bad = (what: string): P2PError => new P2PError('P2P_ERROR_BAD_RESPONSE', `pooled txs: ${what}`)
  let value: Encodable
  try {
    value = decode(bytes, maxBytes)
  } catch (e) {
    throw bad((e as Error).message)
  }
  if (!Array.isArray(value) || value.length > req.count) throw bad(`must be a list of at most ${req.count} txs`)
  return (value as Encodable[]).map((raw, i) => {
    if (!(raw instanceof Uint8Array)) throw bad('txs must be byte strings')
    let stx: SignedTx
    try {
      stx = decodeSignedTx(raw, limits, { verify })
    } catch (e) {
      throw bad(`tx ${i}: ${(e as Error).message}`)
    }
    if (stx.tx.chainId !== chainId) throw bad(`tx ${i} is for chain ${JSON.stringify(stx.tx.chainId)}`)
    if (stx.sender !== req.sender || stx.tx.nonce !== req.fromNonce + i) throw bad(`tx ${i} is not the sender's nonce ${req.fromNonce + i}`)
    return stx
  })
}
