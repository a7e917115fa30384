import { AttrchainError } from '../core/errors.js'
import { decode, type Encodable } from '../core/codec.js'

export type P2PErrorCode =
  /** the host was used before start() or after stop() */
  | 'P2P_ERROR_NOT_STARTED'
  /** the listen address could not be bound */
  | 'P2P_ERROR_LISTEN_FAILED'
  /** the node key file is not a readable key */
  | 'P2P_ERROR_BAD_NODE_KEY'
  /** a bootstrap address that is not a multiaddr with a peer id */
  | 'P2P_ERROR_BAD_BOOTSTRAP'
  /** a string that is not a peer id */
  | 'P2P_ERROR_BAD_PEER'
  /** a peer's request that does not decode or asks for what cannot be (served nothing) */
  | 'P2P_ERROR_BAD_REQUEST'
  /** a peer's response that does not decode or does not match the request */
  | 'P2P_ERROR_BAD_RESPONSE'
  /** a request or stream open that took too long */
  | 'P2P_ERROR_TIMEOUT'
  /** the peer could not be dialled, is not connected (requests never dial: host.ts openStream), or does not speak the protocol (`meta.unsupported`) */
  | 'P2P_ERROR_DIAL_FAILED'
  /** a stream reset or failed mid-frame */
  | 'P2P_ERROR_STREAM_FAILED'
  /** the peer is on another chain id or genesis (status handshake) */
  | 'P2P_ERROR_WRONG_CHAIN'
  /** a peer asked more than its request budget (snapshot serving) */
  | 'P2P_ERROR_RATE_LIMITED'

/** Errors of the p2p layer; `code` tells callers (sync, RPC) what went wrong without parsing messages. */
export class P2PError extends AttrchainError<P2PErrorCode> {}

/**
 * `bytes` as canonical msgpack of at most `max` bytes (core/codec.ts), for
 * the decoders of the wire formats; otherwise a P2PError `code` saying
 * "<what> is not canonical msgpack: …".
 */
export function decodeWire(bytes: Uint8Array, max: number, what: string, code: 'P2P_ERROR_BAD_REQUEST' | 'P2P_ERROR_BAD_RESPONSE'): Encodable {
  try {
    return decode(bytes, max)
  } catch (e) {
    throw new P2PError(code, `${what} is not canonical msgpack: ${(e as Error).message}`)
  }
}
