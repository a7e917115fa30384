import t from 'tap'
import { decode, encode } from '../../../core/codec.js'
import { sha256 } from '../../../core/hash.js'
import {
  decodeCommit,
  decodeEvidence,
  decodeProposal,
  decodeVote,
  encodeCommit,
  encodeEvidence,
  encodeProposal,
  encodeVote,
  makeCommit,
  makeEvidence,
  proposalSignBytes,
  voteSignBytes,
} from '../../../consensus/index.js'
import { concatBytes, fromHex, toHex, utf8 } from '../../../core/bytes.js'
import { blockHash, CHAIN_ID, makeKeys, signProposal, signVote } from './fixtures.js'

const keys = makeKeys(3)
const A = blockHash('a')
const B = blockHash('b')

t.test('votes round-trip, nil included, and sign over the documented bytes', async (t) => {
  for (const v of [signVote(keys[0]!, 'prevote', 7, 2, A), signVote(keys[1]!, 'precommit', 1, 0, null)]) {
    t.same(decodeVote(encodeVote(v)), v)
  }
  const v = signVote(keys[0]!, 'precommit', 7, 2, A)
  const expected = sha256(concatBytes(utf8('attrchain/vote/v1'), encode([CHAIN_ID, 7, 2, 2, A])))
  t.equal(toHex(voteSignBytes(CHAIN_ID, v)), toHex(expected), 'sha256("attrchain/vote/v1" ‖ encode([chainId, height, round, 2, hash]))')
  t.notSame(voteSignBytes('other-chain', v), voteSignBytes(CHAIN_ID, v), 'the chain id is signed')
})

t.test('proposals round-trip; validRound -1 is encoded as null', async (t) => {
  const p = signProposal(keys[0]!, 3, 4, A, 2)
  t.same(decodeProposal(encodeProposal(p)), p)
  const fresh = signProposal(keys[0]!, 3, 0, A)
  t.same(decodeProposal(encodeProposal(fresh)), fresh)
  t.equal(decodeProposal(encodeProposal(fresh)).validRound, -1)
  t.notSame(proposalSignBytes(CHAIN_ID, p), proposalSignBytes(CHAIN_ID, { ...p, validRound: -1 }))
})

t.test('commits round-trip, sorted by validator', async (t) => {
  const votes = [keys[2]!, keys[0]!, keys[1]!].map((k) => signVote(k, 'precommit', 5, 1, A))
  const c = makeCommit(5, 1, A, votes)
  t.same(c.signatures.map((s) => s.validator), keys.map((k) => k.address))
  t.same(decodeCommit(encodeCommit(c)), c)
})

t.test('evidence round-trips in canonical order', async (t) => {
  const va = signVote(keys[0]!, 'prevote', 5, 1, A)
  const vb = signVote(keys[0]!, 'prevote', 5, 1, B)
  const e1 = makeEvidence(va, vb)
  const e2 = makeEvidence(vb, va)
  t.same(encodeEvidence(e1), encodeEvidence(e2), 'one equivocation, one encoding')
  t.same(decodeEvidence(encodeEvidence(e1)), e1)
  const nil = makeEvidence(va, signVote(keys[0]!, 'prevote', 5, 1, null))
  t.equal(nil.voteA.blockHash, null, 'nil sorts first')
})

t.test('malformed bytes are refused with CONSENSUS_ERROR_MALFORMED', async (t) => {
  const v = signVote(keys[0]!, 'prevote', 7, 2, A)
  const addr = fromHex(v.validator)
  const bad: [string, Uint8Array][] = [
    ['not msgpack', new Uint8Array([0xc1])],
    ['trailing bytes', new Uint8Array([...encodeVote(v), 0])],
    ['wrong arity', encode([1, 7, 2, A, addr])],
    ['unknown type', encode([3, 7, 2, A, addr, v.signature])],
    ['height 0', encode([1, 0, 2, A, addr, v.signature])],
    ['short hash', encode([1, 7, 2, A.subarray(1), addr, v.signature])],
    ['short signature', encode([1, 7, 2, A, addr, v.signature.subarray(1)])],
    ['string address', encode([1, 7, 2, A, v.validator, v.signature])],
  ]
  for (const [what, bytes] of bad) t.throws(() => decodeVote(bytes), { code: 'CONSENSUS_ERROR_MALFORMED' }, what)
  const p = signProposal(keys[0]!, 3, 4, A, 2)
  t.throws(() => decodeProposal(encode([3, 4, 4, A, fromHex(p.proposer), p.signature])), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'validRound ≥ round')
  t.throws(() => decodeProposal(encode([3, 4, 2, null, fromHex(p.proposer), p.signature])), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'nil proposal')
  const c = makeCommit(5, 1, A, keys.map((k) => signVote(k, 'precommit', 5, 1, A)))
  const rows = c.signatures.map((s) => [fromHex(s.validator), s.signature])
  t.throws(() => decodeCommit(encode([5, 1, A, [rows[1]!, rows[0]!]])), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'unsorted signatures')
  t.throws(() => decodeCommit(encode([5, 1, A, [rows[0]!, rows[0]!]])), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'duplicate signer')
  t.throws(() => decodeCommit(encode([5, 1, A])), { code: 'CONSENSUS_ERROR_MALFORMED' })
  const va = signVote(keys[0]!, 'prevote', 5, 1, A)
  const vb = signVote(keys[0]!, 'prevote', 5, 1, B)
  const e = makeEvidence(va, vb)
  const swapped = encode([decode(encodeVote(e.voteB)), decode(encodeVote(e.voteA))])
  t.throws(() => decodeEvidence(swapped), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'evidence out of order')
  t.throws(() => decodeEvidence(encode([decode(encodeVote(va)), decode(encodeVote(va))])), { code: 'CONSENSUS_ERROR_MALFORMED' }, 'same vote twice')
})

