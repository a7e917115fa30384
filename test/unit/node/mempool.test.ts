import t from 'tap'
import { Mempool, defaultMempoolOptions, type MempoolModules, type MempoolOptions } from '../../../node/mempool.js'
import { TestChain } from '../../helpers/chain.js'
import { signTx, type TxCall } from '../../../core/tx.js'
import { encode } from '../../../core/codec.js'
import { KeyPair } from '../../../core/keys.js'

function setup(opts: Partial<MempoolOptions> = {}, modules: Partial<MempoolModules> = {}) {
  const chain = new TestChain()
  const mempool = new Mempool({ ...defaultMempoolOptions, ...opts }, {
    chainId: chain.chain.chainId, params: chain.chain.params,
    account: (a) => ({ balance: chain.q.balance(a), nonce: chain.q.nonce(a) }),
    ...modules,
  })
  return { chain, mempool }
}

const transfer = (to: string, amount = 1n): TxCall => ({ type: 'transfer', to, amount })

t.test('admits valid txs and reaps them in nonce order per sender', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  const b = chain.account(1)
  const txs = [2, 0, 1].map((nonce) => chain.tx(a, transfer(b.address), { nonce }))
  for (const tx of txs) mempool.add(tx.bytes)
  const fromB = chain.tx(b, transfer(a.address), { nonce: 0 })
  mempool.add(fromB.bytes)
  t.equal(mempool.size, 4)
  const reaped = mempool.reap(100, 1 << 20)
  t.same(reaped.filter((x) => x.sender === a.address).map((x) => x.tx.nonce), [0, 1, 2], 'sender a in nonce order')
  t.equal(reaped.length, 4)
  t.equal(mempool.reap(2, 1 << 20).length, 2, 'respects the tx count limit')
  t.equal(mempool.reap(100, txs[0].bytes.length).length, 1, 'respects the byte limit')
})

t.test('a gap holds back later nonces', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  mempool.add(chain.tx(a, transfer(a.address), { nonce: 1 }).bytes)
  t.equal(mempool.reap(100, 1 << 20).length, 0, 'nonce 1 waits for nonce 0')
  mempool.add(chain.tx(a, transfer(a.address), { nonce: 0 }).bytes)
  t.equal(mempool.reap(100, 1 << 20).length, 2)
})

t.test('refuses bad txs with a clear reason and keeps nothing', async (t) => {
  const { chain, mempool } = setup({ maxFutureNonces: 5 })
  const a = chain.account(0)
  const ok = chain.tx(a, transfer(a.address), { nonce: 0 })
  mempool.add(ok.bytes)
  const cases: [string, Uint8Array, string][] = [
    ['duplicate', ok.bytes, 'MEMPOOL_ERROR_DUPLICATE'],
    ['same nonce', chain.tx(a, transfer(a.address, 2n), { nonce: 0 }).bytes, 'MEMPOOL_ERROR_NONCE_TAKEN'],
    ['too far ahead', chain.tx(a, transfer(a.address), { nonce: 50 }).bytes, 'MEMPOOL_ERROR_NONCE_TOO_FAR'],
    ['wrong chain', chain.tx(a, transfer(a.address), { nonce: 1, chainId: 'other' }).bytes, 'TX_ERROR_WRONG_CHAIN'],
    ['fee too low', chain.tx(a, transfer(a.address), { nonce: 1, fee: 1n }).bytes, 'TX_ERROR_FEE_TOO_LOW'],
    ['garbage', new Uint8Array([1, 2, 3]), 'TX_ERROR_MALFORMED'],
    ['not canonical', encode(['x']), 'TX_ERROR_MALFORMED'],
  ]
  const tampered = new Uint8Array(ok.bytes)
  tampered[tampered.length - 1] ^= 1
  cases.push(['bad signature', tampered, 'TX_ERROR_BAD_SIGNATURE'])
  const unfunded = new KeyPair(new Uint8Array(32).fill(7))
  const empty = signTx({ chainId: chain.chain.chainId, nonce: 0, fee: chain.chain.params.minTxFee, call: transfer(a.address) }, unfunded)
  cases.push(['no balance for the fee', empty.bytes, 'TX_ERROR_INSUFFICIENT_BALANCE'])
  for (const [name, bytes, code] of cases) {
    t.throws(() => mempool.add(bytes), { code }, name)
  }
  t.equal(mempool.size, 1, 'only the good tx is held')
})

