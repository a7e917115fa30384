import { encode } from '../core/codec.js'
import { fromHex, toHex } from '../core/bytes.js'
import { decodeWire, P2PError } from './errors.js'

/**
 * Status handshake `/attrchain/<chainId>/status/1`: on every new connection
 * (and every statusIntervalMs after) each side sends `[chainId,
 * genesisHash(32 B), height, lowestHeight]` and answers with its own. A peer
 * of another chain or genesis is dropped and not redialled. `height..lowestHeight`
 * is the range of blocks the peer serves over block sync (issue 17: a pruned
 * node or one that joined by state sync holds no blocks below its lowest
 * height); a 3-element status (older nodes) means lowest height 1.
 */
export interface ChainStatus {
  chainId: string
  /** `0x` hex */
  genesisHash: string
  height: number
  /** lowest block height the peer serves; absent: 1 (every block, sent as a 3-element status) */
  lowestHeight?: number
}

/** A status frame is tiny; anything bigger is not a status. */
export const MAX_STATUS_BYTES = 256

export function encodeStatus(s: ChainStatus): Uint8Array {
  const base = [s.chainId, fromHex(s.genesisHash, 'genesisHash', 32), s.height]
  return encode(s.lowestHeight !== undefined && s.lowestHeight > 1 ? [...base, s.lowestHeight] : base)
}

export function decodeStatus(bytes: Uint8Array): ChainStatus {
  const value = decodeWire(bytes, MAX_STATUS_BYTES, 'status', 'P2P_ERROR_BAD_RESPONSE')
  if (!Array.isArray(value) || (value.length !== 3 && value.length !== 4)) throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'status must be [chainId, genesisHash, height, lowestHeight]')
  const [chainId, genesisHash, height, lowest] = value
  if (typeof chainId !== 'string') throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'status chainId must be a string')
  if (!(genesisHash instanceof Uint8Array) || genesisHash.length !== 32) throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'status genesisHash must be 32 bytes')
  if (typeof height !== 'number') throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'status height must be an integer')
  if (value.length === 4 && (typeof lowest !== 'number' || lowest < 1)) throw new P2PError('P2P_ERROR_BAD_RESPONSE', 'status lowestHeight must be an integer ≥ 1')
  return { chainId, genesisHash: toHex(genesisHash), height, ...(value.length === 4 ? { lowestHeight: lowest as number } : {}) }
}

/** Why a peer's status makes it a stranger, or null when it is on our chain. */
export function statusMismatch(ours: ChainStatus, theirs: ChainStatus): string | null {
  if (theirs.chainId !== ours.chainId) return 'chain id differs'
  if (theirs.genesisHash !== ours.genesisHash.toLowerCase()) return 'genesis hash differs'
  return null
}
