import t from 'tap'
import http from 'node:http'
import net from 'node:net'
import type { Test } from 'tap'
import { AttrchainError, CodecError, GenesisError, TxError } from '../../../core/errors.js'
import { commonSchemas } from '../../../rpc/methodTable.js'
import type { MethodSpec, OpenRpcDocument } from '../../../rpc/methodTable.js'
import { RpcError } from '../../../rpc/errors.js'
import { RpcServer } from '../../../rpc/server.js'
import { POOLED_BODIES_KEPT, POOLED_BODY_MIN_BYTES } from '../../../rpc/bodyBuffers.js'
import type { Logger, RpcServerModules, RpcServerOptions } from '../../../rpc/server.js'
import { SHED_BODY_MIN_BYTES } from '../../../rpc/server.js'

/** A small fake method table: this file tests the transport, not chain methods. */
function fakeMethods(counter: { n: number }): MethodSpec[] {
  return [
    {
      name: 'test_echo',
      summary: 'Returns its param',
      params: [{ name: 'value', required: true, schema: {} }],
      result: {},
      handler: (p) => p[0],
    },
    {
      name: 'test_add',
      summary: 'a + b',
      params: [
        { name: 'a', required: true, schema: { type: 'integer' } },
        { name: 'b', schema: { type: 'integer' } },
      ],
      result: { type: 'integer' },
      handler: (p) => (p[0] as number) + ((p[1] as number | undefined) ?? 0),
    },
    {
      name: 'account_get',
      summary: 'A fake account',
      params: [{ name: 'address', required: true, schema: commonSchemas.address }],
      result: { type: 'object' },
      handler: (p) => ({ address: (p[0] as string).toLowerCase(), balance: 10n ** 30n, code: new Uint8Array([1, 2]) }),
    },
    {
      name: 'test_count',
      summary: 'Counts calls',
      params: [],
      result: { type: 'integer' },
      handler: () => ++counter.n,
    },
    {
      name: 'test_fail',
      summary: 'Throws the error named by kind',
      params: [{ name: 'kind', required: true, schema: { type: 'string' } }],
      result: { type: 'null' },
      handler: async (p) => {
        switch (p[0]) {
          case 'tx':
            throw new TxError('TX_ERROR_BAD_NONCE', 'nonce 3 is below the account nonce 5', { expected: 5n, got: 3 })
          case 'mempool':
            throw new AttrchainError('MEMPOOL_ERROR_FULL', 'mempool is full', { limit: 10 })
          case 'codec':
            throw new CodecError('CODEC_ERROR_BAD_HEX', 'tx must be 0x-prefixed hex', { field: 'tx' })
          case 'timeout':
            throw new RpcError('RPC_ERROR_TIMEOUT', 'not committed within 30000 ms')
          case 'genesis':
            throw new GenesisError('GENESIS_ERROR_INVALID', 'bad genesis')
          default:
            throw new Error('secret internals at /srv/attrchain/state.ts:42')
        }
      },
    },
  ]
}

interface Harness {
  url: string
  server: RpcServer
  counter: { n: number }
  logged: { level: string; msg: string; ctx?: Record<string, unknown> }[]
  metrics: [string, boolean][]
}

async function startServer(t: Test, opts: Partial<RpcServerOptions> = {}, modules: Partial<RpcServerModules> = {}): Promise<Harness> {
  const counter = { n: 0 }
  const logged: Harness['logged'] = []
  const metrics: Harness['metrics'] = []
  const logger: Logger = {
    error: (msg, ctx) => logged.push({ level: 'error', msg, ctx }),
    warn: (msg, ctx) => logged.push({ level: 'warn', msg, ctx }),
    info: (msg, ctx) => logged.push({ level: 'info', msg, ctx }),
    debug: (msg, ctx) => logged.push({ level: 'debug', msg, ctx }),
    child: () => logger,
  }
  const server = new RpcServer(
    { port: 0, ...opts },
    {
      methods: fakeMethods(counter),
      logger,
      metrics: { onRequest: (method, seconds, ok) => metrics.push([method, ok]) && seconds >= 0 },
      extraRoutes: {
        '/metrics': (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('attrchain_up 1\n')
        },
        '/broken': async () => {
          throw new Error('route failed')
        },
      },
      ...modules,
    },
  )
  const { port } = await server.start()
  t.teardown(() => server.stop())
  return { url: `http://127.0.0.1:${port}/`, server, counter, logged, metrics }
}

