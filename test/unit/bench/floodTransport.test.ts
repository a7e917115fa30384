import t from 'tap'
import type { Test } from 'tap'
import { FloodConnection } from '../../../bench/floodTransport.js'
import { packTxs, txSendRequest, unpackTxs, type FloodTx } from '../../../bench/presign.js'
import { AttrchainError } from '../../../core/errors.js'
import type { MethodSpec } from '../../../rpc/methodTable.js'
import { RpcRequestError, RpcTransportError } from '../../../rpc/index.js'
import { RpcServer } from '../../../rpc/server.js'

/**
 * The overload bench's sender (bench/floodTransport.ts) and its pre-encoded
 * txs (bench/presign.ts): what it writes is the JSON-RPC batch the server
 * would get from the SDK, and it reads answers as the SDK does.
 */

/** tx_send stand-in: echoes the raw tx it got, refuses one tx, answers the rest. */
const seen: string[] = []
const methods: MethodSpec[] = [
  {
    name: 'tx_send',
    summary: 'echo',
    params: [{ name: 'tx', required: true, schema: {} }, { name: 'opts', required: false, schema: {} }],
    result: {},
    handler: (params: unknown[]) => {
      const raw = params[0] as string
      seen.push(raw)
      if (raw === '0xdead') throw new AttrchainError('MEMPOOL_ERROR_FULL', 'full', { limit: 'txs', retryAfterMs: 250 })
      return { hash: raw }
    },
  },
]

async function start(t: Test, shed = false): Promise<string> {
  const server = new RpcServer(
    { port: 0, maxBodyBytes: 1 << 20 },
    { methods, ...(shed ? { shedBody: () => new AttrchainError('MEMPOOL_ERROR_FULL', 'refused unread', { limit: 'backlog', retryAfterMs: 1000 }) } : {}) },
  )
  const { port } = await server.start()
  t.teardown(() => server.stop())
  return `http://127.0.0.1:${port}/`
}

const tx = (hex: string, nonce: number): FloodTx => ({ request: txSendRequest(Buffer.from(hex, 'hex'), nonce), hash: `0x${hex}`, nonce })

t.test('a batch of pre-encoded requests: every tx arrives as sent, each answer in its request order', async (t) => {
  seen.length = 0
  const url = await start(t)
  const c = new FloodConnection(url, 5_000)
  t.teardown(() => c.close())
  const txs = [tx('aa01', 7), tx('dead', 8), tx('bb02', 9)]
  const replies = await c.batch(txs.map((x) => x.request), txs.map((x) => x.nonce), 'tx_send')
  t.same(seen, ['0xaa01', '0xdead', '0xbb02'])
  t.same(replies[0], { ok: true, result: { hash: '0xaa01' } })
  t.equal(replies[1].ok, false)
  const e = (replies[1] as { error: RpcRequestError }).error
  t.equal(e.reason, 'MEMPOOL_ERROR_FULL')
  t.same(replies[2], { ok: true, result: { hash: '0xbb02' } })
  // the keep-alive socket serves the next batch; an empty batch is an empty JSON array
  t.same(await c.batch([tx('cc03', 10).request], [10], 'tx_send'), [{ ok: true, result: { hash: '0xcc03' } }])
})

t.test('requests packed by a worker come back byte for byte', async (t) => {
  const txs = [tx('01', 1), tx('0203', 2), tx('040506', 3)]
  const packed = packTxs(txs)
  t.equal(packed.bytes.byteLength, txs.reduce((s, x) => s + x.request.length, 0))
  const back = unpackTxs(structuredClone(packed, { transfer: [packed.bytes] }))
  t.same(back.map((x) => x.request.toString()), txs.map((x) => x.request.toString()))
  t.same(back.map((x) => [x.hash, x.nonce]), txs.map((x) => [x.hash, x.nonce]))
  t.same(JSON.parse(back[1].request.toString()), { jsonrpc: '2.0', id: 2, method: 'tx_send', params: ['0x0203', { wait: 'none' }] })
})

t.test('a large body refused unread is one RpcRequestError; no server is a transport error', async (t) => {
  const url = await start(t, true)
  const c = new FloodConnection(url, 5_000)
  t.teardown(() => c.close())
  const big = Array.from({ length: 8 }, (_, i) => tx('ab'.repeat(20_000), i))
  const err = await c.batch(big.map((x) => x.request), big.map((x) => x.nonce), 'tx_send').catch((e: unknown) => e)
  t.ok(err instanceof RpcRequestError, String(err))
  t.equal((err as RpcRequestError).reason, 'MEMPOOL_ERROR_FULL')
  t.equal(((err as RpcRequestError).data as { retryAfterMs?: number }).retryAfterMs, 1000)
  const gone = new FloodConnection('http://127.0.0.1:1/', 1_000)
  t.teardown(() => gone.close())
  const e2 = await gone.batch([tx('01', 1).request], [1], 'tx_send').catch((e: unknown) => e)
  t.ok(e2 instanceof RpcTransportError, String(e2))
})
