import t from 'tap'
import fc from 'fast-check'
import { WebSocket } from 'ws'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { signTx, type SignedTx } from '../../core/tx.js'
import { AttrchainError } from '../../core/errors.js'
import { Mempool, defaultMempoolOptions } from '../../node/mempool.js'
import { chainMethods } from '../../node/rpcMethods.js'
import { RpcServer, defaultRpcServerOptions, MAX_JSON_DEPTH } from '../../rpc/server.js'
import { JsonRpcErrorCode } from '../../rpc/errors.js'
import { openChain, signCommit } from '../helpers/nodeChain.js'
import { applyMutations, byteMutation } from './arbitraries.js'
import { params, loadCorpus, CaseCounter, FUZZ_SEED } from './fuzz.js'

/**
 * Fuzz target 2: the JSON-RPC server over HTTP and WebSocket with the
 * node's real method table (node/rpcMethods.ts) over a real ChainService on
 * LevelDB in a temp dir (3 committed blocks). Random JSON values, envelopes,
 * batches and params for every method. Every payload gets the answer
 * JSON-RPC 2.0 owes it (one response per request with an id, right ids,
 * nothing for notifications), error codes in the documented set and never
 * an internal error; a follow-up chain_status works; the state root and
 * head never move (no consensus runs here), and the mempool only ever holds
 * the valid txs the fuzzer offered (a refused write changes nothing).
 */

/** Nesting depth of a JSON value (a scalar is 0, `[]` is 1). */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0
  let d = 0
  for (const c of Object.values(v)) d = Math.max(d, depthOf(c))
  return d + 1
}

const DOCUMENTED = new Set<number>(Object.values(JsonRpcErrorCode))
const counter = new CaseCounter()
const errorCodes = new CaseCounter()

const genesis = buildDevnetGenesis({ validators: 1, accounts: 3 })
const v0 = devValidatorKey(0)
const alice = devAccountKey(0)
const bob = devAccountKey(1)
const tx = (nonce: number, amount = 7n): SignedTx => signTx({ chainId: genesis.chainId, nonce, fee: genesis.params.minTxFee, call: { type: 'transfer', to: bob.address, amount } }, alice)

