/**
 * Property tests over a seeded random stream of txs (DESIGN §4 invariants):
 * thousands of txs of every type, valid and invalid, across many blocks with
 * 2–4 validators, delegations, evidence and missed signatures. After every
 * block: supply conservation, every fee unit distributed exactly once, no
 * negative amount anywhere; at the end, a replay of the same block inputs on
 * a fresh store gives the same state root at every height.
 */
import t from 'tap'
import { TestChain, prng, h32, OPEN } from '../../helpers/chain.js'
import { decodeSignedTx, type Receipt, type SignedTx, type TxCall } from '../../../core/tx.js'
import type { KeyPair } from '../../../core/keys.js'
import { toHex } from '../../../core/bytes.js'
import {
  MemoryStateStore, executeBlock, genesisState, fromBytes, AccountCodec, ValidatorCodec, UnbondingCodec, ContributionCodec,
  DatanetCodec, AllowanceCodec, DelegationCodec, LedgerCodec, ChainMetaCodec, maxEvidenceAge, type BlockInput,
} from '../../../state/index.js'

const SEED = Number(process.env.ATTRCHAIN_PROPERTY_SEED ?? 20260101)
const BLOCKS = 120
const TXS_PER_BLOCK = 28

/** Every amount field of every stored entity; none may be negative. */
function negativeAmounts(store: MemoryStateStore): string[] {
  const bad: string[] = []
  const check = (key: string, name: string, v: bigint) => { if (v < 0n) bad.push(`${key}.${name} = ${v}`) }
  for (const [key, bytes] of store.entries()) {
    const prefix = key.slice(0, key.indexOf('/') + 1) || key
    switch (prefix) {
      case 'acct/': check(key, 'balance', fromBytes(AccountCodec, bytes).balance); break
      case 'allow/': check(key, 'amount', fromBytes(AllowanceCodec, bytes).amount); break
      case 'val/': {
        const v = fromBytes(ValidatorCodec, bytes)
        check(key, 'selfStake', v.selfStake); check(key, 'delegated', v.delegated); check(key, 'pool.balance', v.pool.balance)
        check(key, 'pool.totalShares', v.pool.totalShares)
        break
      }
      case 'deleg/': { const d = fromBytes(DelegationCodec, bytes); check(key, 'shares', d.shares - 1n); check(key, 'rewardDebt', d.rewardDebt); break }
      case 'unbond/': for (const e of fromBytes(UnbondingCodec, bytes).entries) check(key, 'entry', e.amount - 1n); break // no zero entries (dust)
      case 'ctb/': { const c = fromBytes(ContributionCodec, bytes); check(key, 'bond', c.bond); check(key, 'earned', c.earned); break }
      case 'dn/': { const d = fromBytes(DatanetCodec, bytes); check(key, 'pool.balance', d.pool.balance); check(key, 'earned', d.earned); break }
      case 'ledger/': for (const [role, v] of Object.entries(fromBytes(LedgerCodec, bytes))) check(key, role, v); break
      case 'meta': { const m = fromBytes(ChainMetaCodec, bytes); check(key, 'supply', m.supply); check(key, 'burned', m.burned); break }
    }
  }
  return bad
}

