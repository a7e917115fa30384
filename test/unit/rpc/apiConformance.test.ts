import t from 'tap'
import { startInProcessNode } from '../../helpers/inProcessNode.js'
import { Ajv, type ValidateFunction } from 'ajv'
import metaSchemaPackage from '@open-rpc/meta-schema'
import { receiptId } from '../../../core/tx.js'
import { PARAM_KEYS } from '../../../genesis/params.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { devAccountKey, } from '../../../genesis/devnet.js'
import {TxSender, RpcRequestError, chainApi, registerDatanet, setDatanetTerms, contribute, reviewContribution, registerModel,
  setModelTerms, approveOperator, submitReceipts, transfer, wireSchemas, amountFields, type ChainMethod, type JsonSchema, type MethodDeclaration, type OpenRpcDocument,
} from '../../../rpc/index.js'

/**
 * The API table (rpc/api.ts) against what is served: rpc.discover is a valid
 * OpenRPC document, every example fits its method's schemas, and every
 * result a live node gives for every declared method fits the declared
 * result schema (the schemas are checked by ajv, an independent validator).
 */

const { openrpcDocument } = metaSchemaPackage as unknown as { openrpcDocument: Record<string, unknown> }

function openRpcValidator(): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false })
  // The OpenRPC meta-schema refers to json-schema-tools' meta-schema (https://meta.json-schema.tools, package
  // @json-schema-tools/meta-schema, not a dependency here) for every schema it holds. That one is JSON Schema
  // draft-07's meta-schema, which ajv ships: the references are pointed at it, so our schemas are checked against draft-07.
  const { $schema: _dialect, ...schema } = openrpcDocument
  const text = JSON.stringify(schema)
    .replaceAll('{"$ref":"https://meta.json-schema.tools/#/definitions/JSONSchemaObject/properties/$ref"}', '{"type":"string"}')
    .replaceAll('"https://meta.json-schema.tools"', '"http://json-schema.org/draft-07/schema#"')
  if (text.includes('meta.json-schema.tools')) throw new Error('the OpenRPC meta-schema refers to json-schema-tools in a new way')
  return ajv.compile(JSON.parse(text) as object)
}

const schemaAjv = new Ajv({ strict: false, allErrors: true })
const compiled = new Map<JsonSchema, ValidateFunction>()
function check(schema: JsonSchema, value: unknown): string | null {
  let v = compiled.get(schema)
  if (!v) compiled.set(schema, (v = schemaAjv.compile(schema as object)))
  return v(value) ? null : schemaAjv.errorsText(v.errors)
}

const declared = (m: string): MethodDeclaration => (chainApi as Record<string, MethodDeclaration>)[m]

t.test('every example of the table fits its params and result schemas', async (t) => {
  let n = 0
  for (const [name, decl] of Object.entries(chainApi) as [string, MethodDeclaration][]) {
    for (const ex of decl.examples ?? []) {
      n++
      t.equal(check(decl.result, ex.result), null, `${name} example "${ex.name}": result fits`)
      ex.params.forEach((p, i) => t.equal(check(decl.params[i].schema, p), null, `${name} example "${ex.name}": params[${i}] fits`))
    }
  }
  t.ok(n >= 5, `examples checked: ${n}`)
})

t.test('the amount fields the CLI shows in OPEN derive from the table', async (t) => {
  const fields = amountFields()
  // the CLI's own list before it was derived: every one is still there
  for (const k of ['balance', 'staked', 'unbonding', 'pendingRewards', 'amount', 'selfStake', 'delegated', 'power', 'contributionBond', 'earned',
    'minFee', 'feesTotal', 'fee', 'minted', 'total', 'bond', 'unclaimed', 'minTxFee', 'blockReward', 'minValidatorStake']) t.ok(fields.has(k), `${k} is an amount`)
  for (const k of ['curationEarned', 'royaltiesEarned', 'syntheticPaid', 'receiptFees']) t.ok(fields.has(k), `${k} (added since) is an amount`)
  for (const k of ['totalWeight', 'weight', 'nonce', 'height', 'id']) t.notOk(fields.has(k), `${k} is not an amount`)
})

t.test('chain_params declares every chain parameter, in the canonical order', async (t) => {
  t.same(Object.keys(wireSchemas.chainParams.properties), PARAM_KEYS, 'the result schema lists genesis/params.ts PARAM_KEYS')
})

