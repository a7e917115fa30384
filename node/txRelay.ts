import type { SignedTx } from '../core/tx.js'

/**
 * Re-broadcast of pending txs (issue 12 item 2): gossip is best effort — a
 * tx admitted while the node had no peer was published to nobody, and a
 * busy peer ignores tx gossip — so executable txs are published again until
 * they are included or evicted: those not gossiped for `minAgeMs`, and all
 * of them once a new peer subscribes to the tx topic; at most `maxPerTick`
 * every `intervalMs`, least recently gossiped first.
 */
export interface TxRelayOptions {
  /** how often to look for txs to re-broadcast (ms) */
  intervalMs: number
  /** a pending tx is re-broadcast when it was last gossiped this long ago (ms) */
  minAgeMs: number
  /** txs re-broadcast per tick at most */
  maxPerTick: number
}

/** Every 2 s; a tx not included 10 s after it was last gossiped goes out again; 512 per tick bounds a peer's extra signature checks to ~250/s per neighbour. */
export const defaultTxRelayOptions: TxRelayOptions = { intervalMs: 2000, minAgeMs: 10_000, maxPerTick: 512 }

export interface TxRelayModules {
  mempool: {
    relayCandidates(before: number, max: number): SignedTx[]
    markRelayed(hashes: string[], at: number): void
  }
  network: {
    /** peer ids subscribed to the tx topic */
    gossipPeers(kind: 'txs'): string[]
    /** publishes them again; returns how many were sent (0 without peers) */
    relayTxs(txs: Uint8Array[]): number
  }
  now(): number
  /** told how many txs each tick re-broadcast */
  onRelayed?(count: number): void
}

export class TxRelay {
  private timer: NodeJS.Timeout | null = null
  private peers = new Set<string>()
  /** txs gossiped before this (a new peer's arrival) are due whatever their age */
  private dueBefore = 0

  constructor(private readonly opts: TxRelayOptions, private readonly modules: TxRelayModules) {}

  start(): void {
    if (this.timer !== null) return
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** One round: returns how many txs were re-broadcast. */
  tick(): number {
    const { mempool, network } = this.modules
    const now = this.modules.now()
    const peers = new Set(network.gossipPeers('txs'))
    for (const p of peers) {
      if (this.peers.has(p)) continue
      this.dueBefore = now
      break
    }
    this.peers = peers
    if (peers.size === 0) return 0
    const txs = mempool.relayCandidates(Math.max(now - this.opts.minAgeMs, this.dueBefore), this.opts.maxPerTick)
    if (txs.length === 0) return 0
    const sent = network.relayTxs(txs.map((t) => t.bytes))
    if (sent === 0) return 0
    mempool.markRelayed(txs.map((t) => t.hash), now)
    this.modules.onRelayed?.(sent)
    return sent
  }
}
