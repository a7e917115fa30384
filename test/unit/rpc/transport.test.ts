import t from 'tap'
import type { Test } from 'tap'
import { TxError } from '../../../core/errors.js'
import { RpcServer } from '../../../rpc/server.js'
import type { MethodSpec } from '../../../rpc/methodTable.js'
import { RpcRequestError, RpcTransport, RpcTransportError, RpcWsTransport } from '../../../rpc/transport.js'
import { until } from '../../helpers/until.js'

/** How many test_slow handlers have started (their call was dispatched and now waits on its signal). */
let slowStarted = 0


const methods: MethodSpec[] = [
  {
    name: 'test_add',
    summary: 'a + b, as decimal strings',
    params: [
      { name: 'a', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
      { name: 'b', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
    ],
    result: { type: 'string' },
    handler: (p) => BigInt(p[0] as string) + BigInt(p[1] as string),
  },
  {
    name: 'tx_send',
    summary: 'Always refuses',
    params: [],
    result: { type: 'null' },
    handler: () => {
      throw new TxError('TX_ERROR_BAD_NONCE', 'nonce too low', { expected: 5 })
    },
  },
  {
    name: 'test_slow',
    summary: 'Never answers until aborted',
    params: [],
    result: { type: 'null' },
    handler: (_p, ctx) =>
      new Promise((resolve) => {
        slowStarted++
        ctx.signal.addEventListener('abort', () => resolve(null))
      }),
  },
]

async function startServer(t: Test): Promise<{ server: RpcServer; port: number }> {
  const server = new RpcServer({ port: 0 }, { methods })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  return { server, port }
}

t.test('HTTP transport: call, typed errors, batch', async (t) => {
  const { port } = await startServer(t)
  const rpc = new RpcTransport(`http://127.0.0.1:${port}/`)
  t.equal(await rpc.call<string>('test_add', [2n ** 70n, '1']), (2n ** 70n + 1n).toString(), 'bigint params go out as strings')

  const err = await rpc.call('tx_send').catch((e: unknown) => e)
  t.ok(err instanceof RpcRequestError)
  t.match(err, { code: -32001, message: 'nonce too low', data: { reason: 'TX_ERROR_BAD_NONCE', expected: 5 } })
  t.equal((err as RpcRequestError).reason, 'TX_ERROR_BAD_NONCE')
  await t.rejects(rpc.call('nope_nope'), { code: -32601 })

  const results = await rpc.batch([
    { method: 'test_add', params: ['1', '2'] },
    { method: 'tx_send' },
    { method: 'test_add', params: ['x', '2'] },
  ])
  t.same(results[0], { ok: true, result: '3' })
  t.equal(results[1]!.ok, false)
  t.match(results[1], { error: { code: -32001 } })
  t.match(results[2], { ok: false, error: { code: -32602, message: 'params[0] (a): must match ^[0-9]+$' } })
  t.same(await rpc.batch([]), [])
  const over = Array.from({ length: 101 }, () => ({ method: 'test_add', params: ['1', '1'] }))
  await t.rejects(rpc.batch(over), { code: -32600 }, 'a refused batch throws its one error')
})

t.test('HTTP transport: oversized body surfaces as a JSON-RPC error', async (t) => {
  const { port } = await startServer(t)
  const rpc = new RpcTransport(`http://127.0.0.1:${port}/`)
  await t.rejects(rpc.call('test_add', ['1'.repeat(6 * 1024 * 1024), '1']), { code: -32600, message: /exceeds the limit/ })
  t.equal(await rpc.call('test_add', ['1', '1']), '2')
})

t.test('HTTP transport: network failures and timeouts are RpcTransportErrors', async (t) => {
  const server = new RpcServer({ port: 0 }, { methods })
  const { port } = await server.start()
  const rpc = new RpcTransport(`http://127.0.0.1:${port}/`, { timeoutMs: 200 })
  await t.rejects(rpc.call('test_slow'), { code: 'RPC_TRANSPORT_ERROR_TIMEOUT' })
  await server.stop()
  const err = await rpc.call('test_add', ['1', '1']).catch((e: unknown) => e)
  t.ok(err instanceof RpcTransportError)
  t.match(err, { code: 'RPC_TRANSPORT_ERROR_NETWORK' })
  const health = new RpcTransport(`http://127.0.0.1:${port}/health`)
  t.ok(health, 'constructing never connects')
})

t.test('WebSocket transport: call, subscribe, unsubscribe, close', async (t) => {
  const { server, port } = await startServer(t)
  const ws = new RpcWsTransport(`ws://127.0.0.1:${port}/`)
  t.teardown(() => ws.close())
  t.equal(await ws.call('test_add', ['2', '3']), '5')
  await t.rejects(ws.call('tx_send'), { code: -32001, reason: 'TX_ERROR_BAD_NONCE' })

  const blocks: unknown[] = []
  const unsubscribe = await ws.subscribe('newBlocks', (r) => blocks.push(r))
  t.equal(server.subscriptionCount, 1)
  server.publish('newBlocks', { height: 1 })
  server.publish('newBlocks', { height: 2 })
  server.publish('distributions', { height: 2 })
  t.equal(await ws.call('test_add', ['0', '0']), '0', 'a round trip after the publishes')
  t.same(blocks, [{ height: 1 }, { height: 2 }])

  t.equal(await unsubscribe(), true)
  t.equal(await unsubscribe(), false, 'unsubscribing twice is a no-op')
  t.equal(server.subscriptionCount, 0)
  server.publish('newBlocks', { height: 3 })
  await ws.call('test_add', ['0', '0'])
  t.equal(blocks.length, 2, 'nothing after unsubscribe')

  await t.rejects(ws.subscribe('mempool', () => {}), { code: -32602 })

  const pending = ws.call('test_slow').catch((e: unknown) => e)
  await ws.close()
  t.match(await pending, { code: 'RPC_TRANSPORT_ERROR_CLOSED' }, 'pending calls are rejected on close')
  await t.rejects(ws.call('test_add', ['1', '1']), { code: 'RPC_TRANSPORT_ERROR_CLOSED' })
})

t.test('WebSocket transport: server stop and unreachable servers', async (t) => {
  const server = new RpcServer({ port: 0 }, { methods })
  const { port } = await server.start()
  const closes: number[] = []
  const ws = new RpcWsTransport(`ws://127.0.0.1:${port}/`, { onClose: (code) => closes.push(code) })
  await ws.call('test_add', ['1', '1'])
  const startedBefore = slowStarted
  const pending = ws.call('test_slow')
  // Let the call reach its handler before stopping (however long dispatch takes on a loaded machine).
  await until('the test_slow handler has started', () => slowStarted === startedBefore + 1, 20_000, 5)
  t.pass('the test_slow handler has started')
  await server.stop()
  t.same(await pending, null, 'the server aborted the call and still answered before closing')
  await ws.close()
  t.same(closes, [1001])

  const unreachable = new RpcWsTransport(`ws://127.0.0.1:${port}/`)
  await t.rejects(unreachable.call('test_add', ['1', '1']), { code: 'RPC_TRANSPORT_ERROR_NETWORK' })
  await unreachable.close()
})
