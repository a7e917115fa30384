import { gossipsub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type PeerScoreParams } from '@libp2p/gossipsub/score'
import { sha256 } from '../core/hash.js'
import { GOSSIP_KINDS } from './interface.js'
import type { P2POptions } from './options.js'
import { topicName } from './topics.js'

/** RPC frames carry a message plus gossip control data; this much slack covers the latter. */
const RPC_OVERHEAD_BYTES = 64 * 1024

/**
 * gossipsub as the host runs it (DESIGN §6): `StrictNoSign` with
 * content-addressed ids (sha256 of the data; txs, proposals, votes and
 * evidence carry their own signatures, and identical bytes from two peers
 * are one message), our four topics only, inbound frames bounded by the largest message.
 */
export function gossipsubOptions(opts: P2POptions): Parameters<typeof gossipsub>[0] {
  const limits = opts.maxMessageBytes
  const topics = GOSSIP_KINDS.map((k) => topicName(opts.chainId, k))
  return {
    globalSignaturePolicy: 'StrictNoSign',
    msgIdFn: (msg) => sha256(msg.data),
    emitSelf: false,
    // Publishing to nobody must throw rather than succeed: a "successful"
    // publish enters the seen cache, and re-publishing the same bytes once
    // peers arrive would then be dropped as a duplicate.
    allowPublishToZeroTopicPeers: false,
    // Consensus re-broadcasts identical votes; a no-op is the right answer.
    ignoreDuplicatePublishError: true,
    allowedTopics: topics,
    maxInboundDataLength: Math.max(...Object.values(limits)) + RPC_OVERHEAD_BYTES,
    scoreParams: scoreParams(topics),
  }
}

/**
 * Peer scoring: a rejected message costs its forwarder (P4, squared, slow
 * decay: two rejects on one topic reach the graylist threshold −80).
 * Mesh-delivery-rate penalties (P3, P3b) are off because our topics are
 * quiet when the chain is idle and honest peers would be pruned for it.
 * Nodes of one devnet share 127.0.0.1, so the IP colocation penalty
 * whitelists loopback.
 */
export function scoreParams(topics: string[]): Partial<PeerScoreParams> {
  const topic = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.9,
  })
  return {
    topics: Object.fromEntries(topics.map((t) => [t, topic])),
    IPColocationFactorWhitelist: new Set(['127.0.0.1']),
  }
}
