import './polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Evidence, Proposal, Vote } from '../consensus/index.js'
import type { Logger } from '../core/logger.js'
import { P2PError } from './errors.js'
import { GOSSIP_KINDS, type GossipKind, type GossipStats, type P2PHandlers, type P2PModules, type PeerInfo, type SyncBlock } from './interface.js'
import { loadOrCreateNodeKey } from './nodeKey.js'
import { resolveP2POptions, type P2PInit, type P2POptions } from './options.js'
import { decodeStatus, encodeStatus, statusMismatch, MAX_STATUS_BYTES, type ChainStatus } from './status.js'
import { readFrame, request, streamError, writeFrame } from './stream.js'
import { blockPartsProtocol, blockProtocol, pooledTxsProtocol, statusProtocol, syncProtocol, topicName } from './topics.js'
import type { PooledTxsRequest } from './pooledTxs.js'
import type { SignedTx } from '../core/tx.js'
import { snapshotProtocol, type SnapshotRequest } from './snapshot.js'
import { parseBootstrap, parsePeerId, type BootstrapPeer, type PeerState } from './peers.js'
import { ReqResp } from './reqresp.js'
import { Gossip } from './gossip.js'
import { gossipsubOptions } from './scoring.js'
import { discoveryServices, PeerDiscovery, type DiscoveryServices } from './discovery.js'

type Services = { identify: Identify; pubsub: GossipSub } & Partial<DiscoveryServices>

const LOOPBACK = '/ip4/127.0.0.0/ipcidr/8'

/**
 * The node's libp2p host (DESIGN §6): TCP + Noise + Yamux + Identify,
 * gossipsub on the three topics with one validator each, the status
 * handshake that keeps out peers of other chains, and block sync.
 * Publishing, validating and delivering gossip is p2p/gossip.ts, the
 * request/response protocols p2p/reqresp.ts, gossipsub's options and peer
 * scoring p2p/scoring.ts, peer records p2p/peers.ts.
 *
 * Gossip is `StrictNoSign` with content-addressed ids (sha256 of the data):
 * txs, proposals and votes carry their own signatures, so libp2p's per
 * message signature would only cost throughput, and identical bytes from
 * two peers are one message.
 */
export class P2PNetwork {
  readonly opts: P2POptions
  private readonly log: Logger
  private readonly handlers: P2PHandlers
  private node: Libp2p<Services> | null = null
  private readonly peerStates = new Map<string, PeerState>()
  /** peers of another chain or genesis: never dialled nor accepted again by this process */
  private readonly banned = new Set<string>()
  /** peers penalised for misbehaviour (penalisePeer): refused until the time in ms */
  private readonly bannedUntil = new Map<string, number>()
  private bootstrapPeers: BootstrapPeer[]
  private readonly timers: NodeJS.Timeout[] = []
  private discovery: PeerDiscovery | null = null
  /** /sync/1, /block/1, /blockparts/1, /snapshot/1 and /pooledtxs/1, both ends */
  private readonly reqresp: ReqResp
  /** the three topics: publish, validate, deliver */
  private readonly gossip: Gossip

  constructor(opts: P2PInit, modules: P2PModules) {
    this.opts = resolveP2POptions(opts)
    this.log = modules.logger
    this.handlers = modules.handlers
    this.bootstrapPeers = this.opts.bootstrap.map(parseBootstrap)
    this.reqresp = new ReqResp(this.opts, {
      logger: this.log,
      handlers: this.handlers,
      peerVerified: (peer) => this.peerVerified(peer),
      open: (peer, protocol, signal) => this.openStream(this.started(), peer, protocol, signal),
    })
    this.gossip = new Gossip(this.opts, {
      logger: this.log,
      handlers: this.handlers,
      reqresp: this.reqresp,
      peerVerified: (peer) => this.peerVerified(peer),
      pubsub: () => (this.node === null ? null : (this.node.services.pubsub as GossipSub)),
    })
  }

  /** compact block fetches: blocks assembled, txs found in the mempool, txs pulled from the peer, fallbacks to /block/1 */
  get compactStats(): ReqResp['compactStats'] {
    return this.reqresp.compactStats
  }

