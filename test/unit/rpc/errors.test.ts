import t from 'tap'
import { AttrchainError, CodecError, GenesisError, TxError } from '../../../core/errors.js'
import { jsonRpcCodeFor, RpcError, stringifyJson, toJsonRpcError, toJsonSafe } from '../../../rpc/errors.js'

t.test('error codes map to JSON-RPC codes through the one table', async (t) => {
  const cases: [string, number][] = [
    ['TX_ERROR_BAD_NONCE', -32001],
    ['TX_ERROR_BAD_AMOUNT', -32001],
    ['MEMPOOL_ERROR_FULL', -32002],
    ['RPC_ERROR_TIMEOUT', -32003],
    ['CODEC_ERROR_BAD_HEX', -32602],
    ['RPC_ERROR_INVALID_PARAMS', -32602],
    ['RPC_ERROR_METHOD_NOT_FOUND', -32601],
    ['RPC_ERROR_INVALID_REQUEST', -32600],
    ['RPC_ERROR_PARSE', -32700],
    ['GENESIS_ERROR_INVALID', -32000],
    ['INVARIANT_VIOLATED', -32000],
    ['RPC_ERROR_TIMEOUTS', -32000],
  ]
  for (const [code, rpc] of cases) t.equal(jsonRpcCodeFor(code), rpc, code)
})

t.test('an AttrchainError becomes a readable message and a machine-readable reason', async (t) => {
  const e = new TxError('TX_ERROR_BAD_NONCE', 'nonce 3 is below the account nonce 5', { expected: 5n, got: 3 })
  t.same(toJsonRpcError(e), {
    error: {
      code: -32001,
      message: 'nonce 3 is below the account nonce 5',
      data: { reason: 'TX_ERROR_BAD_NONCE', expected: '5', got: 3 },
    },
    internal: false,
  })
  t.equal(toJsonRpcError(new CodecError('CODEC_ERROR_BAD_HEX', 'x')).error.code, -32602)
  t.equal(toJsonRpcError(new GenesisError('GENESIS_ERROR_INVALID', 'x')).error.code, -32000)
  t.equal(toJsonRpcError(new RpcError('RPC_ERROR_TIMEOUT', 'x')).error.code, -32003)
})

t.test('meta cannot override the reason', async (t) => {
  const e = new AttrchainError('MEMPOOL_ERROR_FULL', 'full', { reason: 'spoofed' })
  t.same(toJsonRpcError(e).error.data, { reason: 'MEMPOOL_ERROR_FULL' })
})

t.test('anything else is an internal error that says nothing', async (t) => {
  const r = toJsonRpcError(new Error('secret detail at /home/x.ts:1'))
  t.same(r, { error: { code: -32603, message: 'internal error', data: { reason: 'RPC_ERROR_INTERNAL' } }, internal: true })
  t.equal(toJsonRpcError('thrown string').internal, true)
})

t.test('toJsonSafe makes metadata serializable', async (t) => {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  const safe = toJsonSafe({
    big: 2n ** 130n,
    bytes: new Uint8Array([1, 255]),
    nested: [{ n: 1n }, undefined],
    err: new Error('inner'),
    fn: () => 1,
    nan: NaN,
    circular,
  }) as Record<string, unknown>
  t.equal(safe.big, (2n ** 130n).toString())
  t.equal(safe.bytes, '0x01ff')
  t.same(safe.nested, [{ n: '1' }, null])
  t.equal(safe.err, 'inner')
  t.notOk('fn' in safe)
  t.equal(safe.nan, 'NaN')
  t.doesNotThrow(() => JSON.stringify(safe))
})

t.test('stringifyJson writes bigints as decimal strings and bytes as hex', async (t) => {
  t.equal(
    stringifyJson({ a: 10n ** 30n, b: new Uint8Array([0xab]), c: Buffer.from([1, 2]), d: [1n] }),
    '{"a":"1000000000000000000000000000000","b":"0xab","c":"0x0102","d":["1"]}',
  )
  t.equal(stringifyJson(undefined), 'null')
})
