import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { genesisHash } from '../../../genesis/genesis.js'
import { signTx, decodeSignedTx, DEFAULT_TX_LIMITS_UNBOUNDED, type SignedTx, type TxCall, type Receipt } from '../../../core/tx.js'
import { ChainDb } from '../../../node/db/index.js'
import { ChainService } from '../../../node/chain.js'
import { silentLogger } from '../../../node/logger.js'
import { LedgerCodec, fromBytes } from '../../../state/index.js'
import { concentrationRatios, type Concentration } from '../../../node/earningsRanking.js'
import { decodeFlowRecord, encodeFlowRecord, type FlowWindowJson } from '../../../node/flowStats.js'
import type { Commit } from '../../../consensus/index.js'
import { signCommit } from '../../helpers/nodeChain.js'
import { prng, h32 } from '../../helpers/chain.js'
import type { KeyPair } from '../../../core/keys.js'

const OPEN = 10n ** 18n
const genesis = buildDevnetGenesis({ validators: 1, accounts: 8 })
const v0 = devValidatorKey(0)
const keys = Array.from({ length: 8 }, (_, k) => devAccountKey(k))
const t0 = Date.parse(genesis.genesisTime)

/**
 * A random but mostly valid stream of the txs that make flows: Datanets,
 * contributions (some rejected), models, allowances, receipts (attributed
 * and by provenance, some over the allowance or fee floor so their tx
 * fails), claims. Ids are tracked optimistically: a tx whose body fails
 * makes later ones that name its id fail too, which the stats must count.
 */
class Stream {
  private readonly nonces = new Map<string, number>()
  private readonly datanets: { id: string; owner: KeyPair }[] = []
  private readonly pending: { id: string; datanet: { id: string; owner: KeyPair } }[] = []
  private readonly accepted = new Map<string, string[]>()
  private readonly models: { id: string; datanets: string[]; minFee: bigint }[] = []
  private receiptN = 0

  constructor(private readonly rand: () => number) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]
  }

  private tx(key: KeyPair, call: TxCall): SignedTx {
    const nonce = this.nonces.get(key.address) ?? 0
    this.nonces.set(key.address, nonce + 1)
    return signTx({ chainId: genesis.chainId, nonce, fee: genesis.params.minTxFee, call }, key)
  }

  setup(): SignedTx[] {
    // every account lets the operators (accounts 6 and 7) charge it
    return keys.flatMap((k) => [6, 7].map((o) => this.tx(k, { type: 'approveOperator', operator: keys[o].address, amount: 1000n * OPEN })))
  }

  next(): SignedTx {
    const r = this.rand()
    if (r < 0.1 || this.datanets.length === 0) {
      const owner = this.pick(keys)
      const stx = this.tx(owner, { type: 'registerDatanet', name: `dn-${this.datanets.length}`, metadataUri: '', contributionBond: this.rand() < 0.5 ? 0n : OPEN })
      this.datanets.push({ id: stx.hash, owner })
      return stx
    }
    if (r < 0.3) {
      const datanet = this.pick(this.datanets)
      const stx = this.tx(this.pick(keys), { type: 'contribute', datanetId: datanet.id, dataHash: h32(`data-${this.receiptN++}`), metadataUri: '' })
      this.pending.push({ id: stx.hash, datanet })
      return stx
    }
    if (r < 0.45 && this.pending.length > 0) {
      const c = this.pending.splice(Math.floor(this.rand() * this.pending.length), 1)[0]
      const accept = this.rand() < 0.7
      if (accept) this.accepted.set(c.datanet.id, [...(this.accepted.get(c.datanet.id) ?? []), c.id])
      return this.tx(c.datanet.owner, { type: 'reviewContribution', contributionId: c.id, accept, weight: accept ? 1 + Math.floor(this.rand() * 5) : 0 })
    }
    if (r < 0.55) {
      const dns = [...new Set([this.pick(this.datanets).id, this.pick(this.datanets).id])]
      const stx = this.tx(this.pick(keys), { type: 'registerModel', name: `m-${this.models.length}`, baseModel: 'base', datanets: dns.map((d) => ({ datanetId: d, weight: 1 + Math.floor(this.rand() * 3) })), minFee: 1000n })
      this.models.push({ id: stx.hash, datanets: dns, minFee: 1000n })
      return stx
    }
    if (r < 0.6) return this.tx(this.pick(keys), { type: 'claim' })
    // a review of a contribution that does not exist: the body fails, the fee is paid
    if (r < 0.65) return this.tx(this.pick(keys), { type: 'reviewContribution', contributionId: h32(`nothing-${this.receiptN++}`), accept: true, weight: 1 })
    if (this.models.length === 0) return this.tx(this.pick(keys), { type: 'transfer', to: this.pick(keys).address, amount: 1n })
    const operator = keys[6 + Math.floor(this.rand() * 2)]
    const receipts: Receipt[] = Array.from({ length: 1 + Math.floor(this.rand() * 6) }, () => {
      const m = this.pick(this.models)
      const candidates = m.datanets.flatMap((d) => this.accepted.get(d) ?? [])
      const attributed = candidates.length > 0 && this.rand() < 0.6 ? [...new Set([this.pick(candidates), this.pick(candidates)])] : []
      this.receiptN++
      return {
        modelId: m.id, payer: this.pick(keys).address, fee: m.minFee + BigInt(Math.floor(this.rand() * 10 ** 9)) * (this.rand() < 0.1 ? 10n ** 9n : 1n),
        inputHash: h32(`in-${this.receiptN}`), outputHash: h32(`out-${this.receiptN}`), attribution: attributed.map((c) => ({ contributionId: c, weight: 1 + Math.floor(this.rand() * 9) })),
      }
    })
    return this.tx(operator, { type: 'submitReceipts', receipts })
  }
}