  get peerId(): string {
    return this.started().peerId.toString()
  }

  async start(): Promise<void> {
    if (this.node !== null) return
    const { key, created } = await loadOrCreateNodeKey(this.opts.nodeKeyPath)
    if (created) this.log.info('created node key', { path: this.opts.nodeKeyPath })
    const node = await createLibp2p<Services>({
      privateKey: key,
      addresses: { listen: [`/ip4/${this.opts.listenHost}/tcp/${this.opts.listenPort}`] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // libp2p 3 refuses more than 5 inbound connections a second per IP; a
      // devnet's nodes all dial from 127.0.0.1, and a restart reconnects them at once.
      connectionManager: { allow: [LOOPBACK], maxConnections: this.opts.discovery.maxPeers },
      connectionGater: {
        denyDialPeer: (peer) => this.isBanned(peer.toString()),
        denyInboundEncryptedConnection: (peer) => this.isBanned(peer.toString()),
        denyOutboundEncryptedConnection: (peer) => this.isBanned(peer.toString()),
      },
      services: { identify: identify(), pubsub: gossipsub(gossipsubOptions(this.opts)), ...(discoveryServices(this.discoveryOptions(), this.opts.chainId, this.opts.genesisHash) as object) },
    }).catch((e: unknown) => {
      const addr = `${this.opts.listenHost}:${this.opts.listenPort}`
      throw new P2PError('P2P_ERROR_LISTEN_FAILED', `cannot listen on ${addr}: ${(e as Error).message}`, { addr })
    })
    this.node = node
    const ours = node.peerId.toString()
    // A shared bootstrap list (a devnet's) names this node too.
    this.bootstrapPeers = this.bootstrapPeers.filter((b) => b.peerId !== ours)
    await node.handle(statusProtocol(this.opts.chainId), (stream, conn) => this.answerStatus(stream, conn))
    await node.handle(syncProtocol(this.opts.chainId), (stream, conn) => this.reqresp.serveSync(stream, conn))
    await node.handle(blockProtocol(this.opts.chainId), (stream, conn) => this.reqresp.serveBlock(stream, conn))
    await node.handle(blockPartsProtocol(this.opts.chainId), (stream, conn) => this.reqresp.serveBlockParts(stream, conn))
    await node.handle(snapshotProtocol(this.opts.chainId), (stream, conn) => this.reqresp.serveSnapshot(stream, conn))
    await node.handle(pooledTxsProtocol(this.opts.chainId), (stream, conn) => this.reqresp.servePooledTxs(stream, conn))
    node.addEventListener('peer:connect', (evt) => void this.handshake(evt.detail))
    node.addEventListener('peer:disconnect', (evt) => this.peerStates.delete(evt.detail.toString()))
    const pubsub = node.services.pubsub
    for (const kind of GOSSIP_KINDS) {
      const topic = topicName(this.opts.chainId, kind)
      pubsub.topicValidators.set(topic, (peer, msg) => this.gossip.validate(kind, peer, msg))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('gossipsub:message', (evt) => this.gossip.deliver(evt.detail))
    this.timers.push(setInterval(() => this.dialBootstrap(), this.opts.dialBackoffMinMs))
    this.timers.push(setInterval(() => this.refreshStatus(), this.opts.statusIntervalMs))
    for (const t of this.timers) t.unref()
    this.log.info('p2p listening', { peerId: ours, addrs: this.multiaddrs(), bootstrap: this.bootstrapPeers.length })
    this.startDiscovery(node)
    this.dialBootstrap()
  }

  async stop(): Promise<void> {
    const node = this.node
    if (node === null) return
    this.node = null
    for (const t of this.timers.splice(0)) clearInterval(t)
    this.discovery?.stop()
    this.discovery = null
    const dropped = this.gossip.clearQueue()
    if (dropped > 0) this.log.debug('dropped queued txs on stop', { txs: dropped })
    this.peerStates.clear()
    this.reqresp.clear()
    await node.stop()
    this.log.info('p2p stopped')
  }

  /** Listen addresses ending in `/p2p/<peerId>`, as bootstrap lists want them. */
  multiaddrs(): string[] {
    return this.started().getMultiaddrs().map((a) => a.toString())
  }

  /** Connected peers that passed the status handshake, with their last reported height. */
  peers(): PeerInfo[] {
    return [...this.peerStates.entries()].filter(([, s]) => s.state === 'ok').map(([id, s]) => ({ id, height: s.height, lowestHeight: s.lowestHeight }))
  }

  /** Peers known to subscribe to a topic: a publish reaches them (the mesh proper forms on the next heartbeats). */
  gossipPeers(kind: GossipKind): string[] {
    return this.started().services.pubsub.getSubscribers(topicName(this.opts.chainId, kind)).map((p) => p.toString())
  }

  stats(): GossipStats {
    return this.gossip.stats()
  }

  /** DHT lookups peer discovery has started since the host started (0 with discovery off). */
  get dhtLookups(): number {
    return this.discovery?.lookups ?? 0
  }

  /** Times a lost connection ended peer discovery's lookup pause since the host started (PeerDiscovery.lostConnectionResets). */
  get dhtLookupPauseResets(): number {
    return this.discovery?.lostConnectionResets ?? 0
  }

  /** `relay` (a counter) marks a re-broadcast of a message already published, so gossip does not drop it as seen. */
  broadcastProposal(proposal: Proposal, blockBytes: Uint8Array, relay?: number): void {
    this.gossip.broadcastProposal(proposal, blockBytes, relay)
  }

  broadcastVote(vote: Vote, relay?: number): void {
    this.gossip.broadcastVote(vote, relay)
  }

  /** Double-sign evidence on the evidence topic; `relay` as for broadcastProposal. */
  broadcastEvidence(evidence: Evidence, relay?: number): void {
    this.gossip.broadcastEvidence(evidence, relay)
  }

  /** Queues a mempool-admitted tx for the next batch (sent within txBatchDelayMs); false when not queued (GossipService.publishTx: no peer on the tx topic, or too large). */
  publishTx(txBytes: Uint8Array): boolean {
    return this.gossip.publishTx(txBytes)
  }

  /**
   * Disconnect a peer that misbehaved (e.g. block sync: it claimed heights it
   * then did not serve) and refuse it for `banMs` (ms). Logged once per ban.
   */
  penalisePeer(peerId: string, reason: string, banMs: number): void {
    const wasBanned = this.isBanned(peerId)
    this.bannedUntil.set(peerId, Date.now() + banMs)
    if (!wasBanned) this.log.warn('peer penalised; disconnected', { peer: peerId, reason, banMs })
    this.peerStates.delete(peerId)
    void this.node?.hangUp(parsePeerId(peerId)).catch(() => undefined)
  }

  private isBanned(peerId: string): boolean {
    if (this.banned.has(peerId)) return true
    const until = this.bannedUntil.get(peerId)
    if (until === undefined) return false
    if (Date.now() < until) return true
    this.bannedUntil.delete(peerId)
    return false
  }

  /** Re-broadcast txs already published (node/txRelay.ts); returns how many were sent (p2p/gossip.ts). */
  relayTxs(txs: Uint8Array[]): number {
    if (this.node === null || txs.length === 0 || this.gossipPeers('txs').length === 0) return 0
    return this.gossip.relayTxs(txs)
  }

  /** Blocks [from, to] from one peer: a consecutive prefix from `from` (maybe empty) of at most 100 blocks. */
  async requestBlocks(peerId: string, from: number, to: number): Promise<SyncBlock[]> {
    this.started()
    return this.reqresp.requestBlocks(peerId, from, to)
  }

  /**
   * One `/snapshot/1` request (p2p/snapshot.ts) to a peer: the raw response
   * frame (a list, a manifest or a chunk; empty when the peer does not hold
   * it), bounded by the largest valid response of its kind.
   */
  async requestSnapshot(peerId: string, req: SnapshotRequest): Promise<Uint8Array> {
    this.started()
    return this.reqresp.requestSnapshot(peerId, req)
  }

  /**
   * The txs `peerId` holds of `req.sender` from nonce `req.fromNonce` on, at
   * most `req.count` (1..256), signatures verified (p2p/pooledTxs.ts: gap
   * repair, node/txGapRepair.ts). Throws a P2PError on failure.
   */
  async requestPooledTxs(peerId: string, req: PooledTxsRequest): Promise<SignedTx[]> {
    this.started()
    return this.reqresp.requestPooledTxs(peerId, req)
  }

  // ---------------------------------------------------------------- status

  private ourStatus(): ChainStatus {
    const s = this.handlers.getStatus()
    return { chainId: this.opts.chainId, genesisHash: this.opts.genesisHash, height: s.height, lowestHeight: s.lowestHeight ?? 1 }
  }

  /** Starts (or joins) the status exchange with a newly connected peer; resolves to whether it is on our chain. */
  private handshake(peer: PeerId): Promise<boolean> {
    const id = peer.toString()
    const existing = this.peerStates.get(id)
    if (existing !== undefined) return existing.handshake
    const handshake = this.askStatus(peer).then(
      () => this.peerStates.get(id)?.state === 'ok',
      (e: unknown) => {
        this.peerStates.delete(id)
        void this.node?.hangUp(peer).catch(() => undefined)
        if (e instanceof P2PError && e.meta.unsupported === true) {
          // Our status protocol's name carries our chain id: a peer that cannot select it runs another chain id
          // (or is no attrchain node). Said once, then never dialled nor accepted again (it flooded logs, issue 12).
          if (!this.banned.has(id)) {
            this.log.warn('peer is on another chain; dropped', {
              peer: id, reason: 'it does not speak this chain\'s status protocol', protocol: statusProtocol(this.opts.chainId),
              hint: 'it runs another chain id or genesis: remove it from this node\'s bootstrap list, or give both nodes the same genesis.json',
            })
          }
          this.banned.add(id)
          return false
        }
        this.log.info('status handshake failed; disconnecting', { peer: id, error: e as Error })
        return false
      },
    )
    this.peerStates.set(id, { state: 'pending', height: 0, lowestHeight: 1, handshake })
    return handshake
  }

  private async peerVerified(peer: PeerId): Promise<boolean> {
    const state = this.peerStates.get(peer.toString())
    if (state?.state === 'ok') return true
    if (this.isBanned(peer.toString()) || this.node === null) return false
    return state !== undefined ? state.handshake : this.handshake(peer)
  }

  private async askStatus(peer: PeerId): Promise<void> {
    const node = this.started()
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    const stream = await this.openStream(node, peer, statusProtocol(this.opts.chainId), signal)
    const response = await request(stream, encodeStatus(this.ourStatus()), MAX_STATUS_BYTES, signal)
    this.applyStatus(peer, decodeStatus(response))
  }

  private async answerStatus(stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    try {
      const theirs = decodeStatus(await readFrame(stream, MAX_STATUS_BYTES, signal))
      await writeFrame(stream, encodeStatus(this.ourStatus()), signal)
      this.applyStatus(conn.remotePeer, theirs)
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('status request failed', { peer: conn.remotePeer.toString(), error: streamError(e, signal) })
    }
  }

  private applyStatus(peer: PeerId, theirs: ChainStatus): void {
    const id = peer.toString()
    const mismatch = statusMismatch(this.ourStatus(), theirs)
    if (mismatch !== null) {
      // Both directions of the exchange may report it; say it once.
      if (!this.banned.has(id)) this.log.warn('peer is on another chain; dropped', { peer: id, reason: mismatch, chainId: theirs.chainId, genesisHash: theirs.genesisHash })
      this.banned.add(id)
      this.peerStates.delete(id)
      void this.node?.hangUp(peer).catch(() => undefined)
      return
    }
    const state = this.peerStates.get(id)
    if (state === undefined) {
      // An answer racing the disconnect must not resurrect the peer.
      if ((this.node?.getConnections(peer).length ?? 0) === 0) return
      // Answered a peer whose own handshake is still to start here: it is known good now.
      this.peerStates.set(id, { state: 'ok', height: theirs.height, lowestHeight: theirs.lowestHeight ?? 1, handshake: Promise.resolve(true) })
      return
    }
    if (state.state === 'pending') this.log.info('peer connected', { peer: id, height: theirs.height })
    state.state = 'ok'
    state.height = theirs.height
    state.lowestHeight = theirs.lowestHeight ?? 1
  }

  private refreshStatus(): void {
    for (const [id, state] of this.peerStates) {
      if (state.state !== 'ok') continue
      this.askStatus(parsePeerId(id)).catch((e: unknown) => this.log.debug('status refresh failed', { peer: id, error: e as Error }))
    }
  }

  // ---------------------------------------------------------------- dialling

  private dialBootstrap(): void {
    const node = this.node
    if (node === null) return
    const now = Date.now()
    for (const b of this.bootstrapPeers) {
      if (b.dialing || this.isBanned(b.peerId) || now < b.nextDialAt) continue
      if (node.getConnections(peerIdFromString(b.peerId)).length > 0) {
        b.backoffMs = this.opts.dialBackoffMinMs
        continue
      }
      b.dialing = true
      node.dial(b.addr, { signal: AbortSignal.timeout(this.opts.requestTimeoutMs) }).then(
        () => {
          b.backoffMs = this.opts.dialBackoffMinMs
        },
        (e: unknown) => {
          // Peers may start after us: retry with exponential backoff, quietly.
          this.log.debug('bootstrap dial failed', { addr: b.addr.toString(), retryInMs: b.backoffMs, error: e as Error })
          b.nextDialAt = Date.now() + b.backoffMs
          b.backoffMs = Math.min(b.backoffMs * 2, this.opts.dialBackoffMaxMs)
        },
      ).finally(() => {
        b.dialing = false
      })
    }
  }

  /**
   * A stream to `peer` on one of its open connections; never dials. A
   * request to a peer this node is not connected to fails at once with
   * P2P_ERROR_DIAL_FAILED. libp2p's dialProtocol would dial by peer id
   * from the peer store, which holds the listen addresses the peer
   * advertised over identify: a request racing a disconnect then connected
   * straight to those, around the configured bootstrap address (a proxy,
   * a NAT mapping) and around a partition, and past the peer limit the
   * bootstrap loop and discovery keep. Connections are made only by
   * dialBootstrap and discovery.
   */
  private async openStream(node: Libp2p<Services>, peer: PeerId, protocol: string, signal: AbortSignal): Promise<Stream> {
    const conn = node.getConnections(peer).find((c) => c.status === 'open')
    if (conn === undefined) throw new P2PError('P2P_ERROR_DIAL_FAILED', `cannot open ${protocol}: not connected to the peer`, { peer: peer.toString() })
    try {
      return await conn.newStream(protocol, { signal })
    } catch (e) {
      if (signal.aborted) throw new P2PError('P2P_ERROR_TIMEOUT', `opening ${protocol} timed out`, { peer: peer.toString() })
      const unsupported = (e as Error | null)?.name === 'UnsupportedProtocolError'
      throw new P2PError('P2P_ERROR_DIAL_FAILED', `cannot open ${protocol}: ${(e as Error).message}`, { peer: peer.toString(), ...(unsupported ? { unsupported } : {}) })
    }
  }

  /** Loopback addresses stay in DHT records when this node listens on loopback: the whole network is on one machine. */
  private discoveryOptions(): P2POptions['discovery'] {
    const d = this.opts.discovery
    return { ...d, loopbackAddrs: d.loopbackAddrs || this.opts.listenHost.startsWith('127.') || this.opts.listenHost === 'localhost' }
  }

  private startDiscovery(node: Libp2p<Services>): void {
    if (!this.opts.discovery.enabled || node.services.dht === undefined) return
    this.discovery = new PeerDiscovery(this.discoveryOptions(), {
      node: node as unknown as Libp2p<DiscoveryServices>, logger: this.log, isBanned: (id) => this.isBanned(id),
      dialBackoffMinMs: this.opts.dialBackoffMinMs, dialBackoffMaxMs: this.opts.dialBackoffMaxMs, dialTimeoutMs: this.opts.requestTimeoutMs,
    })
    this.discovery.start()
  }

  private started(): Libp2p<Services> {
    if (this.node === null) throw new P2PError('P2P_ERROR_NOT_STARTED', 'the p2p host is not started')
    return this.node
  }
}
