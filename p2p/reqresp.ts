import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { toHex } from '../core/bytes.js'
import { encode } from '../core/codec.js'
import type { Logger } from '../core/logger.js'
import { P2PError } from './errors.js'
import { parsePeerId } from './peers.js'
import type { P2PHandlers, SyncBlock } from './interface.js'
import type { P2POptions } from './options.js'
import { readFrame, request, streamError, writeFrame } from './stream.js'
import {
  checkRange, decodeSyncRequest, decodeSyncResponse, encodeSyncRequest, encodeSyncResponse, servedRange, MAX_SYNC_REQUEST_BYTES,
} from './sync.js'
import { assembleBlock, blockParts, decodeCompact, decodePartsRequest, decodeTxParts, encodePartsRequest, maxCompactTxs, type BlockParts, type CompactBlock } from './compactBlock.js'
import { blockPartsProtocol, blockProtocol, pooledTxsProtocol, syncProtocol } from './topics.js'
import { decodePooledRequest, decodePooledResponse, encodePooledRequest, encodePooledResponse, MAX_POOLED_REQUEST_BYTES, POOLED_RATE, type PooledTxsRequest } from './pooledTxs.js'
import type { SignedTx } from '../core/tx.js'
import {
  decodeSnapshotRequest, encodeSnapshotRequest, maxSnapshotResponseBytes, snapshotProtocol, PeerRateLimiter, MAX_SNAPSHOT_REQUEST_BYTES, SNAPSHOT_RATE, type SnapshotRequest,
} from './snapshot.js'

/** Sync responses carry commits beside the blocks. */
const SYNC_RESPONSE_SLACK_BYTES = 1024 * 1024
/** Large blocks kept to serve /block/1: the current height's few rounds, with room to spare. */
const BLOCK_CACHE_ENTRIES = 8
const HASH_BYTES = 32
/** a parts request names at most a block's worth of positions (maxBlockTxs 20,000 × ≤ 5 bytes each) */
const MAX_PARTS_REQUEST_BYTES = 128 * 1024

export interface ReqRespModules {
  logger: Logger
  handlers: P2PHandlers
  /** whether a peer passed the status handshake (waits for one in progress); only such peers are served */
  peerVerified(peer: PeerId): Promise<boolean>
  /** opens a stream of `protocol` to `peer` (P2PError on failure or timeout) */
  open(peer: PeerId, protocol: string, signal: AbortSignal): Promise<Stream>
}

/**
 * The request/response protocols (DESIGN §6), both ends: `/sync/1` (block
 * sync), `/block/1` and `/blockparts/1` (the block of a proposal too large
 * to ride along, whole or compact), `/snapshot/1` (state sync) and
 * `/pooledtxs/1` (a sender's txs by nonce: gap repair). Every
 * served request comes from a peer that passed the status handshake, is
 * read within its size bound and answered within `requestTimeoutMs`.
 */
export class ReqResp {
  private readonly log: Logger
  private readonly handlers: P2PHandlers
  /** blocks too large to inline in a proposal, by `0x` hash, oldest first */
  private readonly blockCache = new Map<string, Uint8Array>()
  /** the same blocks split for compact serving, made on first request */
  private readonly partsCache = new Map<string, BlockParts>()
  /** blocks being pulled now, by hash: a re-proposal of the same block (a later round) waits for that pull instead of starting another */
  private readonly pulling = new Map<string, Promise<Uint8Array | null>>()
  /** compact block fetches: blocks assembled, txs found in the mempool, txs pulled from the peer, fallbacks to /block/1, compact bodies pulled (not carried by the proposal) */
  readonly compactStats = { blocks: 0, txsKnown: 0, txsFetched: 0, fallbacks: 0, bodiesFetched: 0 }
  /** per-peer budget of /snapshot/1 requests served */
  private readonly snapshotRate = new PeerRateLimiter(SNAPSHOT_RATE)
  /** per-peer budget of /pooledtxs/1 requests served */
  private readonly pooledRate = new PeerRateLimiter(POOLED_RATE)

  constructor(
    private readonly opts: P2POptions,
    private readonly modules: ReqRespModules,
  ) {
    this.log = modules.logger
    this.handlers = modules.handlers
  }

  clear(): void {
    this.blockCache.clear()
    this.partsCache.clear()
    this.pulling.clear()
  }

