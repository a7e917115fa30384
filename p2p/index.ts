/** The p2p module's public surface (STYLE.md: other folders import only this). The polyfill must run before libp2p loads. */
import './polyfill.js'

export { P2PNetwork } from './host.js'
export { P2PError, type P2PErrorCode } from './errors.js'
export { defaultP2POptions, messageLimitsFor, resolveP2POptions, type MessageLimits, type P2PInit, type P2POptions } from './options.js'
export {
  GOSSIP_KINDS,
  type GossipCounters,
  type GossipKind,
  type GossipStats,
  type P2PHandlers,
  type P2PModules,
  type PeerInfo,
  type SyncBlock,
  type Verdict,
} from './interface.js'
export { topicName, statusProtocol, syncProtocol, blockProtocol, pooledTxsProtocol, MAX_TX_BATCH, INLINE_BLOCK_BYTES } from './topics.js'
export { SYNC_MAX_BLOCKS } from './sync.js'
export { MAX_POOLED_TXS, type PooledTxsRequest } from './pooledTxs.js'
export { loadOrCreateNodeKey } from './nodeKey.js'
export { defaultDiscoveryOptions, dhtProtocol, type DiscoveryOptions } from './discovery.js'
export {
  GOSSIP_REJECT_REASONS, validateGossip, validateProposalBlock, validateEvidence,
  type GossipIgnoreReason, type GossipMessage, type GossipRejectReason, type Settled, type Validation, type ValidatorContext,
} from './validation.js'
