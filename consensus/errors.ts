import { AttrchainError } from '../core/errors.js'

/**
 * Everything consensus refuses carries one of these codes (STYLE.md: typed
 * errors). Drivers map them to peer penalties; nobody parses messages.
 */
export type ConsensusErrorCode =
  /** a proposal, vote or commit whose fields are out of range or do not decode */
  | 'CONSENSUS_ERROR_MALFORMED'
  /** a proposal or vote signature that does not verify */
  | 'CONSENSUS_ERROR_BAD_SIGNATURE'
  /** the signer is not in the validator set of that height */
  | 'CONSENSUS_ERROR_UNKNOWN_VALIDATOR'
  /** a validator set that is empty, unsorted, or has a bad address or power */
  | 'CONSENSUS_ERROR_BAD_VALIDATOR_SET'
  /** a proposal from a validator that is not the proposer of its round */
  | 'CONSENSUS_ERROR_WRONG_PROPOSER'
  /** a second, different proposal for the same round */
  | 'CONSENSUS_ERROR_CONFLICTING_PROPOSAL'
  /** a message for a round too far ahead to hold */
  | 'CONSENSUS_ERROR_ROUND_TOO_FAR'
  /** a commit whose signers hold no more than 2/3 of the power */
  | 'CONSENSUS_ERROR_INSUFFICIENT_POWER'
  /** a commit for another height, round or block than expected */
  | 'CONSENSUS_ERROR_COMMIT_MISMATCH'
  /** a commit that lists a signer twice or out of order */
  | 'CONSENSUS_ERROR_DUPLICATE_SIGNER'
  /** evidence whose votes do not make a double sign */
  | 'CONSENSUS_ERROR_BAD_EVIDENCE'
  /** our signer refused a second, different signature for the same height/round/step */
  | 'CONSENSUS_ERROR_DOUBLE_SIGN'
  /** our signer refused to sign below its last signed height/round/step */
  | 'CONSENSUS_ERROR_SIGN_REGRESSION'
  /** asked to sign as a validator whose key this signer does not hold */
  | 'CONSENSUS_ERROR_NOT_A_VALIDATOR'

export class ConsensusError extends AttrchainError<ConsensusErrorCode> {}