  /**
   * The block of a proposal that came without it: held here, else its
   * compact body (`compact`, when it rode in the proposal message; else
   * pulled from the forwarder) filled in from the mempool, else the whole
   * block from the forwarder; null when none of them works.
   */
  async blockFor(peer: PeerId, hash: Uint8Array, compact?: CompactBlock): Promise<Uint8Array | null> {
    const key = toHex(hash)
    const held = this.blockCache.get(key)
    if (held) return held
    const pulling = this.pulling.get(key)
    // the same block already on its way (from this peer or another): use it, or pull it here if that pull failed
    if (pulling) return (await pulling) ?? this.pullBlock(peer, hash, compact)
    const pull = this.pullBlock(peer, hash, compact).finally(() => this.pulling.delete(key))
    this.pulling.set(key, pull)
    return pull
  }

  private async pullBlock(peer: PeerId, hash: Uint8Array, compact?: CompactBlock): Promise<Uint8Array | null> {
    const filled = compact ? await this.fillCompact(peer, hash, compact, AbortSignal.timeout(this.opts.requestTimeoutMs)) : await this.fetchCompactBlock(peer, hash)
    return filled ?? (await this.fetchBlock(peer, hash))
  }

  /**
   * The parts of a block this node proposes or forwards (cached for serving
   * `/blockparts/1`): its compact body rides in the proposal message when
   * the whole block is too large to.
   */
  partsOf(hash: string, blockBytes: Uint8Array): BlockParts {
    let parts = this.partsCache.get(hash)
    if (!parts) {
      parts = blockParts(blockBytes)
      this.partsCache.set(hash, parts)
      for (const k of this.partsCache.keys()) if (!this.blockCache.has(k)) this.partsCache.delete(k)
    }
    return parts
  }

  /** Blocks [from, to] from one peer: a consecutive prefix from `from` (maybe empty) of at most 100 blocks. */
  async requestBlocks(peerId: string, from: number, to: number): Promise<SyncBlock[]> {
    const range = checkRange(from, to)
    const peer = parsePeerId(peerId)
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    const stream = await this.modules.open(peer, syncProtocol(this.opts.chainId), signal)
    const maxBytes = this.maxSyncResponseBytes()
    const response = await request(stream, encodeSyncRequest(range), maxBytes, signal)
    return decodeSyncResponse(response, range, maxBytes)
  }