/** The contributor-earnings figures recomputed from the ledger in state, by sorting. */
function concentrationFromState(chain: ChainService): Concentration {
  const xs: bigint[] = []
  for (const [, v] of chain.db.state.iteratePrefix('ledger/')) {
    const x = fromBytes(LedgerCodec, v).contributor
    if (x > 0n) xs.push(x)
  }
  xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = xs.length
  let sum = 0n
  let weighted = 0n
  xs.forEach((x, i) => { sum += x; weighted += BigInt(i + 1) * x })
  return { count: n, sum, weighted, top10: xs.slice(Math.max(0, n - 10)).reduce((s, x) => s + x, 0n), bottom50: xs.slice(0, Math.floor(n / 2)).reduce((s, x) => s + x, 0n) }
}

interface BlockFacts {
  timeMs: number
  txs: number
  failedTxs: number
  receipts: number
  receiptFees: bigint
  txFees: bigint
  minted: bigint
  datanets: number
  contributions: number
  models: number
  accepted: number
  rejected: number
  roles: Map<string, { amount: bigint; payees: number }>
}

/** One block's figures recomputed from what is stored: its txs, their results, its distribution. */
async function factsOf(chain: ChainService, height: number): Promise<BlockFacts> {
  const block = (await chain.db.getBlock(height))!
  const f: BlockFacts = {
    timeMs: block.header.timeMs, txs: block.txs.length, failedTxs: 0, receipts: 0, receiptFees: 0n, txFees: 0n, minted: 0n,
    datanets: 0, contributions: 0, models: 0, accepted: 0, rejected: 0, roles: new Map(),
  }
  for (const bytes of block.txs) {
    const stx = decodeSignedTx(bytes, DEFAULT_TX_LIMITS_UNBOUNDED, { verify: false })
    const loc = (await chain.db.getTx(stx.hash))!
    f.txFees += stx.tx.fee
    if (loc.status !== 'ok') { f.failedTxs++; continue }
    const call = stx.tx.call
    if (call.type === 'registerDatanet') f.datanets++
    if (call.type === 'contribute') f.contributions++
    if (call.type === 'registerModel') f.models++
    if (call.type === 'reviewContribution') { if (call.accept) f.accepted++; else f.rejected++ }
    if (call.type === 'submitReceipts') {
      f.receipts += call.receipts.length
      for (const r of call.receipts) f.receiptFees += r.fee
    }
  }
  const d = (await chain.db.getDistribution(height))!
  f.minted = d.minted
  for (const e of d.entries) {
    const r = f.roles.get(e.role) ?? { amount: 0n, payees: 0 }
    f.roles.set(e.role, { amount: r.amount + e.amount, payees: r.payees + 1 })
  }
  return f
}

