import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TxGapRepair, type TxGapRepairModules } from '../../../node/txGapRepair.js'
import { MAX_POOLED_TXS, type PooledTxsRequest } from '../../../p2p/index.js'
import type { SignedTx } from '../../../core/tx.js'
import { signTx } from '../../../core/tx.js'
import type { Address } from '../../../core/address.js'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { initHome } from '../../../node/init.js'
import { loadConfig } from '../../../node/config.js'
import { AttrchainNode } from '../../../node/node.js'
import { silentLogger } from '../../../core/logger.js'
import { AttrchainClient, transfer, units } from '../../../rpc/index.js'
import { until } from '../../helpers/until.js'

const A = '0x' + 'aa'.repeat(20) as Address
const B = '0x' + 'bb'.repeat(20) as Address

/** Modules whose clock is a list of callbacks the test runs, and whose peer answers what the test says. */
function fake(gaps: Map<Address, { from: number; to: number } | null>, answer: (req: PooledTxsRequest) => Promise<SignedTx[]>, take: (txs: SignedTx[]) => number = (txs) => txs.length) {
  const timers: (() => void)[] = []
  const clock = { ms: 0 }
  const requests: { peer: string; req: PooledTxsRequest }[] = []
  const admitted: SignedTx[][] = []
  const modules: TxGapRepairModules = {
    gapOf: (s) => gaps.get(s) ?? null,
    request: (peer, req) => {
      requests.push({ peer, req })
      return answer(req)
    },
    admit: (txs) => {
      admitted.push(txs)
      return take(txs)
    },
    after: (_ms, fn) => void timers.push(fn),
    now: () => clock.ms,
  }
  /** run the timers due now (not those they set) and let their requests settle */
  const tick = async (): Promise<void> => {
    for (const fn of timers.splice(0)) fn()
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
  }
  return { modules, timers, requests, admitted, tick, clock }
}

const tx = (nonce: number) => ({ tx: { nonce } }) as unknown as SignedTx
const OPTS = { delayMs: 250, maxInFlight: 4, maxPending: 16, maxPerPeer: 4, cooldownMs: 30_000 }

t.test('a gap still open after the delay is asked for once, from the peer that forwarded the txs behind it', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 3, to: 5 }]])
  const f = fake(gaps, async (req) => {
    gaps.set(A, null)
    return [tx(req.fromNonce), tx(req.fromNonce + 1)]
  })
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'peer-1')
  repair.noteGap(A, 'peer-2')
  t.equal(f.timers.length, 1, 'one wait per sender, whatever the number of messages behind its gap')
  t.equal(f.requests.length, 0, 'nothing asked before the delay')
  await f.tick()
  t.same(f.requests, [{ peer: 'peer-1', req: { sender: A, fromNonce: 3, count: 2 } }], 'the missing nonces 3 and 4, from the first forwarder')
  t.same(f.admitted.map((x) => x.map((s) => s.tx.nonce)), [[3, 4]], 'what came back is admitted')
  t.same(repair.stats, { filled: 1, empty: 0, refused: 0, failed: 0, skipped: 0, txs: 2 })
  repair.noteGap(A, 'peer-2')
  t.equal(f.timers.length, 1, 'the sender can be noted again once its repair is over')
})

t.test('a gap that closed by itself during the delay costs no request', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 1 }]])
  const f = fake(gaps, async () => [])
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'p')
  gaps.set(A, null)
  await f.tick()
  t.equal(f.requests.length, 0)
  t.same(repair.stats, { filled: 0, empty: 0, refused: 0, failed: 0, skipped: 0, txs: 0 })
})

t.test('a gap longer than MAX_POOLED_TXS is asked for in rounds, each after the last brought txs', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: MAX_POOLED_TXS + 10 }]])
  const f = fake(gaps, async (req) => {
    const from = req.fromNonce + req.count
    gaps.set(A, from >= MAX_POOLED_TXS + 10 ? null : { from, to: MAX_POOLED_TXS + 10 })
    return Array.from({ length: req.count }, (_, i) => tx(req.fromNonce + i))
  })
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'p')
  await f.tick()
  await f.tick()
  await f.tick()
  t.same(f.requests.map((r) => [r.req.fromNonce, r.req.count]), [[0, MAX_POOLED_TXS], [MAX_POOLED_TXS, 10]], 'capped, then the rest')
  t.equal(repair.stats.txs, MAX_POOLED_TXS + 10)
})

