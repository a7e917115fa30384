import { encode } from '../core/codec.js'
import { decodeWire, P2PError } from './errors.js'
import type { SyncBlock } from './interface.js'

/**
 * Block sync `/attrchain/<chainId>/sync/1`:
 *   request  [fromHeight, toHeight]
 *   response [[height, blockBytes, commitBytes | null]…]
 * The response holds consecutive heights from `fromHeight`, at most
 * SYNC_MAX_BLOCKS and at most the byte budget (but always at least one block
 * the server has); fewer than asked means "ask again from where it stopped",
 * none means the server has nothing from `fromHeight` on.
 */
export const SYNC_MAX_BLOCKS = 100
export const MAX_SYNC_REQUEST_BYTES = 64
/** Per-entry msgpack overhead counted against the byte budget (array, height, two bin headers). */
const ENTRY_OVERHEAD = 24

export interface SyncRange {
  from: number
  to: number
}

export function checkRange(from: number, to: number): SyncRange {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
    throw new P2PError('P2P_ERROR_BAD_REQUEST', `bad block range [${from}, ${to}]`, { from, to })
  }
  return { from, to }
}

export function encodeSyncRequest(r: SyncRange): Uint8Array {
  return encode([r.from, r.to])
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRange {
  const value = decodeWire(bytes, MAX_SYNC_REQUEST_BYTES, 'sync request', 'P2P_ERROR_BAD_REQUEST')
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'number' || typeof value[1] !== 'number') {
    throw new P2PError('P2P_ERROR_BAD_REQUEST', 'sync request must be [fromHeight, toHeight]')
  }
  return checkRange(value[0], value[1])
}

/** The range a server answers: the request clipped to SYNC_MAX_BLOCKS. */
export function servedRange(r: SyncRange): SyncRange {
  return { from: r.from, to: Math.min(r.to, r.from + SYNC_MAX_BLOCKS - 1) }
}

/** Keeps the consecutive prefix from `from` that fits `maxBytes` (the first block always goes). */
export function encodeSyncResponse(r: SyncRange, blocks: SyncBlock[], maxBytes: number): { bytes: Uint8Array; count: number } {
  const entries: [number, Uint8Array, Uint8Array | null][] = []
  let size = 8
  for (const b of blocks) {
    if (b.height !== r.from + entries.length || b.height > r.to) break
    size += b.bytes.length + (b.commit?.length ?? 0) + ENTRY_OVERHEAD
    if (entries.length > 0 && size > maxBytes) break
    entries.push([b.height, b.bytes, b.commit])
  }
  return { bytes: encode(entries), count: entries.length }
}

export function decodeSyncResponse(bytes: Uint8Array, r: SyncRange, maxBytes: number): SyncBlock[] {
  const value = decodeWire(bytes, maxBytes, 'sync response', 'P2P_ERROR_BAD_RESPONSE')
  const want = servedRange(r)
  if (!Array.isArray(value) || value.length > want.to - want.from + 1) {
    throw new P2PError('P2P_ERROR_BAD_RESPONSE', `sync response must be at most ${want.to - want.from + 1} entries`)
  }
  return value.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 3) throw new P2PError('P2P_ERROR_BAD_RESPONSE', `entry ${i} must be [height, block, commit]`)
    const [height, block, commit] = entry
    if (height !== want.from + i) throw new P2PError('P2P_ERROR_BAD_RESPONSE', `entry ${i} has height ${String(height)}, expected ${want.from + i}`)
    if (!(block instanceof Uint8Array)) throw new P2PError('P2P_ERROR_BAD_RESPONSE', `entry ${i} block must be bytes`)
    if (commit !== null && !(commit instanceof Uint8Array)) throw new P2PError('P2P_ERROR_BAD_RESPONSE', `entry ${i} commit must be bytes or null`)
    return { height: want.from + i, bytes: block, commit }
  })
}