  /**
   * One `/snapshot/1` request (p2p/snapshot.ts) to a peer: the raw response
   * frame (a list, a manifest or a chunk; empty when the peer does not hold
   * it), bounded by the largest valid response of its kind.
   */
  async requestSnapshot(peerId: string, req: SnapshotRequest): Promise<Uint8Array> {
    const peer = parsePeerId(peerId)
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs * 3)
    const stream = await this.modules.open(peer, snapshotProtocol(this.opts.chainId), signal)
    return request(stream, encodeSnapshotRequest(req), maxSnapshotResponseBytes(req), signal)
  }

  /**
   * One `/pooledtxs/1` request (p2p/pooledTxs.ts): the txs `peerId` holds of
   * `req.sender` from `req.fromNonce` on (a consecutive prefix, maybe empty),
   * checked against the request (chain id, sender, nonces) and their
   * signatures verified (handlers.verifyTxSignatures, else here): the first
   * tx's alone first, so a lying peer costs one verification, not 256.
   * Throws a P2PError when the peer cannot be asked or answers anything
   * else (P2P_ERROR_BAD_RESPONSE).
   */
  async requestPooledTxs(peerId: string, req: PooledTxsRequest): Promise<SignedTx[]> {
    const peer = parsePeerId(peerId)
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    const stream = await this.modules.open(peer, pooledTxsProtocol(this.opts.chainId), signal)
    const maxBytes = this.opts.maxMessageBytes.txs
    const hook = this.handlers.verifyTxSignatures
    // without the hook the decoder verifies, in order, stopping at the first bad signature (as gossip validation does)
    const txs = decodePooledResponse(await request(stream, encodePooledRequest(req), maxBytes, signal), req, maxBytes, this.opts.txLimits, this.opts.chainId, hook === undefined)
    const verify = async (list: SignedTx[]): Promise<boolean> => (hook ? (await hook(list)).every((ok) => ok) : true)
    if (txs.length > 0 && !((await verify(txs.slice(0, 1))) && (await verify(txs.slice(1))))) {
      throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'pooled txs: a signature does not verify')
    }
    return txs
  }

  /** `/pooledtxs/1`: answered from the mempool (handlers.pooledTxs), within the per-peer budget; empty without the hook. */
  async servePooledTxs(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    const release = this.pooledRate.acquire(peer)
    try {
      if (release === null) throw new P2PError('P2P_ERROR_RATE_LIMITED', 'pooled txs requests over the per-peer budget')
      if (!(await this.modules.peerVerified(conn.remotePeer))) throw new P2PError('P2P_ERROR_WRONG_CHAIN', 'pooled txs refused to a peer that failed the status handshake')
      const req = decodePooledRequest(await readFrame(stream, MAX_POOLED_REQUEST_BYTES, signal))
      // the frame's own msgpack header and the length prefixes of the txs, at most 5 bytes each
      const room = this.opts.maxMessageBytes.txs - 5 - 5 * req.count
      const txs = this.handlers.pooledTxs?.(req.sender, req.fromNonce, req.count, room) ?? []
      await writeFrame(stream, encodePooledResponse(txs), signal)
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('pooled txs request failed', { peer, error: streamError(e, signal) })
    } finally {
      release?.()
    }
  }

  /** `/snapshot/1`: answered from the node's snapshot store (handlers.serveSnapshot), within the per-peer budget. */
  async serveSnapshot(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs * 3)
    const release = this.snapshotRate.acquire(peer)
    try {
      if (release === null) throw new P2PError('P2P_ERROR_RATE_LIMITED', 'snapshot requests over the per-peer budget')
      if (!(await this.modules.peerVerified(conn.remotePeer))) throw new P2PError('P2P_ERROR_WRONG_CHAIN', 'snapshot refused to a peer that failed the status handshake')
      const req = decodeSnapshotRequest(await readFrame(stream, MAX_SNAPSHOT_REQUEST_BYTES, signal))
      const response = (await this.handlers.serveSnapshot?.(req)) ?? (req.kind === 'list' ? encode([]) : new Uint8Array(0))
      await writeFrame(stream, response, signal)
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('snapshot request failed', { peer, error: streamError(e, signal) })
    } finally {
      release?.()
    }
  }

  /**
   * The block of a proposal, filled in from the txs this node holds: the
   * compact body from the forwarder, then only the txs the mempool lacks.
   * Null (the caller pulls the whole block) when the node has no mempool
   * hook, the peer does not hold the block, or anything does not check out.
   */
  private async fetchCompactBlock(peer: PeerId, hash: Uint8Array): Promise<Uint8Array | null> {
    if (!this.handlers.knownTx) return null
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    const maxBytes = this.opts.maxMessageBytes.proposals
    try {
      const body = await this.askParts(peer, hash, null, signal)
      if (body.length === 0) return null
      this.compactStats.bodiesFetched++
      return await this.fillCompact(peer, hash, decodeCompact(body, maxBytes, maxCompactTxs(maxBytes)), signal)
    } catch (e) {
      this.compactStats.fallbacks++
      this.log.debug('compact block fetch failed; pulling the whole block', { peer: peer.toString(), hash: toHex(hash), error: e as Error })
      return null
    }
  }

  /** One `/blockparts/1` request to `peer`: the compact body (`indexes` null) or the txs at `indexes`. */
  private async askParts(peer: PeerId, hash: Uint8Array, indexes: number[] | null, signal: AbortSignal): Promise<Uint8Array> {
    const stream = await this.modules.open(peer, blockPartsProtocol(this.opts.chainId), signal)
    return request(stream, encodePartsRequest(hash, indexes), this.opts.maxMessageBytes.proposals, signal)
  }

  /** The block of a compact body: the txs the mempool holds, the others pulled from `peer`; null (counted as a fallback) on any failure. */
  private async fillCompact(peer: PeerId, hash: Uint8Array, compact: CompactBlock, signal: AbortSignal): Promise<Uint8Array | null> {
    const known = this.handlers.knownTx
    if (!known) return null
    try {
      const txs: (Uint8Array | undefined)[] = compact.txHashes.map((h) => known(toHex(h)))
      const missing = txs.flatMap((t, i) => (t === undefined ? [i] : []))
      if (missing.length > 0) {
        const fetched = decodeTxParts(await this.askParts(peer, hash, missing, signal), this.opts.maxMessageBytes.proposals, missing.map((i) => compact.txHashes[i]!))
        missing.forEach((i, k) => { txs[i] = fetched[k] })
      }
      this.compactStats.blocks++
      this.compactStats.txsKnown += txs.length - missing.length
      this.compactStats.txsFetched += missing.length
      return assembleBlock(compact, txs as Uint8Array[])
    } catch (e) {
      this.compactStats.fallbacks++
      this.log.debug('compact block fill failed; pulling the whole block', { peer: peer.toString(), hash: toHex(hash), error: e as Error })
      return null
    }
  }

  /** `/blockparts/1` (p2p/compactBlock.ts): a held block's compact body, or the txs at the positions asked for; empty when not held. */
  async serveBlockParts(stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    try {
      if (!(await this.modules.peerVerified(conn.remotePeer))) throw new P2PError('P2P_ERROR_WRONG_CHAIN', 'block parts refused to a peer that failed the status handshake')
      const req = decodePartsRequest(await readFrame(stream, MAX_PARTS_REQUEST_BYTES, signal), MAX_PARTS_REQUEST_BYTES)
      const key = toHex(req.blockHash)
      const full = this.blockCache.get(key)
      if (!full) {
        await writeFrame(stream, new Uint8Array(0), signal)
        return
      }
      const parts = this.partsOf(key, full)
      const { txs } = parts
      if (req.indexes !== null && req.indexes.some((i) => i >= txs.length)) throw new P2PError('P2P_ERROR_BAD_REQUEST', 'tx index beyond the block')
      await writeFrame(stream, req.indexes === null ? parts.compact : encode(req.indexes.map((i) => txs[i]!)), signal)
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('block parts request failed', { peer: conn.remotePeer.toString(), error: streamError(e, signal) })
    }
  }

  private async fetchBlock(peer: PeerId, hash: Uint8Array): Promise<Uint8Array | null> {
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    try {
      const stream = await this.modules.open(peer, blockProtocol(this.opts.chainId), signal)
      const bytes = await request(stream, hash, this.opts.maxMessageBytes.proposals, signal)
      return bytes.length > 0 ? bytes : null
    } catch (e) {
      this.log.debug('block fetch failed', { peer: peer.toString(), hash: toHex(hash), error: e as Error })
      return null
    }
  }

  rememberBlock(hash: string, bytes: Uint8Array): void {
    this.blockCache.delete(hash)
    this.blockCache.set(hash, bytes)
    for (const oldest of this.blockCache.keys()) {
      if (this.blockCache.size <= BLOCK_CACHE_ENTRIES) break
      this.blockCache.delete(oldest)
    }
  }

  /** `/block/1`: request = a 32-byte block hash, response = the block bytes, empty when not held. */
  async serveBlock(stream: Stream, conn: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    try {
      if (!(await this.modules.peerVerified(conn.remotePeer))) throw new P2PError('P2P_ERROR_WRONG_CHAIN', 'block refused to a peer that failed the status handshake')
      const hash = await readFrame(stream, HASH_BYTES, signal)
      if (hash.length !== HASH_BYTES) throw new P2PError('P2P_ERROR_BAD_REQUEST', 'block request must be a 32-byte hash')
      await writeFrame(stream, this.blockCache.get(toHex(hash)) ?? new Uint8Array(0), signal)
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('block request failed', { peer: conn.remotePeer.toString(), error: streamError(e, signal) })
    }
  }

  private maxSyncResponseBytes(): number {
    return this.opts.maxMessageBytes.proposals + SYNC_RESPONSE_SLACK_BYTES
  }

  async serveSync(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString()
    const signal = AbortSignal.timeout(this.opts.requestTimeoutMs)
    try {
      if (!(await this.modules.peerVerified(conn.remotePeer))) throw new P2PError('P2P_ERROR_WRONG_CHAIN', 'sync refused to a peer that failed the status handshake')
      const range = servedRange(decodeSyncRequest(await readFrame(stream, MAX_SYNC_REQUEST_BYTES, signal)))
      const blocks = await this.handlers.getBlocks(range.from, range.to)
      const { bytes, count } = encodeSyncResponse(range, blocks, this.maxSyncResponseBytes() - SYNC_RESPONSE_SLACK_BYTES)
      await writeFrame(stream, bytes, signal)
      this.log.debug('served blocks', { peer, from: range.from, count, bytes: bytes.length })
    } catch (e) {
      stream.abort(e as Error)
      this.log.debug('sync request failed', { peer, error: streamError(e, signal) })
    }
  }
}