t.test('replayed nonce after commit is refused, recheck drops included txs', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  const tx0 = chain.tx(a, transfer(a.address), { nonce: 0 })
  const tx1 = chain.tx(a, transfer(a.address), { nonce: 1 })
  mempool.add(tx0.bytes)
  mempool.add(tx1.bytes)
  chain.block([tx0])
  mempool.recheck()
  t.equal(mempool.size, 1, 'the included tx is gone')
  t.ok(mempool.has(tx1.hash), 'the next nonce stays')
  t.throws(() => mempool.add(chain.tx(a, transfer(a.address, 3n), { nonce: 0 }).bytes), { code: 'TX_ERROR_BAD_NONCE' }, 'replayed nonce')
})

t.test('limits on count and bytes', async (t) => {
  const { chain, mempool } = setup({ maxTxs: 2 })
  const a = chain.account(0)
  mempool.add(chain.tx(a, transfer(a.address), { nonce: 0 }).bytes)
  mempool.add(chain.tx(a, transfer(a.address), { nonce: 1 }).bytes)
  t.throws(() => mempool.add(chain.tx(a, transfer(a.address), { nonce: 2 }).bytes), { code: 'MEMPOOL_ERROR_FULL' })
  const small = setup({ maxBytes: 10 })
  t.throws(() => small.mempool.add(small.chain.tx(a, transfer(a.address), { nonce: 0 }).bytes), { code: 'MEMPOOL_ERROR_FULL' })
})

const byNonce = (chain: TestChain, k: number, nonces: number[]) => nonces.map((nonce) => chain.tx(chain.account(k), transfer(chain.account(k).address), { nonce }))
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

t.test('issue 12 regression: gapped txs filling the mempool never keep executable txs out', async (t) => {
  // The input scaled down 100x: maxTxs 3000 → 30, three accounts sending nonces 1..1024 (skipping 0) → 1..10,
  // with the queue allowed to take the whole mempool so that only eviction can make room.
  const { chain, mempool } = setup({ maxTxs: 30, maxQueuedTxs: 30, maxQueuedPerSender: 10 })
  for (const k of [0, 1, 2]) for (const tx of byNonce(chain, k, range(1, 10))) mempool.add(tx.bytes)
  t.equal(mempool.size, 30, 'gapped txs fill the mempool')
  t.equal(mempool.queuedSize, 30, 'all of them queued')
  t.equal(mempool.reap(100, 1 << 20).length, 0, 'none executable')
  t.throws(() => mempool.add(byNonce(chain, 0, [11])[0].bytes), { code: 'MEMPOOL_ERROR_FULL' }, 'one more gapped tx is refused')
  const executable = [3, 4, 5, 6, 7].flatMap((k) => byNonce(chain, k, range(0, 3)))
  for (const tx of executable) t.doesNotThrow(() => mempool.add(tx.bytes), `executable tx of ${tx.sender} nonce ${tx.tx.nonce} admitted`)
  t.equal(mempool.size, 30, 'still within maxTxs')
  t.equal(mempool.queuedSize, 10, 'each admission evicted one queued tx')
  t.equal(mempool.reap(100, 1 << 20).length, 20, 'all 20 executable txs are reaped')
  t.notOk(mempool.has(byNonce(chain, 0, [1])[0].hash), 'the oldest queued tx went first')
})

t.test('an executable tx does not evict the queued txs it makes executable', async (t) => {
  const { chain, mempool } = setup({ maxTxs: 4, maxQueuedTxs: 4 })
  for (const tx of byNonce(chain, 0, [1, 2])) mempool.add(tx.bytes)
  for (const tx of byNonce(chain, 1, [1, 2])) mempool.add(tx.bytes)
  mempool.add(byNonce(chain, 0, [0])[0].bytes)
  t.equal(mempool.size, 4)
  t.equal(mempool.queuedSize, 1, "account 1's oldest queued tx made room; account 0's queued txs became executable")
  t.same(mempool.reap(100, 1 << 20).map((x) => x.tx.nonce), [0, 1, 2])
})

