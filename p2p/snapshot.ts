import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { bytesEqual, fromHex, toHex, utf8 } from '../core/bytes.js'
import { decodeWire, P2PError } from './errors.js'

/**
 * State sync snapshots (issue 17) and their protocol
 * `/attrchain/<chainId>/snapshot/1`. One request frame, one response frame:
 *
 *   [0]                  → list: [[height, manifestHash(32), chunkCount]…] (at most MAX_LISTED_SNAPSHOTS)
 *   [1, height]          → the manifest of that snapshot (empty frame: not held)
 *   [2, height, index]   → chunk `index` of that snapshot (empty frame: not held)
 *
 * A snapshot of height H is the whole state after block H, sorted by key and
 * cut into chunks of at most `chunkBytes` (each `[[key, value]…]`), and a
 * manifest:
 *
 *   [1, height, blockHash(32), stateRoot(32), timeMs, entryCount,
 *    [chunkHash(32)…], [validatorSet(H), validatorSet(H+1), validatorSet(H+2)],
 *    flowRecord, commit(H)]
 *
 * The joining node trusts nothing in it until checked: the block hash against
 * the header it trusts, each chunk against its hash, the state rebuilt from
 * the entries against the header's state root, the set of H against the
 * header's validatorsHash and the commit against that set.
 */
export const SNAPSHOT_FORMAT = 1
/** a chunk the server writes is at most this (the chunk size setting is capped to it) */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024
/** chunk hashes of a 16 GiB state at 4 MiB, three validator sets of 10,000 validators, a commit: well below this */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024
export const MAX_LISTED_SNAPSHOTS = 16
export const MAX_SNAPSHOT_REQUEST_BYTES = 32
const MAX_LIST_BYTES = MAX_LISTED_SNAPSHOTS * 64 + 16

export function snapshotProtocol(chainId: string): string {
  return `/attrchain/${chainId}/snapshot/1`
}

/** Serving budget per peer: 10 requests a second (burst 20), 2 at once, for up to 256 peers tracked. */
export const SNAPSHOT_RATE = { perSecond: 10, burst: 20, concurrent: 2, maxPeers: 256 }

export type SnapshotRequest = { kind: 'list' } | { kind: 'manifest'; height: number } | { kind: 'chunk'; height: number; index: number }

export interface SnapshotListing {
  height: number
  /** `0x` sha256 of the manifest bytes */
  hash: string
  chunks: number
}

export interface SnapshotManifest {
  height: number
  /** `0x` hex */
  blockHash: string
  stateRoot: string
  timeMs: number
  entries: number
  chunkHashes: Uint8Array[]
  /** encoded consensus validator sets of H, H+1, H+2 (with proposer priorities) */
  validatorSets: [Uint8Array, Uint8Array, Uint8Array]
  /** encoded flow statistics record of H (node statistics, not consensus state) */
  flowRecord: Uint8Array
  /** encoded commit of H */
  commit: Uint8Array
}

const bad = (msg: string): never => {
  throw new P2PError('P2P_ERROR_BAD_RESPONSE', msg)
}
const badRequest = (msg: string): never => {
  throw new P2PError('P2P_ERROR_BAD_REQUEST', msg)
}
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

export function encodeSnapshotRequest(r: SnapshotRequest): Uint8Array {
  return encode(r.kind === 'list' ? [0] : r.kind === 'manifest' ? [1, r.height] : [2, r.height, r.index])
}

export function decodeSnapshotRequest(bytes: Uint8Array): SnapshotRequest {
  const v = decodeWire(bytes, MAX_SNAPSHOT_REQUEST_BYTES, 'snapshot request', 'P2P_ERROR_BAD_REQUEST')
  if (!Array.isArray(v) || v.length < 1 || v.length > 3 || !v.every(isIndex)) return badRequest('snapshot request must be [0], [1, height] or [2, height, index]')
  const [kind, height, index] = v as number[]
  if (kind === 0 && v.length === 1) return { kind: 'list' }
  if (kind === 1 && v.length === 2) return { kind: 'manifest', height }
  if (kind === 2 && v.length === 3) return { kind: 'chunk', height, index }
  return badRequest('snapshot request must be [0], [1, height] or [2, height, index]')
}

/** Largest response frame for a request (the client's read bound). */
export function maxSnapshotResponseBytes(r: SnapshotRequest): number {
  return r.kind === 'list' ? MAX_LIST_BYTES : r.kind === 'manifest' ? MAX_MANIFEST_BYTES : MAX_CHUNK_BYTES + 64
}

export function encodeSnapshotList(list: SnapshotListing[]): Uint8Array {
  return encode(list.slice(0, MAX_LISTED_SNAPSHOTS).map((s) => [s.height, fromHex(s.hash, 'manifestHash', 32), s.chunks]))
}

export function decodeSnapshotList(bytes: Uint8Array): SnapshotListing[] {
  const v = decodeWire(bytes, MAX_LIST_BYTES, 'snapshot list', 'P2P_ERROR_BAD_RESPONSE')
  if (!Array.isArray(v) || v.length > MAX_LISTED_SNAPSHOTS) return bad(`snapshot list must be at most ${MAX_LISTED_SNAPSHOTS} entries`)
  return v.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 3 || !isIndex(e[0]) || !(e[1] instanceof Uint8Array) || e[1].length !== 32 || !isIndex(e[2])) {
      return bad(`snapshot list entry ${i} must be [height, manifestHash(32), chunkCount]`)
    }
    return { height: e[0], hash: toHex(e[1]), chunks: e[2] }
  })
}

