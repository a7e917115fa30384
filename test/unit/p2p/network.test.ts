import t from 'tap'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesEqual } from '../../../core/bytes.js'
import { encode } from '../../../core/codec.js'
import { encodeVote } from '../../../consensus/index.js'
import { P2PNetwork, type GossipKind, type P2PInit } from '../../../p2p/index.js'
import { encodeEvidenceMessage, encodeTxBatch } from '../../../p2p/topics.js'
import { Attacker } from './attacker.js'
import {
  CHAIN_ID, GENESIS, OTHER_GENESIS, MemoryLogger, Recorder, doubleSign, flip, freePort, makeBlock, makeTx, signProposal, signVote, tempDir, validators, waitFor,
} from './fixtures.js'

const tmp = tempDir()
const hosts: P2PNetwork[] = []
const attackers: Attacker[] = []
t.teardown(async () => {
  await Promise.all([...hosts.map((h) => h.stop()), ...attackers.map((a) => a.stop())])
  tmp.cleanup()
})

function host(name: string, recorder: Recorder, init: Partial<P2PInit> = {}, logger = new MemoryLogger()): P2PNetwork {
  const net = new P2PNetwork(
    {
      chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0,
      statusIntervalMs: 200, requestTimeoutMs: 2000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400, ...init,
    },
    { logger, handlers: recorder },
  )
  hosts.push(net)
  return net
}

const allKinds: GossipKind[] = ['txs', 'proposals', 'votes', 'evidence']
const meshed = (net: P2PNetwork, n: number) => allKinds.every((k) => net.gossipPeers(k).length >= n)

// A, B, C share a chain. B starts first and bootstraps from A, which is not up yet: it must keep redialling.
const recA = new Recorder(7)
const logA = new MemoryLogger()
const recB = new Recorder(3)
const recC = new Recorder(5)
let a: P2PNetwork
let b: P2PNetwork
let c: P2PNetwork
let addrA: string

t.before(async () => {
  const port = await freePort()
  const first = host('a', new Recorder(0), { listenPort: port })
  await first.start()
  addrA = first.multiaddrs()[0]!
  const idA = first.peerId
  await first.stop()
  b = host('b', recB, { bootstrap: [addrA] })
  await b.start()
  await new Promise((r) => setTimeout(r, 300))
  a = host('a', recA, { listenPort: port }, logA)
  await a.start()
  if (a.peerId !== idA) throw new Error('node key did not persist across restart')
  c = host('c', recC, { bootstrap: [addrA, b.multiaddrs()[0]!] })
  await c.start()
})

t.test('node key persists: the restarted host keeps its peer id and address', async (t) => {
  t.equal(a.multiaddrs()[0], addrA)
})

t.test('bootstrap retries until the peer is up; status handshake reports heights and refreshes', async (t) => {
  await waitFor('all three hosts to know each other', () => [a, b, c].every((n) => n.peers().length === 2))
  const height = (net: P2PNetwork, of: P2PNetwork) => net.peers().find((p) => p.id === of.peerId)?.height
  t.equal(height(b, a), 7, 'B sees A at 7')
  t.equal(height(a, c), 5, 'A sees C at 5')
  recA.height = 9
  await waitFor('the periodic re-ask to see A at 9', () => height(b, a) === 9 && height(c, a) === 9)
  t.pass('heights refresh')
})

t.test('a tx batch, a proposal and a vote published on one host reach the others', async (t) => {
  await waitFor('gossip subscriptions', () => [a, b, c].every((n) => meshed(n, 2)))
  // Fresh bytes per attempt: identical bytes already sent are deduplicated by id.
  let nonce = 0
  // A is connected to both B and C, so C may forward a batch of B's to A before B's own copy lands (and A then
  // drops B's as a duplicate): `from` is the peer a message came through. Fresh txs are published until one
  // reaches A straight from B.
  await waitFor('txs on C, and on A straight from B', () => recA.txs.some((x) => x.from === b.peerId) && recC.txs.length > 0, {
    retry: () => { b.publishTx(makeTx(nonce++).bytes); b.publishTx(makeTx(nonce++).bytes) },
  })
  t.pass('A got txs straight from B')
  t.ok(recA.txs.every((x) => x.from === b.peerId || x.from === c.peerId), 'every tx on A came through a peer it is connected to (B or C)')
  t.equal(recA.txs[0]!.tx.sender, makeTx(0).sender, 'delivered decoded and verified')

  const block = makeBlock(3, validators[1]!)
  let round = 0
  await waitFor('proposal on B and C', () => recB.proposals.length > 0 && recC.proposals.length > 0, {
    retry: () => a.broadcastProposal(signProposal(validators[1]!, 3, round++, block.hash), block.bytes),
  })
  t.ok(bytesEqual(recC.proposals[0]!.blockBytes, block.bytes), 'block bytes intact')
  t.equal(recC.proposals[0]!.proposal.proposer, validators[1]!.address)

  await waitFor('vote on A and B', () => recA.votes.length > 0 && recB.votes.length > 0, {
    retry: () => c.broadcastVote(signVote(validators[2]!, 4, round++, 'precommit')),
  })
  t.equal(recB.votes[0]!.vote.validator, validators[2]!.address)
  t.equal(recB.votes[0]!.vote.type, 'precommit')

  t.ok(c.stats().votes.published >= 1, 'publisher counts its messages')
  t.ok(a.stats().votes.accepted >= 1 && a.stats().txs.accepted >= 1, 'receivers count accepts')
})

