import t from 'tap'
import { AttrchainError } from '../../../core/errors.js'
import { commonSchemas, MethodTable } from '../../../rpc/methodTable.js'
import type { MethodSpec } from '../../../rpc/methodTable.js'

const account: MethodSpec = {
  name: 'account_get',
  summary: 'An account',
  params: [
    { name: 'address', required: true, schema: commonSchemas.address },
    {
      name: 'options',
      schema: {
        type: 'object',
        properties: { full: { type: 'boolean' }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
        additionalProperties: false,
      },
    },
  ],
  result: { type: 'object' },
  handler: () => null,
  examples: [{ name: 'an account', params: ['0x' + '11'.repeat(20)], result: { balance: '1' } }],
}

const block: MethodSpec = {
  name: 'chain_getBlock',
  summary: 'A block',
  params: [{ name: 'height', required: true, schema: commonSchemas.heightOrLatest }],
  result: { type: ['object', 'null'] },
  handler: () => null,
}

const list: MethodSpec = {
  name: 'test_list',
  summary: 'Lists',
  params: [
    { name: 'amounts', required: true, schema: { type: 'array', items: commonSchemas.amount, maxItems: 3 } },
    { name: 'kind', schema: { type: 'string', enum: ['a', 'b'] } },
  ],
  result: { type: 'array' },
  handler: () => [],
}

const table = new MethodTable([account, block, list])

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof AttrchainError) return `${e.code}: ${e.reason}`
    throw e
  }
  return 'accepted'
}

t.test('valid params pass, omitted and null optional params become undefined', async (t) => {
  const addr = '0x' + 'aB'.repeat(20)
  t.same(table.validateParams(account, [addr]), [addr, undefined])
  t.same(table.validateParams(account, [addr, null]), [addr, undefined])
  t.same(table.validateParams(account, [addr, { full: true, limit: 5 }]), [addr, { full: true, limit: 5 }])
  t.same(table.validateParams(block, [0]), [0])
  t.same(table.validateParams(block, ['latest']), ['latest'])
  t.same(table.validateParams(list, [['0', '123']]), [['0', '123'], undefined])
})

t.test('absent params mean no params', async (t) => {
  const none: MethodSpec = { name: 'chain_params', summary: 's', params: [], result: {}, handler: () => null }
  t.same(new MethodTable([none]).validateParams(none, undefined), [])
})

t.test('refusals name the param and the rule', async (t) => {
  const cases: [MethodSpec, unknown, string][] = [
    [account, ['0x12'], 'params[0] (address): must match ^0x[0-9a-fA-F]{40}$'],
    [account, [12], 'params[0] (address): must be string'],
    [account, [], 'params[0] (address): required'],
    [account, [null], 'params[0] (address): must be string'],
    [account, ['0x' + '11'.repeat(20), { full: 1 }], 'params[1] (options).full: must be boolean'],
    [account, ['0x' + '11'.repeat(20), { limit: 0 }], 'params[1] (options).limit: must be ≥ 1'],
    [account, ['0x' + '11'.repeat(20), { limit: 1.5 }], 'params[1] (options).limit: must be integer'],
    [account, ['0x' + '11'.repeat(20), { limit: 101 }], 'params[1] (options).limit: must be ≤ 100'],
    [account, ['0x' + '11'.repeat(20), { nope: 1 }], 'params[1] (options): unknown property "nope"'],
    [account, ['0x' + '11'.repeat(20), [1]], 'params[1] (options): must be object'],
    [account, ['0x' + '11'.repeat(20), {}, 3], 'account_get takes at most 2 params, got 3'],
    [account, { address: '0x' }, 'params must be a positional array (by-name params are not supported)'],
    [block, [-1], 'params[0] (height): must be ≥ 0; or must be string'],
    [block, ['earliest'], 'params[0] (height): must be integer; or must be one of "latest"'],
    [block, [2 ** 53], 'params[0] (height): must be integer; or must be string'],
    [list, [['01']], 'params[0] (amounts)[0]: must match ^(0|[1-9][0-9]*)$'],
    [list, [['1'.repeat(40)]], 'params[0] (amounts)[0]: must be at most 39 characters'],
    [list, [['1', '2', '3', '4']], 'params[0] (amounts): must have at most 3 items'],
    [list, [[], 'c'], 'params[1] (kind): must be one of "a", "b"'],
  ]
  for (const [spec, params, message] of cases) {
    t.equal(refusal(() => table.validateParams(spec, params)), `RPC_ERROR_INVALID_PARAMS: ${message}`, JSON.stringify(params))
  }
})

t.test('bad method tables fail at construction', async (t) => {
  const base = { summary: 's', params: [], result: {}, handler: () => null }
  t.throws(() => new MethodTable([{ ...base, name: 'account_get' }, { ...base, name: 'account_get' }]), /duplicate method/)
  t.throws(() => new MethodTable([{ ...base, name: 'NotNamespaced' }]), /bad method name/)
  t.throws(
    () =>
      new MethodTable([
        { ...base, name: 'a_b', params: [{ name: 'x', schema: {} }, { name: 'y', required: true, schema: {} }] },
      ]),
    /required param y follows an optional one/,
  )
  t.throws(() => new MethodTable([{ ...base, name: 'a_b', params: [{ name: 'x', schema: { pattern: '(' } }] }]))
})

t.test('OpenRPC document is generated from the table', async (t) => {
  const doc = table.openRpc('1.2.3')
  t.equal(doc.openrpc, '1.2.6')
  t.same(doc.info, { title: 'attrchain', version: '1.2.3' })
  t.same(
    doc.methods.map((m) => m.name),
    ['account_get', 'chain_getBlock', 'test_list'],
  )
  const acc = doc.methods[0]!
  t.equal(acc.paramStructure, 'by-position')
  t.same(
    acc.params.map((p) => [p.name, p.required]),
    [
      ['address', true],
      ['options', false],
    ],
  )
  t.same(acc.params[0]!.schema, commonSchemas.address)
  t.same(acc.result, { name: 'result', schema: { type: 'object' } })
  t.same(acc.examples, [
    {
      name: 'an account',
      params: [{ name: 'address', value: '0x' + '11'.repeat(20) }],
      result: { name: 'result', value: { balance: '1' } },
    },
  ])
})

t.test('hex bytes params: the native check agrees with the documented pattern', async (t) => {
  const raw: MethodSpec = { name: 'tx_raw', summary: 'Raw bytes', params: [{ name: 'raw', required: true, schema: commonSchemas.hex }], result: { type: 'object' }, handler: () => null }
  const hexTable = new MethodTable([raw])
  const pattern = new RegExp(commonSchemas.hex.pattern)
  const samples = ['0x', '0x00', '0xAbCd', '0x' + 'ff'.repeat(100_000), '0x0', '0xgg', '0x00g0', '00', '0X00', 'x000', '0x00 ', '0x' + 'ab'.repeat(10) + 'z1', '0x💥']
  for (const s of samples) {
    const accepted = refusal(() => hexTable.validateParams(raw, [s])) === 'accepted'
    t.equal(accepted, pattern.test(s), `${s.slice(0, 24)}${s.length > 24 ? '…' : ''} (${s.length} chars)`)
  }
})
