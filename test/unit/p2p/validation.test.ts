import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encode, decode } from '../../../core/codec.js'
import { DEFAULT_TX_LIMITS } from '../../../core/tx.js'
import { encodeProposal, encodeVote } from '../../../consensus/index.js'
import { messageLimitsFor, validateGossip, validateProposalBlock, type GossipKind, type ValidatorContext } from '../../../p2p/index.js'
import { encodeProposalMessage, encodeTxBatch } from '../../../p2p/topics.js'
import { blockParts, decodeCompact } from '../../../p2p/compactBlock.js'
import { decodeStatus, encodeStatus, statusMismatch } from '../../../p2p/status.js'
import { decodeSyncRequest, decodeSyncResponse, encodeSyncRequest, encodeSyncResponse, servedRange } from '../../../p2p/sync.js'
import { TxBatcher } from '../../../p2p/txBatcher.js'
import { loadOrCreateNodeKey } from '../../../p2p/nodeKey.js'
import {
  CHAIN_ID, GENESIS, OTHER_GENESIS, KNOWN_HEIGHTS, Recorder, flip, makeBlock, makeTx, signProposal, signVote, tempDir, validators,
} from './fixtures.js'

const recorder = new Recorder(1)
const ctx: ValidatorContext = {
  chainId: CHAIN_ID,
  limits: messageLimitsFor(1024 * 1024),
  txLimits: DEFAULT_TX_LIMITS,
  validatorPubKey: (h, a) => recorder.validatorPubKey(h, a),
}
const v0 = validators[0]!

function verdict(kind: GossipKind, data: Uint8Array): string {
  return validateGossip(ctx, kind, data).verdict
}

t.test('tx batches: verified txs accepted; any bad tx, wrong chain or malformed batch rejected', async (t) => {
  const txs = [makeTx(0), makeTx(1)]
  const ok = validateGossip(ctx, 'txs', encodeTxBatch(txs.map((x) => x.bytes)))
  t.equal(ok.verdict, 'accept')
  t.same(ok.verdict === 'accept' && ok.message.kind === 'txs' ? ok.message.txs.map((x) => x.hash) : null, txs.map((x) => x.hash), 'decoded txs delivered in order')

  const forged = decode(txs[1]!.bytes) as [unknown, Uint8Array, Uint8Array]
  const badSig = encode([forged[0] as never, forged[1], flip(forged[2])])
  const cases: [string, Uint8Array][] = [
    ['one bad signature spoils the batch', encodeTxBatch([txs[0]!.bytes, badSig])],
    ['tx of another chain', encodeTxBatch([makeTx(0, 'other-chain').bytes])],
    ['empty batch', encodeTxBatch([])],
    ['not an array', encode(txs[0]!.bytes)],
    ['item not bytes', encode([1, 2])],
    ['garbage', new Uint8Array([0xc1, 0xff, 0x00])],
    ['non-canonical msgpack', new Uint8Array([0x91, 0xc5, 0x00, 0x01, 0x00])],
    ['oversize', new Uint8Array(ctx.limits.txs + 1)],
  ]
  for (const [what, data] of cases) t.equal(verdict('txs', data), 'reject', what)
})