t.test('double-sign evidence seen by one host reaches the others once; its re-broadcasts are ignored unverified', async (t) => {
  const ev = doubleSign(validators[1]!, 11)
  let relay = 0
  await waitFor('evidence on A and C', () => recA.evidence.length > 0 && recC.evidence.length > 0, {
    retry: () => b.broadcastEvidence(ev, relay++),
  })
  t.same(recC.evidence[0]!.evidence, ev, 'delivered as sent')
  const ignoredBefore = c.stats().evidence.ignored
  await waitFor('a re-broadcast to be ignored as known', () => c.stats().evidence.ignored > ignoredBefore, {
    retry: () => b.broadcastEvidence(ev, 1000 + relay++),
  })
  t.equal(recC.evidence.length, 1, 'delivered once')
  t.ok(b.stats().evidence.published >= 1 && c.stats().evidence.accepted >= 1, 'counted on the evidence topic')
})

t.test('a 6 MB block is left out of the proposal message and pulled by hash (gossipsub frames cap at 4 MiB)', async (t) => {
  const block = makeBlock(8, validators[0]!, { padding: 6 * 1024 * 1024 })
  let round = 0
  await waitFor('big proposal on C', () => recC.proposals.some((p) => p.proposal.height === 8), {
    timeoutMs: 10_000, retryMs: 1000,
    retry: () => b.broadcastProposal(signProposal(validators[0]!, 8, round++, block.hash), block.bytes),
  })
  t.ok(bytesEqual(recC.proposals.find((p) => p.proposal.height === 8)!.blockBytes, block.bytes))
})

t.test('block sync serves ranges, capped by count and bytes, with typed errors', async (t) => {
  for (let h = 1; h <= 150; h++) recA.blocks.set(h, { height: h, bytes: makeBlock(h, validators[0]!).bytes, commit: h === 150 ? null : new Uint8Array([h & 0xff]) })
  const first = await b.requestBlocks(a.peerId, 1, 150)
  t.equal(first.length, 100, 'at most 100 blocks per response')
  t.same(first.map((x) => x.height), Array.from({ length: 100 }, (_, i) => i + 1))
  t.ok(bytesEqual(first[41]!.bytes, recA.blocks.get(42)!.bytes), 'block bytes intact')
  const rest = await b.requestBlocks(a.peerId, 101, 200)
  t.equal(rest.length, 50, 'ends at the server head')
  t.equal(rest.at(-1)!.commit, null, 'the head has no commit yet')
  t.same(await b.requestBlocks(a.peerId, 500, 510), [], 'nothing beyond the head')

  for (let h = 1000; h <= 1002; h++) recA.blocks.set(h, { height: h, bytes: new Uint8Array(4 * 1024 * 1024).fill(h & 0xff), commit: new Uint8Array(100) })
  const big = await b.requestBlocks(a.peerId, 1000, 1002)
  t.equal(big.length, 2, 'response cut at the byte budget (8 MiB of 4 MiB blocks)')
  t.ok(bytesEqual(big[1]!.bytes, recA.blocks.get(1001)!.bytes))

  await t.rejects(b.requestBlocks(a.peerId, 5, 4), { code: 'P2P_ERROR_BAD_REQUEST' })
  await t.rejects(b.requestBlocks('not-a-peer', 1, 2), { code: 'P2P_ERROR_BAD_PEER' })
  const nobody = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  await t.rejects(b.requestBlocks(nobody, 1, 2), { code: 'P2P_ERROR_DIAL_FAILED' }, 'a peer we have no address for')
  recA.stallFrom.add(900)
  await t.rejects(b.requestBlocks(a.peerId, 900, 901), { code: 'P2P_ERROR_TIMEOUT' }, 'a server that never answers times out')
  const idle = new P2PNetwork({ chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, 'idle.json') }, { logger: new MemoryLogger(), handlers: recA })
  await t.rejects(idle.requestBlocks(a.peerId, 1, 2), { code: 'P2P_ERROR_NOT_STARTED' })
  const clash = new P2PNetwork({ chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, 'clash.json'), listenPort: Number(addrA.split('/')[4]) }, { logger: new MemoryLogger(), handlers: recA })
  await t.rejects(clash.start(), { code: 'P2P_ERROR_LISTEN_FAILED' }, 'a port in use is a typed error')
})

