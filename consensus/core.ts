import type { Address } from '../core/address.js'
import { toHex } from '../core/bytes.js'
import { invariant } from '../core/errors.js'
import { verifySignature } from '../core/keys.js'
import { isOneThird, makeCommit, type Commit } from './commit.js'
import type { ConsensusErrorCode } from './errors.js'
import { makeEvidence } from './evidence.js'
import type { ConsensusConfig, ConsensusInput, ConsensusOutput, SignatureVerifier, Step, StepResult } from './interface.js'
import { DEFAULT_MAX_ROUNDS_AHEAD } from './options.js'
import { proposalSignBytes, type Proposal } from './proposal.js'
import type { ValidatorSet } from './validatorSet.js'
import { sameValue, voteSignBytes, type Vote } from './vote.js'
import { VoteSet } from './voteSet.js'

/** The messages of one round of the current height, and its "for the first time" flags. */
interface RoundState {
  proposal: Proposal | null
  readonly prevotes: VoteSet
  readonly precommits: VoteSet
  /** Power of the distinct validators that sent any vote in this round (line 55). */
  readonly senders: Set<Address>
  senderPower: bigint
  prevoteTimeoutScheduled: boolean
  precommitTimeoutScheduled: boolean
  polkaSeen: boolean
}

/**
 * The state of Algorithm 1 (Buchman–Kwon–Milosevic 2018) for one height.
 * `step` mutates it in place and returns it: the driver owns it, nothing
 * else shares it, and the same inputs always produce the same state and
 * outputs (no clock, no randomness, no decision on Map iteration order).
 */
export interface ConsensusState {
  readonly config: ConsensusConfig
  readonly verifier: SignatureVerifier
  readonly maxRoundsAhead: number
  readonly height: number
  readonly validators: ValidatorSet
  round: number
  step: Step
  lockedValue: Uint8Array | null
  lockedRound: number
  validValue: Uint8Array | null
  validRound: number
  decision: Commit | null
  /** Round for which `requestProposal` is outstanding, or −1. */
  awaitingValue: number
  readonly rounds: Map<number, RoundState>
  /** Proposers of rounds 1.. (round 0's is `validators.proposer`), extended on demand. */
  proposers: Address[]
  /** Host verdicts by block hash (hex); a block's validity does not depend on the round. */
  readonly validity: Map<string, boolean>
  readonly validationRequested: Set<string>
  readonly evidenceReported: Set<string>
}

/** Start consensus at `height` (Algorithm 1 "upon start do StartRound(0)"). */
export function initConsensus(config: ConsensusConfig, height: number, validators: ValidatorSet): StepResult<ConsensusState> {
  const state = freshState(config, height, validators)
  const outputs: ConsensusOutput[] = []
  startRound(state, 0, outputs)
  applyRules(state, outputs)
  return { state, outputs }
}

export function step(state: ConsensusState, input: ConsensusInput): StepResult<ConsensusState> {
  if (input.kind === 'newHeight') return startHeight(state, input.height, input.validators)
  const outputs: ConsensusOutput[] = []
  if (state.decision !== null || heightOf(input) !== state.height) return { state, outputs }
  switch (input.kind) {
    case 'proposal':
      onProposal(state, input.proposal, outputs)
      break
    case 'vote':
      onVote(state, input.vote, outputs)
      break
    case 'timeout':
      onTimeout(state, input.height, input.round, input.step, outputs)
      break
    case 'proposalValidated':
      onValidated(state, input.height, input.blockHash, input.valid)
      break
    case 'proposalValue':
      onProposalValue(state, input.height, input.round, input.blockHash, outputs)
      break
  }
  applyRules(state, outputs)
  return { state, outputs }
}

/** Whether this node votes at this height (a full node, or a validator outside this height's set, does not). */
export function isVoting(state: ConsensusState): boolean {
  return state.config.self !== null && state.validators.has(state.config.self)
}

/** proposer(h, r): one CometBFT priority sequence per height, so it depends on r alone. */
export function proposerOf(state: ConsensusState, round: number): Address {
  if (round === 0) return state.validators.proposer.address
  if (state.proposers.length < round) {
    state.proposers = state.validators.proposersOfRounds(Math.max(round, 2 * state.proposers.length, 8))
  }
  return state.proposers[round - 1]!
}

