import t from 'tap'
import { join } from 'node:path'
import { P2PNetwork } from '../../../p2p/index.js'
import { decodePooledRequest, decodePooledResponse, encodePooledRequest, encodePooledResponse, MAX_POOLED_TXS, POOLED_RATE } from '../../../p2p/pooledTxs.js'
import { PeerRateLimiter } from '../../../p2p/snapshot.js'
import { encode } from '../../../core/codec.js'
import { DEFAULT_TX_LIMITS } from '../../../core/tx.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, account, flip, makeTx, tempDir, waitFor } from './fixtures.js'

/**
 * `/pooledtxs/1` (gap repair, p2p/pooledTxs.ts) over real libp2p on
 * 127.0.0.1: a node asks a peer for a sender's txs by nonce and gets what
 * the peer's mempool holds, checked against the request and verified; an
 * answer that is not the sender's, not at the nonces asked for, or badly
 * signed is refused as a whole.
 */
class Pool extends Recorder {
  /** what pooledTxs serves, by nonce; `lie` rewrites the answer */
  held = new Map<number, Uint8Array>()
  lie: ((txs: Uint8Array[]) => Uint8Array[]) | null = null
  asked: { sender: string; fromNonce: number; count: number; maxBytes: number }[] = []

  pooledTxs(sender: string, fromNonce: number, count: number, maxBytes: number): Uint8Array[] {
    this.asked.push({ sender, fromNonce, count, maxBytes })
    const out: Uint8Array[] = []
    if (sender !== account.address) return out
    for (let n = fromNonce; out.length < count && this.held.has(n); n++) out.push(this.held.get(n)!)
    return this.lie ? this.lie(out) : out
  }
}

const tmp = tempDir()
const hosts: P2PNetwork[] = []
t.teardown(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  tmp.cleanup()
})

function host(name: string, recorder: Recorder, bootstrap: string[] = []): P2PNetwork {
  const net = new P2PNetwork(
    { chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0, bootstrap, statusIntervalMs: 200, requestTimeoutMs: 5000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400 },
    { logger: new MemoryLogger(), handlers: recorder },
  )
  hosts.push(net)
  return net
}

t.test('wire format: requests within bounds only; a response is checked against its request', async (t) => {
  const req = { sender: account.address, fromNonce: 7, count: 3 }
  t.same(decodePooledRequest(encodePooledRequest(req)), req, 'round trip')
  const bad = (v: unknown) => () => decodePooledRequest(encode(v as never))
  const sender = Buffer.from(account.address.slice(2), 'hex')
  t.throws(bad([sender, 0, 0]), { code: 'P2P_ERROR_BAD_REQUEST' }, 'count 0')
  t.throws(bad([sender, 0, MAX_POOLED_TXS + 1]), { code: 'P2P_ERROR_BAD_REQUEST' }, 'count over MAX_POOLED_TXS')
  t.throws(bad([sender.subarray(1), 0, 1]), { code: 'P2P_ERROR_BAD_REQUEST' }, 'a 19-byte sender')
  t.throws(bad([sender, 0]), { code: 'P2P_ERROR_BAD_REQUEST' }, 'two fields')
  t.throws(() => decodePooledRequest(new Uint8Array(100)), { code: 'P2P_ERROR_BAD_REQUEST' }, 'oversized')
  const txs = [7, 8, 9].map((n) => makeTx(n))
  const ok = decodePooledResponse(encodePooledResponse(txs.map((x) => x.bytes)), req, 1 << 20, DEFAULT_TX_LIMITS, CHAIN_ID)
  t.same(ok.map((x) => x.hash), txs.map((x) => x.hash), 'the txs, decoded')
  t.same(decodePooledResponse(encodePooledResponse([]), req, 1 << 20, DEFAULT_TX_LIMITS, CHAIN_ID), [], 'an empty answer: the peer holds none')
  const refuse = (list: Uint8Array[], why: string) => t.throws(() => decodePooledResponse(encodePooledResponse(list), req, 1 << 20, DEFAULT_TX_LIMITS, CHAIN_ID), { code: 'P2P_ERROR_BAD_RESPONSE' }, why)
  refuse([txs[1]!.bytes], 'not starting at fromNonce')
  refuse([txs[0]!.bytes, txs[2]!.bytes], 'not consecutive')
  refuse([...txs.map((x) => x.bytes), makeTx(10).bytes], 'more than count')
  refuse([makeTx(7, 'other-chain').bytes.subarray(1)], 'not a tx')
  refuse([makeTx(7, 'other-chain').bytes], 'a tx of another chain (a review finding: it was verified and handed on)')
  t.throws(() => decodePooledResponse(encode([1, 2] as never), req, 1 << 20, DEFAULT_TX_LIMITS, CHAIN_ID), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'not byte strings')
})

