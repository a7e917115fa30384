import t from 'tap'
import type { Test } from 'tap'
import { WebSocket } from 'ws'
import { RpcServer } from '../../../rpc/server.js'
import type { Logger, RpcServerOptions } from '../../../rpc/server.js'
import type { MethodSpec } from '../../../rpc/methodTable.js'
import { until } from '../../helpers/until.js'

/** How many test_wait calls saw their signal abort. */
let aborted = 0
/** How many test_wait handlers have started (the call was dispatched and waits on its signal). */
let started = 0

const methods: MethodSpec[] = [
  {
    name: 'test_add',
    summary: 'a + b',
    params: [
      { name: 'a', required: true, schema: { type: 'integer' } },
      { name: 'b', required: true, schema: { type: 'integer' } },
    ],
    result: { type: 'integer' },
    handler: (p) => (p[0] as number) + (p[1] as number),
  },
  {
    name: 'test_wait',
    summary: 'Resolves when the call is aborted',
    params: [],
    result: { type: 'string' },
    handler: (_p, ctx) =>
      new Promise((resolve) => {
        started++
        ctx.signal.addEventListener('abort', () => {
          aborted++
          resolve('aborted')
        })
      }),
  },
]

interface Harness {
  server: RpcServer
  url: string
  warnings: string[]
}

async function startServer(t: Test, opts: Partial<RpcServerOptions> = {}): Promise<Harness> {
  const warnings: string[] = []
  const logger: Logger = { error() {}, warn: (msg) => warnings.push(msg), info() {}, debug() {}, child: () => logger }
  const server = new RpcServer({ port: 0, ...opts }, { methods, logger })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  return { server, url: `ws://127.0.0.1:${port}/`, warnings }
}

/** A raw ws client that queues every message, so tests read exact frames. */
class Client {
  readonly ws: WebSocket
  private readonly queue: unknown[] = []
  private waiter: (() => void) | null = null
  readonly closed: Promise<number>

  constructor(url: string) {
    this.ws = new WebSocket(url)
    this.ws.on('message', (data) => {
      this.queue.push(JSON.parse(data.toString()))
      this.waiter?.()
    })
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)))
  }

  static async open(t: Test, url: string): Promise<Client> {
    const c = new Client(url)
    t.teardown(() => c.ws.terminate())
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve())
      c.ws.once('error', reject)
    })
    return c
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg))
  }

  async next(): Promise<unknown> {
    while (this.queue.length === 0) await new Promise<void>((resolve) => (this.waiter = resolve))
    return this.queue.shift()
  }

  async call(id: number, method: string, params: unknown[] = []): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
    this.send({ jsonrpc: '2.0', id, method, params })
    for (;;) {
      const msg = (await this.next()) as { id?: unknown; result?: unknown; error?: { code: number; message: string } }
      if (msg.id === id) return msg
    }
  }

  pending(): number {
    return this.queue.length
  }
}

const tick = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))


t.test('calls, batches and errors over WebSocket', async (t) => {
  const h = await startServer(t)
  const c = await Client.open(t, h.url)
  t.same(await c.call(1, 'test_add', [2, 3]), { jsonrpc: '2.0', id: 1, result: 5 })
  c.send([
    { jsonrpc: '2.0', id: 2, method: 'test_add', params: [1, 1] },
    { jsonrpc: '2.0', method: 'test_add', params: [1, 1] },
    { jsonrpc: '2.0', id: 3, method: 'nope_nope' },
  ])
  t.same(await c.next(), [
    { jsonrpc: '2.0', id: 2, result: 2 },
    { jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'method nope_nope not found', data: { method: 'nope_nope', reason: 'RPC_ERROR_METHOD_NOT_FOUND' } } },
  ])
  c.send('{not json')
  t.equal(((await c.next()) as { error: { code: number } }).error.code, -32700)
  c.send('['.repeat(100_000))
  t.equal(((await c.next()) as { error: { code: number } }).error.code, -32700, 'deep nesting over WebSocket')
  c.send({ jsonrpc: '2.0', method: 'test_add', params: [1, 1] })
  await tick()
  t.equal(c.pending(), 0, 'a notification is not answered')
  t.same(await c.call(4, 'test_add', [2, 2]), { jsonrpc: '2.0', id: 4, result: 4 }, 'still serving')
})

