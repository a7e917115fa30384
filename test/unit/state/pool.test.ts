import t from 'tap'
import { emptyPool, creditPool, pending, debtFor, accrued, POOL_SCALE } from '../../../state/pool.js'
import { fromBytes, DatanetCodec, type Pool } from '../../../state/entities.js'
import { TestChain, h32, prng } from '../../helpers/chain.js'

const SEED = 0x5eed_0001

t.test('regression: a pool never pays out more than it holds', async (t) => {
  // One member with 3 shares, two credits of 10 units. Before the fix the pool
  // kept ⌊inc·3⌋ = 9 of each credit (18) while the member could claim
  // ⌊3·acc⌋ = 19: the pool went to −1 and one unit was created.
  let pool: Pool = { ...emptyPool(), totalShares: 3n }
  const debt = debtFor(pool, 3n)
  let dust = 0n
  for (let i = 0; i < 2; i++) {
    const r = creditPool(pool, 10n)
    pool = r.pool
    dust += r.dust
  }
  const owed = pending(pool, 3n, debt)
  t.equal(owed, 19n, 'the member is owed 19')
  t.equal(pool.balance, 20n, 'the pool holds both credits whole')
  t.equal(dust, 0n)
  t.ok(pool.balance - owed >= 0n, 'solvent after the claim')
})

t.test('regression on the chain: Datanet pool claim keeps the pool non-negative and supply exact', async (t) => {
  const c = new TestChain()
  const owner = c.account(0), contributor = c.account(1), op = c.account(2)
  const dn = c.run(owner, { type: 'registerDatanet', name: 'd', metadataUri: '', contributionBond: 0n }).hash
  const ctb = c.run(contributor, { type: 'contribute', datanetId: dn, dataHash: h32('x'), metadataUri: '' }).hash
  c.run(owner, { type: 'reviewContribution', contributionId: ctb, accept: true, weight: 3 })
  const model = c.run(owner, { type: 'registerModel', name: 'm', baseModel: 'b', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n }).hash
  const r = (i: number) => ({ modelId: model, payer: op.address, fee: 20n, inputHash: h32(`i${i}`), outputHash: h32(`o${i}`), attribution: [] })
  const out = c.run(op, { type: 'submitReceipts', receipts: [r(0), r(1)] })
  t.same(out.receipts.map((x) => x.payouts[0]), [{ address: dn, role: 'datanetPool', amount: 10n }, { address: dn, role: 'datanetPool', amount: 10n }], 'C = 10 of each fee of 20 enters the pool whole')
  t.equal(c.q.account(contributor.address).pendingRewards, '19')
  const before = c.q.balance(contributor.address)
  c.run(contributor, { type: 'claim' })
  t.equal(c.q.balance(contributor.address), before - c.chain.params.minTxFee + 19n, 'claimed 19')
  const dnState = fromBytes(DatanetCodec, c.store.get(`dn/${dn}`)!)
  t.equal(dnState.pool.balance, 1n, 'one unit of accumulator rounding stays in the pool (counted in supply), none is created')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test(`property: random joins, credits and claims never make a pool insolvent (seed ${SEED})`, async (t) => {
  const rnd = prng(SEED)
  const int = (n: number) => Math.floor(rnd() * n)
  for (let round = 0; round < 40; round++) {
    let pool = emptyPool()
    const members: { shares: bigint; debt: bigint }[] = []
    let credited = 0n, dust = 0n, paid = 0n
    for (let step = 0; step < 200; step++) {
      const op = int(10)
      if (op < 3 || members.length === 0) {
        const shares = BigInt(1 + int([3, 7, 1000, 2 ** 31][int(4)]))
        pool = { ...pool, totalShares: pool.totalShares + shares }
        members.push({ shares, debt: debtFor(pool, shares) })
      } else if (op < 8) {
        const amount = BigInt(int([10, 1000, 2 ** 30][int(3)])) * (int(2) ? 1n : 10n ** 18n) + BigInt(int(7))
        const r = creditPool(pool, amount)
        if (r.dust < 0n || r.dust > amount) {
          t.fail(`seed ${SEED} round ${round} step ${step}: dust ${r.dust} outside [0, ${amount}]`)
          return
        }
        pool = r.pool
        credited += amount
        dust += r.dust
      } else {
        const m = members[int(members.length)]
        const owed = pending(pool, m.shares, m.debt)
        m.debt += owed
        paid += owed
        pool = { ...pool, balance: pool.balance - owed }
      }
      if (pool.balance < 0n) {
        t.fail(`seed ${SEED} round ${round} step ${step}: pool balance ${pool.balance}`)
        return
      }
    }
    const owedAll = members.reduce((s, m) => s + pending(pool, m.shares, m.debt), 0n)
    t.ok(owedAll <= pool.balance, `seed ${SEED} round ${round}: the pool holds all it owes (${owedAll} ≤ ${pool.balance})`)
    t.equal(pool.balance + paid + dust, credited, `seed ${SEED} round ${round}: every credited unit is in the pool, paid or dust`)
  }
  t.equal(accrued({ totalShares: 1n, accPerShare: POOL_SCALE * 5n, balance: 0n }, 2n), 10n)
})