t.test('proposals: signature, block hash, height and chain checked; unknown height ignored', async (t) => {
  const block = makeBlock(5, v0)
  const p = signProposal(v0, 5, 0, block.hash)
  const ok = validateGossip(ctx, 'proposals', encodeProposalMessage(p, block.bytes))
  t.equal(ok.verdict, 'accept')
  if (ok.verdict === 'accept' && ok.message.kind === 'proposals') {
    t.same(ok.message.proposal, p, 'proposal round-trips')
    t.same(ok.message.blockBytes, block.bytes, 'block bytes delivered as sent')
  }
  t.same(decode(encodeProposalMessage(p, block.bytes)), [decode(encodeProposal(p)), block.bytes], 'wire form is [proposal, blockBytes]')

  const other = makeBlock(5, v0, { padding: 10 })
  const swapped = makeBlock(5, v0, { swapTxs: true })
  const far = makeBlock(KNOWN_HEIGHTS + 1, v0)
  const wrongChainBlock = makeBlock(5, v0, { chainId: 'other-chain' })
  const cases: [string, Uint8Array, string][] = [
    ['bad signature', encodeProposalMessage({ ...p, signature: flip(p.signature) }, block.bytes), 'reject'],
    ['signed by another chain', encodeProposalMessage(signProposal(v0, 5, 0, block.hash, 'other-chain'), block.bytes), 'reject'],
    ['block bytes that do not hash to blockHash', encodeProposalMessage(p, other.bytes), 'reject'],
    ['header kept, txs swapped under it', encodeProposalMessage(p, swapped.bytes), 'reject'],
    ['block of another height', encodeProposalMessage(signProposal(v0, 6, 0, block.hash), block.bytes), 'reject'],
    ['block of another chain', encodeProposalMessage(signProposal(v0, 5, 0, wrongChainBlock.hash), wrongChainBlock.bytes), 'reject'],
    ['block bytes not a block', encodeProposalMessage(p, new Uint8Array([1, 2, 3])), 'reject'],
    ['malformed proposal', encode([[1, 2], block.bytes]), 'reject'],
    ['garbage', new Uint8Array(100).fill(0xc1), 'reject'],
    ['oversize', new Uint8Array(ctx.limits.proposals + 1), 'reject'],
    ['height whose validators are unknown', encodeProposalMessage(signProposal(v0, KNOWN_HEIGHTS + 1, 0, far.hash), far.bytes), 'ignore'],
    ['block left out (too large to inline): fetch it', encodeProposalMessage(p, null), 'fetch'],
    ['block left out, bad signature: no fetch', encodeProposalMessage({ ...p, signature: flip(p.signature) }, null), 'reject'],
    ['block neither bytes nor null', encode([decode(encodeProposal(p)), 5]), 'reject'],
    ['compact body beside it (block too large to inline): fill it in', encodeProposalMessage(p, { compact: blockParts(block.bytes).compact }), 'fetch'],
    ['compact body, bad signature: no fill', encodeProposalMessage({ ...p, signature: flip(p.signature) }, { compact: blockParts(block.bytes).compact }), 'reject'],
    ['compact body whose tx hashes are not 32 bytes', encode([decode(encodeProposal(p)), [1, [new Uint8Array(31)], null, []]]), 'reject'],
    ['compact body of the wrong shape', encode([decode(encodeProposal(p)), [1, 2]]), 'reject'],
  ]
  for (const [what, data, want] of cases) t.equal(verdict('proposals', data), want, what)
  const withBody = validateGossip(ctx, 'proposals', encodeProposalMessage(p, { compact: blockParts(block.bytes).compact }))
  t.same(withBody.verdict === 'fetch' ? withBody.compact?.txHashes : null, decodeCompact(blockParts(block.bytes).compact, 1 << 20, 1000).txHashes, 'the compact body is handed on for the fill')
  const bare = validateGossip(ctx, 'proposals', encodeProposalMessage(p, null))
  t.ok(bare.verdict === 'fetch' && bare.compact === undefined, 'none without one: the host pulls the body too')
})

t.test('a fetched block is checked against the proposal as an inline one is', async (t) => {
  const block = makeBlock(5, v0)
  const p = signProposal(v0, 5, 0, block.hash)
  t.equal(validateProposalBlock(ctx, p, block.bytes).verdict, 'accept')
  t.equal(validateProposalBlock(ctx, p, makeBlock(5, v0, { swapTxs: true }).bytes).verdict, 'reject')
  t.equal(validateProposalBlock(ctx, p, new Uint8Array([0x90])).verdict, 'reject')
})

t.test('votes: signature checked, unknown validator ignored', async (t) => {
  const v = signVote(v0, 3, 1, 'precommit')
  t.equal(verdict('votes', encodeVote(v)), 'accept')
  const stranger = { ...signVote(v0, 3, 1), validator: '0x' + '11'.repeat(20) }
  const cases: [string, Uint8Array, string][] = [
    ['bad signature', encodeVote({ ...v, signature: flip(v.signature) }), 'reject'],
    ['signed for another chain', encodeVote(signVote(v0, 3, 1, 'prevote', 'other-chain')), 'reject'],
    ['another validator signed it', encodeVote({ ...signVote(validators[1]!, 3, 1), validator: v0.address }), 'reject'],
    ['malformed', encode([9, 3, 1, null, new Uint8Array(20), new Uint8Array(64)]), 'reject'],
    ['garbage', new Uint8Array([0xff]), 'reject'],
    ['oversize', new Uint8Array(ctx.limits.votes + 1), 'reject'],
    ['unknown validator', encodeVote(stranger), 'ignore'],
    ['height too far to know the set', encodeVote(signVote(v0, KNOWN_HEIGHTS + 5, 0)), 'ignore'],
  ]
  for (const [what, data, want] of cases) t.equal(verdict('votes', data), want, what)
})