t.test('after a filled repair of one sender, an empty answer for another is not asked again on its own', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 1 }], [B, { from: 4, to: 6 }]])
  const f = fake(gaps, async (req) => {
    if (req.sender !== A) return []
    gaps.set(A, null)
    return [tx(0)]
  })
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'p')
  await f.tick()
  repair.noteGap(B, 'p')
  await f.tick()
  await f.tick()
  t.same(f.requests.map((r) => r.req.sender), [A, B], 'B asked once: its peer holds nothing, and its gap stays')
  t.same(repair.stats, { filled: 1, empty: 1, refused: 0, failed: 0, skipped: 0, txs: 1 })
})

t.test('an answer the mempool takes none of is not asked for again, and its peer cools down (a review finding: it was asked every 250 ms)', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 256 }]])
  // validly signed txs the mempool refuses (another chain, fee over the balance, no room): the gap stays
  const f = fake(gaps, async (req) => Array.from({ length: req.count }, (_, i) => tx(req.fromNonce + i)), () => 0)
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'liar')
  for (let i = 0; i < 5; i++) await f.tick()
  t.equal(f.requests.length, 1, 'asked once')
  t.same(repair.stats, { filled: 0, empty: 0, refused: 1, failed: 0, skipped: 0, txs: 0 }, 'counted as refused, no txs')
  repair.noteGap(A, 'liar')
  await f.tick()
  t.equal(f.requests.length, 1, 'the peer is cooling down: not asked on the next gossip either')
  repair.noteGap(A, 'honest')
  t.equal(f.timers.length, 1, 'another peer is')
  await f.tick()
  f.clock.ms = 30_001
  repair.noteGap(B, 'liar')
  t.equal(f.timers.length, 1, 'after the cooldown the peer is asked again')
})

t.test('an answer of duplicates because a late message filled the gap meanwhile does not cool the peer down (bench finding)', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 2 }]])
  // the late gossip message lands while the request is out: the answer's txs are already held, the gap is gone
  const f = fake(gaps, async (req) => {
    gaps.set(A, null)
    return [tx(req.fromNonce), tx(req.fromNonce + 1)]
  }, () => 0)
  const repair = new TxGapRepair({ ...OPTS }, f.modules)
  repair.noteGap(A, 'p')
  await f.tick()
  t.equal(repair.stats.refused, 1, 'counted: the mempool took none of it')
  gaps.set(B, { from: 3, to: 4 })
  repair.noteGap(B, 'p')
  t.equal(f.timers.length, 1, 'the peer is still asked for the next gap')
})

t.test('a failed request cools its peer down; one peer gets maxPerPeer requests at a time', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 1 }], [B, { from: 0, to: 1 }]])
  let release: (() => void) | null = null
  const f = fake(gaps, (req) => new Promise((resolve, reject) => {
    if (req.sender === A) release = () => reject(new Error('P2P_ERROR_BAD_RESPONSE'))
    else resolve([])
  }))
  const repair = new TxGapRepair({ ...OPTS, maxPerPeer: 1 }, f.modules)
  repair.noteGap(A, 'p')
  repair.noteGap(B, 'p')
  await f.tick()
  t.equal(f.requests.length, 1, 'one in flight to the peer: the other sender waits')
  release!()
  await new Promise((r) => setImmediate(r))
  await f.tick()
  t.equal(repair.stats.failed, 1)
  t.equal(f.requests.length, 2, 'the waiting sender, already noted, is asked once the slot frees')
  repair.noteGap(A, 'p')
  t.equal(f.timers.length, 0, 'after the failure the peer is not asked for new gaps')
})

