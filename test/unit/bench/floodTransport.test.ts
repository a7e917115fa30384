import t from 'tap'
import type { Test } from 'tap'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
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
  t.same(await c.batch([tx('cc03', 10).request], [10], 'tx_send'), [{ ok: true, result: { hash: '0xcc03' } }], 'the next batch')
  t.same(await c.batch([], [], 'tx_send'), [], 'an empty batch sends nothing')
  await t.rejects(c.batch([tx('01', 1).request], [], 'tx_send'), RangeError, 'requests and ids must pair up')
})

/** A loopback server of `onSocket` on a free port; counts its connections. */
async function listen(t: Test, server: Server): Promise<{ port: number; connections: () => number }> {
  let n = 0
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    n++
    sockets.add(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  }))
  return { port: (server.address() as { port: number }).port, connections: () => n }
}

t.test('one keep-alive connection serves an operator\'s batches, also after an answer sent before the upload ended', async (t) => {
  let early = true
  const http = createHttpServer((req, res) => {
    if (early) {
      // answer at once, the body unread (as a body refused unread is): node:http drains it
      early = false
      res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32002,"message":"busy","data":{"reason":"MEMPOOL_ERROR_FULL"}}}')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const calls = JSON.parse(Buffer.concat(chunks).toString()) as { id: number }[]
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(calls.map((q) => ({ jsonrpc: '2.0', id: q.id, result: q.id }))))
    })
  })
  const { port, connections } = await listen(t, http)
  const c = new FloodConnection(`http://127.0.0.1:${port}/`, 5_000)
  t.teardown(() => c.close())
  const big = Array.from({ length: 20 }, (_, i) => tx('cd'.repeat(50_000), i))
  const refused = await c.batch(big.map((x) => x.request), big.map((x) => x.nonce), 'tx_send').catch((e: unknown) => e)
  t.equal((refused as RpcRequestError).reason, 'MEMPOOL_ERROR_FULL', 'a 2 MB batch answered before it was read')
  for (let k = 0; k < 3; k++) {
    const txs = [tx('01', 100 + k), tx('02', 200 + k)]
    t.same(await c.batch(txs.map((x) => x.request), txs.map((x) => x.nonce), 'tx_send'), [{ ok: true, result: 100 + k }, { ok: true, result: 200 + k }])
  }
  t.equal(connections(), 1, 'four batches, one connection')
})

t.test('a server that never answers: RPC_TRANSPORT_ERROR_TIMEOUT at the deadline, also for a batch queued behind it', async (t) => {
  const { port } = await listen(t, createTcpServer(() => {}))
  const c = new FloodConnection(`http://127.0.0.1:${port}/`, 300)
  t.teardown(() => c.close())
  const [first, queued] = await Promise.all([0, 1].map((k) => c.batch([tx('01', k).request], [k], 'tx_send').catch((e: unknown) => e)))
  for (const e of [first, queued]) t.equal((e as RpcTransportError).code, 'RPC_TRANSPORT_ERROR_TIMEOUT', String(e))
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
  // a port that was just free and is closed again: nothing listens there
  const probe = createTcpServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const closedPort = (probe.address() as { port: number }).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const gone = new FloodConnection(`http://127.0.0.1:${closedPort}/`, 1_000)
  t.teardown(() => gone.close())
  const e2 = await gone.batch([tx('01', 1).request], [1], 'tx_send').catch((e: unknown) => e)
  t.ok(e2 instanceof RpcTransportError, String(e2))
})
