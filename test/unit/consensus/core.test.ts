import t from 'tap'
import { proposerOf, verifyCommit, ValidatorSet } from '../../../consensus/index.js'
import { blockHash, CHAIN_ID, Harness, makeKeys, makeSet } from './fixtures.js'

const A = blockHash('A')
const B = blockHash('B')
const labels = { A, B }

// Four validators of equal power: 2f + 1 is three of them.
const keys = makeKeys(4)
const [k0, k1, k2, k3] = keys as [typeof keys[0], typeof keys[0], typeof keys[0], typeof keys[0]]
const equal = makeSet(keys, [1n, 1n, 1n, 1n])

/** A node that is not the proposer of rounds 0–2 (equal powers rotate in address order). */
function node(): Harness {
  const h = new Harness(keys, equal, k3)
  for (let r = 0; r < 3; r++) if (proposerOf(h.state, r) === k3.address) throw new Error('fixture: k3 proposes early')
  return h
}

function proposer(h: Harness, round: number) {
  return keys.find((k) => k.address === proposerOf(h.state, round))!
}

/** Rounds 0 and 1 end without a decision: precommits for nil from the others, then the precommit timeout. */
function endRound(h: Harness, round: number): void {
  h.votes([k0, k1, k2], 'precommit', round, null)
  h.timeout(round, 'precommit')
}

t.test('happy path: prevote, lock, precommit, decide with a verifiable commit', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A'])
  t.same([h.state.lockedRound, h.state.validRound], [0, 0], 'locked and valid at round 0 (lines 38–43)')
  h.votes([k0, k1], 'precommit', 0, A)
  const [decide] = h.of('decide')
  t.ok(decide, 'decided')
  t.same(decide!.blockHash, A)
  t.equal(verifyCommit(decide!.commit, equal, CHAIN_ID, { height: 1, blockHash: A }), 3n)
  t.equal(h.of('decide').length, 1)
  h.vote(k2, 'precommit', 0, A)
  t.equal(h.outputs.at(-1)?.kind, 'decide', 'nothing happens after the decision')
})

t.test('an invalid proposal gets a nil prevote (line 25)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A, -1, false)
  t.same(h.ownVotes(labels), ['prevote@0:nil'])
})

t.test('no prevote before the host validated the proposal; timeoutPropose then prevotes nil (line 57)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A, -1, null)
  t.same(h.of('requestValidation').map((o) => o.blockHash), [A])
  t.same(h.ownVotes(labels), [])
  h.timeout(0, 'propose')
  t.same(h.ownVotes(labels), ['prevote@0:nil'])
  h.input({ kind: 'proposalValidated', height: 1, blockHash: A, valid: true })
  t.same(h.ownVotes(labels), ['prevote@0:nil'], 'a late verdict changes nothing in this round')
})

t.test('locked on A, a new proposal B with validRound -1 gets nil (lines 22–25)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  endRound(h, 0)
  t.equal(h.state.round, 1)
  h.propose(proposer(h, 1), 1, B)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A', 'prevote@1:nil'])
})

t.test('locked on A, a proposal of A again gets A (lockedValue = v)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  endRound(h, 0)
  h.propose(proposer(h, 1), 1, A, 0)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A', 'prevote@1:A'])
})

t.test('locked on A at 0, a polka for B in round 1 relocks on B (lines 36–41)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  endRound(h, 0)
  h.propose(proposer(h, 1), 1, B)
  h.votes([k0, k1, k2], 'prevote', 1, B)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A', 'prevote@1:nil', 'precommit@1:B'])
  t.same([h.state.lockedRound, h.state.lockedValue], [1, B])
})

t.test('locked on A at 0, a proposal of B with validRound 1 and a polka at 1 unlocks (lines 28–30)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  endRound(h, 0)
  h.timeout(1, 'propose')
  h.votes([k0, k1, k2], 'prevote', 1, B)
  h.timeout(1, 'prevote')
  endRound(h, 1)
  h.propose(proposer(h, 2), 2, B, 1)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A', 'prevote@1:nil', 'precommit@1:nil', 'prevote@2:B'])
  t.equal(h.state.lockedRound, 0, 'prevoting does not move the lock; only a polka in the current round does')
})

t.test('locked on A at 1, a proposal of B with validRound 0 is refused (lockedRound > vr)', async (t) => {
  const h = node()
  h.timeout(0, 'propose')
  h.votes([k0, k1, k2], 'prevote', 0, B)
  h.timeout(0, 'prevote')
  endRound(h, 0)
  h.propose(proposer(h, 1), 1, A)
  h.votes([k0, k1], 'prevote', 1, A)
  endRound(h, 1)
  h.propose(proposer(h, 2), 2, B, 0)
  t.same(h.ownVotes(labels), ['prevote@0:nil', 'precommit@0:nil', 'prevote@1:A', 'precommit@1:A', 'prevote@2:nil'])
})