function heightOf(input: Exclude<ConsensusInput, { kind: 'newHeight' }>): number {
  switch (input.kind) {
    case 'proposal':
      return input.proposal.height
    case 'vote':
      return input.vote.height
    default:
      return input.height
  }
}

function freshState(config: ConsensusConfig, height: number, validators: ValidatorSet): ConsensusState {
  return {
    config,
    verifier: config.verifier ?? verifySignature,
    maxRoundsAhead: config.maxRoundsAhead ?? DEFAULT_MAX_ROUNDS_AHEAD,
    height,
    validators,
    round: 0,
    step: 'propose',
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    decision: null,
    awaitingValue: -1,
    rounds: new Map(),
    proposers: [],
    validity: new Map(),
    validationRequested: new Set(),
    evidenceReported: new Set(),
  }
}

/** Lines 52–54: a new height forgets locks, valid values and the message log. */
function startHeight(state: ConsensusState, height: number, validators: ValidatorSet): StepResult<ConsensusState> {
  invariant(height > state.height, 'consensus heights only move forward', { from: state.height, to: height })
  return initConsensus(state.config, height, validators)
}

function roundState(state: ConsensusState, round: number): RoundState {
  let rs = state.rounds.get(round)
  if (rs) return rs
  const total = state.validators.totalPower
  rs = {
    proposal: null,
    prevotes: new VoteSet('prevote', round, total),
    precommits: new VoteSet('precommit', round, total),
    senders: new Set(),
    senderPower: 0n,
    prevoteTimeoutScheduled: false,
    precommitTimeoutScheduled: false,
    polkaSeen: false,
  }
  state.rounds.set(round, rs)
  return rs
}

function reject(outputs: ConsensusOutput[], code: ConsensusErrorCode, reason: string, validator: Address): void {
  outputs.push({ kind: 'rejected', code, reason, validator })
}

function roundTooFar(state: ConsensusState, round: number): boolean {
  return round > state.round + state.maxRoundsAhead
}

function onProposal(state: ConsensusState, p: Proposal, outputs: ConsensusOutput[]): void {
  if (roundTooFar(state, p.round)) return reject(outputs, 'CONSENSUS_ERROR_ROUND_TOO_FAR', `proposal for round ${p.round}`, p.proposer)
  if (p.validRound >= p.round || p.validRound < -1) return reject(outputs, 'CONSENSUS_ERROR_MALFORMED', 'validRound must be in [-1, round)', p.proposer)
  if (p.proposer !== proposerOf(state, p.round)) {
    return reject(outputs, 'CONSENSUS_ERROR_WRONG_PROPOSER', `${p.proposer} is not the proposer of round ${p.round}`, p.proposer)
  }
  const rs = roundState(state, p.round)
  const known = rs.proposal
  if (known && sameValue(known.blockHash, p.blockHash) && known.validRound === p.validRound) return
  const member = state.validators.get(p.proposer)!
  if (!state.verifier(member.pubKey, proposalSignBytes(state.config.chainId, p), p.signature)) {
    return reject(outputs, 'CONSENSUS_ERROR_BAD_SIGNATURE', `proposal of round ${p.round} does not verify`, p.proposer)
  }
  if (known) return reject(outputs, 'CONSENSUS_ERROR_CONFLICTING_PROPOSAL', `second proposal in round ${p.round}`, p.proposer)
  rs.proposal = p
  requestValidation(state, p.round, p.blockHash, outputs)
}

function onVote(state: ConsensusState, v: Vote, outputs: ConsensusOutput[]): void {
  if (roundTooFar(state, v.round)) return reject(outputs, 'CONSENSUS_ERROR_ROUND_TOO_FAR', `vote for round ${v.round}`, v.validator)
  const member = state.validators.get(v.validator)
  if (!member) return reject(outputs, 'CONSENSUS_ERROR_UNKNOWN_VALIDATOR', `${v.validator} is not a validator at height ${state.height}`, v.validator)
  const rs = roundState(state, v.round)
  const set = v.type === 'prevote' ? rs.prevotes : rs.precommits
  if (set.hasVote(v.validator, v.blockHash)) return
  if (!state.verifier(member.pubKey, voteSignBytes(state.config.chainId, v), v.signature)) {
    return reject(outputs, 'CONSENSUS_ERROR_BAD_SIGNATURE', `${v.type} of round ${v.round} does not verify`, v.validator)
  }
  const added = set.add(v, member.power)
  if (added.kind === 'conflict' || added.kind === 'ignored') reportEquivocation(state, added.existing, v, outputs)
  if (!rs.senders.has(v.validator)) {
    rs.senders.add(v.validator)
    rs.senderPower += member.power
  }
}

