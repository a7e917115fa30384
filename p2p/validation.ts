import { decode, type Encodable } from '../core/codec.js'
import { isAttrchainError } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { decodeSignedTx, type SignedTx, type TxLimits } from '../core/tx.js'
import {
  evidenceFromEncodable, verifyEvidence, voteFromEncodable, verifyProposalSignature, verifyVoteSignature,
  type Evidence, type Proposal, type ValidatorSet, type Vote,
} from '../consensus/index.js'
import { decodeBlock, blockHash, commitHash, txRoot, type Block } from '../state/index.js'
import type { GossipKind, P2PHandlers } from './interface.js'
import type { MessageLimits } from './options.js'
import { MAX_TX_BATCH, proposalFromMessageValue } from './topics.js'
import { compactFromValue, maxCompactTxs, type CompactBlock } from './compactBlock.js'

export type GossipMessage =
  | { kind: 'txs'; txs: SignedTx[] }
  | { kind: 'proposals'; proposal: Proposal; blockBytes: Uint8Array }
  | { kind: 'votes'; vote: Vote }
  | { kind: 'evidence'; evidence: Evidence }

/**
 * Why a gossip message is rejected (its forwarder penalised), one line each.
 * A closed set, so the code is safe as a metric label
 * (`attrchain_gossip_rejected_total{topic, reason}`); the underlying error
 * code, when there is one, goes to the debug log as `detail`.
 */
export const GOSSIP_REJECT_REASONS = {
  oversize: "over the topic's byte limit",
  malformed: 'not canonical MessagePack',
  bad_shape: 'the message is not the array its topic expects (batch shape, item not bytes, [proposal, block])',
  bad_tx: 'a tx of the batch does not decode or is statically invalid',
  bad_proposal: 'the proposal does not decode',
  bad_vote: 'the vote does not decode',
  bad_evidence: 'the evidence does not decode, or its two votes are not one validator\'s conflicting votes of one (height, round, type) in that height\'s set',
  bad_block: "the proposal's block does not decode",
  bad_signature: 'a tx, proposal, vote or evidence signature does not verify',
  wrong_chain: 'a tx or block of another chain id',
  block_height_mismatch: "the block's height is not the proposal's",
  block_hash_mismatch: 'the block does not hash to the proposed blockHash',
  tx_root_mismatch: "the block's txs do not match its header's txRoot",
  commit_hash_mismatch: "the block's lastCommit does not match its header",
} as const

export type GossipRejectReason = keyof typeof GOSSIP_REJECT_REASONS

/** Why a gossip message is ignored (not forwarded, nobody penalised). */
export type GossipIgnoreReason =
  /** the signer is not a validator this node knows at that height */
  | 'unknown_signer'
  /** the proposal's block could not be obtained from the forwarder */
  | 'block_unavailable'
  /** evidence this node holds already, or whose (validator, height) it has punished */
  | 'known_evidence'
  /** evidence of a height whose set this node cannot tell, or outside the evidence window */
  | 'evidence_out_of_window'

/**
 * `fetch`: a well-signed proposal whose block was too large to ride along
 * (its compact body, when that did); the host fills the block in from its
 * mempool and pulls the rest from the forwarding peer, then calls
 * validateProposalBlock. `lookup`: well-formed evidence; the host looks up
 * the validator set of its height (storage), then calls validateEvidence.
 */
export type Validation =
  | { verdict: 'accept'; message: GossipMessage }
  | { verdict: 'reject'; reason: GossipRejectReason; detail?: string }
  | { verdict: 'ignore'; reason: GossipIgnoreReason }
  | { verdict: 'fetch'; proposal: Proposal; compact?: CompactBlock }
  | { verdict: 'lookup'; evidence: Evidence }

/** A final outcome: what a topic validator returns. */
export type Settled = Exclude<Validation, { verdict: 'fetch' } | { verdict: 'lookup' }>

export interface ValidatorContext {
  chainId: string
  limits: MessageLimits
  txLimits: TxLimits
  validatorPubKey: P2PHandlers['validatorPubKey']
  /**
   * Tx signatures are not verified here (on the main thread) but by the
   * host through `P2PHandlers.verifyTxSignatures` (the node's worker
   * threads, skipping txs it already holds) before the verdict.
   */
  deferTxSignatures?: boolean
}

const reject = (reason: GossipRejectReason, detail?: string): Settled => (detail === undefined ? { verdict: 'reject', reason } : { verdict: 'reject', reason, detail })
const ignore = (reason: GossipIgnoreReason): Settled => ({ verdict: 'ignore', reason })

/** A decoder's error as a reject: `reason` bounded, the error's own code as `detail`. */
function rejectError(reason: GossipRejectReason, e: unknown): Settled {
  const code = isAttrchainError(e) ? e.code : 'UNEXPECTED'
  return reject(code === 'TX_ERROR_BAD_SIGNATURE' ? 'bad_signature' : reason, code)
}

/**
 * One validator per topic (STYLE.md): reject only what is provably invalid
 * whoever looks at it (malformed, oversize, wrong chain, bad signature) since
 * a reject costs the forwarding peer score; ignore what merely cannot be
 * checked here (a signer this node does not know at that height).
 */
export function validateGossip(ctx: ValidatorContext, kind: GossipKind, data: Uint8Array): Validation {
  if (data.length > ctx.limits[kind]) return reject('oversize')
  let value: Encodable
  try {
    value = decode(data, ctx.limits[kind])
  } catch (e) {
    return rejectError('malformed', e)
  }
  if (kind === 'txs') return validateTxBatch(ctx, value)
  if (kind === 'proposals') return validateProposal(ctx, value)
  if (kind === 'evidence') return decodeEvidenceMessage(value)
  return validateVote(ctx, value)
}

