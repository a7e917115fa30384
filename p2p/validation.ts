import { decode, type Encodable } from '../core/codec.js'
import { isAttrchainError } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { decodeSignedTx, type SignedTx, type TxLimits } from '../core/tx.js'
import { voteFromEncodable, verifyProposalSignature, verifyVoteSignature, type Proposal, type Vote } from '../consensus/index.js'
import { decodeBlock, blockHash, commitHash, txRoot, type Block } from '../state/index.js'
import type { GossipKind, P2PHandlers, Verdict } from './interface.js'
import type { MessageLimits } from './options.js'
import { MAX_TX_BATCH, proposalFromMessageValue } from './topics.js'

export type GossipMessage =
  | { kind: 'txs'; txs: SignedTx[] }
  | { kind: 'proposals'; proposal: Proposal; blockBytes: Uint8Array }
  | { kind: 'votes'; vote: Vote }

/**
 * `fetch`: a well-signed proposal whose block was too large to ride along;
 * the host fetches it from the forwarding peer, then calls
 * validateProposalBlock.
 */
export type Validation =
  | { verdict: 'accept'; message: GossipMessage }
  | { verdict: Exclude<Verdict, 'accept'>; reason: string }
  | { verdict: 'fetch'; proposal: Proposal }

/** A final outcome: what a topic validator returns. */
export type Settled = Exclude<Validation, { verdict: 'fetch' }>

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

const reject = (reason: string): Settled => ({ verdict: 'reject', reason })
const ignore = (reason: string): Settled => ({ verdict: 'ignore', reason })

function errorReason(e: unknown): string {
  return isAttrchainError(e) ? e.code : 'UNEXPECTED'
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
    return reject(errorReason(e))
  }
  if (kind === 'txs') return validateTxBatch(ctx, value)
  if (kind === 'proposals') return validateProposal(ctx, value)
  return validateVote(ctx, value)
}

function validateTxBatch(ctx: ValidatorContext, value: Encodable): Validation {
  // a re-broadcast ends with a relay counter (encodeTxBatch)
  const items = Array.isArray(value) && typeof value.at(-1) === 'number' ? (value as Encodable[]).slice(0, -1) : value
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_TX_BATCH) return reject('bad batch shape')
  const txs: SignedTx[] = []
  for (const item of items as Encodable[]) {
    if (!(item instanceof Uint8Array)) return reject('batch item is not bytes')
    let tx: SignedTx
    try {
      tx = decodeSignedTx(item, ctx.txLimits, { verify: ctx.deferTxSignatures !== true })
    } catch (e) {
      return reject(errorReason(e))
    }
    if (tx.tx.chainId !== ctx.chainId) return reject('wrong chain id')
    txs.push(tx)
  }
  return { verdict: 'accept', message: { kind: 'txs', txs } }
}

function validateProposal(ctx: ValidatorContext, value: Encodable): Validation {
  const shaped = Array.isArray(value) && (value.length === 2 || (value.length === 3 && typeof value[2] === 'number'))
  const [proposalValue, blockValue] = shaped ? (value as Encodable[]) : [null, undefined]
  if (blockValue === undefined || (blockValue !== null && !(blockValue instanceof Uint8Array))) return reject('bad proposal message shape')
  let proposal: Proposal
  try {
    proposal = proposalFromMessageValue(proposalValue as Encodable)
  } catch (e) {
    return reject(errorReason(e))
  }
  const pubKey = ctx.validatorPubKey(proposal.height, proposal.proposer)
  if (pubKey === null) return ignore('unknown proposer at this height')
  if (!verifyProposalSignature(ctx.chainId, proposal, pubKey)) return reject('bad proposal signature')
  if (blockValue === null) return { verdict: 'fetch', proposal }
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
    return reject(errorReason(e))
  }
  const header = block.header
  if (header.chainId !== ctx.chainId) return reject('wrong chain id')
  if (header.height !== proposal.height) return reject('block height differs from proposal height')
  if (blockHash(header) !== toHex(proposal.blockHash)) return reject('block does not hash to the proposed blockHash')
  // The hash covers the header only; a relay could swap the body under it.
  if (txRoot(block.txs) !== header.txRoot) return reject('block txs do not match the header txRoot')
  if (commitHash(block.lastCommit) !== header.lastCommitHash) return reject('block lastCommit does not match the header')
  return { verdict: 'accept', message: { kind: 'proposals', proposal, blockBytes } }
}

function validateVote(ctx: ValidatorContext, value: Encodable): Validation {
  const relayed = Array.isArray(value) && value.length === 2 && typeof value[1] === 'number'
  let vote: Vote
  try {
    vote = voteFromEncodable(relayed ? (value as Encodable[])[0] : value)
  } catch (e) {
    return reject(errorReason(e))
  }
  const pubKey = ctx.validatorPubKey(vote.height, vote.validator)
  if (pubKey === null) return ignore('unknown validator at this height')
  if (!verifyVoteSignature(ctx.chainId, vote, pubKey)) return reject('bad vote signature')
  return { verdict: 'accept', message: { kind: 'votes', vote } }
}
