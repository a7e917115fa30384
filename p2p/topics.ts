import { decode, encode, type Encodable } from '../core/codec.js'
import { encodeProposal, decodeProposal, encodeVote, type Proposal, type Vote } from '../consensus/index.js'
import type { GossipKind } from './interface.js'

/**
 * Gossip topics and their wire formats (DESIGN §6). Every payload is
 * canonical msgpack:
 *   txs        [signedTx bytes…]          a small batch, 1 to MAX_TX_BATCH
 *   proposals  [proposal, blockBytes]     proposal as consensus encodes it
 *   votes      vote                       as consensus encodes it
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

/** Receivers accept batches up to this size whatever the sender's txBatchMax, so nodes may tune it independently. */
export const MAX_TX_BATCH = 1024

export function encodeTxBatch(txs: Uint8Array[]): Uint8Array {
  return encode(txs)
}

/**
 * The proposal sits in the message as its own msgpack array, not as nested
 * bytes, so the message stays one canonical value; consensus exposes only
 * bytes-level codecs, hence the decode/encode round trip of its ~150 bytes.
 */
export function encodeProposalMessage(proposal: Proposal, blockBytes: Uint8Array): Uint8Array {
  return encode([decode(encodeProposal(proposal)), blockBytes])
}

export function proposalFromMessageValue(value: Encodable): Proposal {
  return decodeProposal(encode(value))
}

export function encodeVoteMessage(vote: Vote): Uint8Array {
  return encodeVote(vote)
}
