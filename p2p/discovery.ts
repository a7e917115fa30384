import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { ping, type Ping } from '@libp2p/ping'
import type { Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../core/logger.js'

/**
 * Peer discovery (issue 17 item 2) with libp2p's own Kademlia DHT
 * (`@libp2p/kad-dht`) on a protocol private to this chain and genesis, so
 * that only nodes of this network are in each other's routing tables:
 * a node that knows one bootstrap peer asks it (and then the peers it
 * learns of) for the peers closest to random keys, the DHT adds them to the
 * peer store, and this module dials them until the node has `targetPeers`
 * connections. libp2p's connection manager caps connections at `maxPeers`
 * (the lowest-valued are closed first).
 *
 * A peer whose dial fails is retried with exponential backoff
 * (`dialBackoffMinMs` doubling to `dialBackoffMaxMs`), logged at debug
 * level only; a peer the host banned (another chain or genesis, or
 * penalised) is not dialled at all while the ban lasts.
 */

export interface DiscoveryOptions {
  /** run the DHT and dial the peers it finds; off: only the bootstrap list is dialled */
  enabled: boolean
  /** connections the node dials towards; it stops looking once it has this many */
  targetPeers: number
  /** libp2p connection manager's maxConnections: beyond it, the lowest-valued connections are closed */
  maxPeers: number
  /** how often the node checks its peer count and, under target, runs a DHT lookup (ms) */
  intervalMs: number
  /**
   * longest pause between DHT lookups that find no peer the node did not
   * know (ms): the pause starts at intervalMs and doubles after each such
   * lookup, and a lookup that finds a new peer, or a lost connection, ends it
   */
  maxLookupIntervalMs: number
  /**
   * keep loopback addresses in DHT records; true when the node itself listens on
   * loopback (a one-machine network), else they would only send dials to the wrong host
   */
  loopbackAddrs: boolean
}

/**
 * CometBFT's defaults are 10 outbound and 40 inbound peers: the target is its
 * outbound figure, the cap the sum. A consensus message crosses the mesh in
 * at most a few hops at these sizes (gossipsub's D is 6).
 */
export const defaultDiscoveryOptions: DiscoveryOptions = {
  enabled: true,
  targetPeers: 10,
  maxPeers: 50,
  intervalMs: 2_000,
  maxLookupIntervalMs: 60_000,
  loopbackAddrs: false,
}

export type DiscoveryServices = { dht: KadDHT; ping: Ping }

/** The DHT's protocol id: nodes of another chain or genesis speak another one and are never in our routing table. */
export function dhtProtocol(chainId: string, genesisHash: string): string {
  return `/attrchain/${chainId}/${genesisHash.replace(/^0x/, '').slice(0, 16)}/kad/1.0.0`
}

const isLoopback = (ma: Multiaddr): boolean => /^\/(ip4\/127\.|ip6\/::1\/|dns4\/localhost\/)/.test(ma.toString())

/** libp2p services for discovery: the chain's DHT (server mode: every node answers lookups) and the ping it needs. */
export function discoveryServices(opts: DiscoveryOptions, chainId: string, genesisHash: string): { dht?: ReturnType<typeof kadDHT>; ping?: ReturnType<typeof ping> } {
  if (!opts.enabled) return {}
  const dropLoopback = (peer: PeerInfo): PeerInfo => ({ ...peer, multiaddrs: peer.multiaddrs.filter((ma) => !isLoopback(ma)) })
  return {
    ping: ping(),
    dht: kadDHT({
      protocol: dhtProtocol(chainId, genesisHash),
      clientMode: false,
      peerInfoMapper: opts.loopbackAddrs ? passthroughMapper : dropLoopback,
      // Lookups are run by PeerDiscovery when the node is short of peers; the DHT's own self-query only refreshes the table.
      initialQuerySelfInterval: 1_000,
      allowQueryWithZeroPeers: false,
    }),
  }
}

interface Backoff {
  nextDialAt: number
  backoffMs: number
}

/** Bounds the per-peer dial state (a peer store filled by a hostile DHT must not grow it without limit). */
const MAX_TRACKED = 1024

export interface PeerDiscoveryModules {
  node: Libp2p<DiscoveryServices>
  logger: Logger
  /** peers the host refuses (another chain, penalised): never dialled */
  isBanned(peerId: string): boolean
  /** first and largest pause between dials of one unreachable peer (ms) */
  dialBackoffMinMs: number
  dialBackoffMaxMs: number
  dialTimeoutMs: number
}

/**
 * Keeps the node at `targetPeers` connections by dialling peers the DHT found.
 *
 * A network smaller than the target never reaches it: every node knows and
 * is connected to every other, and each lookup can only answer peers it
 * knows. Such lookups are paused, exponentially (`intervalMs` doubling to
 * `maxLookupIntervalMs`), until one finds a peer the node did not know or
 * the node loses a connection. Looking up every `intervalMs` regardless, as
 * this did, cost a 4-validator devnet on one machine a tenth of a core while
 * idle (31 % of a core for the four nodes against 21 % with discovery off)
 * and each node 5 % of its CPU under the overload bench (CPU profile: the
 * DHT's queries and the peer store re-encoding the records they returned).
 */
export class PeerDiscovery {
  private timer: NodeJS.Timeout | null = null
  private lookup: Promise<void> | null = null
  /** DHT lookups started (since start) */
  lookups = 0
  /** the pause after the last lookup (ms; 0: none) and when the next may start (Date.now() ms) */
  private lookupPauseMs = 0
  private nextLookupAt = 0
  /** connections at the last round: fewer now ends the lookup pause */
  private lastConnected = 0
  private pauseEndsOnLostConnection = 0
  private readonly backoff = new Map<string, Backoff>()
  private readonly dialing = new Set<string>()
  private readonly onDiscovery = (): void => this.tick()

  constructor(private readonly opts: DiscoveryOptions, private readonly modules: PeerDiscoveryModules) {}

  /** times a lost connection ended the lookup pause (since start); each restarts the doubling at intervalMs */
  get lostConnectionResets(): number {
    return this.pauseEndsOnLostConnection
  }

  start(): void {
    if (!this.opts.enabled || this.timer !== null) return
    this.modules.node.addEventListener('peer:discovery', this.onDiscovery)
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer === null) return
    clearInterval(this.timer)
    this.timer = null
    this.modules.node.removeEventListener('peer:discovery', this.onDiscovery)
  }

  private filling = false

  private tick(): void {
    if (this.timer === null || this.filling) return
    this.filling = true
    this.fill().catch((e: unknown) => this.modules.logger.debug('peer discovery round failed', { error: e as Error })).finally(() => {
      this.filling = false
    })
  }

  /** Dial known, unconnected, unbanned peers whose backoff has passed, up to the target; short of candidates, look up more. */
  private async fill(): Promise<void> {
    const { node } = this.modules
    // distinct peers with an open connection
    const connected = new Set(node.getConnections().map((c) => c.remotePeer.toString()))
    if (connected.size < this.lastConnected) {
      this.nextLookupAt = this.lookupPauseMs = 0
      this.pauseEndsOnLostConnection++
    }
    this.lastConnected = connected.size
    const missing = this.opts.targetPeers - connected.size - this.dialing.size
    if (missing <= 0) return
    const self = node.peerId.toString()
    const now = Date.now()
    const known = new Set<string>()
    let started = 0
    for (const peer of await node.peerStore.all()) {
      const id = peer.id.toString()
      known.add(id)
      if (started >= missing) continue
      if (id === self || connected.has(id) || this.dialing.has(id) || peer.addresses.length === 0 || this.modules.isBanned(id)) continue
      if ((this.backoff.get(id)?.nextDialAt ?? 0) > now) continue
      started++
      this.dial(peer.id)
    }
    if (started < missing) this.runLookup(known, connected)
  }

  private dial(peer: PeerId): void {
    const id = peer.toString()
    this.dialing.add(id)
    this.modules.node.dial(peer, { signal: AbortSignal.timeout(this.modules.dialTimeoutMs) }).then(
      () => {
        this.backoff.delete(id)
        this.modules.logger.debug('discovered peer dialled', { peer: id })
      },
      (e: unknown) => {
        const prev = this.backoff.get(id)?.backoffMs ?? 0
        const backoffMs = Math.min(Math.max(prev * 2, this.modules.dialBackoffMinMs), this.modules.dialBackoffMaxMs)
        if (!this.backoff.has(id) && this.backoff.size >= MAX_TRACKED) this.backoff.delete(this.backoff.keys().next().value as string)
        this.backoff.set(id, { nextDialAt: Date.now() + backoffMs, backoffMs })
        this.modules.logger.debug('discovered peer dial failed', { peer: id, retryInMs: backoffMs, error: e as Error })
      },
    ).finally(() => this.dialing.delete(id))
  }

  /**
   * One DHT lookup at a time, for a random key, unless paused: its answers
   * land in the peer store and fire `peer:discovery`. `known`: the peer
   * store's ids before it; `connected`: peers with a connection (their
   * records are Identify's, not merged again).
   */
  private runLookup(known: Set<string>, connected: Set<string>): void {
    if (this.lookup !== null || connected.size === 0 || Date.now() < this.nextLookupAt) return
    const key = crypto.getRandomValues(new Uint8Array(32))
    const signal = AbortSignal.timeout(this.modules.dialTimeoutMs)
    const self = this.modules.node.peerId.toString()
    let found = 0
    this.lookups++
    this.lookup = (async () => {
      for await (const event of this.modules.node.services.dht.getClosestPeers(key, { signal })) {
        if (event.name !== 'PEER_RESPONSE') continue
        for (const p of event.closer) {
          const id = p.id.toString()
          if (id === self || connected.has(id)) continue
          if (await this.remember(p) && !known.has(id)) found++
        }
      }
    })().catch((e: unknown) => {
      this.modules.logger.debug('dht lookup ended', { error: e as Error })
    }).finally(() => {
      this.lookup = null
      this.lookupPauseMs = found > 0 ? 0 : Math.min(Math.max(2 * this.lookupPauseMs, this.opts.intervalMs), this.opts.maxLookupIntervalMs)
      this.nextLookupAt = Date.now() + this.lookupPauseMs
    })
  }

  /** Add a peer the DHT answered to the peer store; false when it is unusable (no address, banned). */
  private async remember(peer: PeerInfo): Promise<boolean> {
    if (peer.multiaddrs.length === 0 || this.modules.isBanned(peer.id.toString())) return false
    await this.modules.node.peerStore.merge(peer.id, { multiaddrs: peer.multiaddrs }).catch(() => undefined)
    return true
  }
}