t.test('JSON-RPC over HTTP and WebSocket', async (t) => {
  const n = await openChain(genesis)
  t.teardown(() => n.close())
  const committed: SignedTx[] = []
  let lastCommit = null
  for (let h = 1; h <= 3; h++) {
    const stx = tx(h - 1)
    committed.push(stx)
    const p = n.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + h * 1000, proposer: v0.address, txs: [stx], lastCommit, evidence: [] })
    lastCommit = signCommit(genesis.chainId, p, [v0])
    await n.chain.commitBlock(p, lastCommit)
  }
  const mempool = new Mempool(defaultMempoolOptions, {
    chainId: genesis.chainId, params: genesis.params,
    account: (a) => ({ balance: n.chain.queries.balance(a), nonce: n.chain.queries.nonce(a) }),
  })
  const methods = chainMethods({
    chain: n.chain, mempool,
    submitTx: async (bytes) => mempool.add(bytes),
    // nothing commits here: a wait ends at once with the node's timeout error
    waitForTx: async (hash) => { throw new AttrchainError('RPC_ERROR_TIMEOUT', `tx ${hash} not committed`, { hash }) },
    status: () => ({ peers: 0, syncing: false, validator: v0.address }),
  })
  const server = new RpcServer({ ...defaultRpcServerOptions, port: 0 }, { methods })
  const { port } = await server.start()
  t.teardown(() => server.stop())
  const url = `http://127.0.0.1:${port}/`
  const head0 = { ...n.chain.head }

  // ------------------------------------------------------------ value pools
  const offered = [tx(3), tx(4), tx(3, 8n), tx(9)]
  const offeredHashes = new Set(offered.map((s) => s.hash))
  const hexOf = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex')
  const names = [...methods.map((m) => m.name), 'rpc.discover', 'chain_subscribe', 'chain_unsubscribe']
  const plausible = fc.oneof(
    fc.constantFrom<unknown>(
      'latest', 0, 1, 2, 3, 4, -1, 2 ** 53, 2 ** 53 - 1, 1.5, 1e308, '0x', '0x0', '0xzz', '0X00', '', null, true,
      alice.address, bob.address, alice.address.toUpperCase().replace('0X', '0x'), alice.address.slice(0, 41), n.chain.head.blockHash,
      ...committed.map((s) => s.hash), '0x' + '00'.repeat(32), 'newBlocks', 'distributions', 'none', 'commit',
      { full: true }, { full: 'yes' }, { limit: 1000, offset: 0 }, { limit: 0 }, { offset: -1 }, { owner: alice.address }, { wait: 'commit' },
      { wait: 'none' }, { status: 'pending' }, { fromHeight: 0, toHeight: 2 ** 53, buckets: 1000 }, { __proto__: null }, { constructor: 1 },
      ...offered.map((s) => hexOf(s.bytes)),
    ),
    fc.tuple(fc.constantFrom(...offered, ...committed), fc.array(byteMutation, { minLength: 1, maxLength: 3 })).map(([s, ms]) => hexOf(applyMutations(s.bytes, ms))),
    fc.uint8Array({ maxLength: 80 }).map(hexOf),
    fc.jsonValue({ maxDepth: 3 }),
  )
  const envelope = fc.record({
    jsonrpc: fc.oneof({ weight: 8, arbitrary: fc.constant<unknown>('2.0') }, fc.jsonValue({ maxDepth: 1 })),
    id: fc.oneof({ weight: 4, arbitrary: fc.nat() }, { weight: 4, arbitrary: fc.string({ maxLength: 12 }) }, fc.constant(null), fc.double(), fc.jsonValue({ maxDepth: 1 })),
    method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom<unknown>(...names) }, fc.jsonValue({ maxDepth: 1 })),
    params: fc.oneof({ weight: 6, arbitrary: fc.array(plausible, { maxLength: 4 }) }, fc.dictionary(fc.string({ maxLength: 8 }), plausible, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 })),
  }, { requiredKeys: [] })
  const payload: fc.Arbitrary<string> = fc.oneof(
    { weight: 6, arbitrary: envelope.map((e) => JSON.stringify(e)) },
    { weight: 3, arbitrary: fc.array(fc.oneof({ weight: 5, arbitrary: envelope }, fc.jsonValue({ maxDepth: 2 })), { maxLength: 12 }).map((b) => JSON.stringify(b)) },
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    envelope.chain((e) => fc.nat().map((cut) => { const s = JSON.stringify(e); return s.slice(0, cut % (s.length + 1)) })),
  )

  /** What JSON-RPC 2.0 owes a payload: nothing, one response (with this id), or a batch (these ids, any order). */
  type Owed = { kind: 'none' } | { kind: 'single'; id: unknown } | { kind: 'batch'; ids: unknown[] }
  const owedFor = (text: string): Owed => {
    if (Buffer.byteLength(text) > defaultRpcServerOptions.maxBodyBytes) return { kind: 'single', id: null }
    let v: unknown
    try { v = JSON.parse(text) } catch { return { kind: 'single', id: null } }
    if (depthOf(v) > MAX_JSON_DEPTH) return { kind: 'single', id: null }
    const one = (r: unknown): { owed: boolean; id: unknown } => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) return { owed: true, id: null }
      const o = r as Record<string, unknown>
      if (!('id' in o)) {
        const ok = o.jsonrpc === '2.0' && typeof o.method === 'string' && (o.params === undefined || (typeof o.params === 'object' && o.params !== null))
        return { owed: !ok, id: null }
      }
      const id = o.id
      return { owed: true, id: id === null || typeof id === 'string' || typeof id === 'number' ? id : null }
    }
    if (!Array.isArray(v)) { const r = one(v); return r.owed ? { kind: 'single', id: r.id } : { kind: 'none' } }
    if (v.length === 0 || v.length > defaultRpcServerOptions.maxBatch) return { kind: 'single', id: null }
    const ids = v.map(one).filter((r) => r.owed).map((r) => r.id)
    return ids.length === 0 ? { kind: 'none' } : { kind: 'batch', ids }
  }

  const checkResponse = (r: unknown, where: string): unknown => {
    if (typeof r !== 'object' || r === null) throw new Error(`${where}: response is not an object: ${JSON.stringify(r)}`)
    const o = r as Record<string, unknown>
    if (o.jsonrpc !== '2.0') throw new Error(`${where}: jsonrpc is not "2.0"`)
    if (('result' in o) === ('error' in o)) throw new Error(`${where}: needs exactly one of result and error`)
    if ('error' in o) {
      const e = o.error as { code?: unknown; message?: unknown }
      if (typeof e?.code !== 'number' || !DOCUMENTED.has(e.code) || typeof e.message !== 'string') throw new Error(`${where}: error outside the documented set: ${JSON.stringify(e)}`)
      if (e.code === JsonRpcErrorCode.internalError) throw new Error(`${where}: internal error (an unexpected exception in the server): ${JSON.stringify(o)}`)
      errorCodes.hit(String(e.code))
    } else {
      errorCodes.hit('result')
    }
    return o.id
  }

  const sameIds = (got: unknown[], want: unknown[]): boolean => {
    const key = (x: unknown) => JSON.stringify(x)
    return JSON.stringify(got.map(key).sort()) === JSON.stringify(want.map(key).sort())
  }

  /** The answer to `text` (parsed, or null for none) checked against what it is owed. */
  const checkAnswer = (text: string, answer: unknown | null, where: string): void => {
    const owed = owedFor(text)
    if (owed.kind === 'none') {
      if (answer !== null) throw new Error(`${where}: a notification was answered: ${JSON.stringify(answer)}`)
      return
    }
    if (answer === null) throw new Error(`${where}: no answer, expected ${JSON.stringify(owed)}`)
    if (owed.kind === 'single') {
      if (Array.isArray(answer)) throw new Error(`${where}: a batch answer to a single request`)
      const id = checkResponse(answer, where)
      if (JSON.stringify(id) !== JSON.stringify(owed.id)) throw new Error(`${where}: id ${JSON.stringify(id)}, expected ${JSON.stringify(owed.id)}`)
      return
    }
    if (!Array.isArray(answer)) throw new Error(`${where}: expected a batch answer, got ${JSON.stringify(answer)}`)
    const ids = answer.map((r, i) => checkResponse(r, `${where}[${i}]`))
    if (!sameIds(ids, owed.ids)) throw new Error(`${where}: batch ids ${JSON.stringify(ids)}, expected ${JSON.stringify(owed.ids)}`)
  }

  const post = async (body: string): Promise<{ status: number; answer: unknown | null }> => {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal: AbortSignal.timeout(30_000) })
    const text = await res.text()
    if (res.status === 204) return { status: 204, answer: null }
    if (!(res.headers.get('content-type') ?? '').includes('application/json')) throw new Error(`HTTP ${res.status} without JSON`)
    return { status: res.status, answer: JSON.parse(text) }
  }

  /** The invariants after every case: healthy, nothing moved, the mempool holds only offered valid txs. */
  const invariants = async (where: string): Promise<void> => {
    const { answer } = await post('{"jsonrpc":"2.0","id":"health","method":"chain_status"}')
    const r = (answer as { result?: { height: number; stateRoot: string; blockHash: string } }).result
    if (r === undefined || r.height !== head0.height || r.stateRoot !== head0.stateRoot || r.blockHash !== head0.blockHash) throw new Error(`${where}: chain_status ${JSON.stringify(answer)}`)
    const head = n.chain.head
    if (head.height !== head0.height || head.stateRoot !== head0.stateRoot) throw new Error(`${where}: the state moved`)
    for (const s of mempool.reap(1000, 1 << 30)) if (!offeredHashes.has(s.hash)) throw new Error(`${where}: the mempool holds a tx nobody offered: ${s.hash}`)
  }

  const httpCase = async (text: string): Promise<void> => {
    counter.hit('http')
    const { status, answer } = await post(text)
    if (answer !== null && status !== 200 && status !== 413) throw new Error(`HTTP ${status}`)
    checkAnswer(text, answer, 'http')
    await invariants('http')
  }

  // ------------------------------------------------------------ WebSocket client
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { maxPayload: 64 * 1024 * 1024 })
  await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  t.teardown(() => ws.terminate())
  const inbox: unknown[] = []
  let wake: (() => void) | null = null
  ws.on('message', (data) => { inbox.push(JSON.parse(data.toString())); wake?.() })
  let probeN = 0
  /** Sends `text`, then a chain_status probe; returns the fuzz answer (or null) once the probe and anything owed are back. */
  const wsCase = async (text: string): Promise<void> => {
    counter.hit('ws')
    const owed = owedFor(text)
    const probeId = `probe-${probeN++}`
    ws.send(text)
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: probeId, method: 'chain_status' }))
    const deadline = Date.now() + 30_000
    const isProbe = (m: unknown) => (m as { id?: unknown })?.id === probeId && !Array.isArray(m)
    const notification = (m: unknown) => (m as { method?: unknown })?.method === 'chain_subscription'
    for (;;) {
      const got = inbox.filter((m) => !notification(m))
      const probe = got.find(isProbe)
      const rest = got.filter((m) => !isProbe(m))
      if (probe !== undefined && (owed.kind === 'none' || rest.length >= 1)) {
        if (rest.length > (owed.kind === 'none' ? 0 : 1)) throw new Error(`ws: ${rest.length} answers to one message: ${JSON.stringify(rest).slice(0, 500)}`)
        checkResponse(probe, 'ws probe')
        checkAnswer(text, rest[0] ?? null, 'ws')
        inbox.length = 0
        break
      }
      if (Date.now() > deadline) throw new Error(`ws: no answer within 30 s to ${text.slice(0, 200)} (got ${JSON.stringify(got).slice(0, 300)})`)
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 200) })
    }
    await invariants('ws')
  }

  // ------------------------------------------------------------ the cases
  t.test('corpus of malformed requests', async (t) => {
    for (const entry of loadCorpus<{ name: string; why: string; body: string | { repeat: string; times: number; prefix?: string; suffix?: string } }>('rpc.json')) {
      const text = typeof entry.body === 'string' ? entry.body : (entry.body.prefix ?? '') + entry.body.repeat.repeat(entry.body.times) + (entry.body.suffix ?? '')
      await httpCase(text)
      if (Buffer.byteLength(text) <= defaultRpcServerOptions.maxBodyBytes) await wsCase(text)
      t.pass(entry.name)
    }
  })

  t.test('random payloads over HTTP', async (t) => {
    await fc.assert(fc.asyncProperty(payload, httpCase), params(700))
    t.pass(`${counter.get('http')} HTTP cases so far`)
  })

  t.test('random payloads over WebSocket', async (t) => {
    await fc.assert(fc.asyncProperty(payload, wsCase), params(500))
    t.pass(`${counter.get('ws')} WebSocket cases so far`)
  })

  t.test('every method with random params', async (t) => {
    const perMethod = fc.tuple(fc.constantFrom(...names), fc.array(plausible, { maxLength: 4 }), fc.boolean())
      .map(([method, ps, overWs]) => ({ text: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: ps }), overWs }))
    await fc.assert(fc.asyncProperty(perMethod, ({ text, overWs }) => (overWs ? wsCase(text) : httpCase(text))), params(800))
    t.pass(`${names.length} methods`)
  })

  t.teardown(() => {
    console.log(`# fuzz rpc (seed ${FUZZ_SEED}): ${counter.summary()}; mempool holds ${mempool.size} offered txs`)
    console.log(`# rpc outcomes: ${errorCodes.summary()}`)
  })
})
