import t from 'tap'
import { Mempool, defaultMempoolOptions } from '../../../node/mempool.js'
import { TestChain } from '../../helpers/chain.js'
import { signTx, type TxCall } from '../../../core/tx.js'
import { encode } from '../../../core/codec.js'
import { KeyPair } from '../../../core/keys.js'

function setup(opts = {}) {
  const chain = new TestChain()
  const mempool = new Mempool({ ...defaultMempoolOptions, ...opts }, {
    chainId: chain.chain.chainId, params: chain.chain.params,
    account: (a) => ({ balance: chain.q.balance(a), nonce: chain.q.nonce(a) }),
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
