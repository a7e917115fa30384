import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import {
  ValidatorSet,
  defaultTimeoutOptions,
  initConsensus,
  proposalSignBytes,
  step,
  voteSignBytes,
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
  type Proposal,
  type Vote,
  type VoteType,
} from '../../../consensus/index.js'

export const CHAIN_ID = 'attrchain-test'

/** Deterministic test keys, sorted by address so index i is the i-th validator of the set. */
export function makeKeys(n: number, tag = 'unit'): KeyPair[] {
  const keys = Array.from({ length: n }, (_, i) => new KeyPair(sha256(`attrchain/test/${tag}/${i}`)))
  return keys.sort((a, b) => (a.address < b.address ? -1 : 1))
}

export function makeSet(keys: KeyPair[], powers: bigint[]): ValidatorSet {
  return ValidatorSet.create(keys.map((k, i) => ({ address: k.address, pubKey: k.publicKey, power: powers[i]! })))
}

export function blockHash(label: string): Uint8Array {
  return sha256(`block/${label}`)
}

export function signVote(key: KeyPair, type: VoteType, height: number, round: number, hash: Uint8Array | null): Vote {
  const unsigned = { type, height, round, blockHash: hash, validator: key.address }
  return { ...unsigned, signature: key.sign(voteSignBytes(CHAIN_ID, unsigned)) }
}

export function signProposal(key: KeyPair, height: number, round: number, hash: Uint8Array, validRound = -1): Proposal {
  const unsigned = { height, round, validRound, blockHash: hash, proposer: key.address }
  return { ...unsigned, signature: key.sign(proposalSignBytes(CHAIN_ID, unsigned)) }
}

/**
 * One node's core under test: feeds inputs, keeps every output, and (like a
 * driver) signs the node's own votes and proposals and feeds them back.
 */
export class Harness {
  state: ConsensusState
  readonly outputs: ConsensusOutput[] = []

  constructor(
    readonly keys: KeyPair[],
    readonly set: ValidatorSet,
    readonly self: KeyPair | null,
    readonly height = 1,
  ) {
    const r = initConsensus({ chainId: CHAIN_ID, self: self?.address ?? null, timeouts: defaultTimeoutOptions }, height, set)
    this.state = r.state
    this.handle(r.outputs)
  }

  input(input: ConsensusInput): ConsensusOutput[] {
    const start = this.outputs.length
    const r = step(this.state, input)
    this.state = r.state
    this.handle(r.outputs)
    return this.outputs.slice(start)
  }

  vote(key: KeyPair, type: VoteType, round: number, hash: Uint8Array | null): ConsensusOutput[] {
    return this.input({ kind: 'vote', vote: signVote(key, type, this.state.height, round, hash) })
  }

  votes(keys: KeyPair[], type: VoteType, round: number, hash: Uint8Array | null): void {
    for (const k of keys) this.vote(k, type, round, hash)
  }

  propose(key: KeyPair, round: number, hash: Uint8Array, validRound = -1, valid: boolean | null = true): void {
    this.input({ kind: 'proposal', proposal: signProposal(key, this.state.height, round, hash, validRound) })
    if (valid !== null) this.input({ kind: 'proposalValidated', height: this.state.height, blockHash: hash, valid })
  }

  timeout(round: number, s: 'propose' | 'prevote' | 'precommit'): ConsensusOutput[] {
    return this.input({ kind: 'timeout', height: this.state.height, round, step: s })
  }

  /** The node's own votes, as `type@round:value` strings ("nil" or the block label). */
  ownVotes(labels: Record<string, Uint8Array>): string[] {
    return this.outputs.flatMap((o) => {
      if (o.kind !== 'broadcastVote') return []
      const label = o.vote.blockHash === null ? 'nil' : (Object.entries(labels).find(([, h]) => Buffer.compare(h, o.vote.blockHash!) === 0)?.[0] ?? '?')
      return [`${o.vote.type}@${o.vote.round}:${label}`]
    })
  }

  of<K extends ConsensusOutput['kind']>(kind: K): Extract<ConsensusOutput, { kind: K }>[] {
    return this.outputs.filter((o): o is Extract<ConsensusOutput, { kind: K }> => o.kind === kind)
  }

  private handle(outputs: ConsensusOutput[]): void {
    for (const o of outputs) {
      this.outputs.push(o)
      if (!this.self) continue
      if (o.kind === 'broadcastVote') {
        const v = o.vote
        this.input({ kind: 'vote', vote: signVote(this.self, v.type, v.height, v.round, v.blockHash) })
      } else if (o.kind === 'broadcastProposal') {
        const p = o.proposal
        this.input({ kind: 'proposal', proposal: signProposal(this.self, p.height, p.round, p.blockHash, p.validRound) })
      }
    }
  }
}
