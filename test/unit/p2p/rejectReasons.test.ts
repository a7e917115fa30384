import t from 'tap'
import { encode, decode } from '../../../core/codec.js'
import { DEFAULT_TX_LIMITS } from '../../../core/tx.js'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { encodeProposal, encodeVote } from '../../../consensus/index.js'
import { GOSSIP_REJECT_REASONS, messageLimitsFor, validateEvidence, validateGossip, validateProposalBlock, type GossipKind, type ValidatorContext } from '../../../p2p/index.js'
import { encodeEvidenceMessage, encodeProposalMessage, encodeTxBatch } from '../../../p2p/topics.js'
import { CHAIN_ID, KNOWN_HEIGHTS, Recorder, doubleSign, flip, makeBlock, makeTx, signProposal, signVote, validatorSet, validators } from './fixtures.js'

/**
 * Gossip reject reasons are codes from a closed set (GOSSIP_REJECT_REASONS),
 * so that a metric labelled by reason stays bounded whatever peers send.
 */
const recorder = new Recorder(1)
const ctx: ValidatorContext = {
  chainId: CHAIN_ID,
  limits: messageLimitsFor(1024 * 1024),
  txLimits: DEFAULT_TX_LIMITS,
  validatorPubKey: (h, a) => recorder.validatorPubKey(h, a),
}
const v0 = validators[0]!
const known = new Set(Object.keys(GOSSIP_REJECT_REASONS))

/** The verdict's reason; evidence is checked on against the fixtures' set, as the host does after looking it up. */
function reason(kind: GossipKind, data: Uint8Array): string {
  const first = validateGossip(ctx, kind, data)
  const r = first.verdict === 'lookup' ? validateEvidence(ctx, first.evidence, validatorSet) : first
  return r.verdict === 'reject' || r.verdict === 'ignore' ? r.reason : r.verdict
}

t.test('each kind of bad message gets its reason code', async (t) => {
  const tx = makeTx(0)
  const forged = decode(tx.bytes) as [unknown, Uint8Array, Uint8Array]
  const block = makeBlock(5, v0)
  const p = signProposal(v0, 5, 0, block.hash)
  const v = signVote(v0, 3, 1, 'precommit')
  const ev = doubleSign(v0, 3)
  const cases: [string, GossipKind, Uint8Array, string][] = [
    ['oversize', 'txs', new Uint8Array(ctx.limits.txs + 1), 'oversize'],
    ['garbage', 'txs', new Uint8Array([0xc1, 0xff, 0x00]), 'malformed'],
    ['empty batch', 'txs', encodeTxBatch([]), 'bad_shape'],
    ['item not bytes', 'txs', encode([1, 2]), 'bad_shape'],
    ['tx that does not decode', 'txs', encodeTxBatch([new Uint8Array([0x90])]), 'bad_tx'],
    ['bad tx signature', 'txs', encodeTxBatch([encode([forged[0] as never, forged[1], flip(forged[2])])]), 'bad_signature'],
    ['tx of another chain', 'txs', encodeTxBatch([makeTx(0, 'other-chain').bytes]), 'wrong_chain'],
    ['proposal message shape', 'proposals', encode([decode(encodeProposal(p)), 5]), 'bad_shape'],
    ['proposal that does not decode', 'proposals', encode([[1, 2], block.bytes]), 'bad_proposal'],
    ['bad proposal signature', 'proposals', encodeProposalMessage({ ...p, signature: flip(p.signature) }, block.bytes), 'bad_signature'],
    ['block not a block', 'proposals', encodeProposalMessage(p, new Uint8Array([1, 2, 3])), 'bad_block'],
    ['block of another height', 'proposals', encodeProposalMessage(signProposal(v0, 6, 0, block.hash), block.bytes), 'block_height_mismatch'],
    ['block not the proposed one', 'proposals', encodeProposalMessage(p, makeBlock(5, v0, { padding: 10 }).bytes), 'block_hash_mismatch'],
    ['txs swapped under the header', 'proposals', encodeProposalMessage(p, makeBlock(5, v0, { swapTxs: true }).bytes), 'tx_root_mismatch'],
    ['vote that does not decode', 'votes', encode([9, 3, 1, null, new Uint8Array(20), new Uint8Array(64)]), 'bad_vote'],
    ['bad vote signature', 'votes', encodeVote({ ...v, signature: flip(v.signature) }), 'bad_signature'],
    ['unknown signer (ignored)', 'votes', encodeVote(signVote(v0, KNOWN_HEIGHTS + 5, 0)), 'unknown_signer'],
    ['evidence not two votes', 'evidence', encode([decode(encodeVote(v))]), 'bad_evidence'],
    ['evidence votes out of order', 'evidence', encode([...(decode(encodeEvidenceMessage(ev)) as unknown[])].reverse() as never), 'bad_evidence'],
    ['evidence of two heights', 'evidence', encodeEvidenceMessage({ voteA: ev.voteA, voteB: signVote(v0, 4, 0, 'prevote', CHAIN_ID, 'zzz') }), 'bad_evidence'],
    ['evidence signed by a non-member', 'evidence', encodeEvidenceMessage(doubleSign(new KeyPair(sha256('attrchain/test/p2p/stranger')), 3)), 'bad_evidence'],
    ['evidence with a forged vote', 'evidence', encodeEvidenceMessage({ ...ev, voteB: { ...ev.voteB, signature: flip(ev.voteB.signature) } }), 'bad_signature'],
    ['good evidence', 'evidence', encodeEvidenceMessage(ev), 'accept'],
    ['good evidence, re-broadcast', 'evidence', encodeEvidenceMessage(ev, 9), 'accept'],
  ]
  for (const [what, kind, data, want] of cases) t.equal(reason(kind, data), want, what)
  const swapped = validateProposalBlock(ctx, p, makeBlock(5, v0, { swapTxs: true }).bytes)
  t.equal(swapped.verdict === 'reject' && swapped.reason, 'tx_root_mismatch', 'a fetched block is checked the same way')
})

t.test('whatever the bytes, a reject reason is one of the declared codes', async (t) => {
  // seeded PRNG: a failure reproduces
  let seed = 0x5eed
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000
  const seen = new Set<string>()
  const valid = [
    encodeTxBatch([makeTx(0).bytes]), encodeVote(signVote(v0, 3, 1)), encodeProposalMessage(signProposal(v0, 5, 0, makeBlock(5, v0).hash), makeBlock(5, v0).bytes),
    encodeEvidenceMessage(doubleSign(v0, 3)),
  ]
  const kinds: GossipKind[] = ['txs', 'votes', 'proposals', 'evidence']
  for (let i = 0; i < 4000; i++) {
    const k = i % kinds.length
    const bytes = Uint8Array.from(valid[k]!)
    // flip a few bytes, sometimes truncate
    for (let j = 0; j < 1 + Math.floor(next() * 4); j++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256)
    const data = next() < 0.2 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes
    const first = validateGossip(ctx, kinds[k]!, data)
    const r = first.verdict === 'lookup' ? validateEvidence(ctx, first.evidence, validatorSet) : first
    if (r.verdict !== 'reject') continue
    seen.add(r.reason)
    if (!known.has(r.reason)) t.fail(`message ${i}: undeclared reason ${r.reason}`)
  }
  t.ok(seen.size >= 3, `several reasons seen: ${[...seen].join(', ')}`)
  t.ok([...seen].every((r) => known.has(r)), 'all declared')
})
