/**
 * attribution_explain, model_lineage and receipt_trace (DESIGN §4.1) through
 * a real node: in-process node, real LevelDB in a temp dir, real JSON-RPC
 * over HTTP, the typed client and the CLI `query explain | lineage | trace`.
 */
import t from 'tap'
import { startInProcessNode } from '../../helpers/inProcessNode.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { devAccountKey, } from '../../../genesis/devnet.js'
import { main, type CliIo } from '../../../node/cli.js'
import {TxSender, RpcRequestError, registerDatanet, contribute, reviewContribution, registerModel, submitReceipts, setModelTerms, setDatanetTerms, units,
} from '../../../rpc/index.js'

async function cliJson(args: string[]): Promise<{ code: number; json: unknown; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main([...args, '--json'], io)
  return { code, json: stdout.trim() === '' ? null : JSON.parse(stdout), stderr }
}

t.test('lineage queries round trip through a real node: client and CLI', async (t) => {
  const { node, client } = await startInProcessNode(t, 'lineage')
  const [cur, ob, of, carol, op] = [0, 1, 2, 3, 4].map((k) => new TxSender(client, devAccountKey(k)))
  /** Send and wait for commit; on MEMPOOL_ERROR_FULL (backpressure, e.g. event-loop lag on a loaded box) back off and resend, as the README says. */
  const send = async (s: TxSender, call: Parameters<TxSender['send']>[0]) => {
    const end = Date.now() + 60_000
    for (;;) {
      try {
        return await s.send(call, { wait: 'commit' })
      } catch (e) {
        if (!(e instanceof RpcRequestError) || (e.data as { reason?: string } | undefined)?.reason !== 'MEMPOOL_ERROR_FULL' || Date.now() > end) throw e
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }
  const ok = async (s: TxSender, call: Parameters<TxSender['send']>[0]) => {
    const r = await send(s, call)
    t.equal(r.status, 'ok', `${call.type} committed`)
    return r.hash
  }
  const D1 = await ok(cur, registerDatanet('d1', 'ipfs://d1', '0'))
  await ok(cur, setDatanetTerms(D1, 1000))
  const a = await ok(cur, contribute(D1, sha256('a'), 'ipfs://a'))
  await ok(cur, reviewContribution(a, true, 1))
  const B = await ok(ob, registerModel('base', '', [[D1, 1]], '0'))
  await ok(ob, setModelTerms(B, 1000, true))
  const F = await ok(of, registerModel('ft', 'base', [[D1, 1]], '0', [B]))
  const k = await ok(carol, contribute(D1, sha256('gen'), 'ipfs://gen', B))
  await ok(cur, reviewContribution(k, true, 1))
  const trace = toHex(sha256('end-user request'))
  const opAddr = devAccountKey(4).address
  const sent = await send(op, submitReceipts([
    { modelId: F, payer: opAddr, fee: '1000000', inputHash: sha256('i1'), outputHash: sha256('o1'), attribution: [[k, 1]], traceId: trace },
    { modelId: F, payer: opAddr, fee: '1000000', inputHash: sha256('i2'), outputHash: sha256('o2'), attribution: [], traceId: trace },
    { modelId: B, payer: opAddr, fee: '1000000', inputHash: sha256('i3'), outputHash: sha256('o3'), attribution: [] },
  ]))
  t.equal(sent.status, 'ok', 'receipts committed')

  const lineage = await client.modelLineage(F)
  t.same(lineage, { modelId: F, derivativeRoyaltyBps: 0, allowDerivatives: true, parents: [B], stack: [{ modelId: B, royaltyBps: 1000 }], children: [], childCount: 0 }, 'model_lineage of F')
  t.same((await client.modelLineage(B))?.children, [F], 'B lists F as its child')
  t.equal(await client.modelLineage(toHex(sha256('no such model'))), null, 'unknown model → null')

  const traced = await client.receiptTrace(trace)
  t.equal(traced.length, 2, 'the trace holds the two receipts that carry it')
  t.same(traced.map((r) => r.index), [0, 1], 'in chain order')
  t.ok(traced.every((r) => r.traceId === trace && r.txHash === sent.hash))
  t.same((await client.receiptTrace(trace, { offset: 1, limit: 1 })).map((r) => r.index), [1], 'paged')
  t.same(await client.receiptTrace(toHex(sha256('no such trace'))), [], 'unknown trace → []')

  for (const r of traced) {
    const e = await client.explainReceipt(r.id)
    t.ok(e, 'explained')
    t.equal(e!.flows.reduce((s, f) => s + units(f.amount), 0n), 1_000_000n, 'flows sum to the fee')
    t.equal(e!.traceId, trace)
    t.ok(e!.flows.some((f) => f.rule === 'royalty' && f.via === B), 'B\'s royalty through F\'s stack')
    t.ok(e!.flows.some((f) => f.rule === 'curation' && f.via === D1), 'D1\'s curation')
  }
  const first = (await client.explainReceipt(traced[0].id))!
  t.ok(first.flows.some((f) => f.rule === 'synthetic' && f.via === B), 'the attributed synthetic contribution pays B')
  // 500,000 − curation 50,000 − synthetic ⌊450,000·10 %⌋
  t.match(first.flows.find((f) => f.role === 'contributor'), { address: devAccountKey(3).address, amount: '405000', rule: 'attributionWeight', via: k })
  t.equal(await client.explainReceipt(toHex(sha256('no such receipt'))), null, 'unknown receipt → null')

  // the same through the CLI
  const rpc = ['--rpc', node.rpcUrl]
  const ce = await cliJson(['query', 'explain', traced[0].id, ...rpc])
  t.equal(ce.code, 0, ce.stderr)
  t.same(ce.json, first, 'query explain = attribution_explain')
  const cl = await cliJson(['query', 'lineage', F, ...rpc])
  t.same(cl.json, lineage, 'query lineage = model_lineage')
  const ct = await cliJson(['query', 'trace', trace, '--limit', '1', ...rpc])
  t.same((ct.json as { id: string }[]).map((r) => r.id), [traced[0].id], 'query trace --limit 1')
  const missing = await cliJson(['query', 'explain', toHex(sha256('nope')), ...rpc])
  t.equal(missing.code, 1, 'unknown receipt: exit 1')

  // rpc.discover lists the methods
  const doc = await client.call<{ methods: { name: string }[] }>('rpc.discover')
  const names = new Set(doc.methods.map((m) => m.name))
  for (const m of ['attribution_explain', 'model_lineage', 'receipt_trace']) t.ok(names.has(m), `rpc.discover lists ${m}`)
  // the extra fields on the ledger objects
  t.match(await client.call('model_get', [F]), { parents: [B], stack: [{ modelId: B, royaltyBps: 1000 }], royaltiesPaid: '40000' })
  t.match(await client.call('datanet_get', [D1]), { curatorBps: 1000 })
  t.match(await client.call('contribution_get', [k]), { sourceModelId: B, synthBps: 1000, syntheticPaid: '45000' })
})
