import '../../p2p/polyfill.js'
import t from 'tap'
import fc from 'fast-check'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../../core/hash.js'
import { KeyPair } from '../../core/keys.js'
import { decode, encode, type Encodable } from '../../core/codec.js'
import { signTx } from '../../core/tx.js'
import { genesisHash } from '../../genesis/genesis.js'
import { devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { voteSignBytes, proposalSignBytes, makeEvidence, type Vote, type Proposal } from '../../consensus/index.js'
import { topicName, statusProtocol, syncProtocol, blockProtocol, blockPartsProtocol, encodeTxBatch, encodeVoteMessage, encodeProposalMessage, encodeEvidenceMessage } from '../../p2p/topics.js'
import { encodeStatus, MAX_STATUS_BYTES } from '../../p2p/status.js'
import { encodeSyncRequest } from '../../p2p/sync.js'
import { readFrame, writeFrame } from '../../p2p/stream.js'
import { GOSSIP_KINDS, type GossipKind } from '../../p2p/index.js'
import { startNetwork, heightOf } from '../helpers/network.js'
import { until } from '../helpers/nodeProcess.js'
import { byteMutation, applyMutations, treeMutation, applyTreeMutation } from './arbitraries.js'
import { runs, loadCorpus, corpusBytes, CaseCounter, FUZZ_SEED, type CorpusBytes } from './fuzz.js'

/**
 * Fuzz target 3: every gossip topic (txs, proposals, votes) and the
 * status, sync, block and blockparts protocols, from a rogue js-libp2p peer
 * against a single-validator node process (`attrchain start`). Payloads are
 * random bytes and mutations (byte-level and msgpack-tree) of valid
 * messages. The node must reject or ignore them, keep answering RPC and keep
 * committing blocks. The peer may be penalised and disconnected for what it
 * sends (the node's right); it then comes back with a fresh identity, so
 * the payloads keep reaching the node.
 */

const counter = new CaseCounter()
const PROTOCOLS = ['status', 'sync', 'block', 'blockparts'] as const

class RoguePeer {
  node: Libp2p<{ identify: Identify; pubsub: GossipSub }> | null = null
  constructor(private readonly chainId: string, private readonly genesisHash: string) {}

  async start(target: string): Promise<void> {
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', msgIdFn: (m) => sha256(m.data), ignoreDuplicatePublishError: true, allowPublishToZeroTopicPeers: true }),
      },
    })
    this.node = node
    await node.handle(statusProtocol(this.chainId), async (stream) => {
      const signal = AbortSignal.timeout(2000)
      await readFrame(stream, MAX_STATUS_BYTES, signal)
      await writeFrame(stream, encodeStatus({ chainId: this.chainId, genesisHash: this.genesisHash, height: 1 }), signal)
    })
    for (const kind of GOSSIP_KINDS) node.services.pubsub.subscribe(topicName(this.chainId, kind))
    await node.dial(multiaddr(target))
    this.target = target
  }

  private target = ''

  connected(): boolean {
    return (this.node?.getConnections().length ?? 0) > 0
  }

  publish(kind: GossipKind, data: Uint8Array): void {
    this.node?.services.pubsub.publish(topicName(this.chainId, kind), data).catch(() => undefined)
  }

  /** Opens `protocol`, writes `frame` (length-prefixed, or raw bytes), reads whatever comes back; any outcome but a hang is fine. */
  async stream(protocol: string, frame: Uint8Array, raw: boolean): Promise<void> {
    const signal = AbortSignal.timeout(3000)
    try {
      const stream = await this.node!.dialProtocol(multiaddr(this.target), protocol, { signal })
      if (raw) {
        stream.send(frame)
        await stream.close({ signal })
      } else {
        await writeFrame(stream, frame, signal)
      }
      await readFrame(stream, 16 * 1024 * 1024, signal).catch(() => undefined)
      stream.abort(new Error('done'))
    } catch {
      // refused, reset or timed out: all fine for garbage
    }
  }

  async stop(): Promise<void> {
    await this.node?.stop()
    this.node = null
  }
}