t.test('a peer serves the sender\'s consecutive txs from the nonce asked for; lies are refused', async (t) => {
  const pool = new Pool(1)
  for (const n of [3, 4, 5, 7]) pool.held.set(n, makeTx(n).bytes)
  const server = host('server', pool)
  await server.start()
  const client = host('client', new Recorder(1), [server.multiaddrs()[0]!])
  await client.start()
  await waitFor('the status handshake', () => client.peers().length === 1 && server.peers().length === 1)
  const peer = server.peerId
  const got = await client.requestPooledTxs(peer, { sender: account.address, fromNonce: 3, count: 10 })
  t.same(got.map((x) => x.tx.nonce), [3, 4, 5], 'nonces 3..5: the prefix up to the first not held')
  t.equal(got[0]!.sender, account.address, 'decoded, with the sender')
  t.ok(pool.asked[0]!.maxBytes > 0 && pool.asked[0]!.maxBytes < 2 * 1024 * 1024 + 1, 'the hook is given a byte bound within the tx message limit')
  t.same(await client.requestPooledTxs(peer, { sender: account.address, fromNonce: 6, count: 1 }), [], 'a nonce not held: empty')
  t.same(await client.requestPooledTxs(peer, { sender: '0x' + '00'.repeat(20), fromNonce: 0, count: 5 }), [], 'another sender: empty')

  pool.lie = (txs) => txs.map((b) => {
    const copy = new Uint8Array(b)
    copy.set(flip(copy.subarray(copy.length - 64)), copy.length - 64)
    return copy
  })
  await t.rejects(client.requestPooledTxs(peer, { sender: account.address, fromNonce: 3, count: 2 }), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'a bad signature: the answer is refused')
  pool.lie = (txs) => txs.slice(1)
  await t.rejects(client.requestPooledTxs(peer, { sender: account.address, fromNonce: 3, count: 2 }), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'not the nonces asked for: refused')
  pool.lie = null
  t.equal(server.peers().length, 1, 'the connection survives')
  t.same((await client.requestPooledTxs(peer, { sender: account.address, fromNonce: 4, count: 1 })).map((x) => x.tx.nonce), [4], 'and serves again')
})

t.test('a node without the hook answers empty', async (t) => {
  const bare = host('bare', new Recorder(1))
  await bare.start()
  const client = host('asker', new Recorder(1), [bare.multiaddrs()[0]!])
  await client.start()
  await waitFor('the handshake', () => client.peers().length === 1)
  t.same(await client.requestPooledTxs(bare.peerId, { sender: account.address, fromNonce: 0, count: 1 }), [], 'no hook: empty')
})

t.test('the per-peer budget served: a burst of 10 and 10/s after it, 2 at once, per peer (what bounds the upload a 36-byte request costs)', async (t) => {
  const clock = { ms: 0 }
  const limiter = new PeerRateLimiter(POOLED_RATE, () => clock.ms)
  const held: (() => void)[] = []
  for (let i = 0; i < 2; i++) held.push(limiter.acquire('p')!)
  t.equal(limiter.acquire('p'), null, 'a third at once is refused')
  t.ok(limiter.acquire('q'), 'another peer has its own budget')
  for (const release of held) release()
  /** take and release slots one at a time until refused: how many the budget had left */
  const drain = (): number => {
    let n = 0
    for (let release = limiter.acquire('p'); release !== null && n < 100; release = limiter.acquire('p')) {
      n++
      release()
    }
    return n
  }
  t.equal(2 + drain(), 10, 'the burst: 10 in all')
  clock.ms += 1000
  const later = drain()
  t.equal(later, 10, '10 more a second later')
})