t.test('a live node: rpc.discover is valid OpenRPC, and every declared method answers within its result schema', async (t) => {
  const { node, client } = await startInProcessNode(t, 'api')

  const doc = await client.call<OpenRpcDocument>('rpc.discover')
  const validate = openRpcValidator()
  t.ok(validate(doc), `rpc.discover is a valid OpenRPC document: ${JSON.stringify(validate.errors?.slice(0, 3))}`)
  t.equal(check(doc.methods.find((m) => m.name === 'rpc.discover')!.result.schema, doc), null, 'rpc.discover fits its own result schema')
  for (const m of doc.methods) t.notSame(m.result.schema, { type: 'object' }, `${m.name}: a result schema that says more than "an object"`)
  for (const name of Object.keys(chainApi)) {
    const m = doc.methods.find((x) => x.name === name)
    t.same(m?.result.schema, declared(name).result, `${name}: rpc.discover publishes the declared result schema`)
  }
  for (const m of doc.methods) {
    for (const ex of m.examples ?? []) t.equal(check(m.result.schema, ex.result.value), null, `${m.name} example "${ex.name}" fits (as discovered)`)
  }

  // A chain with one of everything the results describe: Datanet with curator terms, accepted and pending
  // contributions, a synthetic one, a derived model with a royalty stack, receipts with a trace.
  const [cur, ob, of, carol, op] = [0, 1, 2, 3, 4].map((k) => new TxSender(client, devAccountKey(k)))
  const send = async (s: TxSender, call: Parameters<TxSender['send']>[0]): Promise<string> => {
    const end = Date.now() + 60_000
    for (;;) {
      try {
        const r = await s.send(call, { wait: 'commit' })
        t.equal(r.status, 'ok', `${call.type} committed`)
        return r.hash
      } catch (e) {
        // MEMPOOL_ERROR_FULL is backpressure on a loaded box: back off and resend.
        if (!(e instanceof RpcRequestError) || e.reason !== 'MEMPOOL_ERROR_FULL' || Date.now() > end) throw e
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }
  const D = await send(cur, registerDatanet('d1', 'ipfs://d1', '0'))
  await send(cur, setDatanetTerms(D, 1000))
  const a = await send(cur, contribute(D, sha256('a'), 'ipfs://a'))
  await send(cur, reviewContribution(a, true, 1))
  await send(carol, contribute(D, sha256('pending'), 'ipfs://p'))
  const B = await send(ob, registerModel('base', '', [[D, 1]], '0'))
  await send(ob, setModelTerms(B, 1000, true))
  const F = await send(of, registerModel('ft', 'base', [[D, 1]], '0', [B]))
  const k = await send(carol, contribute(D, sha256('gen'), 'ipfs://gen', B))
  await send(cur, reviewContribution(k, true, 1))
  const payer = devAccountKey(5)
  await send(new TxSender(client, payer), approveOperator(devAccountKey(4).address, '10OPEN'))
  const trace = toHex(sha256('end-user request'))
  const receipts = await send(op, submitReceipts([
    { modelId: F, payer: payer.address, fee: '1000000', inputHash: sha256('i1'), outputHash: sha256('o1'), attribution: [[k, 1]], traceId: trace },
    { modelId: B, payer: payer.address, fee: '1000000', inputHash: sha256('i2'), outputHash: sha256('o2'), attribution: [[a, 1]] },
  ]))
  const rid = receiptId(receipts, 0)
  const height = (await client.getTx(receipts))!.height!
  const stx = await new TxSender(client, devAccountKey(6)).sign(transfer(devAccountKey(7).address, 1n))
  const unknown = toHex(sha256('unknown'))
  const alice = devAccountKey(0).address

  const calls: [ChainMethod, unknown[]][] = [
    ['chain_status', []], ['chain_params', []],
    ['chain_getBlock', [height]], ['chain_getBlock', [height, { full: true }]], ['chain_getBlock', ['latest']], ['chain_getBlock', [height + 1_000_000]],
    ['chain_getCommit', [height]], ['chain_getCommit', [height + 1_000_000]],
    ['chain_getValidatorSet', [height]], ['chain_getValidatorSet', [height + 1_000_000]],
    ['chain_getDistribution', [height]], ['chain_getDistribution', [height + 1_000_000]],
    ['tx_send', [toHex(stx.bytes), { wait: 'commit' }]],
    ['tx_get', [receipts]], ['tx_get', [unknown]],
    ['account_get', [alice]], ['account_allowance', [payer.address, devAccountKey(4).address]],
    ['staking_validators', []], ['staking_delegations', [alice]],
    ['datanet_get', [D]], ['datanet_get', [unknown]], ['datanet_list', []], ['datanet_list', [{ owner: alice, limit: 5 }]],
    ['datanet_contributions', [D]], ['datanet_contributions', [unknown]],
    ['contribution_get', [a]], ['contribution_get', [k]], ['contribution_get', [unknown]],
    ['model_get', [F]], ['model_get', [unknown]], ['model_lineage', [B]], ['model_lineage', [unknown]], ['model_list', []],
    ['receipt_get', [rid]], ['receipt_get', [unknown]], ['attribution_explain', [rid]], ['attribution_explain', [receiptId(receipts, 1)]],
    ['attribution_explain', [unknown]], ['receipt_trace', [trace]],
    ['attribution_address', [alice]], ['attribution_address', [devAccountKey(1).address]],
    ['stats_flow', []], ['stats_flow', [{ fromHeight: 1, buckets: 3 }]], ['stats_leaders', [{ limit: 3 }]],
    ['rollup_getCheckpoint', []], ['rollup_getCheckpoint', [100]], ['rollup_getCheckpointSet', []],
    ['state_getProof', [{ kind: 'account', id: alice }]], ['state_getProof', [{ kind: 'modelLineage', id: F }, height]], ['state_getProof', [{ kind: 'datanet', id: unknown }, 1]],
  ]
  const seen = new Set<string>()
  for (const [method, params] of calls) {
    const result = await client.call<unknown>(method, params)
    seen.add(method)
    t.equal(check(declared(method).result, result), null, `${method} ${JSON.stringify(params).slice(0, 80)}: result fits the declared schema`)
  }
  t.same([...seen].sort(), Object.keys(chainApi).sort(), 'every declared method was called')
})