async function post(url: string, body: string | Uint8Array): Promise<{ status: number; text: string; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
  const text = await res.text()
  return { status: res.status, text, json: text === '' ? undefined : JSON.parse(text) }
}

function rpc(method: string, params?: unknown, id: unknown = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) })
}

function errorOf(json: unknown): { code: number; message: string; data?: Record<string, unknown> } {
  return (json as { error: { code: number; message: string; data?: Record<string, unknown> } }).error
}

t.test('start on port 0 reports the real port; start twice is refused', async (t) => {
  const h = await startServer(t)
  t.match(h.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.not(h.url, 'http://127.0.0.1:0/')
  await t.rejects(h.server.start(), { code: 'RPC_ERROR_ALREADY_STARTED' })
})

t.test('single calls', async (t) => {
  const h = await startServer(t)
  t.same((await post(h.url, rpc('test_add', [2, 3]))).json, { jsonrpc: '2.0', id: 1, result: 5 })
  t.same((await post(h.url, rpc('test_add', [2], 'abc'))).json, { jsonrpc: '2.0', id: 'abc', result: 2 })
  t.same((await post(h.url, rpc('test_add', [2, null], null))).json, { jsonrpc: '2.0', id: null, result: 2 })
  t.same((await post(h.url, rpc('test_count'))).json, { jsonrpc: '2.0', id: 1, result: 1 }, 'absent params are []')
  const r = await post(h.url, rpc('account_get', ['0x' + 'AB'.repeat(20)]))
  t.equal(r.status, 200)
  t.same(r.json, {
    jsonrpc: '2.0',
    id: 1,
    result: { address: '0x' + 'ab'.repeat(20), balance: '1000000000000000000000000000000', code: '0x0102' },
  })
})

t.test('standard errors with exact codes', async (t) => {
  const h = await startServer(t)
  const cases: [string, string | Uint8Array, number, unknown][] = [
    ['invalid JSON', '{"jsonrpc":"2.0",', -32700, null],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), -32700, null],
    ['empty body', '', -32700, null],
    ['missing jsonrpc', JSON.stringify({ id: 1, method: 'test_count' }), -32600, 1],
    ['wrong jsonrpc', JSON.stringify({ jsonrpc: '1.0', id: 2, method: 'test_count' }), -32600, 2],
    ['non-object request', '42', -32600, null],
    ['id of a bad type', JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'test_count' }), -32600, null],
    ['id true', JSON.stringify({ jsonrpc: '2.0', id: true, method: 'test_count' }), -32600, null],
    ['method not a string', JSON.stringify({ jsonrpc: '2.0', id: 3, method: 7 }), -32600, 3],
    ['params a string', JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'test_count', params: 'x' }), -32600, 4],
    ['empty batch', '[]', -32600, null],
    ['unknown method', rpc('nope_nope', [], 5), -32601, 5],
    ['subscription over HTTP', rpc('chain_subscribe', ['newBlocks'], 6), -32601, 6],
    ['by-name params', rpc('test_add', { a: 1 }, 7), -32602, 7],
    ['wrong param type', rpc('test_add', ['1'], 8), -32602, 8],
    ['too many params', rpc('test_add', [1, 2, 3], 9), -32602, 9],
    ['missing param', rpc('test_add', [], 10), -32602, 10],
  ]
  for (const [what, body, code, id] of cases) {
    const r = await post(h.url, body)
    t.equal(r.status, 200, `${what}: status`)
    t.equal(errorOf(r.json)?.code, code, `${what}: code`)
    t.equal((r.json as { id: unknown }).id, id, `${what}: id`)
    t.equal((r.json as { jsonrpc: unknown }).jsonrpc, '2.0', `${what}: jsonrpc`)
  }
})