t.test('failures, empty answers and bounds', async (t) => {
  const gaps = new Map<Address, { from: number; to: number } | null>([[A, { from: 0, to: 2 }], [B, { from: 7, to: 9 }]])
  const f = fake(gaps, async (req) => {
    if (req.sender === A) throw new Error('P2P_ERROR_BAD_RESPONSE')
    return []
  })
  const repair = new TxGapRepair({ ...OPTS, maxInFlight: 1, maxPending: 2 }, f.modules)
  repair.noteGap(A, 'p')
  repair.noteGap(B, 'p')
  repair.noteGap('0x' + 'cc'.repeat(20) as Address, 'p')
  t.equal(repair.stats.skipped, 1, 'a third sender is over maxPending: left to the relay')
  await f.tick()
  t.equal(f.requests.length, 1, 'one request in flight at most: the other waits another delay')
  await f.tick()
  t.equal(f.requests.length, 2)
  t.same(repair.stats, { filled: 0, empty: 1, refused: 0, failed: 1, skipped: 1, txs: 0 }, 'a failed request and an empty answer are counted, nothing admitted')
  t.equal(f.admitted.length, 0)
  await f.tick()
  t.equal(f.requests.length, 2, 'neither is asked again on its own (the next gossip of the sender notes it again)')
  repair.stop()
  repair.noteGap(A, 'p')
  t.equal(f.timers.length, 0, 'stopped: nothing more')
})

t.test('two nodes: a validator holding a tx behind a gap pulls the missing nonce from the full node that gossiped it, and commits both', async (t) => {
  const genesis = buildDevnetGenesis({ validators: 1, accounts: 10 })
  const homes = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `attrchain-gap-${i}-`)))
  initHome({ home: homes[0]!, genesis, validatorKey: devValidatorKey(0) })
  initHome({ home: homes[1]!, genesis, validatorKey: null })
  const nodes: AttrchainNode[] = []
  t.teardown(async () => {
    for (const n of nodes.reverse()) await n.stop()
    for (const h of homes) rmSync(h, { recursive: true, force: true })
  })
  const start = async (home: string, bootstrap: string[]) => {
    const config = loadConfig(home, { rpcPort: 0, p2pPort: 0, blockTimeMs: 50, bootstrap }, {})
    Object.assign(config.mempool, { maxEventLoopLagMs: Number.MAX_SAFE_INTEGER })
    const node = await AttrchainNode.start(config, silentLogger)
    nodes.push(node)
    return node
  }
  const validator = await start(homes[0]!, [])
  const full = await start(homes[1]!, [validator.network.multiaddrs()[0]!])
  await until('the tx topic meshed both ways', () => validator.network.gossipPeers('txs').length > 0 && full.network.gossipPeers('txs').length > 0, 60_000)
  const client = new AttrchainClient(validator.rpcUrl)
  t.teardown(() => client.close())
  const fee = units((await client.params()).minTxFee)
  // Nonce 0 only in the full node's mempool (admitted, not gossiped), nonce 1 gossiped: the validator holds it behind
  // a gap. The full node's relay re-broadcasts every pending tx once when it first sees a new peer (within its 2 s
  // tick of the mesh forming), which may close the gap first: then the next sender, up to five.
  const stats = validator.gapRepairs!
  for (let i = 3; i < 8 && stats.filled === 0; i++) {
    const key = devAccountKey(i)
    const [first, second] = [0, 1].map((nonce) => signTx({ chainId: genesis.chainId, nonce, fee, call: transfer('0x' + '11'.repeat(20), 1n) }, key))
    await full.mempool.admit(first!.bytes)
    await full.submitTx(second!.bytes)
    await until(`both txs of account ${i} committed`, async () => (await client.getAccount(key.address)).nonce === 2, 60_000)
  }
  t.ok(stats.filled >= 1 && stats.txs >= 1, `the validator pulled the missing tx from the full node (${JSON.stringify(stats)}), not waiting for its re-broadcast (10 s)`)
  t.equal(stats.failed, 0, 'no request failed')
})