/** Conflicting votes are evidence (DESIGN §5), reported once per validator, round and type. */
function reportEquivocation(state: ConsensusState, existing: Vote, conflicting: Vote, outputs: ConsensusOutput[]): void {
  const key = `${existing.validator}/${existing.round}/${existing.type}`
  if (state.evidenceReported.has(key)) return
  state.evidenceReported.add(key)
  outputs.push({ kind: 'evidence', evidence: makeEvidence(existing, conflicting) })
}

/** Lines 57–67. Stale timeouts are ignored, which is why they carry (height, round, step). */
function onTimeout(state: ConsensusState, height: number, round: number, timeoutStep: Step, outputs: ConsensusOutput[]): void {
  if (height !== state.height || round !== state.round) return
  if (timeoutStep === 'propose' && state.step === 'propose') {
    castVote(state, 'prevote', null, outputs)
    state.step = 'prevote'
  } else if (timeoutStep === 'prevote' && state.step === 'prevote') {
    castVote(state, 'precommit', null, outputs)
    state.step = 'precommit'
  } else if (timeoutStep === 'precommit') {
    startRound(state, round + 1, outputs)
  }
}

function onValidated(state: ConsensusState, height: number, blockHash: Uint8Array, valid: boolean): void {
  const key = toHex(blockHash)
  if (height === state.height && !state.validity.has(key)) state.validity.set(key, valid)
}

/** Line 16–17: the host's getValue() answer, used only while still proposing in that round. */
function onProposalValue(state: ConsensusState, height: number, round: number, blockHash: Uint8Array, outputs: ConsensusOutput[]): void {
  if (height !== state.height || round !== state.round || state.awaitingValue !== round || state.step !== 'propose') return
  state.awaitingValue = -1
  outputs.push({ kind: 'broadcastProposal', proposal: { height, round, validRound: -1, blockHash, proposer: state.config.self! } })
}

function requestValidation(state: ConsensusState, round: number, blockHash: Uint8Array, outputs: ConsensusOutput[]): void {
  const key = toHex(blockHash)
  if (state.validity.has(key) || state.validationRequested.has(key)) return
  state.validationRequested.add(key)
  outputs.push({ kind: 'requestValidation', height: state.height, round, blockHash })
}

function castVote(state: ConsensusState, type: Vote['type'], blockHash: Uint8Array | null, outputs: ConsensusOutput[]): void {
  if (!isVoting(state)) return
  outputs.push({ kind: 'broadcastVote', vote: { type, height: state.height, round: state.round, blockHash, validator: state.config.self! } })
}

function schedule(state: ConsensusState, timeoutStep: Step, outputs: ConsensusOutput[]): void {
  const t = state.config.timeouts
  const [base, delta] =
    timeoutStep === 'propose' ? [t.proposeMs, t.proposeDeltaMs] : timeoutStep === 'prevote' ? [t.prevoteMs, t.prevoteDeltaMs] : [t.precommitMs, t.precommitDeltaMs]
  outputs.push({ kind: 'scheduleTimeout', height: state.height, round: state.round, step: timeoutStep, ms: base + delta * state.round })
}

/**
 * Lines 11–21. Deviation, as CometBFT: the proposer schedules timeoutPropose
 * too, so that a proposal its host never builds (or its signer refuses after
 * a restart) costs one timeout rather than the round.
 */
function startRound(state: ConsensusState, round: number, outputs: ConsensusOutput[]): void {
  state.round = round
  state.step = 'propose'
  state.awaitingValue = -1
  if (isVoting(state) && proposerOf(state, round) === state.config.self) {
    if (state.validValue !== null) {
      const proposal = { height: state.height, round, validRound: state.validRound, blockHash: state.validValue, proposer: state.config.self }
      outputs.push({ kind: 'broadcastProposal', proposal })
    } else {
      state.awaitingValue = round
      outputs.push({ kind: 'requestProposal', height: state.height, round })
    }
  }
  schedule(state, 'propose', outputs)
}

const MAX_RULE_PASSES = 10_000