t.test('param validation messages name the param', async (t) => {
  const h = await startServer(t)
  const cases: [string, unknown, string][] = [
    ['account_get', ['0x12'], 'params[0] (address): must match ^0x[0-9a-fA-F]{40}$'],
    ['test_add', ['1'], 'params[0] (a): must be integer'],
    ['test_add', [1, 2.5], 'params[1] (b): must be integer'],
    ['test_add', [], 'params[0] (a): required'],
    ['test_add', { a: 1 }, 'params must be a positional array (by-name params are not supported)'],
  ]
  for (const [method, params, message] of cases) {
    const e = errorOf((await post(h.url, rpc(method, params))).json)
    t.equal(e.code, -32602, `${method} ${JSON.stringify(params)}: code`)
    t.equal(e.message, message, `${method} ${JSON.stringify(params)}: message`)
    t.equal(e.data?.reason, 'RPC_ERROR_INVALID_PARAMS', `${method} ${JSON.stringify(params)}: reason`)
  }
})

t.test('application errors map through the table with data.reason', async (t) => {
  const h = await startServer(t)
  const cases: [string, number, string, Record<string, unknown>][] = [
    ['tx', -32001, 'nonce 3 is below the account nonce 5', { reason: 'TX_ERROR_BAD_NONCE', expected: '5', got: 3 }],
    ['mempool', -32002, 'mempool is full', { reason: 'MEMPOOL_ERROR_FULL', limit: 10 }],
    ['codec', -32602, 'tx must be 0x-prefixed hex', { reason: 'CODEC_ERROR_BAD_HEX', field: 'tx' }],
    ['timeout', -32003, 'not committed within 30000 ms', { reason: 'RPC_ERROR_TIMEOUT' }],
    ['genesis', -32000, 'bad genesis', { reason: 'GENESIS_ERROR_INVALID' }],
  ]
  for (const [kind, code, message, data] of cases) {
    t.same((await post(h.url, rpc('test_fail', [kind]))).json, { jsonrpc: '2.0', id: 1, error: { code, message, data } }, kind)
  }
})

t.test('internal errors leak nothing and are logged', async (t) => {
  const h = await startServer(t)
  const r = await post(h.url, rpc('test_fail', ['crash']))
  t.same(r.json, { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'internal error', data: { reason: 'RPC_ERROR_INTERNAL' } } })
  t.notMatch(r.text, /secret|srv|state\.ts/)
  const logged = h.logged.find((l) => l.level === 'error')
  t.equal(logged?.msg, 'rpc handler failed')
  t.match(logged?.ctx?.error, /secret internals/)
})

t.test('notifications get no response', async (t) => {
  const h = await startServer(t)
  const single = await post(h.url, JSON.stringify({ jsonrpc: '2.0', method: 'test_count' }))
  t.equal(single.status, 204)
  t.equal(single.text, '')
  t.equal(h.counter.n, 1, 'the notification ran')
  const failing = await post(h.url, JSON.stringify({ jsonrpc: '2.0', method: 'nope_nope' }))
  t.equal(failing.status, 204, 'even a failing notification is not answered')
  const batch = await post(
    h.url,
    JSON.stringify([
      { jsonrpc: '2.0', method: 'test_count' },
      { jsonrpc: '2.0', method: 'test_count' },
    ]),
  )
  t.equal(batch.status, 204)
  t.equal(h.counter.n, 3)
})

t.test('a mixed batch answers only what is owed, each with its id', async (t) => {
  const h = await startServer(t)
  const r = await post(
    h.url,
    JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'test_add', params: [1, 1] },
      { jsonrpc: '2.0', method: 'test_count' },
      { jsonrpc: '1.0', id: 2, method: 'test_add', params: [1] },
      { jsonrpc: '2.0', id: 3, method: 'nope_nope' },
      { jsonrpc: '2.0', id: 4, method: 'test_add', params: ['x'] },
      { jsonrpc: '2.0', id: 5, method: 'test_fail', params: ['tx'] },
      7,
    ]),
  )
  t.equal(r.status, 200)
  const out = r.json as { id: unknown; result?: unknown; error?: { code: number } }[]
  t.equal(out.length, 6, 'the notification is not answered')
  const byId = new Map(out.map((o) => [o.id, o]))
  t.equal(byId.get(1)?.result, 2)
  t.equal(byId.get(2)?.error?.code, -32600)
  t.equal(byId.get(3)?.error?.code, -32601)
  t.equal(byId.get(4)?.error?.code, -32602)
  t.equal(byId.get(5)?.error?.code, -32001)
  t.equal(byId.get(null)?.error?.code, -32600, 'the non-object is answered with id null')
  t.equal(h.counter.n, 1)
})

