/**
 * Property tests over seeded random lineages and receipt streams (DESIGN
 * §4.1): random Datanets with curator shares, models with random parents
 * (diamonds, unknown parents, too many, too deep, too expensive), terms that
 * change at random (ancestors' terms change after their descendants froze
 * their stacks), synthetic contributions, receipts with and without
 * attribution and traceId, and claims. After every block: supply
 * conservation; every receipt's explained flows (and payouts) sum to its fee;
 * Σ of the block's distribution = fees + minted; no negative amount; every
 * frozen stack equals what it was at registration, which equals a reference
 * computation of the §4.1 rule from the terms in force then. At the end: a
 * replay of the block inputs gives the same state root at every height.
 * Seeds: ATTRCHAIN_LINEAGE_SEED (one seed) or three fixed ones.
 */
import t from 'tap'
import { TestChain, prng, h32 } from '../../helpers/chain.js'
import type { Receipt, SignedTx, TxCall } from '../../../core/tx.js'
import type { KeyPair } from '../../../core/keys.js'
import { toHex } from '../../../core/bytes.js'
import {
  MemoryStateStore, executeBlock, genesisState, fromBytes, AccountCodec, DatanetCodec, LedgerCodec, ContributionCodec,
  ModelLineageCodec, DatanetTermsCodec, ContributionExtraCodec, explainReceipt, FLOW_RULES, type StackEntry,
} from '../../../state/index.js'

const SEEDS = process.env.ATTRCHAIN_LINEAGE_SEED ? [Number(process.env.ATTRCHAIN_LINEAGE_SEED)] : [13, 20260113, 777]
const BLOCKS = 50
const TXS_PER_BLOCK = 14

function negativeAmounts(store: MemoryStateStore): string[] {
  const bad: string[] = []
  const check = (key: string, name: string, v: bigint) => { if (v < 0n) bad.push(`${key}.${name} = ${v}`) }
  for (const [key, bytes] of store.entries()) {
    const prefix = key.slice(0, key.indexOf('/') + 1)
    switch (prefix) {
      case 'acct/': check(key, 'balance', fromBytes(AccountCodec, bytes).balance); break
      case 'dn/': { const d = fromBytes(DatanetCodec, bytes); check(key, 'pool.balance', d.pool.balance); check(key, 'earned', d.earned); break }
      case 'ctb/': { const c = fromBytes(ContributionCodec, bytes); check(key, 'earned', c.earned); break }
      case 'ledger/': for (const [role, v] of Object.entries(fromBytes(LedgerCodec, bytes))) check(key, role, v); break
      case 'mlin/': { const l = fromBytes(ModelLineageCodec, bytes); check(key, 'royaltiesEarned', l.royaltiesEarned); check(key, 'royaltiesPaid', l.royaltiesPaid); break }
      case 'dnterms/': check(key, 'curationEarned', fromBytes(DatanetTermsCodec, bytes).curationEarned); break
      case 'ctbx/': { const x = fromBytes(ContributionExtraCodec, bytes); check(key, 'curationPaid', x.curationPaid); check(key, 'syntheticPaid', x.syntheticPaid); break }
    }
  }
  return bad
}