t.test('rogue peer fuzzes gossip and request protocols; the node keeps serving and committing', async (t) => {
  const net = await startNetwork({ validators: 1, blockTimeMs: 300 })
  t.teardown(() => net.close())
  const node = net.nodes[0]!
  const chainId = net.genesis.chainId
  const gHash = genesisHash(net.genesis)
  const protocolName = { status: statusProtocol(chainId), sync: syncProtocol(chainId), block: blockProtocol(chainId), blockparts: blockPartsProtocol(chainId) }

  let rogue = new RoguePeer(chainId, gHash)
  let identities = 1
  await rogue.start(node.multiaddr)
  t.teardown(() => rogue.stop())
  /** Back with a fresh identity when the node has hung up on this one (penalised). */
  const ensureConnected = async (): Promise<void> => {
    if (rogue.connected()) return
    await rogue.stop()
    rogue = new RoguePeer(chainId, gHash)
    identities++
    await rogue.start(node.multiaddr)
  }

  // valid messages the mutations start from
  const height = await heightOf(node)
  const v0 = devValidatorKey(0)
  const stranger = new KeyPair(sha256('attrchain/test/fuzz/stranger'))
  const txBytes = signTx({ chainId, nonce: 0, fee: net.genesis.params.minTxFee, call: { type: 'transfer', to: stranger.address, amount: 1n } }, devAccountKey(5)).bytes
  const voteOf = (key: KeyPair, h: number, value = `b/${h}`): Vote => {
    const u = { type: 'prevote' as const, height: h, round: 0, blockHash: sha256(value), validator: key.address }
    return { ...u, signature: key.sign(voteSignBytes(chainId, u)) }
  }
  const proposalOf = (key: KeyPair, h: number): Proposal => {
    const u = { height: h, round: 0, validRound: -1, blockHash: sha256(`b/${h}`), proposer: key.address }
    return { ...u, signature: key.sign(proposalSignBytes(chainId, u)) }
  }
  const seeds: Record<GossipKind, Uint8Array[]> = {
    txs: [encodeTxBatch([txBytes]), encodeTxBatch([txBytes, txBytes], 3)],
    votes: [encodeVoteMessage(voteOf(stranger, height + 1)), encodeVoteMessage(voteOf(v0, height + 10_000))],
    proposals: [encodeProposalMessage(proposalOf(stranger, height + 1), new Uint8Array([0x90])), encodeProposalMessage(proposalOf(v0, height + 10_000), null)],
    // a stranger's (not in the set) and one of a height far ahead (outside the window): never valid, so the fuzz slashes nobody
    evidence: [
      encodeEvidenceMessage(makeEvidence(voteOf(stranger, height), voteOf(stranger, height, 'other'))),
      encodeEvidenceMessage(makeEvidence(voteOf(v0, height + 10_000), voteOf(v0, height + 10_000, 'other')), 7),
    ],
  }
  const streamSeeds = [encodeSyncRequest({ from: 1, to: 100 }), encodeSyncRequest({ from: 1, to: 2 ** 53 - 1 }), encode([1]), encode(new Uint8Array(32)), encodeStatus({ chainId, genesisHash: gHash, height: 2 ** 53 - 1 })]

  const mutated = (pool: Uint8Array[]): fc.Arbitrary<Uint8Array> => fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.constantFrom(...pool), fc.array(byteMutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => applyMutations(b, ms)),
    fc.tuple(fc.constantFrom(...pool), treeMutation).map(([b, m]) => encode(applyTreeMutation(decode(b) as Encodable, m))),
  )

  const alive = async (where: string): Promise<void> => {
    if (!node.running()) throw new Error(`${where}: the node process exited; see ${node.home}/node.log`)
    await node.client.status()
  }

  t.test('corpus', async (t) => {
    for (const e of loadCorpus<{ name: string; why: string; target: string; bytes: CorpusBytes; raw?: boolean }>('p2p.json')) {
      await ensureConnected()
      const bytes = corpusBytes(e.bytes)
      if (e.target in protocolName) await rogue.stream(protocolName[e.target as keyof typeof protocolName], bytes, e.raw === true)
      else rogue.publish(e.target as GossipKind, bytes)
      counter.hit('corpus')
      await alive(e.name)
      t.pass(e.name)
    }
  })

  for (const kind of ['txs', 'proposals', 'votes', 'evidence'] as const) {
    t.test(`gossip topic ${kind}`, async (t) => {
      const payloads = fc.sample(mutated(seeds[kind]), { seed: FUZZ_SEED, numRuns: runs(300) })
      for (const [i, p] of payloads.entries()) {
        if (i % 25 === 0) {
          await ensureConnected()
          await alive(`${kind} #${i}`)
        }
        rogue.publish(kind, p)
        counter.hit(kind)
        // a little pacing: the mesh forwards, the node validates
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 10))
      }
      await alive(kind)
      t.pass(`${payloads.length} payloads published`)
    })
  }

  for (const proto of PROTOCOLS) {
    t.test(`request protocol ${proto}`, async (t) => {
      const cases = fc.sample(fc.tuple(mutated(streamSeeds), fc.boolean()), { seed: FUZZ_SEED, numRuns: runs(40) })
      for (const [i, [frame, raw]] of cases.entries()) {
        if (i % 10 === 0) await ensureConnected()
        await rogue.stream(protocolName[proto], frame, raw)
        counter.hit(proto)
      }
      await alive(proto)
      t.pass(`${cases.length} requests`)
    })
  }

  t.test('the node still commits and reports the garbage', async (t) => {
    const h0 = await heightOf(node)
    await until('3 more blocks', async () => (await heightOf(node)) >= h0 + 3, 60_000, 200)
    t.ok(node.running(), 'node process alive')
    const metrics = await (await fetch(`http://127.0.0.1:${node.rpcPort}/metrics`)).text()
    const refused = metrics.split('\n').filter((l) => l.startsWith('attrchain_gossip_messages_total') && /result="(rejected|ignored)"/.test(l))
      .reduce((s, l) => s + Number(l.split(' ').pop()), 0)
    t.ok(refused > 0, `${refused} gossip messages rejected or ignored by the node`)
    console.log(`# fuzz p2p (seed ${FUZZ_SEED}): ${counter.summary()}; rogue identities ${identities}; node rejected/ignored ${refused} gossip messages`)
  })
})