t.test('a batch over the cap is one -32600 error', async (t) => {
  const h = await startServer(t)
  const calls = (n: number): string => JSON.stringify(Array.from({ length: n }, (_, i) => JSON.parse(rpc('test_count', [], i))))
  const atCap = await post(h.url, calls(100))
  t.equal((atCap.json as unknown[]).length, 100, 'the default cap is 100')
  const over = await post(h.url, calls(101))
  t.same(over.json, {
    jsonrpc: '2.0',
    id: null,
    error: { code: -32600, message: 'batch of 101 exceeds the limit of 100', data: { reason: 'RPC_ERROR_BATCH_TOO_LARGE' } },
  })
  t.equal(h.counter.n, 100, 'nothing of the refused batch ran')
})

t.test('a body over the limit is answered 413 with a JSON-RPC error, and the server keeps serving', async (t) => {
  const h = await startServer(t, { maxBodyBytes: 64 * 1024 })
  const big = rpc('test_echo', ['x'.repeat(100 * 1024)])
  const expected = {
    jsonrpc: '2.0',
    id: null,
    error: { code: -32600, message: 'request body exceeds the limit of 65536 bytes', data: { reason: 'RPC_ERROR_BODY_TOO_LARGE' } },
  }
  const declared = await post(h.url, big)
  t.equal(declared.status, 413, 'with Content-Length')
  t.same(declared.json, expected)

  // Without Content-Length the limit trips while reading.
  const chunk = new TextEncoder().encode('x'.repeat(16 * 1024))
  const streamed = await fetch(h.url, {
    method: 'POST',
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"test_echo","params":["'))
        for (let i = 0; i < 64; i++) c.enqueue(chunk)
        c.enqueue(new TextEncoder().encode('"]}'))
        c.close()
      },
    }),
    duplex: 'half',
  } as RequestInit)
  t.equal(streamed.status, 413, 'chunked')
  t.same(await streamed.json(), expected)

  const justUnder = rpc('test_echo', ['y'.repeat(60 * 1024)])
  t.equal(((await post(h.url, justUnder)).json as { result: string }).result.length, 60 * 1024, 'a body under the limit passes')
  t.same((await post(h.url, rpc('test_add', [1, 2]))).json, { jsonrpc: '2.0', id: 1, result: 3 }, 'still serving')
})

t.test('large bodies (reused buffers) in flight at once each get their own answer, round after round', async (t) => {
  // Bodies of at least POOLED_BODY_MIN_BYTES are copied into reused buffers (rpc/bodyBuffers.ts): more in
  // flight than are kept, over several rounds, so that buffers are reused and some are allocated and dropped.
  const h = await startServer(t)
  const n = POOLED_BODIES_KEPT + 2
  for (let round = 0; round < 3; round++) {
    const values = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((round * n + i) % 26)).repeat(POOLED_BODY_MIN_BYTES + 1000 * i))
    const replies = await Promise.all(values.map((v, i) => post(h.url, rpc('test_echo', [v], i))))
    for (const [i, r] of replies.entries()) {
      const result = (r.json as { result: string }).result
      t.ok(result === values[i], `round ${round}, body ${i}: its own value back (${result.length} of ${values[i].length} chars)`)
    }
  }
  // a large body without Content-Length (chunked) is joined from its chunks as before
  const v = 'q'.repeat(POOLED_BODY_MIN_BYTES * 2)
  const body = new TextEncoder().encode(rpc('test_echo', [v]))
  const streamed = await fetch(h.url, {
    method: 'POST',
    body: new ReadableStream({
      start(c) {
        for (let o = 0; o < body.length; o += 64 * 1024) c.enqueue(body.subarray(o, o + 64 * 1024))
        c.close()
      },
    }),
    duplex: 'half',
  } as RequestInit)
  t.equal(((await streamed.json()) as { result: string }).result, v, 'chunked')
})

