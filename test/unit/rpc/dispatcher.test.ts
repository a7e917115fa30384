import t from 'tap'
import { silentLogger } from '../../../core/logger.js'
import { JsonRpcDispatcher } from '../../../rpc/dispatcher.js'
import { MethodTable, type CallContext, type MethodSpec } from '../../../rpc/methodTable.js'
import { JsonRpcErrorCode, RpcError, RpcErrorCode } from '../../../rpc/errors.js'

/**
 * The JSON-RPC dispatcher without any socket: bytes in, reply text out
 * (rpc/dispatcher.ts). The transports' own behaviour is tested over real
 * sockets in serverHttp / serverWs / serverLimits.
 */

const methods: MethodSpec[] = [
  {
    name: 'test_echo', summary: 'echo', params: [{ name: 'x', required: true, schema: { type: 'integer', minimum: 0 } }], result: { type: 'integer' },
    handler: ([x]) => x,
  },
  { name: 'test_big', summary: 'a large result', params: [], result: { type: 'string' }, handler: () => 'x'.repeat(500) },
  { name: 'test_transport', summary: 'which transport', params: [], result: { type: 'string' }, handler: (_p, ctx) => ctx.transport },
]

function dispatcher(opts: { maxBatch?: number; maxResponseBytes?: number } = {}): JsonRpcDispatcher {
  return new JsonRpcDispatcher({ maxBatch: opts.maxBatch ?? 10, maxResponseBytes: opts.maxResponseBytes ?? 1_000_000 }, new MethodTable(methods), silentLogger, null)
}

const ctx = (): CallContext => ({ transport: 'ws', signal: new AbortController().signal })

async function call(d: JsonRpcDispatcher, payload: unknown, refused: Parameters<JsonRpcDispatcher['handlePayload']>[2] = null): Promise<unknown> {
  const out = await d.handlePayload(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), ctx(), refused)
  if (out === null) return null
  const text = out.parts.join('')
  t.equal(Buffer.byteLength(text), out.bytes, 'the reply says its own size')
  return JSON.parse(text)
}

t.test('one request, a notification, a batch: answered by id, in order, without any socket', async (t) => {
  const d = dispatcher()
  t.same(await call(d, { jsonrpc: '2.0', id: 1, method: 'test_echo', params: [7] }), { jsonrpc: '2.0', id: 1, result: 7 })
  t.same(await call(d, { jsonrpc: '2.0', id: 'a', method: 'test_transport' }), { jsonrpc: '2.0', id: 'a', result: 'ws' }, 'handlers see the call context')
  t.equal(await call(d, { jsonrpc: '2.0', method: 'test_echo', params: [1] }), null, 'a notification gets nothing back')
  const batch = (await call(d, [
    { jsonrpc: '2.0', id: 1, method: 'test_echo', params: [1] },
    { jsonrpc: '2.0', method: 'test_echo', params: [2] },
    { jsonrpc: '2.0', id: 3, method: 'nope_nope' },
    { jsonrpc: '2.0', id: 4, method: 'test_echo', params: [-1] },
  ])) as { id: number; result?: unknown; error?: { code: number } }[]
  t.same(batch.map((r) => r.id), [1, 3, 4], 'one answer per request with an id, in order')
  t.equal(batch[0].result, 1)
  t.equal(batch[1].error?.code, JsonRpcErrorCode.methodNotFound)
  t.equal(batch[2].error?.code, JsonRpcErrorCode.invalidParams)
})

t.test('bad payloads get one error and run nothing', async (t) => {
  const d = dispatcher({ maxBatch: 2 })
  const codeOf = async (p: unknown) => ((await call(d, p)) as { error: { code: number } }).error.code
  t.equal(await codeOf('{"jsonrpc":'), JsonRpcErrorCode.parseError, 'invalid JSON')
  const deep = (await call(d, '['.repeat(100) + ']'.repeat(100))) as { error: { code: number; data: { reason: string } } }
  t.equal(deep.error.data.reason, RpcErrorCode.tooDeep, 'nested too deep: refused before parsing')
  t.equal(await codeOf([]), JsonRpcErrorCode.invalidRequest, 'empty batch')
  t.equal(await codeOf([1, 2, 3]), JsonRpcErrorCode.invalidRequest, 'batch over maxBatch')
  t.equal(await codeOf({ jsonrpc: '1.0', id: 1, method: 'test_echo' }), JsonRpcErrorCode.invalidRequest, 'wrong version')
  const bad = await d.handlePayload(Buffer.from([0x22, 0xff, 0x22]), ctx(), null)
  t.equal((JSON.parse(bad!.parts.join('')) as { error: { code: number } }).error.code, JsonRpcErrorCode.parseError, 'not UTF-8')
})

