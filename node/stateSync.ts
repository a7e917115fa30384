import { AttrchainError } from '../core/errors.js'
import { sha256 } from '../core/hash.js'
import { fromHex, toHex } from '../core/bytes.js'
import { decodeCommit, decodeValidatorSet, verifyCommit } from '../consensus/index.js'
import { blockHash, decodeBlock, type Header as BlockHeader } from '../state/block.js'
import { genesisHash, type Genesis } from '../genesis/genesis.js'
import { P2PNetwork, messageLimitsFor, defaultDiscoveryOptions, type P2PInit } from '../p2p/index.js'
import { decodeChunk, decodeManifest, decodeSnapshotList, type SnapshotListing, type SnapshotManifest, type SnapshotRequest } from '../p2p/snapshot.js'
import type { SyncBlock } from '../p2p/interface.js'
import { nodeMetaKeys, type ChainDb, type Head } from './db/index.js'
import type { NodeConfig, StateSyncConfig } from './config.js'
import { decodeFlowRecord } from './flowStats.js'
import { homePaths } from './home.js'
import type { Logger } from './logger.js'
import type { SyncPeer } from './sync.js'

/** What `StateSyncError` carries: why a snapshot or its proof path is refused. */
export type StateSyncErrorCode =
  /** a snapshot chunk whose entries do not match the manifest */
  | 'STATE_SYNC_ERROR_BAD_CHUNK'
  /** a header served for the trust path that does not decode or is of another height or chain */
  | 'STATE_SYNC_ERROR_BAD_HEADER'
  /** a manifest that does not match its listing or the trusted header */
  | 'STATE_SYNC_ERROR_BAD_MANIFEST'
  /** a peer served no block of the trust path */
  | 'STATE_SYNC_ERROR_NO_BLOCKS'
  /** no peer offers a snapshot */
  | 'STATE_SYNC_ERROR_NO_PEER'
  /** no verifiable snapshot within the time allowed (the last reason in the message) */
  | 'STATE_SYNC_ERROR_TIMEOUT'
  /** the snapshot's chunks exceed maxStateBytes */
  | 'STATE_SYNC_ERROR_TOO_LARGE'
  /** the snapshot is more than maxHeaderSpan blocks after the trusted height */
  | 'STATE_SYNC_ERROR_TRUST_TOO_OLD'
  /** the header at the trusted height does not hash to the trusted hash */
  | 'STATE_SYNC_ERROR_UNTRUSTED'

export class StateSyncError extends AttrchainError<StateSyncErrorCode> {}

/** What state sync needs from the network: peers, block sync's request, and the snapshot protocol. */
export interface StateSyncSource {
  peers(): SyncPeer[]
  requestBlocks(peer: string, from: number, to: number): Promise<SyncBlock[]>
  requestSnapshot(peer: string, req: SnapshotRequest): Promise<Uint8Array>
}

export interface StateSyncOptions extends StateSyncConfig {
  chainId: string
  /** decode bound of a served block (the chain's maxBlockBytes + room for header and commit) */
  maxBlockBytes: number
  /** give up after this long without a verified snapshot (ms) */
  timeoutMs: number
  /** wait between rounds when no peer offers a usable snapshot (ms) */
  pollMs: number
  /** most blocks fetched to link the trusted header to a later snapshot's header */
  maxHeaderSpan: number
  /**
   * most chunk bytes accepted for one snapshot: the chunks are only proven
   * together (the state root), so a peer could otherwise make a node hold
   * an endless state before the check fails; the whole state lives in
   * memory anyway (ChainDb)
   */
  maxStateBytes: number
}

export const defaultStateSyncOptions = { timeoutMs: 10 * 60_000, pollMs: 1000, maxHeaderSpan: 10_000, maxStateBytes: 2 * 1024 ** 3 }

export interface StateSyncModules {
  source: StateSyncSource
  db: ChainDb
  logger: Logger
  now(): number
}

/** The figures of a completed state sync. */
export interface StateSyncResult {
  head: Head
  entries: number
  chunks: number
  ms: number
}