t.test('shedBody: a large body the node refuses now is answered unread; small bodies are never asked', async (t) => {
  const asked: number[] = []
  let refuse = true
  const refusals: string[] = []
  const served: string[] = []
  const h = await startServer(t, {}, {
    shedBody: (n) => {
      asked.push(n)
      return refuse ? new AttrchainError('MEMPOOL_ERROR_FULL', 'mempool is full', { limit: 'txs', retryAfterMs: 2500 }) : null
    },
    metrics: { onRequest: (method) => served.push(method), onRefused: (reason) => refusals.push(reason) },
  })
  const large = rpc('test_echo', ['p'.repeat(SHED_BODY_MIN_BYTES)])
  const res = await fetch(h.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: large })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '3', 'Retry-After: retryAfterMs rounded up to seconds')
  t.match(await res.json(), { id: null, error: { message: 'mempool is full', data: { reason: 'MEMPOOL_ERROR_FULL', limit: 'txs', retryAfterMs: 2500 } } })
  t.same(asked, [Buffer.byteLength(large)], 'asked once, with the declared length')
  t.same(served, [], 'no method ran: the body was not parsed')
  t.same(refusals, ['tx_intake'], 'counted as a refusal')
  t.same((await post(h.url, rpc('test_count', []))).json, { jsonrpc: '2.0', id: 1, result: 1 }, 'a small body is served, without asking')
  t.same([served, asked.length], [['test_count'], 1])
  // the connection stays usable: node:http drains the unread body, and the next request on the same socket is served
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const onSocket = (body: string): Promise<{ status: number | undefined; reused: boolean; text: string }> => new Promise((resolve, reject) => {
    const req = http.request(h.url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode, reused: req.reusedSocket, text }))
    })
    req.on('error', reject)
    req.end(body)
  })
  const first = await onSocket(large)
  const second = await onSocket(rpc('test_count', [], 7))
  t.same([first.status, second.status, second.reused], [503, 200, true], 'refused unread, then a request on the same keep-alive socket is answered')
  t.same(JSON.parse(second.text), { jsonrpc: '2.0', id: 7, result: 2 })
  refuse = false
  const through = await post(h.url, large)
  t.equal((through.json as { result: string }).result.length, SHED_BODY_MIN_BYTES, 'a large body is read and served when the hook lets it through')
})

/**
 * One request over a raw socket with `Expect: 100-continue` (as curl sends for
 * large bodies): the body is written only once the server says `100 Continue`.
 * Resolves with everything the server sent, once it closes the connection
 * (the request asks for Connection: close).
 */
function expectContinue(url: string, body: string, declared = Buffer.byteLength(body), sendAnyway = false): Promise<{ text: string; uploaded: boolean }> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1')
    let text = ''
    let uploaded = false
    const deadline = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no end of the answer in 20 s: ${JSON.stringify(text.slice(0, 300))}`))
    }, 20_000)
    socket.on('data', (d: Buffer) => {
      text += d.toString()
      if (!uploaded && text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        uploaded = true
        socket.write(body)
      }
    })
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(deadline)
      resolve({ text, uploaded })
    })
    socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`)
    if (sendAnyway) {
      // a client that does not wait for 100 Continue (RFC 9110 allows it)
      uploaded = true
      socket.write(body)
    }
  })
}

