import { AttrchainError } from '../core/errors.js'

/**
 * Everything consensus refuses carries one of these codes (STYLE.md: typed
 * errors). Drivers map them to peer penalties; nobody parses messages.
 */
export type ConsensusErrorCode =
  | 'CONSENSUS_ERROR_MALFORMED'
  | 'CONSENSUS_ERROR_BAD_SIGNATURE'
  | 'CONSENSUS_ERROR_UNKNOWN_VALIDATOR'
  | 'CONSENSUS_ERROR_BAD_VALIDATOR_SET'
  | 'CONSENSUS_ERROR_WRONG_PROPOSER'
  | 'CONSENSUS_ERROR_CONFLICTING_PROPOSAL'
  | 'CONSENSUS_ERROR_ROUND_TOO_FAR'
  | 'CONSENSUS_ERROR_INSUFFICIENT_POWER'
  | 'CONSENSUS_ERROR_COMMIT_MISMATCH'
  | 'CONSENSUS_ERROR_DUPLICATE_SIGNER'
  | 'CONSENSUS_ERROR_BAD_EVIDENCE'
  | 'CONSENSUS_ERROR_DOUBLE_SIGN'
  | 'CONSENSUS_ERROR_SIGN_REGRESSION'
  | 'CONSENSUS_ERROR_NOT_A_VALIDATOR'

export class ConsensusError extends AttrchainError {
  declare readonly code: ConsensusErrorCode

  constructor(code: ConsensusErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
  }
}