t.test('the response budget: past it, results become errors and the rest of the batch is not run', async (t) => {
  const d = dispatcher({ maxResponseBytes: 700 })
  const out = (await call(d, [
    { jsonrpc: '2.0', id: 1, method: 'test_big' },
    { jsonrpc: '2.0', id: 2, method: 'test_big' },
    { jsonrpc: '2.0', id: 3, method: 'test_echo', params: [3] },
  ])) as { id: number; result?: string; error?: { code: number; data: { reason: string } } }[]
  t.equal(out[0].result?.length, 500, 'the first fits')
  for (const r of out.slice(1)) t.equal(r.error?.data.reason, RpcErrorCode.responseTooLarge, `item ${r.id} refused as too large`)
})

t.test('a refused payload: every request owed an answer gets the refusal, none is run', async (t) => {
  let ran = 0
  const d = new JsonRpcDispatcher({ maxBatch: 10, maxResponseBytes: 1_000_000 }, new MethodTable([
    { name: 'test_count', summary: 'count', params: [], result: { type: 'integer' }, handler: () => ++ran },
  ]), silentLogger, null)
  const refusal = { reason: 'busy_server' as const, error: new RpcError(RpcErrorCode.busy, 'busy', { scope: 'server', limit: 1 }) }
  const out = (await call(d, [{ jsonrpc: '2.0', id: 1, method: 'test_count' }, { jsonrpc: '2.0', method: 'test_count' }], refusal)) as { error: { data: { reason: string } } }[]
  t.equal(out.length, 1, 'the notification is not answered')
  t.equal(out[0].error.data.reason, RpcErrorCode.busy)
  t.equal(ran, 0, 'nothing ran')
})

t.test('load shedding (MethodSpec.shed): asked before params are validated; once a batch call is shed, the rest of the batch is refused with the same error', async (t) => {
  // A token bucket that refuses the 2nd call and would take the 3rd again (it refilled meanwhile): the
  // case of a tx_send batch whose later nonce was taken after an earlier one was refused (issue 10).
  let asked = 0
  const seen: (Error | null)[] = []
  const ran: unknown[] = []
  const shedMethod: MethodSpec = {
    name: 'test_submit', summary: 'a shed method', params: [{ name: 'n', required: true, schema: { type: 'integer' } }], result: { type: 'integer' },
    handler: ([n]) => {
      ran.push(n)
      return n
    },
    shed: (_params, earlier) => {
      seen.push(earlier)
      asked++
      return earlier ?? (asked === 2 ? new RpcError(RpcErrorCode.busy, 'busy: retry later') : null)
    },
  }
  const d = new JsonRpcDispatcher({ maxBatch: 10, maxResponseBytes: 1_000_000 }, new MethodTable([...methods, shedMethod]), silentLogger, null)
  const out = (await call(d, [
    { jsonrpc: '2.0', id: 1, method: 'test_submit', params: [1] },
    { jsonrpc: '2.0', id: 2, method: 'test_submit', params: [2] },
    { jsonrpc: '2.0', id: 3, method: 'test_submit', params: [3] },
    { jsonrpc: '2.0', id: 4, method: 'test_echo', params: [4] },
    { jsonrpc: '2.0', id: 5, method: 'test_submit', params: ['not an integer'] },
  ])) as { id: number; result?: unknown; error?: { code: number; message: string } }[]
  t.same(ran, [1], 'only the call before the refusal ran')
  t.equal(out[0].result, 1)
  t.equal(out[1].error?.message, 'busy: retry later')
  t.equal(out[2].error?.message, 'busy: retry later', 'a later call is refused although the hook would have let it through alone')
  t.equal(out[3].result, 4, 'other methods of the batch are not affected')
  t.equal(out[4].error?.message, 'busy: retry later', 'shed before its params are validated: no decoding work for a refused call')
  t.same(seen.map((e) => (e === null ? null : (e as RpcError).code)), [null, null, RpcErrorCode.busy, RpcErrorCode.busy], 'the hook sees the earlier refusal of its batch')
  const again = (await call(d, { jsonrpc: '2.0', id: 6, method: 'test_submit', params: [6] })) as { result?: unknown }
  t.equal(again.result, 6, 'the next request starts afresh')
})

