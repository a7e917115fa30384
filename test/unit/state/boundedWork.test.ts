import t from 'tap'
import { TestChain, h32 } from '../../helpers/chain.js'
import { MAX_CLAIM_POSITIONS } from '../../../state/execute.js'
import { fromBytes, DatanetCodec } from '../../../state/entities.js'
import type { KeyPair } from '../../../core/keys.js'
import type { Hex } from '../../../core/tx.js'

// Issue 12 item 5: `account_get` walked every contribution of the address for
// pendingRewards and `claim` paid them one by one, so both grew with history
// (50,000 contributions: ~300 ms per query, a 2.7 s block). Contributions now
// add to one reward position per (contributor, Datanet). The tests count
// state reads, not milliseconds: the same work for 4 and for 400 contributions.

/** A chain where `contributor` has `n` accepted contributions in one Datanet and the pool has been credited. */
function chainWith(n: number) {
  const c = new TestChain()
  const owner = c.account(0), contributor = c.account(1), op = c.account(2)
  const dn = c.run(owner, { type: 'registerDatanet', name: 'd', metadataUri: '', contributionBond: 0n }).hash
  const ctbs = c.block(Array.from({ length: n }, (_, i) => c.tx(contributor, { type: 'contribute', datanetId: dn, dataHash: h32(`x${i}`), metadataUri: '' }))).results.map((r) => r.hash)
  c.block(ctbs.map((id, i) => c.tx(owner, { type: 'reviewContribution', contributionId: id, accept: true, weight: 1 + (i % 7) })))
  const model = c.run(owner, { type: 'registerModel', name: 'm', baseModel: 'b', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n }).hash
  const receipt = (i: number) => ({ modelId: model, payer: op.address, fee: 1_000_003n, inputHash: h32(`i${i}`), outputHash: h32(`o${i}`), attribution: [] })
  c.run(op, { type: 'submitReceipts', receipts: [receipt(0), receipt(1), receipt(2)] })
  return { c, contributor, dn, ctbs }
}

/** Count the store reads `f` makes. */
function reads(c: TestChain, f: () => void): number {
  const get = c.store.get.bind(c.store)
  let count = 0
  c.store.get = (k: string) => {
    count++
    return get(k)
  }
  try {
    f()
  } finally {
    c.store.get = get
  }
  return count
}

t.test('account_get and claim read the same number of state entries for 4 and for 400 contributions', async (t) => {
  const small = chainWith(4)
  const large = chainWith(400)
  const qSmall = reads(small.c, () => small.c.q.account(small.contributor.address))
  const qLarge = reads(large.c, () => large.c.q.account(large.contributor.address))
  t.equal(qLarge, qSmall, `account_get reads ${qLarge} entries with 400 contributions, ${qSmall} with 4`)
  const claimSmall = reads(small.c, () => small.c.run(small.contributor, { type: 'claim' }))
  const claimLarge = reads(large.c, () => large.c.run(large.contributor, { type: 'claim' }))
  t.equal(claimLarge, claimSmall, `a claim block reads ${claimLarge} entries with 400 contributions, ${claimSmall} with 4`)
})

t.test('one position per Datanet pays what its contributions earned, never more than the pool holds', async (t) => {
  const { c, contributor, dn, ctbs } = chainWith(50)
  const owed = BigInt(c.q.account(contributor.address).pendingRewards)
  const perContribution = ctbs.reduce((s, id) => s + BigInt((c.q.contribution(id) as { unclaimed: string }).unclaimed), 0n)
  // the position floors once where the contributions floored 50 times: it may be owed up to 49 units more, never less
  t.ok(owed >= perContribution && owed - perContribution < 50n, `position owes ${owed}, contributions sum to ${perContribution}`)
  const pool = fromBytes(DatanetCodec, c.store.get(`dn/${dn}`)!).pool
  t.ok(owed <= pool.balance, 'the pool holds what it owes')
  const before = c.q.balance(contributor.address)
  const earnedBefore = ctbs.map((id) => (c.q.contribution(id) as { earned: string }).earned)
  c.run(contributor, { type: 'claim' })
  t.equal(c.q.balance(contributor.address), before - c.chain.params.minTxFee + owed, 'claim paid pendingRewards exactly')
  t.equal(c.q.account(contributor.address).pendingRewards, '0')
  t.same(ctbs.map((id) => (c.q.contribution(id) as { earned: string }).earned), earnedBefore, "a contribution's earned counts claimed pool rewards too")
  t.ok(ctbs.every((id) => (c.q.contribution(id) as { unclaimed: string }).unclaimed === '0'), 'nothing unclaimed after the claim')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply), 'supply invariant')
})

t.test(`an address in more than ${MAX_CLAIM_POSITIONS} Datanets is paid in bounded turns`, async (t) => {
  const c = new TestChain()
  const owner = c.account(0), contributor = c.account(1), op = c.account(2)
  const count = MAX_CLAIM_POSITIONS + 20
  const dns = c.block(Array.from({ length: count }, (_, i) => c.tx(owner, { type: 'registerDatanet', name: `d${i}`, metadataUri: '', contributionBond: 0n }))).results.map((r) => r.hash as Hex)
  const ctbs = c.block(dns.map((dn, i) => c.tx(contributor, { type: 'contribute', datanetId: dn, dataHash: h32(`x${i}`), metadataUri: '' }))).results.map((r) => r.hash)
  c.block(ctbs.map((id) => c.tx(owner, { type: 'reviewContribution', contributionId: id, accept: true, weight: 1 })))
  const models = c.block(dns.map((dn, i) => c.tx(owner, { type: 'registerModel', name: `m${i}`, baseModel: 'b', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n }))).results.map((r) => r.hash)
  c.block([c.tx(op, { type: 'submitReceipts', receipts: models.slice(0, 100).map((m, i) => receiptOf(m, op, i)) }),
    c.tx(op, { type: 'submitReceipts', receipts: models.slice(100, 200).map((m, i) => receiptOf(m, op, 100 + i)) }),
    c.tx(op, { type: 'submitReceipts', receipts: models.slice(200).map((m, i) => receiptOf(m, op, 200 + i)) })])
  const owed = BigInt(c.q.account(contributor.address).pendingRewards)
  t.ok(owed > 0n)
  const start = c.q.balance(contributor.address)
  const paid: bigint[] = []
  for (let turn = 0; turn < 2; turn++) {
    const before = c.q.balance(contributor.address)
    c.run(contributor, { type: 'claim' })
    paid.push(c.q.balance(contributor.address) - before + c.chain.params.minTxFee)
  }
  t.ok(paid[0] > 0n && paid[1] > 0n, `each turn pays part (${paid.join(', ')})`)
  t.equal(c.q.balance(contributor.address), start - 2n * c.chain.params.minTxFee + owed, 'two turns paid everything pendingRewards showed')
  t.equal(c.q.account(contributor.address).pendingRewards, '0')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply), 'supply invariant')
})

function receiptOf(modelId: string, op: KeyPair, i: number) {
  return { modelId, payer: op.address, fee: 1_000_000n, inputHash: h32(`i${i}`), outputHash: h32(`o${i}`), attribution: [] }
}