t.test('subscribe, publish, unsubscribe', async (t) => {
  const h = await startServer(t)
  const c = await Client.open(t, h.url)
  const other = await Client.open(t, h.url)
  const sub = (await c.call(1, 'chain_subscribe', ['newBlocks'])).result as string
  t.match(sub, /^0x[0-9a-f]{32}$/)
  const dist = (await c.call(2, 'chain_subscribe', ['distributions'])).result as string
  t.not(dist, sub)
  t.equal(h.server.subscriptionCount, 2)

  h.server.publish('newBlocks', { height: 7, reward: 5n })
  t.same(await c.next(), {
    jsonrpc: '2.0',
    method: 'chain_subscription',
    params: { subscription: sub, result: { height: 7, reward: '5' } },
  })
  h.server.publish('distributions', { height: 7, entries: [] })
  t.same(await c.next(), {
    jsonrpc: '2.0',
    method: 'chain_subscription',
    params: { subscription: dist, result: { height: 7, entries: [] } },
  })
  t.equal(other.pending(), 0, 'a client without subscriptions gets nothing')

  t.same(await c.call(3, 'chain_unsubscribe', [sub]), { jsonrpc: '2.0', id: 3, result: true })
  t.same(await c.call(4, 'chain_unsubscribe', [sub]), { jsonrpc: '2.0', id: 4, result: false }, 'second time: false')
  t.same(await other.call(1, 'chain_unsubscribe', [dist]), { jsonrpc: '2.0', id: 1, result: false }, 'not your subscription')
  h.server.publish('newBlocks', { height: 8 })
  let built = 0
  h.server.publish('newBlocks', () => { built++; return { height: 9 } })
  await tick()
  t.equal(c.pending(), 0, 'nothing after unsubscribe')
  t.equal(built, 0, 'a lazy result is not built for nobody')
  h.server.publish('distributions', () => { built++; return { height: 9, entries: [] } })
  t.same(await c.next(), { jsonrpc: '2.0', method: 'chain_subscription', params: { subscription: dist, result: { height: 9, entries: [] } } }, 'and built for a subscriber')
  t.equal(built, 1)

  const unknown = await c.call(5, 'chain_subscribe', ['mempool'])
  t.equal(unknown.error?.code, -32602)
  t.equal(unknown.error?.message, 'params[0] (topic): must be one of "newBlocks", "distributions"')
  t.throws(() => h.server.publish('mempool', {}), { code: 'RPC_ERROR_UNKNOWN_TOPIC' })
})

t.test('subscriptions per connection are capped', async (t) => {
  const h = await startServer(t, { maxSubscriptionsPerConnection: 2 })
  const c = await Client.open(t, h.url)
  t.ok((await c.call(1, 'chain_subscribe', ['newBlocks'])).result)
  t.ok((await c.call(2, 'chain_subscribe', ['newBlocks'])).result)
  const third = await c.call(3, 'chain_subscribe', ['newBlocks'])
  t.equal(third.error?.code, -32000)
  t.equal(third.error?.message, 'at most 2 subscriptions per connection')
})