t.test('request text: ASCII and UTF-8 decoded alike, a leading byte order mark dropped, invalid UTF-8 a parse error', async (t) => {
  const table = new MethodTable([...methods, { name: 'test_str', summary: 'echo a string', params: [{ name: 's', required: true, schema: { type: 'string' } }], result: { type: 'string' }, handler: ([s]) => s }])
  const d = new JsonRpcDispatcher({ maxBatch: 10, maxResponseBytes: 1_000_000 }, table, silentLogger, null)
  const send = async (bytes: Buffer): Promise<{ result?: unknown; error?: { code: number; data?: { reason?: string } } }> => {
    const out = await d.handlePayload(bytes, ctx(), null)
    return JSON.parse((out?.parts ?? []).join(''))
  }
  const req = (s: string) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test_str', params: [s] })
  t.equal((await send(Buffer.from(req('plain ascii')))).result, 'plain ascii')
  t.equal((await send(Buffer.from(req('Datanet für Übersetzungen ✓ 数据')))).result, 'Datanet für Übersetzungen ✓ 数据', 'multi-byte UTF-8')
  t.equal((await send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(req('bom'))]))).result, 'bom', 'a UTF-8 byte order mark is skipped')
  for (const bad of [Buffer.from([0x7b, 0xff, 0x7d]), Buffer.concat([Buffer.from(req('x')).subarray(0, 10), Buffer.from([0xc3]), Buffer.from(req('x')).subarray(10)])]) {
    const r = await send(bad)
    t.equal(r.error?.code, JsonRpcErrorCode.parseError, 'invalid UTF-8')
    t.equal(r.error?.data?.reason, RpcErrorCode.parse)
  }
})

t.test('payloads share one slice of the event loop\'s turn: one slow item per turn, a timer due meanwhile runs between them (issue 10: consensus first)', async (t) => {
  // Each item keeps the thread 15 ms, more than the RPC's 10 ms slice, so every item ends a slice.
  const log: string[] = []
  // turns of the event loop so far (a setImmediate that re-arms itself), and the turn each item ran in
  let turns = 0
  const turnOf = new Map<string, number>()
  const slow: MethodSpec = {
    name: 'test_slow', summary: 'busy for 15 ms', params: [{ name: 'tag', required: true, schema: { type: 'string' } }], result: { type: 'string' },
    handler: ([tag]) => {
      const until = performance.now() + 15
      while (performance.now() < until) { /* busy: a synchronous handler, as a large serialization is */ }
      log.push(tag as string)
      turnOf.set(tag as string, turns)
      return tag as string
    },
  }
  const d = new JsonRpcDispatcher({ maxBatch: 10, maxResponseBytes: 1_000_000 }, new MethodTable([slow]), silentLogger, null)
  const batch = (p: string) => Buffer.from(JSON.stringify([1, 2, 3].map((i) => ({ jsonrpc: '2.0', id: i, method: 'test_slow', params: [`${p}${i}`] }))))
  // Two batches that arrive together (as HTTP bodies in one poll phase) and a timer armed with them (a
  // consensus timeout). Before the shared slice, each body was parsed and its batch started at once: the
  // two batches' first items ran back to back before the timer could.
  // The slice is the process's: let the one an earlier test may have started run out (10 ms), so that
  // these bodies arrive as at an idle node and both wait for a turn; with part of a slice left, the first
  // body would start at once and the order would depend on how long ago the earlier test ended.
  await new Promise((resolve) => setTimeout(resolve, 20))
  let ticking = true
  const tick = (): void => {
    turns++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const timer = new Promise<void>((resolve) => setTimeout(() => { log.push('timer'); resolve() }, 0))
  const [a, b] = await Promise.all([d.handlePayload(batch('a'), ctx(), null), d.handlePayload(batch('b'), ctx(), null), timer.then(() => undefined)])
  ticking = false
  t.ok(a !== null && b !== null, 'both answered')
  t.ok(log.indexOf('timer') >= 0 && log.indexOf('timer') <= 1, `the timer ran after at most one slow item (order: ${log.join(' ')})`)
  const items = log.filter((x) => x !== 'timer')
  t.same(items, ['a1', 'b1', 'a2', 'b2', 'a3', 'b3'], 'the two batches take turns, each item in its arrival order')
  t.equal(new Set(turnOf.values()).size, items.length, `each slow item in a turn of its own (turns ${[...turnOf.values()].join(' ')})`)
})