t.test('Expect: 100-continue: a body that would be refused is answered before it is uploaded; others are told to continue', async (t) => {
  let refuse = true
  const asked: number[] = []
  const served: string[] = []
  const refusals: string[] = []
  const h = await startServer(t, { maxBodyBytes: 1 << 20 }, {
    shedBody: (n) => {
      asked.push(n)
      return refuse ? new AttrchainError('MEMPOOL_ERROR_FULL', 'mempool is full', { limit: 'backlog', retryAfterMs: 1500 }) : null
    },
    metrics: { onRequest: (method) => served.push(method), onRefused: (reason) => refusals.push(reason) },
  })
  const large = rpc('test_echo', ['e'.repeat(SHED_BODY_MIN_BYTES)])
  const shed = await expectContinue(h.url, large)
  t.notOk(shed.uploaded, 'shed: no 100 Continue, so the body was never sent')
  t.match(shed.text, /^HTTP\/1\.1 503 /, `shed: 503 (${shed.text.split('\r\n')[0]})`)
  t.match(shed.text, /\r\nRetry-After: 2\r\n/i, 'shed: Retry-After from retryAfterMs')
  t.match(shed.text, /"reason":"MEMPOOL_ERROR_FULL"/, 'shed: the JSON-RPC error names the reason')
  t.same([asked, served, refusals], [[Buffer.byteLength(large)], [], ['tx_intake']], 'asked once with the declared length, nothing ran, one refusal counted')

  // a client that sends the body without waiting still reads the whole answer: the server lingers until the body is in
  const anyway = await expectContinue(h.url, large, undefined, true)
  t.match(anyway.text, /^HTTP\/1\.1 503 [\s\S]*"reason":"MEMPOOL_ERROR_FULL"/, 'a body sent anyway: the 503 arrives whole')
  t.notMatch(anyway.text, /100 Continue/, 'and no 100 Continue')
  t.same([asked.length, served], [2, []], 'asked again, nothing ran')

  const tooLarge = await expectContinue(h.url, '', (1 << 20) + 1)
  t.notOk(tooLarge.uploaded, 'over maxBodyBytes: never sent')
  t.match(tooLarge.text, /^HTTP\/1\.1 413 /, 'over maxBodyBytes: 413')
  t.match(tooLarge.text, /RPC_ERROR_BODY_TOO_LARGE/)

  const small = await expectContinue(h.url, rpc('test_count', []))
  t.ok(small.uploaded, 'a small body is told to continue, without asking shedBody')
  t.match(small.text, /\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*"result":1/, 'and served')
  t.equal(asked.length, 2)

  refuse = false
  const through = await expectContinue(h.url, large)
  t.ok(through.uploaded, 'let through: 100 Continue, then the body')
  t.match(through.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, 'then the answer')
  t.ok(through.text.includes(`"result":"${'e'.repeat(SHED_BODY_MIN_BYTES)}"`), 'with the echoed body')
  t.same(served, ['test_count', 'test_echo'])
})

t.test('the default 5 MiB limit refuses a 10 MB string param', async (t) => {
  const h = await startServer(t)
  const r = await post(h.url, rpc('test_echo', ['z'.repeat(10 * 1000 * 1000)]))
  t.equal(r.status, 413)
  t.equal(errorOf(r.json).code, -32600)
  t.equal(errorOf(r.json).message, 'request body exceeds the limit of 5242880 bytes')
  t.same((await post(h.url, rpc('test_add', [1, 2]))).json, { jsonrpc: '2.0', id: 1, result: 3 }, 'still serving')
})

t.test('deeply nested JSON is refused without harm', async (t) => {
  const h = await startServer(t)
  const cases: [string, string][] = [
    ['100k unterminated [', '['.repeat(100_000)],
    ['100k balanced [ ]', '['.repeat(100_000) + ']'.repeat(100_000)],
    ['deep params', rpc('test_echo', [JSON.parse('['.repeat(1000) + ']'.repeat(1000))])],
    ['deep objects', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)],
  ]
  for (const [what, body] of cases) {
    const r = await post(h.url, body)
    t.equal(r.status, 200, `${what}: status`)
    t.equal(errorOf(r.json).code, -32700, `${what}: code`)
  }
  const shallow = '[1,' + '['.repeat(30) + ']'.repeat(30) + ']'
  t.same((await post(h.url, rpc('test_echo', [JSON.parse(shallow)]))).json, { jsonrpc: '2.0', id: 1, result: JSON.parse(shallow) })
  t.same(
    (await post(h.url, rpc('test_echo', ['[[[[' + '['.repeat(100)]))).json,
    { jsonrpc: '2.0', id: 1, result: '[[[[' + '['.repeat(100) },
    'brackets inside strings do not count',
  )
  const tricky = 'a\\"[[' + '['.repeat(200) + '\\\\'
  t.same((await post(h.url, rpc('test_echo', [tricky]))).json, { jsonrpc: '2.0', id: 1, result: tricky }, 'escaped quotes and backslashes inside strings')
  const wide = Array.from({ length: 500 }, (_, i) => [i])
  t.same((await post(h.url, rpc('test_echo', [wide]))).json, { jsonrpc: '2.0', id: 1, result: wide }, 'many brackets, shallow nesting')
  const deepAfterString = rpc('test_echo', ['"]]]' + ']'.repeat(200), JSON.parse('['.repeat(200) + ']'.repeat(200))])
  t.equal(errorOf((await post(h.url, deepAfterString)).json).code, -32700, 'closing brackets inside a string do not hide deep nesting after it')
  t.same((await post(h.url, rpc('test_add', [1, 2]))).json, { jsonrpc: '2.0', id: 1, result: 3 }, 'still serving')
})