t.test('a proposal with a validRound whose polka is unknown waits; the timeout prevotes nil', async (t) => {
  const h = node()
  endRound(h, 0)
  h.propose(proposer(h, 1), 1, B, 0)
  t.same(h.ownVotes(labels), [])
  h.votes([k0, k1, k2], 'prevote', 0, B)
  t.same(h.ownVotes(labels), ['prevote@1:B'], 'the polka arriving later satisfies line 28')
})

t.test('a late polka after precommitting nil updates the valid value, which the next proposer re-proposes (lines 42–43, 14)', async (t) => {
  const h = new Harness(keys, equal, k1)
  t.equal(proposerOf(h.state, 1), k1.address, 'fixture: k1 proposes round 1')
  h.propose(proposer(h, 0), 0, A)
  h.vote(k0, 'prevote', 0, A)
  h.vote(k2, 'prevote', 0, null)
  t.same(h.of('scheduleTimeout').map((o) => o.step), ['propose', 'prevote'], '2f + 1 prevotes of any value schedule timeoutPrevote (line 34)')
  h.timeout(0, 'prevote')
  h.vote(k3, 'prevote', 0, A)
  t.same([h.state.validRound, h.state.lockedRound], [0, -1], 'valid value recorded, no lock')
  h.votes([k0, k2, k3], 'precommit', 0, null)
  h.timeout(0, 'precommit')
  const proposals = h.of('broadcastProposal')
  t.equal(proposals.length, 1)
  t.same(proposals[0]!.proposal, { height: 1, round: 1, validRound: 0, blockHash: A, proposer: k1.address })
  t.same(h.of('requestProposal'), [], 'no new block is built when a valid value exists')
})

t.test('2f + 1 nil prevotes precommit nil (line 44)', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, null)
  t.same(h.ownVotes(labels), ['prevote@0:A'], 'two nil and one A: no quorum for either')
  h.vote(k2, 'prevote', 0, null)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:nil'])
})

t.test('timeouts grow per round and stale ones are ignored', async (t) => {
  const h = node()
  endRound(h, 0)
  endRound(h, 1)
  const ms = h.of('scheduleTimeout').map((o) => `${o.step}@${o.round}:${o.ms}`)
  t.same(ms, ['propose@0:1000', 'precommit@0:500', 'propose@1:1500', 'precommit@1:750', 'propose@2:2000'])
  const before = h.outputs.length
  h.timeout(0, 'precommit')
  h.timeout(1, 'propose')
  t.equal(h.outputs.length, before, 'timeouts of past rounds do nothing')
})

t.test('thresholds count power, not validators: 5 / 3 / 1', async (t) => {
  const ks = makeKeys(3, 'stake')
  const powers = [5n, 3n, 1n]
  const set = makeSet(ks, powers)
  const [big, mid, small] = ks as [typeof ks[0], typeof ks[0], typeof ks[0]]
  const h = new Harness(ks, set, small)
  t.equal(proposerOf(h.state, 0), big.address, 'the biggest stake proposes first')
  h.propose(big, 0, A)
  h.vote(big, 'prevote', 0, A)
  t.same(h.ownVotes(labels), ['prevote@0:A'], '5 + 1 of 9 is two of three validators but not more than 2/3 of the power')
  h.vote(mid, 'prevote', 0, A)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A'])
  h.vote(big, 'precommit', 0, A)
  t.same(h.of('decide'), [], '5 + 1 precommits do not decide')
  h.vote(mid, 'precommit', 0, A)
  t.equal(h.of('decide').length, 1)
})

t.test('round skip needs more than 1/3 of the power in a higher round (line 55)', async (t) => {
  const ks = makeKeys(3, 'stake')
  const set = makeSet(ks, [5n, 3n, 1n])
  const [big, mid, small] = ks as [typeof ks[0], typeof ks[0], typeof ks[0]]
  const h = new Harness(ks, set, small)
  h.vote(mid, 'prevote', 4, null)
  t.equal(h.state.round, 0, 'exactly 1/3 (3 of 9) is not enough')
  h.vote(small, 'precommit', 4, null)
  t.equal(h.state.round, 4, '3 + 1 is more than 1/3')
  h.vote(big, 'prevote', 7, A)
  t.equal(h.state.round, 7, 'one validator with 5 of 9 is enough alone')
})

t.test('2f + 1 precommits for a value in an earlier round decide it (line 49)', async (t) => {
  const h = node()
  h.votes([k0, k1], 'prevote', 2, null)
  t.equal(h.state.round, 2, 'skipped to round 2')
  h.votes([k0, k1, k2], 'precommit', 0, A)
  t.same(h.of('decide'), [], 'not before the block is known to be valid')
  t.same(h.of('requestValidation').map((o) => o.round), [0])
  h.input({ kind: 'proposalValidated', height: 1, blockHash: A, valid: true })
  t.equal(h.of('decide')[0]?.round, 0)
})