/** A window's figures by summing the blocks' facts, as stats_flow must report them. */
function expectedWindow(facts: BlockFacts[], conc: Concentration[], from: number, to: number): FlowWindowJson {
  const blocks = facts.slice(from, to + 1)
  const sum = (k: 'txs' | 'failedTxs' | 'receipts' | 'datanets' | 'contributions' | 'models' | 'accepted' | 'rejected') => blocks.reduce((s, b) => s + b[k], 0)
  const sumBig = (k: 'receiptFees' | 'txFees' | 'minted') => blocks.reduce((s, b) => s + b[k], 0n)
  const roles = new Map<string, { amount: bigint; payees: number }>()
  for (const b of blocks) for (const [role, v] of b.roles) {
    const r = roles.get(role) ?? { amount: 0n, payees: 0 }
    roles.set(role, { amount: r.amount + v.amount, payees: r.payees + v.payees })
  }
  // a window from genesis is timed from block 1 (ChainService.flowRecords)
  const startTimeMs = from === 1 ? facts[1].timeMs : facts[from - 1].timeMs
  const endTimeMs = facts[to].timeMs
  const ms = endTimeMs - startTimeMs
  const receipts = sum('receipts')
  const receiptFees = sumBig('receiptFees')
  const byRole: FlowWindowJson['byRole'] = {}
  for (const role of [...roles.keys()].sort()) byRole[role] = { amount: roles.get(role)!.amount.toString(), payees: roles.get(role)!.payees }
  return {
    fromHeight: from, toHeight: to, startTimeMs, endTimeMs, seconds: ms / 1000, blocks: to - from + 1,
    txs: sum('txs'), failedTxs: sum('failedTxs'), receipts, receiptsPerSecond: Math.round((receipts / (ms / 1000)) * 1000) / 1000,
    receiptFees: receiptFees.toString(), feesPerSecond: ((receiptFees * 1000n) / BigInt(ms)).toString(), txFees: sumBig('txFees').toString(), minted: sumBig('minted').toString(),
    distributed: [...roles.values()].reduce((s, r) => s + r.amount, 0n).toString(),
    datanets: sum('datanets'), contributions: sum('contributions'), accepted: sum('accepted'), rejected: sum('rejected'), models: sum('models'),
    byRole, contributorPayments: roles.get('contributor')?.payees ?? 0,
    contributors: { count: conc[to].count, earned: conc[to].sum.toString(), newEarners: conc[to].count - conc[from - 1].count, ...concentrationRatios(conc[to]) },
  }
}

async function openAt(dir: string): Promise<{ db: ChainDb; chain: ChainService }> {
  const db = await ChainDb.open({ dir, genesisHash: genesisHash(genesis), chainId: genesis.chainId, sync: false })
  return { db, chain: await ChainService.open(genesis, { db, logger: silentLogger }) }
}