t.test('rpc.discover lists every method with its params', async (t) => {
  const h = await startServer(t, { version: '9.9.9' })
  const doc = ((await post(h.url, rpc('rpc.discover'))).json as { result: OpenRpcDocument }).result
  t.equal(doc.openrpc, '1.2.6')
  t.same(doc.info, { title: 'attrchain', version: '9.9.9' })
  const names = doc.methods.map((m) => m.name).sort()
  t.same(names, ['account_get', 'chain_subscribe', 'chain_unsubscribe', 'rpc.discover', 'test_add', 'test_count', 'test_echo', 'test_fail'])
  const add = doc.methods.find((m) => m.name === 'test_add')!
  t.same(add.params, [
    { name: 'a', required: true, schema: { type: 'integer' } },
    { name: 'b', required: false, schema: { type: 'integer' } },
  ])
  t.same(add.result, { name: 'result', schema: { type: 'integer' } })
  const sub = doc.methods.find((m) => m.name === 'chain_subscribe')!
  t.same(sub.params, [{ name: 'topic', required: true, schema: { type: 'string', enum: ['newBlocks', 'distributions'] } }])
  for (const m of doc.methods) {
    t.type(m.summary, 'string', `${m.name}: summary`)
    t.ok(m.result.schema, `${m.name}: result schema`)
  }
})

t.test('HTTP routes, CORS and preflight', async (t) => {
  const h = await startServer(t)
  const base = h.url.slice(0, -1)
  const health = await fetch(`${base}/health`)
  t.equal(health.status, 200)
  t.same(await health.json(), { ok: true })

  // Issue 12 item 8: no CORS headers by default, and a browser's cross-origin request is refused outright.
  const preflight = await fetch(h.url, {
    method: 'OPTIONS',
    headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  })
  t.equal(preflight.status, 403, 'preflight from an origin not configured')
  t.equal(preflight.headers.get('access-control-allow-origin'), null, 'no CORS header by default')
  t.equal(errorOf(await preflight.json()).data?.reason, 'RPC_ERROR_ORIGIN_NOT_ALLOWED')
  const before = h.counter.n
  const refused = await fetch(h.url, { method: 'POST', body: rpc('test_count'), headers: { Origin: 'http://example.com' } })
  t.equal(refused.status, 403, 'a cross-origin call is refused')
  t.equal(refused.headers.get('access-control-allow-origin'), null)
  t.equal(errorOf(await refused.json()).code, -32600)
  t.equal(h.counter.n, before, 'and not run')

  const call = await fetch(h.url, { method: 'POST', body: rpc('test_count') })
  t.equal(call.status, 200, 'a client without Origin (curl, SDKs) is served')
  t.equal(call.headers.get('access-control-allow-origin'), null)
  t.equal(call.headers.get('content-type'), 'application/json')
  await call.text()
  const options = await fetch(h.url, { method: 'OPTIONS' })
  t.equal(options.status, 204)
  t.equal(options.headers.get('allow'), 'GET, POST, OPTIONS')

  const cases: [string, string, number][] = [
    ['GET', '/', 405],
    ['PUT', '/', 405],
    ['POST', '/health', 405],
    ['GET', '/nope', 404],
    ['POST', '/nope', 404],
  ]
  for (const [method, path, status] of cases) {
    const r = await fetch(base + path, { method })
    t.equal(r.status, status, `${method} ${path}`)
    t.equal(errorOf(await r.json()).code, -32600, `${method} ${path}: JSON-RPC error body`)
  }

  const metrics = await fetch(`${base}/metrics`)
  t.equal(await metrics.text(), 'attrchain_up 1\n', 'extra routes are served')
  const broken = await fetch(`${base}/broken`)
  t.equal(broken.status, 500, 'a failing extra route is a 500, not a crash')
  await broken.text()
  t.same((await post(h.url, rpc('test_add', [1, 2]))).json, { jsonrpc: '2.0', id: 1, result: 3 }, 'still serving')
})