t.test('disconnect clears the connection and its subscriptions, and aborts its calls', async (t) => {
  const h = await startServer(t)
  const c = await Client.open(t, h.url)
  await c.call(1, 'chain_subscribe', ['newBlocks'])
  await c.call(2, 'chain_subscribe', ['distributions'])
  const startedBefore = started
  const abortedBefore = aborted
  c.send({ jsonrpc: '2.0', id: 3, method: 'test_wait' })
  await until('the test_wait handler has started', () => started === startedBefore + 1, 20_000, 5)
  t.pass('the test_wait handler has started')
  t.equal(aborted, abortedBefore, 'and waits: nothing aborted it yet')
  t.equal(h.server.wsConnectionCount, 1)
  t.equal(h.server.subscriptionCount, 2)
  c.ws.close()
  await c.closed
  // The client's 'close' may come before the server has seen its socket go: wait for the server's cleanup.
  await until('the server saw the disconnect', () => h.server.wsConnectionCount === 0, 20_000, 5)
  t.pass('the server saw the disconnect')
  t.equal(h.server.wsConnectionCount, 0)
  t.equal(h.server.subscriptionCount, 0)
  t.equal(aborted, abortedBefore + 1, 'the pending call was aborted')
  t.doesNotThrow(() => h.server.publish('newBlocks', { height: 1 }), 'publishing to nobody is fine')
})

t.test('connections beyond maxWsConnections are refused', async (t) => {
  const h = await startServer(t, { maxWsConnections: 2 })
  await Client.open(t, h.url)
  await Client.open(t, h.url)
  await t.rejects(Client.open(t, h.url), /503/)
  await t.rejects(Client.open(t, h.url.replace(/\/$/, '/other')), /404/, 'WebSocket only on /')
})

t.test('a message over maxBodyBytes closes the socket with 1009', async (t) => {
  const h = await startServer(t, { maxBodyBytes: 1024 })
  const c = await Client.open(t, h.url)
  c.send({ jsonrpc: '2.0', id: 1, method: 'test_add', params: ['x'.repeat(2048)] })
  t.equal(await c.closed, 1009)
  const again = await Client.open(t, h.url)
  t.same(await again.call(1, 'test_add', [1, 2]), { jsonrpc: '2.0', id: 1, result: 3 }, 'still serving')
})

t.test('a client that does not read is dropped instead of buffered without bound', async (t) => {
  const h = await startServer(t, { maxWsBufferedBytes: 256 * 1024 })
  const slow = await Client.open(t, h.url)
  const fast = await Client.open(t, h.url)
  await slow.call(1, 'chain_subscribe', ['newBlocks'])
  await fast.call(1, 'chain_subscribe', ['newBlocks'])
  // Stop reading at the TCP level (the ws client has no public pause) so the server's send buffer fills.
  ;(slow.ws as unknown as { _socket: { pause(): void } })._socket.pause()
  const payload = 'p'.repeat(256 * 1024)
  for (let i = 0; i < 200 && h.server.wsConnectionCount === 2; i++) {
    h.server.publish('newBlocks', { i, payload })
    await tick(5)
  }
  t.equal(h.server.wsConnectionCount, 1, 'the slow client was dropped')
  t.ok(h.warnings.includes('rpc websocket client too slow, dropping it'))
  t.same(await fast.call(2, 'test_add', [1, 1]), { jsonrpc: '2.0', id: 2, result: 2 }, 'the fast client is still served')
})

t.test('stop() closes every WebSocket client and aborts pending calls', async (t) => {
  const server = new RpcServer({ port: 0 }, { methods })
  const { port } = await server.start()
  const clients = await Promise.all([1, 2, 3].map(() => Client.open(t, `ws://127.0.0.1:${port}/`)))
  await clients[0]!.call(1, 'chain_subscribe', ['newBlocks'])
  const startedBefore = started
  const abortedBefore = aborted
  clients[1]!.send({ jsonrpc: '2.0', id: 1, method: 'test_wait' })
  await until('the test_wait handler has started', () => started === startedBefore + 1, 20_000, 5)
  t.pass('the test_wait handler has started')
  t.equal(aborted, abortedBefore, 'and waits: nothing aborted it yet')
  await server.stop()
  t.equal(aborted, abortedBefore + 1, 'the pending call was aborted')
  const codes = await Promise.all(clients.map((c) => c.closed))
  for (const [i, code] of codes.entries()) t.equal(code, 1001, `client ${i} closed with 1001`)
  t.equal(server.wsConnectionCount, 0)
  t.equal(server.subscriptionCount, 0)
  await tick()
  const tcp = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'))
  t.same(tcp, [], 'no TCP server or socket is left open')
})
