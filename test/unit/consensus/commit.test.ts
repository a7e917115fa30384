import t from 'tap'
import { addPrecommit, makeCommit, makeEvidence, verifyCommit, verifyEvidence, type Commit } from '../../../consensus/index.js'
import { blockHash, CHAIN_ID, makeKeys, makeSet, signVote } from './fixtures.js'

// Unequal stakes: 5 + 3 + 1 = 9; more than 2/3 means at least 7.
const keys = makeKeys(3)
const [big, mid, small] = keys as [typeof keys[0], typeof keys[0], typeof keys[0]]
const set = makeSet(keys, [5n, 3n, 1n])
const A = blockHash('a')

function commitBy(signers: typeof keys, height = 4, round = 1, hash = A): Commit {
  return makeCommit(height, round, hash, signers.map((k) => signVote(k, 'precommit', height, round, hash)))
}

t.test('a commit with more than 2/3 of the power verifies and returns the signed power', async (t) => {
  t.equal(verifyCommit(commitBy([big, mid]), set, CHAIN_ID), 8n)
  t.equal(verifyCommit(commitBy(keys), set, CHAIN_ID, { height: 4, blockHash: A }), 9n)
})

t.test('too little power: 5 + 1 of 9 is not more than 2/3, even with two of three signers', async (t) => {
  t.throws(() => verifyCommit(commitBy([big, small]), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_INSUFFICIENT_POWER' })
  t.throws(() => verifyCommit(commitBy([]), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_INSUFFICIENT_POWER' })
})

t.test('a bad signature fails the whole commit', async (t) => {
  const c = commitBy(keys)
  const sigs = c.signatures.map((s, i) => (i === 1 ? { ...s, signature: s.signature.map((b, j) => (j === 0 ? b ^ 1 : b)) } : s))
  t.throws(() => verifyCommit({ ...c, signatures: sigs }, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' })
  const prevotes = makeCommit(4, 1, A, keys.map((k) => signVote(k, 'prevote', 4, 1, A)))
  t.throws(() => verifyCommit(prevotes, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' }, 'prevotes are not precommits')
  t.throws(() => verifyCommit(commitBy(keys), set, 'other-chain'), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' }, 'another chain id')
})

t.test('wrong height, round or block: signatures do not verify, expectations do not match', async (t) => {
  const c = commitBy(keys)
  t.throws(() => verifyCommit({ ...c, height: 5 }, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' })
  t.throws(() => verifyCommit({ ...c, round: 0 }, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' })
  t.throws(() => verifyCommit({ ...c, blockHash: blockHash('b') }, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' })
  t.throws(() => verifyCommit(c, set, CHAIN_ID, { height: 5 }), { code: 'CONSENSUS_ERROR_COMMIT_MISMATCH' })
  t.throws(() => verifyCommit(c, set, CHAIN_ID, { blockHash: blockHash('b') }), { code: 'CONSENSUS_ERROR_COMMIT_MISMATCH' })
})

t.test('a non-validator or a repeated signer is refused', async (t) => {
  const outsider = makeKeys(1, 'outsider')[0]!
  t.throws(() => verifyCommit(commitBy([...keys, outsider]), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_UNKNOWN_VALIDATOR' })
  const c = commitBy([big, mid])
  const doubled = { ...c, signatures: [c.signatures[0]!, c.signatures[0]!, c.signatures[1]!] }
  t.throws(() => verifyCommit(doubled, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_DUPLICATE_SIGNER' })
})

t.test('evidence: two signed conflicting votes verify; anything else does not', async (t) => {
  const va = signVote(mid, 'prevote', 4, 1, A)
  const vb = signVote(mid, 'prevote', 4, 1, null)
  verifyEvidence(makeEvidence(va, vb), set, CHAIN_ID)
  t.pass('conflicting prevotes verify')
  t.throws(() => verifyEvidence({ voteA: va, voteB: va }, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_EVIDENCE' })
  t.throws(() => verifyEvidence(makeEvidence(va, signVote(big, 'prevote', 4, 1, null)), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_EVIDENCE' })
  t.throws(() => verifyEvidence(makeEvidence(va, signVote(mid, 'precommit', 4, 1, null)), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_EVIDENCE' })
  t.throws(() => verifyEvidence(makeEvidence(va, signVote(mid, 'prevote', 4, 2, null)), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_EVIDENCE' })
  const forged = { ...vb, signature: va.signature }
  t.throws(() => verifyEvidence(makeEvidence(va, forged), set, CHAIN_ID), { code: 'CONSENSUS_ERROR_BAD_SIGNATURE' })
  const outsider = makeKeys(1, 'outsider')[0]!
  const ev = makeEvidence(signVote(outsider, 'prevote', 4, 1, A), signVote(outsider, 'prevote', 4, 1, null))
  t.throws(() => verifyEvidence(ev, set, CHAIN_ID), { code: 'CONSENSUS_ERROR_UNKNOWN_VALIDATOR' })
})

t.test('addPrecommit: a late precommit for the committed block joins the commit, sorted; anything else adds nothing', async (t) => {
  const c = commitBy([big, mid])
  const late = addPrecommit(c, signVote(small, 'precommit', 4, 1, A), set, CHAIN_ID)
  t.ok(late)
  t.same(late!.signatures.map((s) => s.validator), [...keys].map((k) => k.address).sort(), 'all three, sorted by address')
  t.equal(verifyCommit(late!, set, CHAIN_ID, { height: 4, blockHash: A }), 9n, 'still a valid commit, now with every signer')
  t.equal(addPrecommit(late!, signVote(small, 'precommit', 4, 1, A), set, CHAIN_ID), null, 'already in it')
  t.equal(addPrecommit(c, signVote(small, 'prevote', 4, 1, A), set, CHAIN_ID), null, 'a prevote')
  t.equal(addPrecommit(c, signVote(small, 'precommit', 4, 0, A), set, CHAIN_ID), null, 'another round')
  t.equal(addPrecommit(c, signVote(small, 'precommit', 5, 1, A), set, CHAIN_ID), null, 'another height')
  t.equal(addPrecommit(c, signVote(small, 'precommit', 4, 1, blockHash('b')), set, CHAIN_ID), null, 'another block')
  t.equal(addPrecommit(c, signVote(small, 'precommit', 4, 1, null), set, CHAIN_ID), null, 'nil')
  const outsider = makeKeys(1, 'outsider')[0]!
  t.equal(addPrecommit(c, signVote(outsider, 'precommit', 4, 1, A), set, CHAIN_ID), null, 'not a validator')
  const forged = { ...signVote(small, 'precommit', 4, 1, A), signature: new Uint8Array(64) }
  t.equal(addPrecommit(c, forged, set, CHAIN_ID), null, 'a bad signature')
})