interface Offer {
  listing: SnapshotListing
  peers: string[]
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * State sync (issue 17): a node with an empty data dir restores a recent
 * state instead of replaying every block. Trust comes from the operator:
 * the block at `trustHeight` must hash to `trustHash`. A snapshot offered at
 * height S ≥ trustHeight is accepted only when
 * 1. blocks trustHeight..S form a hash chain (each prevHash the hash of the
 *    one before) from the trusted block, which authenticates header S;
 * 2. the manifest names that header's hash, state root and time, its
 *    validator set of S hashes to the header's validatorsHash, and its
 *    commit of S carries +2/3 of that set's power for that block;
 * 3. every chunk matches its hash in the manifest, keys strictly ascending;
 * 4. the state tree rebuilt from all entries has the header's state root
 *    (ChainDb.restoreSnapshot checks it before it writes anything).
 * Then it is written in one atomic batch (ChainDb.restoreSnapshot); block
 * sync does the rest when the node starts. A peer that serves anything that
 * does not check out is skipped and the next offer tried.
 */
export async function stateSync(opts: StateSyncOptions, m: StateSyncModules): Promise<StateSyncResult> {
  const started = m.now()
  const deadline = started + opts.timeoutMs
  const log = m.logger
  let lastReason = 'no peer offered a snapshot'
  while (m.now() < deadline) {
    const offers = await collectOffers(opts, m)
    if (offers.length === 0) log.info('state sync: waiting for peers offering a snapshot', { trustHeight: opts.trustHeight, peers: m.source.peers().length })
    for (const offer of offers) {
      try {
        const r = await restoreFrom(offer, opts, m)
        const result = { ...r, ms: m.now() - started }
        log.info('state sync: snapshot restored', { height: result.head.height, entries: result.entries, chunks: result.chunks, ms: result.ms })
        return result
      } catch (e) {
        lastReason = (e as Error).message
        log.warn('state sync: snapshot refused; trying the next', { height: offer.listing.height, peers: offer.peers.length, reason: lastReason })
      }
    }
    await sleep(opts.pollMs)
  }
  throw new StateSyncError('STATE_SYNC_ERROR_TIMEOUT', `no verifiable snapshot at or after height ${opts.trustHeight} within ${opts.timeoutMs} ms (last: ${lastReason})`, {
    trustHeight: opts.trustHeight,
  })
}

/** Snapshots at or after the trusted height, by (height, manifest hash), newest first. */
async function collectOffers(opts: StateSyncOptions, m: StateSyncModules): Promise<Offer[]> {
  const offers = new Map<string, Offer>()
  await Promise.all(m.source.peers().map(async (p) => {
    let list: SnapshotListing[]
    try {
      list = decodeSnapshotList(await m.source.requestSnapshot(p.id, { kind: 'list' }))
    } catch (e) {
      m.logger.debug('state sync: no snapshot list from peer', { peer: p.id, reason: (e as Error).message })
      return
    }
    for (const s of list) {
      if (s.height < opts.trustHeight) continue
      const key = `${s.height}/${s.hash}/${s.chunks}`
      const o = offers.get(key) ?? { listing: s, peers: [] }
      o.peers.push(p.id)
      offers.set(key, o)
    }
  }))
  return [...offers.values()].sort((a, b) => b.listing.height - a.listing.height || b.peers.length - a.peers.length)
}

const refuse = (code: StateSyncErrorCode, msg: string, meta: Record<string, unknown> = {}): never => {
  throw new StateSyncError(code, msg, meta)
}

async function restoreFrom(offer: Offer, opts: StateSyncOptions, m: StateSyncModules): Promise<Omit<StateSyncResult, 'ms'>> {
  const { listing } = offer
  const manifest = await firstGood(offer.peers, async (peer) => {
    const bytes = await m.source.requestSnapshot(peer, { kind: 'manifest', height: listing.height })
    if (toHex(sha256(bytes)) !== listing.hash) refuse('STATE_SYNC_ERROR_BAD_MANIFEST', 'manifest does not match the hash its server listed')
    const man = decodeManifest(bytes)
    if (man.height !== listing.height || man.chunkHashes.length !== listing.chunks) refuse('STATE_SYNC_ERROR_BAD_MANIFEST', 'manifest height or chunk count differs from the listing')
    return man
  })
  const header = await trustedHeader(manifest.height, opts, m)
  checkManifest(manifest, header, opts)
  const entries: [string, Uint8Array][] = []
  let last: string | null = null
  let total = 0
  for (let i = 0; i < manifest.chunkHashes.length; i++) {
    const chunk = await firstGood(rotate(offer.peers, i), async (peer) => {
      const bytes = await m.source.requestSnapshot(peer, { kind: 'chunk', height: manifest.height, index: i })
      if (total + bytes.length > opts.maxStateBytes) refuse('STATE_SYNC_ERROR_TOO_LARGE', `snapshot ${manifest.height} exceeds ${opts.maxStateBytes} bytes of chunks`)
      const decoded = decodeChunk(bytes, manifest.chunkHashes[i], last)
      total += bytes.length
      return decoded
    })
    for (const e of chunk) entries.push(e)
    if (chunk.length > 0) last = chunk[chunk.length - 1][0]
    if (entries.length > manifest.entries) refuse('STATE_SYNC_ERROR_BAD_CHUNK', `more entries than the manifest's ${manifest.entries}`)
  }
  if (entries.length !== manifest.entries) refuse('STATE_SYNC_ERROR_BAD_CHUNK', `${entries.length} entries, the manifest says ${manifest.entries}`)
  const flow = decodeFlowRecord(manifest.flowRecord)
  if (flow.height !== manifest.height) refuse('STATE_SYNC_ERROR_BAD_MANIFEST', `flow record of height ${flow.height}, not ${manifest.height}`)
  const head: Head = { height: header.height, blockHash: manifest.blockHash, stateRoot: header.stateRoot, timeMs: header.timeMs }
  const S = header.height
  const vsetKey = nodeMetaKeys.validatorSet
  // restoreSnapshot rebuilds the state tree from the entries and refuses (DB_ERROR_BAD_SNAPSHOT, nothing
  // written) unless its root is the trusted header's state root
  await m.db.restoreSnapshot({
    head, entries, commit: manifest.commit, flowStats: manifest.flowRecord,
    meta: [[vsetKey(S), manifest.validatorSets[0]], [vsetKey(S + 1), manifest.validatorSets[1]], [vsetKey(S + 2), manifest.validatorSets[2]]],
  })
  return { head, entries: entries.length, chunks: manifest.chunkHashes.length }
}

/**
 * The header of `height`, authenticated from the trusted block: block
 * trustHeight hashes to trustHash, and every block up to `height` names the
 * one before it by hash.
 */
async function trustedHeader(height: number, opts: StateSyncOptions, m: StateSyncModules): Promise<BlockHeader> {
  if (height - opts.trustHeight > opts.maxHeaderSpan) {
    refuse('STATE_SYNC_ERROR_TRUST_TOO_OLD', `the snapshot at ${height} is more than ${opts.maxHeaderSpan} blocks after the trusted height ${opts.trustHeight}: take a more recent trusted height`)
  }
  let prev: BlockHeader | null = null
  let from = opts.trustHeight
  while (from <= height) {
    const at = from
    const blocks = await firstGood(peersHolding(m, at, height), async (peer) => {
      const got = await m.source.requestBlocks(peer, at, height)
      if (got.length === 0) refuse('STATE_SYNC_ERROR_NO_BLOCKS', `peer served no block from ${at}`)
      return got
    })
    for (const b of blocks) {
      let h: BlockHeader
      try {
        h = decodeBlock(b.bytes, opts.maxBlockBytes).header
      } catch (e) {
        return refuse('STATE_SYNC_ERROR_BAD_HEADER', `block ${b.height} does not decode: ${(e as Error).message}`)
      }
      if (h.height !== b.height || h.chainId !== opts.chainId) refuse('STATE_SYNC_ERROR_BAD_HEADER', `block ${b.height} has height ${h.height} of chain ${h.chainId}`)
      if (prev === null) {
        if (blockHash(h) !== opts.trustHash) refuse('STATE_SYNC_ERROR_UNTRUSTED', `block ${h.height} hashes to ${blockHash(h)}, not the trusted hash ${opts.trustHash}`)
      } else if (h.prevHash !== blockHash(prev)) {
        refuse('STATE_SYNC_ERROR_BAD_HEADER', `block ${h.height} does not link to block ${prev.height}`)
      }
      prev = h
      if (h.height === height) return h
    }
    from = (prev as BlockHeader).height + 1
  }
  return refuse('STATE_SYNC_ERROR_NO_BLOCKS', `no header ${height}`)
}

function checkManifest(man: SnapshotManifest, header: BlockHeader, opts: StateSyncOptions): void {
  const bad = (why: string): never => refuse('STATE_SYNC_ERROR_BAD_MANIFEST', `snapshot ${man.height}: ${why}`, { height: man.height })
  if (man.blockHash !== blockHash(header)) bad(`block hash ${man.blockHash} is not the trusted header's ${blockHash(header)}`)
  if (man.stateRoot !== header.stateRoot || man.timeMs !== header.timeMs) bad('state root or time differ from the trusted header')
  let set
  try {
    set = decodeValidatorSet(man.validatorSets[0])
    decodeValidatorSet(man.validatorSets[1])
    decodeValidatorSet(man.validatorSets[2])
  } catch (e) {
    return bad(`validator set does not decode: ${(e as Error).message}`)
  }
  if (toHex(set.hash()) !== header.validatorsHash) bad('its validator set does not hash to the header\'s validatorsHash')
  try {
    verifyCommit(decodeCommit(man.commit), set, opts.chainId, { height: man.height, blockHash: fromHex(man.blockHash) })
  } catch (e) {
    bad(`commit does not verify: ${(e as Error).message}`)
  }
}

function peersHolding(m: StateSyncModules, from: number, to: number): string[] {
  return m.source.peers().filter((p) => (p.lowestHeight ?? 1) <= from && p.height >= to).map((p) => p.id)
}

const rotate = <T>(a: T[], by: number): T[] => (a.length === 0 ? a : [...a.slice(by % a.length), ...a.slice(0, by % a.length)])

/** The first peer whose answer checks out; the reasons of all when none does. */
async function firstGood<T>(peers: string[], ask: (peer: string) => Promise<T>): Promise<T> {
  if (peers.length === 0) refuse('STATE_SYNC_ERROR_NO_PEER', 'no peer holds what is needed')
  const errors: unknown[] = []
  for (const p of peers) {
    try {
      return await ask(p)
    } catch (e) {
      errors.push(e)
    }
  }
  // every peer refused for the same kind of reason: say which (by class and code, not by parsing messages)
  const code = errors.every((e) => e instanceof StateSyncError) ? (errors[0] as StateSyncError).code : 'STATE_SYNC_ERROR_NO_PEER'
  return refuse(code, errors.map((e) => (e as Error).message).join('; '))
}

/** The p2p settings of a node (as node.ts builds them). */
export function p2pInitFor(config: NodeConfig, genesis: Genesis): P2PInit {
  const { params } = genesis
  return {
    chainId: genesis.chainId, genesisHash: genesisHash(genesis), nodeKeyPath: homePaths(config.home).nodeKey, listenHost: config.p2pHost, listenPort: config.p2pPort,
    bootstrap: config.bootstrap, maxMessageBytes: messageLimitsFor(params.maxBlockBytes),
    discovery: { ...defaultDiscoveryOptions, enabled: config.p2pDiscovery, targetPeers: config.p2pTargetPeers, maxPeers: config.p2pMaxPeers },
    txLimits: { maxReceiptsPerTx: params.maxReceiptsPerTx, maxAttribution: params.maxAttribution },
  }
}

/**
 * Run state sync before the node starts (config.stateSync set, empty data
 * dir): a p2p host of its own on the node's address and key, serving
 * nothing (height 0), stopped once the snapshot is restored or refused.
 */
export async function runStateSync(config: NodeConfig & { stateSync: StateSyncConfig }, genesis: Genesis, db: ChainDb, log: Logger): Promise<StateSyncResult> {
  const network = new P2PNetwork(p2pInitFor(config, genesis), {
    logger: log.child('p2p'),
    handlers: {
      onTxs: () => {}, onProposal: () => {}, onVote: () => {}, validatorPubKey: () => null,
      getStatus: () => ({ height: 0 }), getBlocks: async () => [],
    },
  })
  await network.start()
  try {
    return await stateSync(
      { ...defaultStateSyncOptions, ...config.stateSync, chainId: genesis.chainId, maxBlockBytes: genesis.params.maxBlockBytes + 1024 * 1024 },
      { source: network, db, logger: log, now: () => Date.now() },
    )
  } finally {
    await network.stop()
  }
}