t.test('when only executable txs fill it, the mempool refuses before decoding', async (t) => {
  const { chain, mempool } = setup({ maxTxs: 2 })
  for (const tx of byNonce(chain, 0, [0, 1])) mempool.add(tx.bytes)
  t.throws(() => mempool.add(new Uint8Array([1, 2, 3])), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'txs' } }, 'garbage gets FULL, not MALFORMED: it was never decoded')
  t.throws(() => mempool.add(byNonce(chain, 1, [0])[0].bytes), { code: 'MEMPOOL_ERROR_FULL' })
  t.equal(mempool.size, 2)
})

t.test('queued txs are bounded per sender and in total, with the next nonce named', async (t) => {
  const { chain, mempool } = setup({ maxQueuedPerSender: 3, maxQueuedTxs: 5 })
  for (const tx of byNonce(chain, 0, [1, 2, 3])) mempool.add(tx.bytes)
  t.throws(() => mempool.add(byNonce(chain, 0, [4])[0].bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'sender_queued', expected: 0 } })
  for (const tx of byNonce(chain, 1, [1, 2])) mempool.add(tx.bytes)
  t.throws(() => mempool.add(byNonce(chain, 2, [1])[0].bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'queued' } })
  t.equal(mempool.queuedSize, 5)
  mempool.add(byNonce(chain, 0, [0])[0].bytes)
  t.equal(mempool.queuedSize, 2, 'filling the gap promotes the sender\'s queued txs')
  t.doesNotThrow(() => mempool.add(byNonce(chain, 0, [5])[0].bytes), 'a new gap may queue again')
  t.equal(mempool.queuedSize, 3)
  const small = setup({ maxQueuedBytes: 100 })
  t.throws(() => small.mempool.add(byNonce(small.chain, 0, [1])[0].bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'queued' } }, 'queued bytes bounded')
})

t.test('queued txs expire after queuedLifetimeBlocks; executable ones stay', async (t) => {
  const { chain, mempool } = setup({ queuedLifetimeBlocks: 3 })
  const [gapped] = byNonce(chain, 0, [5])
  const [ready] = byNonce(chain, 1, [0])
  mempool.add(gapped.bytes)
  mempool.add(ready.bytes)
  mempool.recheck()
  mempool.recheck()
  t.ok(mempool.has(gapped.hash), 'still queued after 2 blocks')
  mempool.recheck()
  t.notOk(mempool.has(gapped.hash), 'gone after 3')
  t.ok(mempool.has(ready.hash), 'the executable tx stays')
  t.equal(mempool.queuedSize, 0)
})

t.test('a queued tx outlives fast blocks: it expires after queuedLifetimeBlocks and queuedMinLifetimeMs both', async (t) => {
  // 50 ms blocks: 60 blocks were 3 s, less than a sender backing off from MEMPOOL_ERROR_FULL waits for its earlier nonce
  let now = 1_000
  const { chain, mempool } = setup({ queuedLifetimeBlocks: 3, queuedMinLifetimeMs: 30_000 }, { now: () => now })
  const [later] = byNonce(chain, 0, [1])
  mempool.add(later.bytes)
  for (let i = 0; i < 10; i++) {
    now += 50
    mempool.recheck()
  }
  t.ok(mempool.has(later.hash), 'still held after 10 blocks in 0.5 s')
  now += 29_000
  mempool.recheck()
  t.ok(mempool.has(later.hash), 'still held at 29.5 s')
  const [earlier] = byNonce(chain, 0, [0])
  mempool.add(earlier.bytes)
  t.same(mempool.reap(100, 1 << 20).map((x) => x.tx.nonce), [0, 1], 'once the earlier nonce gets in, both are executable')
  t.equal(mempool.queuedSize, 0)

  const { chain: c2, mempool: m2 } = setup({ queuedLifetimeBlocks: 3, queuedMinLifetimeMs: 30_000 }, { now: () => now })
  const [gapped] = byNonce(c2, 0, [1])
  m2.add(gapped.bytes)
  now += 30_000
  m2.recheck()
  m2.recheck()
  t.ok(m2.has(gapped.hash), '30 s but only 2 blocks: held')
  m2.recheck()
  t.notOk(m2.has(gapped.hash), 'both bounds past: dropped')
})