for (const SEED of SEEDS) {
  t.test(`random lineages and receipt streams keep every invariant (seed ${SEED})`, async (t) => {
    const rnd = prng(SEED)
    const int = (n: number) => Math.floor(rnd() * n)
    const chance = (p: number) => rnd() < p
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]

    const params = { maxRoyaltyStack: 5, maxReceiptsPerTx: 5, maxAttribution: 4 }
    const c = new TestChain({ validators: 1, accounts: 8, params })
    const P = c.chain.params
    const keys = Array.from({ length: 8 }, (_, k) => c.account(k))

    const datanets: { id: string; owner: KeyPair }[] = []
    const contributions: { id: string; datanet: string; accepted: boolean }[] = []
    const models: { id: string; owner: KeyPair; datanets: string[] }[] = []
    /** reference state of §4.1: terms in force (per tx order) and stacks frozen at registration */
    const terms = new Map<string, { bps: number; allow: boolean }>()
    const frozen = new Map<string, StackEntry[]>()
    const traces = [h32(`trace-${SEED}-a`), h32(`trace-${SEED}-b`), h32(`trace-${SEED}-c`)]

    function referenceStack(parents: string[]): StackEntry[] | null {
      const stack = new Map<string, number>()
      for (const p of parents) {
        const tp = terms.get(p)
        if (!tp || !tp.allow) return null
        if (!stack.has(p)) stack.set(p, tp.bps)
        for (const e of frozen.get(p) ?? []) if (!stack.has(e.modelId)) stack.set(e.modelId, e.royaltyBps)
      }
      let sum = 0
      for (const v of stack.values()) sum += v
      if (parents.length > P.maxModelParents || stack.size > P.maxRoyaltyStack || sum > P.maxRoyaltyStackBps) return null
      return [...stack].sort(([a], [b]) => (a < b ? -1 : 1)).map(([modelId, royaltyBps]) => ({ modelId, royaltyBps }))
    }

    function receipt(operator: KeyPair): Receipt {
      const model = pick(models)
      const eligible = contributions.filter((x) => x.accepted && model.datanets.includes(x.datanet))
      const attribution: Receipt['attribution'] = []
      if (chance(0.5) && eligible.length > 0) {
        const used = new Set<string>()
        for (let i = 0, n = 1 + int(params.maxAttribution); i < n; i++) {
          const id = pick(eligible).id
          if (!used.has(id)) { used.add(id); attribution.push({ contributionId: id, weight: 1 + int(9) }) }
        }
      }
      return {
        modelId: model.id, payer: operator.address, fee: chance(0.1) ? BigInt(int(50)) : BigInt(1 + int(5_000_000)),
        inputHash: h32(`i${int(1e9)}`), outputHash: h32(`o${int(1e9)}`), attribution, ...(chance(0.5) ? { traceId: pick(traces) } : {}),
      }
    }

    function randomCall(sender: KeyPair): { key: KeyPair; call: TxCall } {
      const r = int(100)
      if (r < 6 || datanets.length === 0) return { key: sender, call: { type: 'registerDatanet', name: 'd', metadataUri: '', contributionBond: 0n } }
      if (r < 12) {
        const d = pick(datanets)
        return { key: chance(0.9) ? d.owner : sender, call: { type: 'setDatanetTerms', datanetId: d.id, curatorBps: chance(0.1) ? 2001 + int(500) : int(2001) } }
      }
      if (r < 24) {
        const source = models.length > 0 && chance(0.5) ? (chance(0.05) ? h32('no-model') : pick(models).id) : undefined
        return { key: sender, call: { type: 'contribute', datanetId: pick(datanets).id, dataHash: h32(`x${int(1e9)}`), metadataUri: '', ...(source ? { sourceModelId: source } : {}) } }
      }
      if (r < 34 && contributions.some((x) => !x.accepted)) {
        const x = pick(contributions.filter((y) => !y.accepted))
        const owner = datanets.find((d) => d.id === x.datanet)!.owner
        return { key: chance(0.9) ? owner : sender, call: { type: 'reviewContribution', contributionId: x.id, accept: chance(0.85), weight: 1 + int(5) } }
      }
      if (r < 46 || models.length === 0) {
        const ds = [...new Set([pick(datanets).id, pick(datanets).id])]
        let parents: string[] | undefined
        if (models.length > 0 && chance(0.75)) {
          const n = chance(0.05) ? 5 : 1 + int(3)
          parents = [...new Set(Array.from({ length: n }, () => (chance(0.03) ? h32('unknown-parent') : pick(models).id)))]
        }
        return { key: sender, call: { type: 'registerModel', name: 'm', baseModel: '', datanets: ds.map((d) => ({ datanetId: d, weight: 1 + int(4) })), minFee: 0n, ...(parents ? { parents } : {}) } }
      }
      if (r < 56) {
        const m = pick(models)
        return { key: chance(0.9) ? m.owner : sender, call: { type: 'setModelTerms', modelId: m.id, derivativeRoyaltyBps: int(2500), allowDerivatives: chance(0.85) } }
      }
      if (r < 90) return { key: sender, call: { type: 'submitReceipts', receipts: Array.from({ length: 1 + int(params.maxReceiptsPerTx) }, () => receipt(sender)) } }
      return { key: sender, call: { type: 'claim' } }
    }

    const roots: string[] = []
    const statuses = new Map<string, number>()
    let receiptsSeen = 0
    let lineageReceipts = 0
    let supply = BigInt(c.q.meta().supply)
    /** Σ royalty + curator over every ledger: grows by the block's distribution entries of those roles plus claim-time synthetic royalties */
    const lineageLedgers = () => {
      let sum = 0n
      for (const [key, bytes] of c.store.entries()) if (key.startsWith('ledger/')) { const l = fromBytes(LedgerCodec, bytes); sum += l.royalty + l.curator }
      return sum
    }
    let ledgers = lineageLedgers()
    let claimRoyaltyBlocks = 0
    for (let b = 0; b < BLOCKS; b++) {
      const txs: SignedTx[] = []
      for (let i = 0; i < TXS_PER_BLOCK; i++) {
        const { key, call } = randomCall(pick(keys))
        txs.push(c.tx(key, call))
      }
      const out = c.block(txs)
      roots.push(toHex(c.root))

      let fees = 0n
      for (const [i, r] of out.results.entries()) {
        const call = txs[i].tx.call
        fees += txs[i].tx.fee
        statuses.set(`${call.type}:${r.status}`, (statuses.get(`${call.type}:${r.status}`) ?? 0) + 1)
        if (call.type === 'registerModel' && call.parents) {
          const expected = referenceStack(call.parents)
          t.equal(r.status, expected === null ? 'failed' : 'ok', `block ${b + 1} tx ${i}: registerModel with parents agrees with the reference rule`)
        }
        if (r.status === 'failed') continue
        if (call.type === 'submitReceipts') for (const rc of call.receipts) fees += rc.fee
        if (call.type === 'registerDatanet') datanets.push({ id: r.hash, owner: keys.find((k) => k.address === txs[i].sender)! })
        if (call.type === 'contribute') contributions.push({ id: r.hash, datanet: call.datanetId, accepted: false })
        if (call.type === 'reviewContribution' && call.accept) contributions.find((x) => x.id === call.contributionId)!.accepted = true
        if (call.type === 'registerModel') {
          frozen.set(r.hash, call.parents ? referenceStack(call.parents)! : [])
          terms.set(r.hash, { bps: 0, allow: true })
          models.push({ id: r.hash, owner: keys.find((k) => k.address === txs[i].sender)!, datanets: call.datanets.map((d) => d.datanetId) })
        }
        if (call.type === 'setModelTerms') terms.set(call.modelId, { bps: call.derivativeRoyaltyBps, allow: call.allowDerivatives })
      }

      for (const r of out.receipts) {
        receiptsSeen++
        if (r.flows !== undefined) lineageReceipts++
        const flows = explainReceipt(r, P)
        const sum = flows.reduce((s, f) => s + f.amount, 0n)
        if (sum !== r.receipt.fee) t.fail(`receipt ${r.id}: flows sum to ${sum}, fee ${r.receipt.fee}`)
        if (r.payouts.reduce((s, p) => s + p.amount, 0n) !== r.receipt.fee) t.fail(`receipt ${r.id}: payouts do not sum to the fee`)
        if (flows.some((f) => f.amount <= 0n || !FLOW_RULES.includes(f.rule))) t.fail(`receipt ${r.id}: a flow with a non-positive amount or unknown rule`)
      }
      const distributed = out.distribution.entries.reduce((s, e) => s + e.amount, 0n)
      if (distributed !== fees + out.distribution.minted) t.fail(`block ${b + 1}: Σ distribution ${distributed} ≠ fees ${fees} + minted ${out.distribution.minted}`)
      const meta = c.q.meta()
      if (BigInt(meta.supply) !== supply + out.distribution.minted) t.fail(`block ${b + 1}: supply moved by more than the minted reward`)
      supply = BigInt(meta.supply)
      if (c.computedSupply() !== supply) t.fail(`block ${b + 1}: computed supply ${c.computedSupply()} ≠ meta ${supply}`)
      const inDistribution = out.distribution.entries.filter((e) => e.role === 'royalty' || e.role === 'curator').reduce((s, e) => s + e.amount, 0n)
      const nowLedgers = lineageLedgers()
      if (nowLedgers - ledgers < inDistribution) t.fail(`block ${b + 1}: royalty/curator ledgers grew less than the distribution credited`)
      if (nowLedgers - ledgers > inDistribution) claimRoyaltyBlocks++
      ledgers = nowLedgers
      const neg = negativeAmounts(c.store)
      if (neg.length > 0) t.fail(`block ${b + 1}: negative amounts ${neg.join(', ')}`)
      for (const [id, stack] of frozen) {
        const stored = c.store.get(`mlin/${id}`)
        const now = stored ? fromBytes(ModelLineageCodec, stored).stack : []
        if (JSON.stringify(now) !== JSON.stringify(stack)) t.fail(`block ${b + 1}: the frozen stack of ${id} changed`)
      }
    }
    t.pass(`${BLOCKS} blocks: ${receiptsSeen} receipts (${lineageReceipts} on the lineage path), ${models.length} models, ${[...frozen.values()].filter((s) => s.length > 0).length} with a stack`)
    t.ok(lineageReceipts > 20, 'the stream exercised the lineage path')
    t.ok([...c.store.entries()].some(([k]) => k.startsWith('spos/')), 'some synthetic reward position exists')
    t.ok(claimRoyaltyBlocks > 0, `claims paid synthetic royalties (${claimRoyaltyBlocks} blocks)`)
    t.ok([...frozen.values()].some((s) => s.length >= 2), 'some stack holds two or more ancestors')
    for (const k of ['registerModel:failed', 'setModelTerms:ok', 'setDatanetTerms:ok', 'setDatanetTerms:failed', 'claim:ok', 'contribute:ok']) t.ok((statuses.get(k) ?? 0) > 0, `the stream has ${k}`)
    t.ok(c.q.attribution(keys[0].address) !== null)

    // replay from genesis on a fresh store: same root at every height
    const store = new MemoryStateStore()
    const g = genesisState(store, c.genesis)
    store.apply(g.writes)
    let root = g.stateRoot
    const replayRoots: string[] = []
    for (const input of c.blocks) {
      const o = executeBlock(store, c.chain, root, input)
      store.apply(o.writes)
      root = o.stateRoot
      replayRoots.push(toHex(root))
    }
    t.same(replayRoots, roots, 'replay gives the same state root at every height')
  })
}
