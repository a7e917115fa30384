import type { Address } from '../core/address.js'
import type { Commit } from './commit.js'
import type { ConsensusErrorCode } from './errors.js'
import type { Evidence } from './evidence.js'
import type { TimeoutOptions } from './options.js'
import type { Proposal, UnsignedProposal } from './proposal.js'
import type { ValidatorSet } from './validatorSet.js'
import type { UnsignedVote, Vote } from './vote.js'

export type Step = 'propose' | 'prevote' | 'precommit'

/** Ed25519 verification; injectable so that a simulator may memoise it. */
export type SignatureVerifier = (pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

export interface ConsensusConfig {
  readonly chainId: string
  /** This node's validator address, or null for a full node that only follows. */
  readonly self: Address | null
  readonly timeouts: TimeoutOptions
  readonly maxRoundsAhead?: number
  readonly verifier?: SignatureVerifier
}

/**
 * What the driver feeds the core. Own signed votes and proposals come back
 * through `vote` / `proposal` like anyone else's: the core counts a vote
 * only once it is signed. A driver that logs the inputs of the current
 * height and replays them into `initConsensus` after a restart gets back the
 * exact state it had, locks included (the core is deterministic); the
 * simulator does so. Without the replay a restarted validator forgets its
 * lock, and only its PrivValidator stands between it and a double vote.
 */
export type ConsensusInput =
  | { readonly kind: 'proposal'; readonly proposal: Proposal }
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'timeout'; readonly height: number; readonly round: number; readonly step: Step }
  /** The host executed the block with this hash (DESIGN §5: validators execute before prevoting). */
  | { readonly kind: 'proposalValidated'; readonly height: number; readonly blockHash: Uint8Array; readonly valid: boolean }
  /** The host's answer to `requestProposal`: the hash of the block it built (getValue() of the paper). */
  | { readonly kind: 'proposalValue'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array }
  /** The previous height is committed (or synced): start `height` with its validator set. */
  | { readonly kind: 'newHeight'; readonly height: number; readonly validators: ValidatorSet }

/**
 * What the core asks of the driver. `broadcastProposal` and `broadcastVote`
 * carry unsigned messages: the driver signs them through its PrivValidator
 * (which refuses anything unsafe, DESIGN §5), broadcasts the signed message
 * (a proposal with its block bytes) and feeds it back as an input. Outputs
 * of one step are in the order they must be acted on.
 */
export type ConsensusOutput =
  | { readonly kind: 'broadcastProposal'; readonly proposal: UnsignedProposal }
  | { readonly kind: 'broadcastVote'; readonly vote: UnsignedVote }
  | { readonly kind: 'scheduleTimeout'; readonly height: number; readonly round: number; readonly step: Step; readonly ms: number }
  /** Validate the block with this hash (fetching its bytes if needed) and answer with `proposalValidated`. */
  | { readonly kind: 'requestValidation'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array }
  /** Build a block for this round and answer with `proposalValue`. */
  | { readonly kind: 'requestProposal'; readonly height: number; readonly round: number }
  | { readonly kind: 'decide'; readonly height: number; readonly round: number; readonly blockHash: Uint8Array; readonly commit: Commit }
  | { readonly kind: 'evidence'; readonly evidence: Evidence }
  /** A message provably bad (bad signature, wrong proposer…): the driver may penalise its sender. */
  | { readonly kind: 'rejected'; readonly code: ConsensusErrorCode; readonly reason: string; readonly validator: Address }

export interface StepResult<S> {
  readonly state: S
  readonly outputs: ConsensusOutput[]
}