t.test('equivocation: reported once as evidence; counted for each value it signed, once for "any"', async (t) => {
  const h = node()
  h.vote(k0, 'prevote', 0, A)
  h.vote(k0, 'prevote', 0, B)
  h.vote(k0, 'prevote', 0, null)
  const ev = h.of('evidence')
  t.equal(ev.length, 1, 'one report per validator, round and type')
  t.same([ev[0]!.evidence.voteA.blockHash, ev[0]!.evidence.voteB.blockHash].map((x) => x !== null), [true, true])
  const prevotes = h.state.rounds.get(0)!.prevotes
  t.same([prevotes.powerFor(A), prevotes.powerFor(B), prevotes.powerFor(null)], [1n, 1n, 1n], 'as in the paper: its messages are in the log')
  h.vote(k1, 'prevote', 0, null)
  t.notOk(prevotes.hasTwoThirdsAny(), 'k0 and k1 are two of four, however many values k0 signed')
  h.timeout(0, 'propose')
  t.same(h.ownVotes(labels), ['prevote@0:nil', 'precommit@0:nil'], "k0's nil, k1's and our own are a nil polka")
  h.vote(k0, 'precommit', 0, A)
  h.vote(k0, 'precommit', 0, null)
  t.equal(h.of('evidence').length, 2, 'precommits are a separate vote set')
})

t.test('a polka that includes an equivocator is seen whichever of its votes arrived first', async (t) => {
  const h = node()
  h.vote(k0, 'prevote', 0, null)
  h.propose(proposer(h, 0), 0, A)
  h.vote(k1, 'prevote', 0, A)
  t.same(h.ownVotes(labels), ['prevote@0:A'])
  h.vote(k0, 'prevote', 0, A)
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A'], 'k0, k1 and our own prevote for A lock on A')
})

t.test('bad signatures, strangers, wrong proposers are rejected; exact duplicates are ignored', async (t) => {
  const h = node()
  const stranger = makeKeys(1, 'stranger')[0]!
  h.vote(stranger, 'prevote', 0, A)
  const sig = new Uint8Array(64)
  h.input({ kind: 'vote', vote: { type: 'prevote', height: 1, round: 0, blockHash: A, validator: k0.address, signature: sig } })
  h.propose(k2, 0, A, -1, null)
  t.same(h.of('rejected').map((o) => o.code), ['CONSENSUS_ERROR_UNKNOWN_VALIDATOR', 'CONSENSUS_ERROR_BAD_SIGNATURE', 'CONSENSUS_ERROR_WRONG_PROPOSER'])
  const before = h.outputs.length
  h.vote(k0, 'prevote', 0, A)
  h.vote(k0, 'prevote', 0, A)
  t.equal(h.outputs.length, before)
  t.equal(h.state.rounds.get(0)!.prevotes.powerFor(A), 1n)
  h.vote(k0, 'prevote', 5000, A)
  t.equal(h.of('rejected').at(-1)?.code, 'CONSENSUS_ERROR_ROUND_TOO_FAR')
})

t.test('one validator commits by itself, with no timeout', async (t) => {
  const solo = makeKeys(1, 'solo')
  const h = new Harness(solo, makeSet(solo, [10n]), solo[0]!)
  t.same(h.of('requestProposal').map((o) => o.round), [0])
  h.input({ kind: 'proposalValue', height: 1, round: 0, blockHash: A })
  h.input({ kind: 'proposalValidated', height: 1, blockHash: A, valid: true })
  t.same(h.ownVotes(labels), ['prevote@0:A', 'precommit@0:A'])
  t.equal(h.of('decide').length, 1)
  t.same(h.of('scheduleTimeout').map((o) => o.step), ['propose', 'prevote'], 'only the timeouts the algorithm schedules, none fired')
})

t.test('newHeight starts afresh with the next set; a full node follows without voting', async (t) => {
  const h = node()
  h.propose(proposer(h, 0), 0, A)
  h.votes([k0, k1], 'prevote', 0, A)
  h.votes([k0, k1], 'precommit', 0, A)
  const next = ValidatorSet.create(keys.map((k, i) => ({ address: k.address, pubKey: k.publicKey, power: i === 3 ? 4n : 1n })))
  h.input({ kind: 'newHeight', height: 2, validators: next })
  t.same([h.state.height, h.state.round, h.state.lockedRound, h.state.validRound], [2, 0, -1, -1])
  t.equal(h.of('requestProposal').length, 1, 'k3 holds 4 of 7 and proposes height 2')

  const watcher = new Harness(keys, equal, null)
  watcher.propose(proposer(watcher, 0), 0, A)
  watcher.votes([k0, k1, k2], 'prevote', 0, A)
  watcher.votes([k0, k1, k2], 'precommit', 0, A)
  t.same(watcher.ownVotes(labels), [])
  t.equal(watcher.of('decide').length, 1)
})
