import { AttrchainError } from '../core/errors.js'

export type P2PErrorCode =
  | 'P2P_ERROR_NOT_STARTED'
  | 'P2P_ERROR_LISTEN_FAILED'
  | 'P2P_ERROR_BAD_NODE_KEY'
  | 'P2P_ERROR_BAD_BOOTSTRAP'
  | 'P2P_ERROR_BAD_PEER'
  | 'P2P_ERROR_BAD_REQUEST'
  | 'P2P_ERROR_BAD_RESPONSE'
  | 'P2P_ERROR_TIMEOUT'
  | 'P2P_ERROR_DIAL_FAILED'
  | 'P2P_ERROR_STREAM_FAILED'
  | 'P2P_ERROR_WRONG_CHAIN'
  /** a peer asked more than its request budget (snapshot serving) */
  | 'P2P_ERROR_RATE_LIMITED'

/** Errors of the p2p layer; `code` tells callers (sync, RPC) what went wrong without parsing messages. */
export class P2PError extends AttrchainError {
  declare readonly code: P2PErrorCode

  constructor(code: P2PErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
  }
}