t.test('a host with another genesis hash is dropped, not redialled, and never delivers', async (t) => {
  const before = recA.votes.length + recB.votes.length + recC.votes.length
  const stranger = host('d', new Recorder(50), { genesisHash: OTHER_GENESIS, bootstrap: [addrA, b.multiaddrs()[0]!] })
  await stranger.start()
  const id = stranger.peerId
  const dropped = () => logA.lines.some((l) => l.msg === 'peer is on another chain; dropped' && l.ctx.peer === id)
  let round = 0
  // Its vote is validly signed for our chain id: only the handshake keeps it out.
  await waitFor('A to drop the stranger', dropped, { retry: () => stranger.broadcastVote(signVote(validators[0]!, 5, 100 + round++)) })
  const end = Date.now() + 1500
  await waitFor('a while of the stranger redialling', () => Date.now() > end, {
    retry: () => stranger.broadcastVote(signVote(validators[0]!, 5, 100 + round++)), retryMs: 100, timeoutMs: 3000,
  })
  for (const net of [a, b, c]) t.notOk(net.peers().some((p) => p.id === id), 'never listed as a peer')
  t.equal(stranger.peers().length, 0, 'the stranger has no peers')
  const strangerVotes = [recA, recB, recC].flatMap((r) => r.votes).filter((v) => v.vote.round >= 100)
  t.equal(strangerVotes.length, 0, 'none of its messages was delivered')
  t.equal(recA.votes.length + recB.votes.length + recC.votes.length, before)
  t.equal(logA.lines.filter((l) => l.msg === 'peer is on another chain; dropped' && l.ctx.peer === id).length, 1, 'dropped once, never let back')
  await stranger.stop()
})

t.test('garbage and bad signatures on every topic are rejected and later valid messages still flow', async (t) => {
  const attacker = new Attacker(CHAIN_ID, GENESIS)
  attackers.push(attacker)
  await attacker.start(b.multiaddrs()[0]!)
  const tx = makeTx(99)
  const forgedTx = encodeTxBatch([new Uint8Array([...tx.bytes.subarray(0, -1), tx.bytes.at(-1)! ^ 1])])
  const vote = signVote(validators[0]!, 6, 0)
  const block = makeBlock(6, validators[0]!)
  const payloads: [GossipKind, Uint8Array][] = [
    ['txs', forgedTx],
    ['proposals', encode([new Uint8Array(3), new Uint8Array(5000).fill(0xc1)])],
    ['votes', encodeVote({ ...vote, signature: flip(vote.signature) })],
    ['evidence', encodeEvidenceMessage({ voteA: vote, voteB: vote })],
  ]
  const before = b.stats()
  await waitFor('B to reject one message per topic', () => allKinds.every((k) => b.stats()[k].rejected > before[k].rejected), {
    retry: () => { for (const [kind, data] of payloads) attacker.publish(kind, data) },
  })
  t.pass('rejects counted on every topic')
  t.equal(recB.txs.filter((x) => x.tx.hash === tx.hash).length, 0, 'the forged tx was not delivered')

  let round = 0
  await waitFor('a valid vote and proposal from A to still reach B', () => recB.votes.some((v) => v.vote.height === 9) && recB.proposals.some((p) => p.proposal.height === 6), {
    retry: () => {
      a.broadcastVote(signVote(validators[1]!, 9, round++))
      a.broadcastProposal(signProposal(validators[0]!, 6, round++, block.hash), block.bytes)
    },
  })
  t.same(a.stats().votes.rejected, 0, 'A, connected to B, never saw the garbage: B does not forward rejects')
})