export function encodeManifest(m: SnapshotManifest): Uint8Array {
  return encode([
    SNAPSHOT_FORMAT, m.height, fromHex(m.blockHash, 'blockHash', 32), fromHex(m.stateRoot, 'stateRoot', 32), m.timeMs, m.entries,
    m.chunkHashes, m.validatorSets, m.flowRecord, m.commit,
  ])
}

/** The manifest, checked for shape only (its content is verified by state sync). */
export function decodeManifest(bytes: Uint8Array): SnapshotManifest {
  const v = decodeWire(bytes, MAX_MANIFEST_BYTES, 'snapshot manifest', 'P2P_ERROR_BAD_RESPONSE')
  if (!Array.isArray(v) || v.length !== 10) return bad('snapshot manifest must have 10 fields')
  const [format, height, blockHash, stateRoot, timeMs, entries, chunkHashes, sets, flowRecord, commit] = v as Encodable[]
  if (format !== SNAPSHOT_FORMAT) bad(`snapshot format ${String(format)} is not ${SNAPSHOT_FORMAT}`)
  if (!isIndex(height) || height < 1 || !isIndex(timeMs) || !isIndex(entries)) bad('snapshot manifest height, time and entry count must be integers')
  const hash32 = (b: Encodable, what: string): Uint8Array => (b instanceof Uint8Array && b.length === 32 ? b : bad(`snapshot manifest ${what} must be 32 bytes`))
  if (!Array.isArray(chunkHashes)) bad('snapshot manifest chunk hashes must be a list')
  if (!Array.isArray(sets) || sets.length !== 3 || !sets.every((s) => s instanceof Uint8Array)) bad('snapshot manifest must carry 3 validator sets')
  if (!(flowRecord instanceof Uint8Array) || !(commit instanceof Uint8Array)) bad('snapshot manifest flow record and commit must be bytes')
  return {
    height: height as number, blockHash: toHex(hash32(blockHash, 'blockHash')), stateRoot: toHex(hash32(stateRoot, 'stateRoot')), timeMs: timeMs as number,
    entries: entries as number, chunkHashes: (chunkHashes as Encodable[]).map((h, i) => hash32(h, `chunk hash ${i}`)),
    validatorSets: sets as [Uint8Array, Uint8Array, Uint8Array], flowRecord: flowRecord as Uint8Array, commit: commit as Uint8Array,
  }
}

/** Sorted entries cut into chunks of at most `chunkBytes` encoded bytes (an entry larger than that is a chunk of its own). */
export function chunkEntries(entries: [string, Uint8Array][], chunkBytes: number): Uint8Array[] {
  const chunks: Uint8Array[] = []
  let current: [Uint8Array, Uint8Array][] = []
  let size = 5
  for (const [k, v] of entries) {
    const key = utf8(k)
    const add = key.length + v.length + 12
    if (current.length > 0 && size + add > chunkBytes) {
      chunks.push(encode(current))
      current = []
      size = 5
    }
    current.push([key, v])
    size += add
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(encode(current))
  return chunks
}

const keyDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A chunk's entries, checked against its hash in the manifest; keys must be
 * strictly ascending, also across chunks (`after`: the last key of the
 * previous chunk), so the entries of a snapshot are a sorted set.
 */
export function decodeChunk(bytes: Uint8Array, expectedHash: Uint8Array, after: string | null): [string, Uint8Array][] {
  if (!bytesEqual(sha256(bytes), expectedHash)) bad('snapshot chunk does not match its hash in the manifest')
  const v = decodeWire(bytes, MAX_CHUNK_BYTES + 64, 'snapshot chunk', 'P2P_ERROR_BAD_RESPONSE')
  if (!Array.isArray(v)) return bad('snapshot chunk must be a list of [key, value]')
  let last = after
  return v.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || !(e[0] instanceof Uint8Array) || !(e[1] instanceof Uint8Array)) return bad(`snapshot chunk entry ${i} must be [key, value]`)
    let key: string
    try {
      key = keyDecoder.decode(e[0])
    } catch {
      return bad(`snapshot chunk entry ${i} key is not UTF-8`)
    }
    if (last !== null && !(key > last)) bad(`snapshot chunk keys must be strictly ascending (${key} after ${last})`)
    last = key
    return [key, e[1]] as [string, Uint8Array]
  })
}

/**
 * Per-peer request budget for serving snapshots: a token bucket of
 * `burst` requests refilled at `perSecond`, and at most `concurrent`
 * requests of one peer served at once. Chunks are large: a peer asking
 * faster is refused (its stream reset), not queued.
 */
export class PeerRateLimiter {
  private readonly peers = new Map<string, { tokens: number; at: number; active: number }>()

  constructor(private readonly opts: { perSecond: number; burst: number; concurrent: number; maxPeers: number }, private readonly now: () => number = Date.now) {}

  /** Take one request slot for `peer`; the returned release must be called when done. Null: over the budget. */
  acquire(peer: string): (() => void) | null {
    const now = this.now()
    let s = this.peers.get(peer)
    if (!s) {
      if (this.peers.size >= this.opts.maxPeers) {
        for (const [id, e] of this.peers) if (e.active === 0) this.peers.delete(id)
      }
      s = { tokens: this.opts.burst, at: now, active: 0 }
      this.peers.set(peer, s)
    }
    s.tokens = Math.min(this.opts.burst, s.tokens + ((now - s.at) / 1000) * this.opts.perSecond)
    s.at = now
    if (s.tokens < 1 || s.active >= this.opts.concurrent) return null
    s.tokens -= 1
    s.active++
    const entry = s
    let released = false
    return () => {
      if (released) return
      released = true
      entry.active--
    }
  }
}