function validateTxBatch(ctx: ValidatorContext, value: Encodable): Validation {
  // a re-broadcast ends with a relay counter (encodeTxBatch)
  const items = Array.isArray(value) && typeof value.at(-1) === 'number' ? (value as Encodable[]).slice(0, -1) : value
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_TX_BATCH) return reject('bad_shape')
  const txs: SignedTx[] = []
  for (const item of items as Encodable[]) {
    if (!(item instanceof Uint8Array)) return reject('bad_shape')
    let tx: SignedTx
    try {
      tx = decodeSignedTx(item, ctx.txLimits, { verify: ctx.deferTxSignatures !== true })
    } catch (e) {
      return rejectError('bad_tx', e)
    }
    if (tx.tx.chainId !== ctx.chainId) return reject('wrong_chain')
    txs.push(tx)
  }
  return { verdict: 'accept', message: { kind: 'txs', txs } }
}

function validateProposal(ctx: ValidatorContext, value: Encodable): Validation {
  const shaped = Array.isArray(value) && (value.length === 2 || (value.length === 3 && typeof value[2] === 'number'))
  const [proposalValue, blockValue] = shaped ? (value as Encodable[]) : [null, undefined]
  if (blockValue === undefined || (blockValue !== null && !(blockValue instanceof Uint8Array) && !Array.isArray(blockValue))) return reject('bad_shape')
  let compact: CompactBlock | undefined
  if (Array.isArray(blockValue)) {
    try {
      compact = compactFromValue(blockValue, maxCompactTxs(ctx.limits.proposals))
    } catch (e) {
      return rejectError('bad_block', e)
    }
  }
  let proposal: Proposal
  try {
    proposal = proposalFromMessageValue(proposalValue as Encodable)
  } catch (e) {
    return rejectError('bad_proposal', e)
  }
  const pubKey = ctx.validatorPubKey(proposal.height, proposal.proposer)
  if (pubKey === null) return ignore('unknown_signer')
  if (!verifyProposalSignature(ctx.chainId, proposal, pubKey)) return reject('bad_signature', 'proposal')
  if (!(blockValue instanceof Uint8Array)) return { verdict: 'fetch', proposal, compact }
  return validateProposalBlock(ctx, proposal, blockValue)
}

/**
 * The block beside a correctly signed proposal must be the one it names.
 * The header may name another proposer: a round that re-proposes its
 * validRound's value carries that round's block.
 */
export function validateProposalBlock(ctx: ValidatorContext, proposal: Proposal, blockBytes: Uint8Array): Settled {
  let block: Block
  try {
    block = decodeBlock(blockBytes, ctx.limits.proposals)
  } catch (e) {
    return rejectError('bad_block', e)
  }
  const header = block.header
  if (header.chainId !== ctx.chainId) return reject('wrong_chain')
  if (header.height !== proposal.height) return reject('block_height_mismatch')
  if (blockHash(header) !== toHex(proposal.blockHash)) return reject('block_hash_mismatch')
  // The hash covers the header only; a relay could swap the body under it.
  if (txRoot(block.txs) !== header.txRoot) return reject('tx_root_mismatch')
  if (commitHash(block.lastCommit) !== header.lastCommitHash) return reject('commit_hash_mismatch')
  return { verdict: 'accept', message: { kind: 'proposals', proposal, blockBytes } }
}

function validateVote(ctx: ValidatorContext, value: Encodable): Validation {
  const relayed = Array.isArray(value) && value.length === 2 && typeof value[1] === 'number'
  let vote: Vote
  try {
    vote = voteFromEncodable(relayed ? (value as Encodable[])[0] : value)
  } catch (e) {
    return rejectError('bad_vote', e)
  }
  const pubKey = ctx.validatorPubKey(vote.height, vote.validator)
  if (pubKey === null) return ignore('unknown_signer')
  if (!verifyVoteSignature(ctx.chainId, vote, pubKey)) return reject('bad_signature', 'vote')
  return { verdict: 'accept', message: { kind: 'votes', vote } }
}

/** `[voteA, voteB]` or `[voteA, voteB, relay]` (encodeEvidenceMessage): its shape and ordering; the signatures need the set of its height. */
function decodeEvidenceMessage(value: Encodable): Validation {
  const items = Array.isArray(value) && value.length === 3 && typeof value[2] === 'number' ? (value as Encodable[]).slice(0, 2) : value
  try {
    return { verdict: 'lookup', evidence: evidenceFromEncodable(items) }
  } catch (e) {
    return rejectError('bad_evidence', e)
  }
}

/**
 * Gossiped double-sign evidence against `set`, the validator set of its
 * height (consensus verifyEvidence, DESIGN §5): both votes signed by one
 * member for one (height, round, type) and different values. A set this
 * node cannot tell (`null`) ignores it.
 */
export function validateEvidence(ctx: ValidatorContext, evidence: Evidence, set: ValidatorSet | null): Settled {
  if (set === null) return ignore('evidence_out_of_window')
  try {
    verifyEvidence(evidence, set, ctx.chainId)
  } catch (e) {
    const code = isAttrchainError(e) ? e.code : 'UNEXPECTED'
    return reject(code === 'CONSENSUS_ERROR_BAD_SIGNATURE' ? 'bad_signature' : 'bad_evidence', code)
  }
  return { verdict: 'accept', message: { kind: 'evidence', evidence } }
}