t.test('a block that fills a gap promotes; a dropped tx demotes the ones behind it', async (t) => {
  const { chain, mempool } = setup()
  const [tx0, tx1, tx2] = byNonce(chain, 0, [0, 1, 2])
  mempool.add(tx1.bytes)
  mempool.add(tx2.bytes)
  t.equal(mempool.queuedSize, 2)
  chain.block([tx0])
  mempool.recheck()
  t.equal(mempool.queuedSize, 0, 'nonce 0 included elsewhere: 1 and 2 are executable')
  t.equal(mempool.reap(100, 1 << 20).length, 2)
})

t.test('saturation refuses tx_send at once: verifier queue and event-loop lag', async (t) => {
  let verified = 0
  let depth = 0
  let lag = 0
  const verifier = { verify: async () => (verified++, true), get depth() { return depth } }
  const { chain, mempool } = setup({ maxVerifyQueue: 10, maxEventLoopLagMs: 100 }, { verifier, eventLoopLagMs: () => lag })
  const [tx0, tx1, tx2] = byNonce(chain, 0, [0, 1, 2])
  await mempool.admit(tx0.bytes)
  t.equal(verified, 1)
  depth = 11
  await t.rejects(mempool.admit(tx1.bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'verifier' } })
  depth = 0
  lag = 150
  await t.rejects(mempool.admit(tx1.bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'event_loop' } })
  t.equal(verified, 1, 'refused txs were not verified')
  lag = 0
  await mempool.admit(tx1.bytes)
  lag = 150
  t.doesNotThrow(() => mempool.addDecoded(tx2), 'an already verified (gossiped) tx is not refused here: gossip is throttled before it is decoded')
  t.equal(mempool.size, 3)
})

t.test('relay candidates: executable txs not gossiped since a time, least recently gossiped first', async (t) => {
  let now = 1000
  const { chain, mempool } = setup({}, { now: () => now })
  const [a0, a1] = byNonce(chain, 0, [0, 1])
  const [gapped] = byNonce(chain, 1, [3])
  mempool.add(a0.bytes)
  now = 2000
  mempool.add(a1.bytes)
  mempool.add(gapped.bytes)
  t.same(mempool.relayCandidates(1500, 10).map((x) => x.hash), [a0.hash], 'only what was gossiped before 1500')
  t.same(mempool.relayCandidates(5000, 10).map((x) => x.hash), [a0.hash, a1.hash], 'queued txs are not relayed')
  t.same(mempool.relayCandidates(5000, 1).map((x) => x.hash), [a0.hash], 'capped')
  mempool.markRelayed([a0.hash], 3000)
  t.same(mempool.relayCandidates(5000, 10).map((x) => x.hash), [a1.hash, a0.hash], 'relayed last goes last')
  t.same(mempool.relayCandidates(2500, 10).map((x) => x.hash), [a1.hash])
})

t.test('counts the inference receipts it holds (the backlog bound\'s receipts), through admission and removal', async (t) => {
  let nonceOfA = 0
  const { chain, mempool } = setup({}, {})
  const a = chain.account(0)
  const b = chain.account(1)
  const m = setup({}, { account: (addr) => ({ balance: chain.q.balance(addr), nonce: addr === a.address ? nonceOfA : chain.q.nonce(addr) }) }).mempool
  const h = (s: string) => `0x${Buffer.from(s.padEnd(32, '.')).toString('hex')}` as const
  const receipts = (n: number) => Array.from({ length: n }, (_, i) => ({ modelId: h('m'), payer: a.address, fee: 1_000_000n, inputHash: h(`in${n}.${i}`), outputHash: h(`out${n}.${i}`), attribution: [] }))
  m.add(chain.tx(a, { type: 'submitReceipts', receipts: receipts(3) }, { nonce: 0 }).bytes)
  m.add(chain.tx(a, { type: 'submitReceipts', receipts: receipts(5) }, { nonce: 1 }).bytes)
  m.add(chain.tx(a, transfer(b.address), { nonce: 2 }).bytes)
  m.add(chain.tx(b, { type: 'submitReceipts', receipts: receipts(7) }, { nonce: 0 }).bytes)
  t.equal(m.receipts, 15, 'every held tx counted once')
  nonceOfA = 2
  m.recheck()
  t.equal(m.size, 2, 'a\'s first two txs included')
  t.equal(m.receipts, 7, 'their receipts no longer counted')
  t.equal(mempool.receipts, 0, 'an empty mempool holds none')
})

