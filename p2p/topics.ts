import { decode, encode, type Encodable } from '../core/codec.js'
import { encodeProposal, decodeProposal, encodeVote, evidenceToEncodable, type Evidence, type Proposal, type Vote } from '../consensus/index.js'
import type { GossipKind } from './interface.js'

/**
 * Gossip topics and their wire formats (DESIGN §6). Every payload is
 * canonical msgpack:
 *   txs        [signedTx bytes…]          a small batch, 1 to MAX_TX_BATCH
 *   proposals  [proposal, blockBytes | compact | null]  proposal as consensus encodes it;
 *                                        a block over INLINE_BLOCK_BYTES rides as its
 *                                        compact body [header, [txHash…], lastCommit, evidence]
 *                                        (p2p/compactBlock.ts), or as null when that is over
 *                                        INLINE_COMPACT_BYTES (receivers pull it by hash)
 *   votes      vote                       as consensus encodes it
 *   evidence   [voteA, voteB]             double-sign evidence as blocks carry it
 *                                        (CometBFT's evidence channel)
 */
export function topicName(chainId: string, kind: GossipKind): string {
  return `/attrchain/${chainId}/${kind}`
}

export function statusProtocol(chainId: string): string {
  return `/attrchain/${chainId}/status/1`
}

export function syncProtocol(chainId: string): string {
  return `/attrchain/${chainId}/sync/1`
}

export function blockProtocol(chainId: string): string {
  return `/attrchain/${chainId}/block/1`
}

/** Compact blocks: a held block's body without tx bytes, or some of its txs (p2p/compactBlock.ts). */
export function blockPartsProtocol(chainId: string): string {
  return `/attrchain/${chainId}/blockparts/1`
}

/** Gap repair: a sender's txs by nonce from a peer's mempool (p2p/pooledTxs.ts). */
export function pooledTxsProtocol(chainId: string): string {
  return `/attrchain/${chainId}/pooledtxs/1`
}

/**
 * Blocks up to this size travel inside the proposal message; larger ones are
 * pulled by hash from the peer that forwarded the proposal, as a compact
 * block (tx hashes; the validator fills in the txs its mempool holds and
 * pulls only the others: p2p/compactBlock.ts) or whole. 256 KiB: a bigger
 * block is mostly txs the validators already received by tx gossip. @libp2p/gossipsub
 * 17 cannot send an RPC frame over 4 MiB (its outbound length-prefix encoder
 * keeps it-length-prefixed's default: libp2p/js-libp2p#3427), and pulling
 * also spares each node receiving a big block from every mesh peer.
 */
export const INLINE_BLOCK_BYTES = 256 * 1024

/**
 * A larger block rides as its compact body up to this size (32 bytes per
 * tx: 32,000 txs), so a validator pulls only the txs its mempool lacks, in
 * one round trip or none; within gossipsub 17's 4 MiB frame.
 */
export const INLINE_COMPACT_BYTES = 1024 * 1024

/** Receivers accept batches up to this size whatever the sender's txBatchMax, so nodes may tune it independently. */
export const MAX_TX_BATCH = 1024

/** `[signedTx…]`, or `[signedTx…, relay]` for a re-broadcast: the counter makes the bytes (the gossip message id) new. */
export function encodeTxBatch(txs: Uint8Array[], relay?: number): Uint8Array {
  return encode(relay === undefined ? txs : [...txs, relay])
}

/**
 * `[proposal, blockBytes | compact | null]` (`compact`: the encoded compact
 * body), or with a trailing relay counter
 * when a validator re-broadcasts: gossipsub drops bytes it has seen within
 * its 2-minute window, so a peer that joined after the first publish would
 * never get the message; the counter makes each re-broadcast new bytes.
 * The proposal and a compact body sit in the message as their own msgpack
 * arrays, not as nested bytes, so the message stays one canonical value;
 * consensus and compactBlock.ts expose bytes-level codecs, hence a
 * decode/encode round trip (~150 bytes for the proposal, 32 per tx for the body).
 */
export function encodeProposalMessage(proposal: Proposal, block: Uint8Array | { compact: Uint8Array } | null, relay?: number): Uint8Array {
  const p = decode(encodeProposal(proposal))
  const body = block === null || block instanceof Uint8Array ? block : decode(block.compact)
  return encode(relay === undefined ? [p, body] : [p, body, relay])
}

export function proposalFromMessageValue(value: Encodable): Proposal {
  return decodeProposal(encode(value))
}

/** `[voteA, voteB]`, or `[voteA, voteB, relay]` for a re-broadcast (see encodeProposalMessage). */
export function encodeEvidenceMessage(e: Evidence, relay?: number): Uint8Array {
  const value = evidenceToEncodable(e) as Encodable[]
  return encode(relay === undefined ? value : [...value, relay])
}

/** The vote itself, or `[vote, relay]` for a re-broadcast (see encodeProposalMessage). */
export function encodeVoteMessage(vote: Vote, relay?: number): Uint8Array {
  return relay === undefined ? encodeVote(vote) : encode([decode(encodeVote(vote)), relay])
}
