/** The consensus module's public surface (STYLE.md: other folders import only this). */
export { ConsensusError, type ConsensusErrorCode } from './errors.js'
export { defaultTimeoutOptions, DEFAULT_MAX_ROUNDS_AHEAD, type TimeoutOptions } from './options.js'
export type { ConsensusConfig, ConsensusInput, ConsensusOutput, SignatureVerifier, Step, StepResult } from './interface.js'
export { initConsensus, step, isVoting, proposerOf, type ConsensusState } from './core.js'
export { ValidatorSet, encodeValidatorSet, decodeValidatorSet, type Validator, type ValidatorInfo } from './validatorSet.js'
export {
  voteSignBytes,
  verifyVoteSignature,
  encodeVote,
  decodeVote,
  voteToEncodable,
  voteFromEncodable,
  type Vote,
  type UnsignedVote,
  type VoteType,
} from './vote.js'
export { proposalSignBytes, verifyProposalSignature, encodeProposal, decodeProposal, type Proposal, type UnsignedProposal } from './proposal.js'
export {
  makeCommit,
  addPrecommit,
  encodeCommit,
  decodeCommit,
  commitToEncodable,
  commitFromEncodable,
  commitHash,
  verifyCommit,
  isTwoThirds,
  isOneThird,
  type Commit,
  type CommitSignature,
  type CommitExpectation,
} from './commit.js'
export { makeEvidence, encodeEvidence, decodeEvidence, evidenceToEncodable, evidenceFromEncodable, evidenceHash, verifyEvidence, type Evidence } from './evidence.js'
export { VoteSet } from './voteSet.js'
export {
  PrivValidator,
  MemoryWalStore,
  encodeLastSigned,
  decodeLastSigned,
  SIGN_STEP,
  type LastSigned,
  type WalStore,
  type Signer,
  type SignStep,
} from './privValidator.js'