t.test('backlog: txs behind a nonce gap do not count until the gap is filled (they cannot refuse the tx that fills it)', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  const b = chain.account(1)
  const h = (s: string) => `0x${Buffer.from(s.padEnd(32, '.')).toString('hex')}` as const
  const receipts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ modelId: h('m'), payer: a.address, fee: 1_000_000n, inputHash: h(`in${tag}.${i}`), outputHash: h('out'), attribution: [] }))
  // nonces 1..3 of a (account nonce 0), receipts txs: queued behind the gap at 0
  const later = [1, 2, 3].map((nonce) => chain.tx(a, { type: 'submitReceipts', receipts: receipts(nonce, `a${nonce}`) }, { nonce }))
  for (const tx of later) mempool.add(tx.bytes)
  const fromB = chain.tx(b, { type: 'submitReceipts', receipts: receipts(4, 'b') }, { nonce: 0 })
  mempool.add(fromB.bytes)
  t.equal(mempool.queuedSize, 3)
  t.same(mempool.backlog, { txs: 1, bytes: fromB.bytes.length, receipts: 4 }, 'only b\'s executable tx: a\'s queued txs, their bytes and receipts, are out')
  mempool.markProposed([fromB.hash, later[0].hash])
  t.same(mempool.backlog, { txs: 0, bytes: 0, receipts: 0 }, 'a proposal naming a queued tx: it counts nowhere')
  const gap = chain.tx(a, { type: 'submitReceipts', receipts: receipts(1, 'a0') }, { nonce: 0 })
  mempool.add(gap.bytes)
  t.equal(mempool.queuedSize, 0, 'the gap filled: all of a\'s txs executable')
  const aBytes = [gap, ...later].reduce((s, x) => s + x.bytes.length, 0)
  t.same(mempool.backlog, { txs: 3, bytes: aBytes - later[0].bytes.length, receipts: 1 + 2 + 3 }, 'they count now, but for the proposed nonce 1: it leaves with the proposal (b\'s too)')
  mempool.markProposed([])
  t.same(mempool.backlog, { txs: 5, bytes: aBytes + fromB.bytes.length, receipts: 11 }, 'no proposal: every executable tx')
})

t.test('backlog: what the mempool holds beyond the proposal in flight; its txs count again after the next commit or proposal', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  const txs = [0, 1, 2, 3].map((nonce) => chain.tx(a, transfer(a.address), { nonce }))
  for (const tx of txs) mempool.add(tx.bytes)
  const all = { txs: 4, bytes: txs.reduce((s, x) => s + x.bytes.length, 0), receipts: 0 }
  t.same(mempool.backlog, all, 'no proposal: everything held')
  mempool.markProposed([txs[0].hash, txs[1].hash, txs[1].hash, '0x' + '11'.repeat(32)])
  t.same(mempool.backlog, { txs: 2, bytes: txs[2].bytes.length + txs[3].bytes.length, receipts: 0 }, 'the proposed txs held here are out of it (once each; unknown hashes count nowhere)')
  mempool.markProposed([txs[3].hash])
  t.same(mempool.backlog.txs, 3, "a later round's proposal replaces the earlier one")
  chain.block([mempool.get(txs[0].hash)!])
  mempool.recheck()
  t.same(mempool.backlog, { txs: 3, bytes: all.bytes - txs[0].bytes.length, receipts: 0 }, 'after a commit: the rest held, none marked')
  t.equal(mempool.size, 3)
})