t.test(`random tx streams keep every invariant (seed ${SEED})`, async (t) => {
  const rnd = prng(SEED)
  const int = (n: number) => Math.floor(rnd() * n)
  const chance = (p: number) => rnd() < p
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]
  const big = (max: bigint) => (BigInt(int(0x7fffffff)) * max) / 0x7fffffffn

  const c = new TestChain({
    validators: 3, accounts: 8,
    params: { downtimeWindow: 8, downtimeMissedBps: 5000, jailBlocks: 4, unbondingBlocks: 5, maxReceiptsPerTx: 6, maxAttribution: 4 },
  })
  const limits = { maxReceiptsPerTx: 6, maxAttribution: 4 }
  const accounts = Array.from({ length: 8 }, (_, k) => c.account(k))
  const validators = [c.validator(0), c.validator(1), c.validator(2)]
  const stranger = '0x' + '5a'.repeat(20)
  const everyone = [...accounts, ...validators]
  const genesisSupply = BigInt(c.q.meta().supply)

  const datanets: { id: string; owner: KeyPair }[] = []
  const contributions: { id: string; datanet: string; accepted: boolean }[] = []
  const models: { id: string; datanets: string[] }[] = []
  const validatorKeys = (): KeyPair[] => everyone.filter((k) => c.q.validators().some((v) => v.address === k.address))

  function amount(): bigint {
    const r = int(10)
    if (r === 0) return 10_000_000n * OPEN // more than anyone has
    if (r < 4) return 1n + BigInt(int(1000))
    return 1n + big(1000n * OPEN)
  }

  /** Mostly valid receipts: accepted contributions of the model's Datanets, now and then any contribution or an unknown id. */
  function receipt(operator: KeyPair): Receipt {
    const attribution: Receipt['attribution'] = []
    const model = models.length > 0 && !chance(0.03) ? pick(models) : { id: h32(`no-model-${int(1e9)}`), datanets: [] }
    const eligible = contributions.filter((x) => x.accepted && model.datanets.includes(x.datanet))
    if (chance(0.6) && eligible.length > 0) {
      const n = 1 + int(limits.maxAttribution)
      const used = new Set<string>()
      for (let i = 0; i < n; i++) {
        const ctb = chance(0.02) ? h32(`unknown-${int(1e9)}`) : chance(0.03) ? pick(contributions).id : pick(eligible).id
        if (used.has(ctb)) continue
        used.add(ctb)
        attribution.push({ contributionId: ctb, weight: 1 + int(10) })
      }
    }
    return {
      modelId: model.id,
      payer: chance(0.8) ? operator.address : pick(everyone).address,
      fee: chance(0.02) ? 100n * OPEN : BigInt(int(3_000_000)), inputHash: h32(`in${int(1e9)}`), outputHash: h32(`out${int(1e9)}`), attribution,
    }
  }

  function randomCall(sender: KeyPair): TxCall {
    const vals = c.q.validators().map((v) => v.address as string)
    const r = int(100)
    if (r < 10) return { type: 'transfer', to: chance(0.1) ? stranger : pick(everyone).address, amount: amount() }
    if (r < 13) return { type: 'createValidator', amount: (10_000n + BigInt(int(3000)) - 500n) * OPEN, moniker: `m${int(100)}`, commissionBps: int(10_001) }
    if (r < 16) return { type: 'stake', amount: amount() }
    if (r < 19) return { type: 'unstake', amount: chance(0.2) ? 200_000n * OPEN : 1n + big(1000n * OPEN) }
    if (r < 27) return { type: 'delegate', validator: chance(0.1) ? stranger : pick(vals), amount: amount() }
    if (r < 33) return { type: 'undelegate', validator: chance(0.1) ? stranger : pick(vals), amount: chance(0.3) ? 1n + big(200n * OPEN) : 1n + BigInt(int(1000)) }
    if (r < 35) return { type: 'unjail' }
    if (r < 39) return { type: 'registerDatanet', name: `dn${int(1000)}`, metadataUri: 'ipfs://x', contributionBond: pick([0n, 1n, 7n, OPEN]) }
    if (r < 49 && datanets.length > 0) return { type: 'contribute', datanetId: chance(0.05) ? h32('nope') : pick(datanets).id, dataHash: h32(`d${int(1e9)}`), metadataUri: '' }
    if (r < 59 && contributions.length > 0) {
      const accept = chance(0.7)
      const pending = contributions.filter((x) => !x.accepted)
      const target = chance(0.05) ? h32('nope') : pending.length > 0 && chance(0.8) ? pick(pending).id : pick(contributions).id
      return { type: 'reviewContribution', contributionId: target, accept, weight: accept ? 1 + int(9) : 0 }
    }
    if (r < 63 && datanets.length > 0) {
      const ds = [...new Set([pick(datanets).id, pick(datanets).id, ...(chance(0.05) ? [h32('nope')] : [])])]
      return { type: 'registerModel', name: 'm', baseModel: 'b', datanets: ds.map((d) => ({ datanetId: d, weight: 1 + int(5) })), minFee: BigInt(int(1000)) }
    }
    if (r < 68) return { type: 'approveOperator', operator: pick(everyone).address, amount: chance(0.5) ? big(OPEN) : BigInt(int(5_000_000)) }
    if (r < 90) {
      const n = chance(0.7) ? 1 : 1 + int(limits.maxReceiptsPerTx)
      return { type: 'submitReceipts', receipts: Array.from({ length: n }, () => receipt(sender)) }
    }
    return { type: 'claim' }
  }

  /** Curators review their own Datanets' contributions most of the time. */
  function senderFor(call: TxCall, fallback: KeyPair): KeyPair {
    if (call.type === 'reviewContribution' && chance(0.85)) {
      const ctb = contributions.find((x) => x.id === call.contributionId)
      const dn = ctb && datanets.find((d) => d.id === ctb.datanet)
      if (dn) return dn.owner
    }
    if ((call.type === 'stake' || call.type === 'unstake' || call.type === 'unjail') && chance(0.8)) return pick(validatorKeys())
    // at most 4 validators: once there are, createValidator comes from one (and fails as a duplicate)
    if (call.type === 'createValidator' && validatorKeys().length >= 4) return pick(validatorKeys())
    return fallback
  }

  // evidence must name a member of the set of its height, within the evidence window (consensus checks both)
  const setAt = new Map<number, string[]>()
  const recordSet = (h: number) => setAt.set(h, (c.q.validatorSet(h) ?? []).map((m) => m.address))
  recordSet(1)
  recordSet(2)

  const roots: string[] = []
  let txCount = 0
  let failed = 0
  const statuses = new Map<string, number>()
  for (let b = 0; b < BLOCKS; b++) {
    const height = c.height + 1
    const txs: SignedTx[] = []
    for (let i = 0; i < TXS_PER_BLOCK; i++) {
      const first = pick(everyone)
      const call = randomCall(first)
      const sender = senderFor(call, first)
      txs.push(c.tx(sender, call, { fee: c.chain.params.minTxFee + (chance(0.2) ? BigInt(int(1000)) : 0n) }))
    }
    // Jailed validators ask to come back once they may.
    for (const v of c.q.validators()) {
      if (v.jailed && (v.jailedUntil as number) <= height && chance(0.5)) txs.push(c.tx(everyone.find((k) => k.address === v.address)!, { type: 'unjail' }))
    }
    const decoded = txs.map((s) => decodeSignedTx(s.bytes, limits))

    // Validator 2 is flaky (jailed for downtime now and then); validator 1 and joiners double-sign sometimes.
    const set = c.q.validatorSet(height - 1) ?? []
    const signers = height === 1 ? null : set.map((m) => m.address).filter((a) => a !== validators[2].address || chance(0.4))
    const evidence = []
    const active = c.q.validators().filter((v) => !v.jailed).length
    if (height > 2 && chance(0.04) && active >= 3) {
      const h = Math.max(1, height - 1 - int(maxEvidenceAge(c.chain.params)))
      const targets = (setAt.get(h) ?? []).filter((a) => a !== validators[0].address)
      if (targets.length > 0) {
        evidence.push({ validator: pick(targets), height: h })
        if (chance(0.5)) evidence.push(evidence[0])
      }
    }

    const metaBefore = c.q.meta()
    const out = c.block(decoded, { evidence, signers })
    recordSet(height + 2)
    const meta = c.q.meta()
    roots.push(toHex(c.root))
    txCount += decoded.length

    for (const [i, r] of out.results.entries()) {
      const type = decoded[i].tx.call.type
      statuses.set(`${type}:${r.status}`, (statuses.get(`${type}:${r.status}`) ?? 0) + 1)
      if (r.status === 'failed') { failed++; continue }
      const call = decoded[i].tx.call
      if (call.type === 'registerDatanet') datanets.push({ id: r.hash, owner: everyone.find((k) => k.address === decoded[i].sender)! })
      if (call.type === 'contribute') contributions.push({ id: r.hash, datanet: call.datanetId, accepted: false })
      if (call.type === 'reviewContribution' && call.accept) contributions.find((x) => x.id === call.contributionId)!.accepted = true
      if (call.type === 'registerModel') models.push({ id: r.hash, datanets: call.datanets.map((d) => d.datanetId) })
    }

    const where = `seed ${SEED}, height ${height}`
    const supply = BigInt(meta.supply)
    t.equal(c.computedSupply(), supply, `${where}: computed supply equals the meta supply`)
    t.equal(supply, genesisSupply + BigInt(meta.minted) - BigInt(meta.burned), `${where}: supply = genesis + minted − burned`)
    t.equal(BigInt(meta.minted) - BigInt(metaBefore.minted), c.chain.params.blockReward, `${where}: minted exactly the block reward`)

    const txFees = decoded.reduce((s, x) => s + x.tx.fee, 0n)
    const receiptFees = out.results.reduce((s, r, i) => {
      const call = decoded[i].tx.call
      return r.status === 'ok' && call.type === 'submitReceipts' ? s + call.receipts.reduce((a, x) => a + x.fee, 0n) : s
    }, 0n)
    const distributed = out.distribution.entries.reduce((s, e) => s + e.amount, 0n)
    t.equal(distributed, txFees + receiptFees + out.distribution.minted, `${where}: distribution = tx fees + receipt fees + minted`)
    for (const r of out.receipts) {
      const paid = r.payouts.reduce((s, p) => s + p.amount, 0n)
      if (paid !== r.receipt.fee) t.fail(`${where}: receipt ${r.id} pays out ${paid} of fee ${r.receipt.fee}`)
    }
    t.same(negativeAmounts(c.store), [], `${where}: no negative amount`)
    if ((c.q.validatorSet(height + 2) ?? []).length < 1) t.fail(`${where}: empty validator set ahead`)
  }

  t.ok(txCount >= 3000, `${txCount} txs in ${BLOCKS} blocks`)
  for (const type of ['transfer', 'createValidator', 'stake', 'unstake', 'delegate', 'undelegate', 'unjail', 'registerDatanet', 'contribute', 'reviewContribution', 'registerModel', 'approveOperator', 'submitReceipts', 'claim']) {
    t.ok((statuses.get(`${type}:ok`) ?? 0) > 0, `seed ${SEED}: some ${type} succeeded`)
  }
  for (const type of ['transfer', 'createValidator', 'stake', 'unstake', 'delegate', 'undelegate', 'unjail', 'contribute', 'reviewContribution', 'registerModel', 'submitReceipts']) {
    t.ok((statuses.get(`${type}:failed`) ?? 0) > 0, `seed ${SEED}: some ${type} failed`)
  }
  t.ok(BigInt(c.q.meta().burned) > 0n, `seed ${SEED}: something was slashed`)
  t.ok(failed > 0 && failed < txCount, `seed ${SEED}: ${failed} of ${txCount} bodies failed`)

  // Determinism: the same inputs on a fresh store give the same root at every height.
  const store = new MemoryStateStore()
  const g = genesisState(store, c.genesis)
  store.apply(g.writes)
  let root = g.stateRoot
  const mismatches: number[] = []
  for (const input of c.blocks as BlockInput[]) {
    const out = executeBlock(store, c.chain, root, { ...input, txs: input.txs.map((x) => decodeSignedTx(x.bytes, limits)) })
    store.apply(out.writes)
    root = out.stateRoot
    if (toHex(root) !== roots[input.height - 1]) mismatches.push(input.height)
  }
  t.same(mismatches, [], `seed ${SEED}: replay gives the same root at every height`)
  t.equal(toHex(root), toHex(c.root), `seed ${SEED}: same final root`)
  t.same(new Map([...store.entries()].map(([k, v]) => [k, toHex(v)])), c.snapshot(), `seed ${SEED}: same final state`)
})