t.test('status frames: round trip, mismatches named, malformed refused', async (t) => {
  const s = { chainId: CHAIN_ID, genesisHash: GENESIS, height: 42 }
  t.same(decodeStatus(encodeStatus(s)), s)
  t.equal(statusMismatch(s, { ...s, height: 7 }), null, 'height does not matter')
  t.equal(statusMismatch(s, { ...s, genesisHash: OTHER_GENESIS }), 'genesis hash differs')
  t.equal(statusMismatch(s, { ...s, chainId: 'x' }), 'chain id differs')
  t.throws(() => decodeStatus(encode([CHAIN_ID, new Uint8Array(31), 1])), { code: 'P2P_ERROR_BAD_RESPONSE' })
  t.throws(() => decodeStatus(new Uint8Array(300)), { code: 'P2P_ERROR_BAD_RESPONSE' })
})

t.test('sync frames: range clipped to 100 blocks and to the byte budget; responses checked', async (t) => {
  t.same(decodeSyncRequest(encodeSyncRequest({ from: 3, to: 9 })), { from: 3, to: 9 })
  t.same(servedRange({ from: 1, to: 500 }), { from: 1, to: 100 })
  for (const bad of [encode([0, 5]), encode([5, 4]), encode([1]), new Uint8Array([0xc1])]) {
    t.throws(() => decodeSyncRequest(bad), { code: 'P2P_ERROR_BAD_REQUEST' })
  }
  const blocks = [1, 2, 3, 4].map((h) => ({ height: h, bytes: new Uint8Array(1000).fill(h), commit: h === 4 ? null : new Uint8Array([h]) }))
  const all = encodeSyncResponse({ from: 1, to: 4 }, blocks, 1 << 20)
  t.equal(all.count, 4)
  t.same(decodeSyncResponse(all.bytes, { from: 1, to: 4 }, 1 << 20), blocks)
  t.equal(encodeSyncResponse({ from: 1, to: 4 }, blocks, 2100).count, 2, 'byte budget cuts the response')
  t.equal(encodeSyncResponse({ from: 1, to: 4 }, blocks, 10).count, 1, 'the first block always goes')
  t.equal(encodeSyncResponse({ from: 1, to: 4 }, [blocks[0]!, blocks[2]!], 1 << 20).count, 1, 'stops at a gap')
  t.throws(() => decodeSyncResponse(encode([[2, new Uint8Array(1), null]]), { from: 1, to: 4 }, 1 << 20), { code: 'P2P_ERROR_BAD_RESPONSE' })
  t.throws(() => decodeSyncResponse(all.bytes, { from: 1, to: 3 }, 1 << 20), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'more entries than asked')
})

t.test('tx batcher flushes at txBatchMax, after the delay, and before exceeding the byte limit', async (t) => {
  const sent: Uint8Array[][] = []
  const b = new TxBatcher({ max: 3, delayMs: 20, maxBytes: 2000 }, (batch) => sent.push(decode(batch) as Uint8Array[]))
  for (let i = 0; i < 4; i++) b.add(new Uint8Array(10).fill(i))
  t.equal(sent.length, 1, 'full batch sent at once')
  t.equal(sent[0]!.length, 3)
  await new Promise((r) => setTimeout(r, 60))
  t.equal(sent.length, 2, 'the straggler leaves after the delay')
  b.add(new Uint8Array(1500))
  b.add(new Uint8Array(1000))
  t.equal(sent.length, 3, 'a tx that would overflow the message flushes the batch before it')
  t.notOk(b.add(new Uint8Array(2000)), 'a tx too large for any message is refused')
  t.equal(b.clear(), 1)
})

t.test('node key: created once, then loaded; a bad file is a typed error', async (t) => {
  const tmp = tempDir()
  t.teardown(tmp.cleanup)
  const path = join(tmp.dir, 'sub', 'node_key.json')
  const first = await loadOrCreateNodeKey(path)
  const again = await loadOrCreateNodeKey(path)
  t.ok(first.created)
  t.notOk(again.created)
  t.same(again.key.raw, first.key.raw, 'same key after reload')
  const bad = join(tmp.dir, 'bad.json')
  writeFileSync(bad, '{"type":"Ed25519","privateKey":"AAAA"}')
  await t.rejects(loadOrCreateNodeKey(bad), { code: 'P2P_ERROR_BAD_NODE_KEY' })
  writeFileSync(bad, 'not json')
  await t.rejects(loadOrCreateNodeKey(bad), { code: 'P2P_ERROR_BAD_NODE_KEY' })
})