t.test('gapOf, pooledTxs and hasQueued: what gap repair asks for and serves (node/txGapRepair.ts)', async (t) => {
  const { chain, mempool } = setup()
  const a = chain.account(0)
  const b = chain.account(1)
  const bytes = new Map<number, Uint8Array>()
  for (const nonce of [0, 1, 4, 5, 8]) {
    const tx = chain.tx(a, transfer(b.address), { nonce })
    bytes.set(nonce, tx.bytes)
    mempool.add(tx.bytes)
  }
  t.ok(mempool.hasQueued(a.address), 'a holds txs behind a gap')
  t.notOk(mempool.hasQueued(b.address), 'b holds none')
  t.same(mempool.gapOf(a.address), { from: 2, to: 4 }, 'the first gap: nonces 2 and 3, txs held from 4')
  t.equal(mempool.gapOf(b.address), null, 'no gap for a sender with nothing queued')
  t.same(mempool.pooledTxs(a.address, 0, 10, 1 << 20), [bytes.get(0), bytes.get(1)], 'the consecutive prefix from 0')
  t.same(mempool.pooledTxs(a.address, 4, 1, 1 << 20), [bytes.get(4)], 'at most count')
  t.same(mempool.pooledTxs(a.address, 4, 10, bytes.get(4)!.length), [bytes.get(4)], 'exactly the byte bound')
  t.same(mempool.pooledTxs(a.address, 4, 10, bytes.get(4)!.length - 1), [], 'one byte under it: none')
  t.same(mempool.pooledTxs(a.address, 2, 10, 1 << 20), [], 'a nonce not held: none')
  t.same(mempool.pooledTxs(b.address, 0, 10, 1 << 20), [], 'a sender with nothing held: none')
  for (const nonce of [2, 3]) mempool.add(chain.tx(a, transfer(b.address), { nonce }).bytes)
  t.same(mempool.gapOf(a.address), { from: 6, to: 8 }, 'filled: the next gap')
  mempool.add(chain.tx(a, transfer(b.address), { nonce: 6 }).bytes)
  mempool.add(chain.tx(a, transfer(b.address), { nonce: 7 }).bytes)
  t.equal(mempool.gapOf(a.address), null, 'no gap left')
  t.notOk(mempool.hasQueued(a.address))
})

t.test('a full mempool of its sender\'s own queued txs takes the tx that fills their gap (they never keep it out)', async (t) => {
  // A CI failure of client.test.ts: a batch's nonce k was refused for room while nonce k+1 got in after a block
  // freed a slot; the sender's queued txs then filled the mempool, and nonce k was refused 'txs' on every resend
  // until they expired 30 s later - and with them the later nonces the sender had been told were accepted.
  const { chain, mempool } = setup({ maxTxs: 3 })
  const a = chain.account(0)
  const b = chain.account(1)
  for (const nonce of [1, 2, 3]) mempool.add(chain.tx(a, transfer(b.address), { nonce }).bytes)
  t.equal(mempool.queuedSize, 3, 'three txs of a held behind the gap at nonce 0: the mempool is full')
  mempool.add(chain.tx(a, transfer(b.address), { nonce: 0 }).bytes)
  t.equal(mempool.size, 4, 'the gap filler is taken over the count limit')
  t.equal(mempool.queuedSize, 0, 'and every held tx of a is executable')
  t.same(mempool.reap(100, 1 << 20).map((x) => x.tx.nonce), [0, 1, 2, 3], 'all four go into the next block')
  t.throws(() => mempool.add(chain.tx(a, transfer(b.address), { nonce: 5 }).bytes), { code: 'MEMPOOL_ERROR_FULL' }, 'a tx that fills no gap still finds the mempool full')
  t.throws(() => mempool.add(chain.tx(a, transfer(b.address), { nonce: 4 }).bytes), { code: 'MEMPOOL_ERROR_FULL' }, 'nor does the next executable nonce when nothing waits behind it')
})

t.test('a gap filler over the limits is taken only within the queue\'s own limits on top of them (never unbounded)', async (t) => {
  const small = (() => {
    const { chain } = setup()
    return chain.tx(chain.account(0), transfer(chain.account(1).address, 1n), { nonce: 1 }).bytes.length
  })()
  // a mempool of one small tx, and a queue of one: a's nonce 1 fills both
  const { chain, mempool } = setup({ maxBytes: small, maxQueuedBytes: small })
  const a = chain.account(0)
  const b = chain.account(1)
  mempool.add(chain.tx(a, transfer(b.address, 1n), { nonce: 1 }).bytes)
  const big = chain.tx(a, transfer(b.address, 10n ** 30n), { nonce: 0 })
  t.ok(big.bytes.length > small, 'the gap filler is larger than the tx it unblocks')
  t.throws(() => mempool.add(big.bytes), { code: 'MEMPOOL_ERROR_FULL', meta: { limit: 'bytes' } }, 'past maxBytes + maxQueuedBytes: refused')
  mempool.add(chain.tx(a, transfer(b.address, 1n), { nonce: 0 }).bytes)
  t.equal(mempool.size, 2, 'a filler within maxBytes + maxQueuedBytes is taken')
})