t.test('configured CORS origins are echoed, others refused, over HTTP and WebSocket', async (t) => {
  const h = await startServer(t, { corsOrigins: ['http://localhost:3000', 'https://App.example'] })
  const preflight = await fetch(h.url, {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example', 'the origin is echoed, never *')
  t.match(preflight.headers.get('access-control-allow-methods'), /POST/)
  t.match(preflight.headers.get('access-control-allow-headers'), /Content-Type/i)
  t.match(preflight.headers.get('vary'), /Origin/)
  const call = await fetch(h.url, { method: 'POST', body: rpc('test_add', [1, 2]), headers: { Origin: 'http://localhost:3000' } })
  t.equal(call.headers.get('access-control-allow-origin'), 'http://localhost:3000')
  t.same(await call.json(), { jsonrpc: '2.0', id: 1, result: 3 })
  const other = await fetch(h.url, { method: 'POST', body: rpc('test_add', [1, 2]), headers: { Origin: 'http://localhost:3001' } })
  t.equal(other.status, 403)
  t.equal(other.headers.get('access-control-allow-origin'), null)
  await other.text()

  const { WebSocket } = await import('ws')
  const wsUrl = h.url.replace('http:', 'ws:')
  const upgrade = (origin?: string): Promise<string> =>
    new Promise((resolve) => {
      const ws = new WebSocket(wsUrl, origin ? { origin } : {})
      ws.once('open', () => {
        ws.terminate()
        resolve('open')
      })
      ws.once('unexpected-response', (_req, res) => {
        resolve(String(res.statusCode))
        ws.terminate()
      })
      ws.once('error', () => resolve('error'))
    })
  t.equal(await upgrade('https://app.example'), 'open', 'WebSocket from an allowed origin')
  t.equal(await upgrade(), 'open', 'WebSocket without Origin (not a browser)')
  t.equal(await upgrade('http://evil.example'), '403', 'WebSocket from another origin: browsers do not apply CORS to WebSockets, so the server refuses it')

  const any = await startServer(t, { corsOrigins: ['*'] })
  const star = await fetch(any.url, { method: 'POST', body: rpc('test_add', [1, 1]), headers: { Origin: 'http://whatever.example' } })
  t.equal(star.headers.get('access-control-allow-origin'), 'http://whatever.example', '"*" allows any origin, still echoed')
  await star.text()
})

t.test('metrics are counted per method with bounded labels', async (t) => {
  const h = await startServer(t)
  await post(h.url, rpc('test_add', [1]))
  await post(h.url, rpc('test_add', ['x']))
  await post(h.url, rpc('random_name_123'))
  await post(h.url, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'test_add' }))
  t.same(h.metrics, [
    ['test_add', true],
    ['test_add', false],
    ['(unknown)', false],
    ['(invalid)', false],
  ])
})

t.test('stop() closes keep-alive connections, is idempotent and final', async (t) => {
  const server = new RpcServer({ port: 0 }, { methods: [] })
  const { port } = await server.start()
  const res = await fetch(`http://127.0.0.1:${port}/health`)
  await res.text()
  await server.stop()
  await server.stop()
  await t.rejects(fetch(`http://127.0.0.1:${port}/health`), 'nothing listens after stop')
  await t.rejects(server.start(), { code: 'RPC_ERROR_STOPPED' })
})

t.test('a port in use is a typed error and the server can try again', async (t) => {
  const first = new RpcServer({ port: 0 }, { methods: [] })
  const { port } = await first.start()
  t.teardown(() => first.stop())
  const second = new RpcServer({ port }, { methods: [] })
  await t.rejects(second.start(), { code: 'RPC_ERROR_LISTEN', meta: { port, errno: 'EADDRINUSE' } })
  await first.stop()
  t.same(await second.start(), { port }, 'listens once the port is free')
  await second.stop()
})
