import type { Address } from '../core/address.js'
import { fromHex, toHex, utf8 } from '../core/bytes.js'
import { encode, type Encodable } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { SIGNATURE_LENGTH, verifySignature } from '../core/keys.js'
import { ADDRESS_LENGTH, HASH_LENGTH } from './vote.js'
import { bytesField, decodeStrict, malformed, uintField } from './wire.js'

/**
 * ⟨PROPOSAL, h, r, v, vr⟩ of the paper, with v identified by its hash: the
 * block bytes travel beside the proposal and stay opaque to the core.
 * `validRound` is −1 when the proposer has no valid value from an earlier round.
 */
export interface UnsignedProposal {
  readonly height: number
  readonly round: number
  readonly validRound: number
  readonly blockHash: Uint8Array
  readonly proposer: Address
}

export interface Proposal extends UnsignedProposal {
  readonly signature: Uint8Array
}

const PROPOSAL_DOMAIN = utf8('attrchain/proposal/v1')

/** sha256("attrchain/proposal/v1" ‖ encode([chainId, height, round, validRound | null, blockHash])). */
export function proposalSignBytes(chainId: string, p: UnsignedProposal): Uint8Array {
  return sha256(PROPOSAL_DOMAIN, encode([chainId, p.height, p.round, p.validRound < 0 ? null : p.validRound, p.blockHash]))
}

export function verifyProposalSignature(chainId: string, p: Proposal, pubKey: Uint8Array): boolean {
  return verifySignature(pubKey, proposalSignBytes(chainId, p), p.signature)
}

/** Wire form: `[height, round, validRound | null, blockHash, proposer(20), signature(64)]`. */
export function encodeProposal(p: Proposal): Uint8Array {
  return encode([p.height, p.round, p.validRound < 0 ? null : p.validRound, p.blockHash, fromHex(p.proposer), p.signature])
}

export function proposalFromEncodable(value: Encodable): Proposal {
  if (!Array.isArray(value) || value.length !== 6) throw malformed('proposal must be [height, round, validRound, blockHash, proposer, signature]')
  const [height, round, validRound, blockHash, proposer, signature] = value as Encodable[]
  const r = uintField(round, 'proposal.round')
  const vr = validRound === null ? -1 : uintField(validRound, 'proposal.validRound')
  if (vr >= r) throw malformed('proposal.validRound must be below proposal.round')
  return {
    height: uintField(height, 'proposal.height', 1),
    round: r,
    validRound: vr,
    blockHash: bytesField(blockHash, HASH_LENGTH, 'proposal.blockHash'),
    proposer: toHex(bytesField(proposer, ADDRESS_LENGTH, 'proposal.proposer')),
    signature: bytesField(signature, SIGNATURE_LENGTH, 'proposal.signature'),
  }
}

export function decodeProposal(bytes: Uint8Array): Proposal {
  return proposalFromEncodable(decodeStrict(bytes, 'proposal'))
}
