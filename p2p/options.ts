import { MAX_TX_BYTES, DEFAULT_TX_LIMITS, type TxLimits } from '../core/tx.js'
import { defaultDiscoveryOptions, type DiscoveryOptions } from './discovery.js'

/** Largest gossip message accepted per topic, in bytes; larger ones are rejected (the sender is penalised). */
export interface MessageLimits {
  txs: number
  proposals: number
  votes: number
  evidence: number
}

/**
 * Proposals carry the whole block: its txs (≤ maxBlockBytes) plus header,
 * last commit and evidence, which the chain bounds by a further 1 MiB
 * (node/chain.ts); one more MiB leaves room for the proposal and framing.
 * A tx batch must fit at least one maximal tx. A vote is under 200 bytes,
 * evidence two votes.
 */
export function messageLimitsFor(maxBlockBytes: number): MessageLimits {
  return { proposals: maxBlockBytes + 2 * 1024 * 1024, txs: 2 * MAX_TX_BYTES, votes: 4 * 1024, evidence: 4 * 1024 }
}

export interface P2POptions {
  chainId: string
  /** `0x` hex of the genesis hash; peers with another one are dropped */
  genesisHash: string
  /** file holding this node's persistent libp2p identity (created on first start) */
  nodeKeyPath: string
  listenHost: string
  /** 0 picks a free port */
  listenPort: number
  /** multiaddrs ending in `/p2p/<peerId>`, dialled with backoff and redialled when lost */
  bootstrap: string[]
  maxMessageBytes: MessageLimits
  /** txs per gossip message at most */
  txBatchMax: number
  /** a queued tx waits at most this long for others to share its message */
  txBatchDelayMs: number
  /**
   * a tx message that arrives while the node is busy (P2PHandlers.txGossipBusy)
   * waits this long at most for it to recover before it is ignored unread (ms)
   */
  txGossipMaxWaitMs: number
  /** bytes of tx messages waiting so at once; one that would pass it is ignored unread at once */
  txGossipMaxWaitingBytes: number
  /** static tx limits checked when a gossiped tx is decoded (from the genesis params) */
  txLimits: TxLimits
  /** how often connected peers are asked for their height */
  statusIntervalMs: number
  /** deadline of one status or sync request, dial included */
  requestTimeoutMs: number
  /** first and largest pause between dials of an unreachable bootstrap peer */
  dialBackoffMinMs: number
  dialBackoffMaxMs: number
  /** DHT peer discovery, target and max peer counts (p2p/discovery.ts) */
  discovery: DiscoveryOptions
}

/** What a caller must give; everything else has a default. */
export type P2PInit = Pick<P2POptions, 'chainId' | 'genesisHash' | 'nodeKeyPath'> & Partial<P2POptions>

export const defaultP2POptions: Omit<P2POptions, 'chainId' | 'genesisHash' | 'nodeKeyPath'> = {
  listenHost: '127.0.0.1',
  listenPort: 26656,
  bootstrap: [],
  maxMessageBytes: messageLimitsFor(8 * 1024 * 1024),
  txBatchMax: 64,
  txBatchDelayMs: 20,
  txGossipMaxWaitMs: 1000,
  txGossipMaxWaitingBytes: 16 * 1024 * 1024,
  txLimits: DEFAULT_TX_LIMITS,
  statusIntervalMs: 2000,
  requestTimeoutMs: 10_000,
  dialBackoffMinMs: 250,
  dialBackoffMaxMs: 10_000,
  discovery: defaultDiscoveryOptions,
}

/** Fields given as `undefined` keep their default, so config layers can pass optional values straight through. */
export function resolveP2POptions(init: P2PInit): P2POptions {
  const given = Object.fromEntries(Object.entries(init).filter(([, v]) => v !== undefined))
  return { ...defaultP2POptions, ...given } as P2POptions
}
