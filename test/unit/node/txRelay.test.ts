import t from 'tap'
import { TxRelay } from '../../../node/txRelay.js'
import { Mempool, defaultMempoolOptions } from '../../../node/mempool.js'
import { TestChain } from '../../helpers/chain.js'
import { validateGossip, messageLimitsFor } from '../../../p2p/index.js'
import { encodeTxBatch } from '../../../p2p/topics.js'
import { encode } from '../../../core/codec.js'
import { DEFAULT_TX_LIMITS } from '../../../core/tx.js'

function setup(maxPerTick = 10) {
  const chain = new TestChain()
  let now = 0
  const mempool = new Mempool(defaultMempoolOptions, {
    chainId: chain.chain.chainId, params: chain.chain.params, now: () => now,
    account: (a) => ({ balance: chain.q.balance(a), nonce: chain.q.nonce(a) }),
  })
  const network = { peers: [] as string[], sent: [] as Uint8Array[][], gossipPeers: () => network.peers, relayTxs: (txs: Uint8Array[]) => {
    if (network.peers.length === 0) return 0
    network.sent.push(txs)
    return txs.length
  } }
  const relay = new TxRelay({ intervalMs: 1000, minAgeMs: 10_000, maxPerTick }, { mempool, network, now: () => now })
  const a = chain.account(0)
  const txs = [0, 1, 2].map((nonce) => chain.tx(a, { type: 'transfer', to: a.address, amount: 1n }, { nonce }))
  return { chain, mempool, network, relay, txs, setNow: (ms: number) => { now = ms } }
}

t.test('a tx admitted with no peer goes out when a peer arrives, however young', async (t) => {
  const { mempool, network, relay, txs, setNow } = setup()
  mempool.add(txs[0].bytes)
  setNow(500)
  t.equal(relay.tick(), 0, 'no peer: nothing sent')
  setNow(1000)
  network.peers = ['p1']
  t.equal(relay.tick(), 1, 'the new peer gets it at once')
  setNow(2000)
  t.equal(relay.tick(), 0, 'not again while fresh')
  setNow(11_001)
  t.equal(relay.tick(), 1, 'again once not gossiped for minAgeMs')
  setNow(12_000)
  network.peers = ['p1', 'p2']
  t.equal(relay.tick(), 1, 'and again for another new peer')
})

t.test('re-broadcast is capped per tick, least recently gossiped first; queued txs stay home', async (t) => {
  const { chain, mempool, network, relay, txs, setNow } = setup(2)
  for (const tx of txs) mempool.add(tx.bytes)
  mempool.add(chain.tx(chain.account(1), { type: 'transfer', to: chain.account(1).address, amount: 1n }, { nonce: 5 }).bytes)
  network.peers = ['p1']
  setNow(20_000)
  t.equal(relay.tick(), 2)
  t.equal(relay.tick(), 1, 'the rest next tick; the gapped tx is not relayed')
  t.equal(relay.tick(), 0)
  t.same(network.sent.flat().map((b) => b.length), txs.map((x) => x.bytes.length))
})

t.test('a re-broadcast batch carries a relay counter that validators accept', async (t) => {
  const { chain, txs } = setup()
  const ctx = { chainId: chain.chain.chainId, limits: messageLimitsFor(1 << 20), txLimits: DEFAULT_TX_LIMITS, validatorPubKey: () => null }
  const plain = encodeTxBatch(txs.map((x) => x.bytes))
  const relayed = [encodeTxBatch(txs.map((x) => x.bytes), 1), encodeTxBatch(txs.map((x) => x.bytes), 2)]
  t.not(Buffer.from(relayed[0]).toString('hex'), Buffer.from(plain).toString('hex'), 'new bytes, so a new gossip message id')
  for (const m of [plain, ...relayed]) {
    const v = validateGossip(ctx, 'txs', m)
    t.same(v.verdict === 'accept' && v.message.kind === 'txs' ? v.message.txs.map((x) => x.hash) : v, txs.map((x) => x.hash))
  }
  t.equal(validateGossip(ctx, 'txs', encode([5])).verdict, 'reject', 'a counter alone is no batch')
  t.equal(validateGossip(ctx, 'txs', encode([txs[0].bytes, 5, 6])).verdict, 'reject', 'only one trailing counter')
})