t.test('stats_flow equals a recomputation from the stored blocks over random streams, across a restart', async (t) => {
  for (const seed of [11, 12, 13]) {
    const dir = mkdtempSync(join(tmpdir(), 'attrchain-flow-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    let { db, chain } = await openAt(dir)
    const rand = prng(seed)
    const stream = new Stream(rand)
    const conc: Concentration[] = [concentrationFromState(chain)]
    let lastCommit: Commit | null = null
    const blocks = 40
    for (let h = 1; h <= blocks; h++) {
      const txs = h === 1 ? stream.setup() : Array.from({ length: Math.floor(rand() * 7) }, () => stream.next())
      // jittered block times: rates must use the real intervals
      const p = chain.buildBlock({ timeMs: t0 + h * 1000 + Math.floor(rand() * 900), proposer: v0.address, txs, lastCommit, evidence: [] })
      t.equal(p.txs.length, txs.length, `seed ${seed} height ${h}: no tx dropped`)
      lastCommit = signCommit(genesis.chainId, p, [v0])
      await chain.commitBlock(p, lastCommit)
      conc.push(concentrationFromState(chain))
      t.same(chain.lastFlow.contributors, conc[h], `seed ${seed} height ${h}: concentration equals the sorted ledger`)
      if (h === 25) {
        // a restart rebuilds the ranking from state and the running totals from the head's record
        const before = encodeFlowRecord(chain.lastFlow)
        await db.close();
        ({ db, chain } = await openAt(dir))
        t.same(encodeFlowRecord(chain.lastFlow), before, `seed ${seed}: the head record survives a restart`)
      }
    }
    const facts: BlockFacts[] = [{ timeMs: t0, txs: 0, failedTxs: 0, receipts: 0, receiptFees: 0n, txFees: 0n, minted: 0n, datanets: 0, contributions: 0, models: 0, accepted: 0, rejected: 0, roles: new Map() }]
    for (let h = 1; h <= blocks; h++) facts.push(await factsOf(chain, h))
    t.ok(facts.some((f) => f.failedTxs > 0), `seed ${seed}: the stream has failed txs`)
    t.ok(facts.reduce((s, f) => s + f.rejected, 0) > 0, `seed ${seed}: the stream has rejected contributions`)
    t.ok(conc[blocks].count > 1, `seed ${seed}: several contributors earn`)

    const whole = await chain.statsFlow({ fromHeight: 1, toHeight: blocks, buckets: 1 })
    t.same(whole.summary, expectedWindow(facts, conc, 1, blocks), `seed ${seed}: the whole chain`)
    for (let k = 0; k < 12; k++) {
      const from = 1 + Math.floor(rand() * blocks)
      const to = from + Math.floor(rand() * (blocks - from + 1))
      const buckets = 1 + Math.floor(rand() * (to - from + 1))
      const got = await chain.statsFlow({ fromHeight: from, toHeight: to, buckets })
      t.same(got.summary, expectedWindow(facts, conc, from, to), `seed ${seed}: summary of ${from}..${to}`)
      t.equal(got.series.length, buckets, 'one entry per bucket')
      t.equal(got.series[0].fromHeight, from)
      t.equal(got.series[got.series.length - 1].toHeight, to)
      for (const b of got.series) t.same(b, expectedWindow(facts, conc, b.fromHeight, b.toHeight), `seed ${seed}: bucket ${b.fromHeight}..${b.toHeight} of ${from}..${to}`)
      const contiguous = got.series.every((b, i) => i === 0 || b.fromHeight === got.series[i - 1].toHeight + 1)
      t.ok(contiguous, 'buckets are contiguous')
    }
    await db.close()
  }
})

t.test('stats_flow defaults and refuses bad ranges with a clear invalid-params error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-flow-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { db, chain } = await openAt(dir)
  t.teardown(() => db.close())
  await t.rejects(chain.statsFlow({}), { code: 'RPC_ERROR_INVALID_PARAMS' }, 'no block yet')
  let lastCommit: Commit | null = null
  for (let h = 1; h <= 5; h++) {
    const p = chain.buildBlock({ timeMs: t0 + h * 1000, proposer: v0.address, txs: [], lastCommit, evidence: [] })
    lastCommit = signCommit(genesis.chainId, p, [v0])
    await chain.commitBlock(p, lastCommit)
  }
  const d = await chain.statsFlow({})
  t.match(d, { head: 5, fromHeight: 1, toHeight: 5 })
  t.equal(d.series.length, 5, 'one bucket per block when the window is short')
  t.equal(d.summary.minted, (5n * genesis.params.blockReward).toString(), 'empty blocks still mint')
  t.equal((await chain.statsFlow({ toHeight: 99 })).toHeight, 5, 'toHeight is capped at the head')
  await t.rejects(chain.statsFlow({ fromHeight: 4, toHeight: 2 }), { code: 'RPC_ERROR_INVALID_PARAMS' })
  await t.rejects(chain.statsFlow({ fromHeight: 0 }), { code: 'RPC_ERROR_INVALID_PARAMS' })
  await t.rejects(chain.statsFlow({ buckets: 1001 }), { code: 'RPC_ERROR_INVALID_PARAMS' })
  const r = chain.lastFlow
  t.same(decodeFlowRecord(encodeFlowRecord(r)), r, 'a record round-trips')
  t.throws(() => decodeFlowRecord(new Uint8Array([0x93, 1, 2, 3])), { code: 'DB_ERROR_CORRUPT' })
})