/** Re-evaluate every "upon" rule until none fires: the rules of Algorithm 1 are conditions on the message log, not on the last message. */
function applyRules(state: ConsensusState, outputs: ConsensusOutput[]): void {
  for (let pass = 0; pass < MAX_RULE_PASSES; pass++) {
    if (state.decision !== null) return
    const fired =
      decideRule(state, outputs) ||
      roundSkipRule(state, outputs) ||
      proposalRule(state, outputs) ||
      prevoteWaitRule(state, outputs) ||
      polkaRule(state, outputs) ||
      nilPolkaRule(state, outputs) ||
      precommitWaitRule(state, outputs)
    if (!fired) return
  }
  invariant(false, 'consensus rules did not settle', { height: state.height, round: state.round })
}

function sortedRounds(state: ConsensusState): number[] {
  return [...state.rounds.keys()].sort((a, b) => a - b)
}

/** Lines 49–54: 2f + 1 precommits for a valid value in any round decide it. */
function decideRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  for (const round of sortedRounds(state)) {
    const precommits = state.rounds.get(round)!.precommits
    const blockHash = precommits.twoThirdsBlock()
    if (blockHash === null) continue
    const valid = state.validity.get(toHex(blockHash))
    if (valid === undefined) requestValidation(state, round, blockHash, outputs)
    if (valid !== true) continue
    const commit = makeCommit(state.height, round, blockHash, precommits.votesFor(blockHash))
    state.decision = commit
    outputs.push({ kind: 'decide', height: state.height, round, blockHash, commit })
    return true
  }
  return false
}

/** Line 55: f + 1 (more than 1/3 of the power) in a higher round: skip to it. */
function roundSkipRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  const total = state.validators.totalPower
  const higher = sortedRounds(state).filter((r) => r > state.round && isOneThird(state.rounds.get(r)!.senderPower, total))
  if (higher.length === 0) return false
  startRound(state, higher[higher.length - 1]!, outputs)
  return true
}

/** Lines 22–33: prevote the proposal if it is valid and the lock allows, else nil. */
function proposalRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  if (state.step !== 'propose') return false
  const p = state.rounds.get(state.round)?.proposal
  if (!p) return false
  const valid = state.validity.get(toHex(p.blockHash))
  if (valid === undefined) return false
  let allowed: boolean
  if (p.validRound === -1) {
    allowed = state.lockedRound === -1 || sameValue(state.lockedValue, p.blockHash)
  } else {
    const polka = state.rounds.get(p.validRound)?.prevotes.hasTwoThirdsFor(p.blockHash) ?? false
    if (!polka) return false
    allowed = state.lockedRound <= p.validRound || sameValue(state.lockedValue, p.blockHash)
  }
  castVote(state, 'prevote', valid && allowed ? p.blockHash : null, outputs)
  state.step = 'prevote'
  return true
}

/** Lines 34–35. */
function prevoteWaitRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  const rs = state.rounds.get(state.round)
  if (state.step !== 'prevote' || !rs || rs.prevoteTimeoutScheduled || !rs.prevotes.hasTwoThirdsAny()) return false
  rs.prevoteTimeoutScheduled = true
  schedule(state, 'prevote', outputs)
  return true
}

/** Lines 36–43: a polka for the valid proposal locks (if still prevoting) and always records the valid value. */
function polkaRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  const rs = state.rounds.get(state.round)
  const p = rs?.proposal
  if (!rs || !p || rs.polkaSeen || state.step === 'propose') return false
  if (state.validity.get(toHex(p.blockHash)) !== true || !rs.prevotes.hasTwoThirdsFor(p.blockHash)) return false
  rs.polkaSeen = true
  if (state.step === 'prevote') {
    state.lockedValue = p.blockHash
    state.lockedRound = state.round
    castVote(state, 'precommit', p.blockHash, outputs)
    state.step = 'precommit'
  }
  state.validValue = p.blockHash
  state.validRound = state.round
  return true
}

/** Lines 44–46. */
function nilPolkaRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  const rs = state.rounds.get(state.round)
  if (state.step !== 'prevote' || !rs || !rs.prevotes.hasTwoThirdsFor(null)) return false
  castVote(state, 'precommit', null, outputs)
  state.step = 'precommit'
  return true
}

/** Lines 47–48. */
function precommitWaitRule(state: ConsensusState, outputs: ConsensusOutput[]): boolean {
  const rs = state.rounds.get(state.round)
  if (!rs || rs.precommitTimeoutScheduled || !rs.precommits.hasTwoThirdsAny()) return false
  rs.precommitTimeoutScheduled = true
  schedule(state, 'precommit', outputs)
  return true
}
