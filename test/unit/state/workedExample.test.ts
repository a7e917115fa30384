/**
 * The worked example of the README (DESIGN §4), to the unit.
 *
 * One-validator devnet, default params: feeSplit contributors 5000 /
 * modelOwner 2000 / operator 1500 / validators 1000 / treasury 500 bps,
 * minTxFee 10^15, blockReward 10^18. A Datanet (curated by dev account 0)
 * has three contributions: c1 by alice (accepted, weight 1), c2 by bob
 * (accepted, weight 2), c3 by carol (rejected). A model (owned by dev
 * account 2) declares provenance [[Datanet, 1]]. Then ONE block holds one
 * submitReceipts tx (fee 10^15) from the operator (dev account 3), who is
 * also the payer, with two receipts:
 *
 *   (a) fee F = 1,000,003, attribution [[c1, 1], [c2, 2]]
 *   (b) fee F = 1,000,000, attribution [] (by the model's provenance)
 *
 *   share                         (a) 1,000,003              (b) 1,000,000
 *   contributors C = ⌊F·5000/10⁴⌋  500,001                    500,000
 *     c1 (alice)  ⌊C·1/3⌋            166,667                  —
 *     c2 (bob)    ⌊C·2/3⌋            333,334                  —
 *     remainder → treasury                 0                  —
 *     Datanet pool (weight 1 of 1)        —                   500,000
 *   model owner  ⌊F·2000/10⁴⌋         200,000                    200,000
 *   operator     ⌊F·1500/10⁴⌋         150,000                    150,000
 *   validators   ⌊F·1000/10⁴⌋         100,000                    100,000
 *   treasury     F − the above         50,002 (500 bps = 50,000    50,000
 *                                             + 2 of rounding)
 *
 * The block's distribution (entries per address and role):
 *
 *   contributor   alice        166,667
 *   contributor   bob          333,334
 *   datanetPool   the Datanet  500,000
 *   modelOwner                 400,000
 *   operator                   300,000
 *   treasury                   100,002
 *   validator     validator-0  1,001,000,000,000,200,000
 *                 = tx fee 10^15 + validators' shares 200,000 + block reward 10^18
 *   total                      1,001,000,000,002,000,003 = tx fee + receipt fees 2,000,003 + minted 10^18
 *
 * Then claim: the pool's accumulator is ⌊500,000·10³⁶/3⌋ per weight, so alice
 * (weight 1) claims ⌊166,666.67⌋ = 166,666 and bob (weight 2) ⌊333,333.33⌋ =
 * 333,333; the one unit of rounding stays in the pool, counted in supply.
 */
import t from 'tap'
import { TestChain, h32, OPEN, FEE } from '../../helpers/chain.js'
import { defaultParams } from '../../../genesis/index.js'

t.test('worked example: one block of receipts, distributed to the unit, then claimed', async (t) => {
  const c = new TestChain({ validators: 1, accounts: 10 })
  t.same(c.chain.params, defaultParams(), 'default params')

  const curator = c.account(0)
  const alice = c.account(1)
  const modelOwner = c.account(2)
  const operator = c.account(3)
  const bob = c.account(4)
  const carol = c.account(5)
  const validator = c.validator(0).address
  const treasury = c.chain.params.treasury

  const datanet = c.run(curator, { type: 'registerDatanet', name: 'medical-qa', metadataUri: 'ipfs://medical-qa', contributionBond: OPEN }).hash
  const contribute = (who: typeof alice, label: string) => c.run(who, { type: 'contribute', datanetId: datanet, dataHash: h32(label), metadataUri: `ipfs://${label}` }).hash
  const c1 = contribute(alice, 'c1')
  const c2 = contribute(bob, 'c2')
  const c3 = contribute(carol, 'c3')
  c.run(curator, { type: 'reviewContribution', contributionId: c1, accept: true, weight: 1 })
  c.run(curator, { type: 'reviewContribution', contributionId: c2, accept: true, weight: 2 })
  c.run(curator, { type: 'reviewContribution', contributionId: c3, accept: false, weight: 0 })
  const model = c.run(modelOwner, { type: 'registerModel', name: 'qa-7b', baseModel: 'llama-3-8b', datanets: [{ datanetId: datanet, weight: 1 }], minFee: 1000n }).hash

  const operatorBefore = c.q.balance(operator.address)
  const supplyBefore = BigInt(c.q.meta().supply)
  const stx = c.tx(operator, {
    type: 'submitReceipts',
    receipts: [
      { modelId: model, payer: operator.address, fee: 1_000_003n, inputHash: h32('in-a'), outputHash: h32('out-a'), attribution: [{ contributionId: c1, weight: 1 }, { contributionId: c2, weight: 2 }] },
      { modelId: model, payer: operator.address, fee: 1_000_000n, inputHash: h32('in-b'), outputHash: h32('out-b'), attribution: [] },
    ],
  })
  const out = c.block([stx])
  t.equal(out.results[0].status, 'ok')

  // Receipt payouts cover each whole fee.
  const [a, b] = out.receipts
  t.same(a.payouts, [
    { address: alice.address, role: 'contributor', amount: 166_667n },
    { address: bob.address, role: 'contributor', amount: 333_334n },
    { address: modelOwner.address, role: 'modelOwner', amount: 200_000n },
    { address: operator.address, role: 'operator', amount: 150_000n },
    { address: null, role: 'validators', amount: 100_000n },
    { address: treasury, role: 'treasury', amount: 50_002n },
  ], 'receipt (a)')
  t.same(b.payouts, [
    { address: datanet, role: 'datanetPool', amount: 500_000n },
    { address: modelOwner.address, role: 'modelOwner', amount: 200_000n },
    { address: operator.address, role: 'operator', amount: 150_000n },
    { address: null, role: 'validators', amount: 100_000n },
    { address: treasury, role: 'treasury', amount: 50_000n },
  ], 'receipt (b)')
  for (const [name, r, fee] of [['a', a, 1_000_003n], ['b', b, 1_000_000n]] as const) {
    t.equal(r.payouts.reduce((s, p) => s + p.amount, 0n), fee, `receipt (${name}): payouts sum to the fee`)
  }

  // The block's distribution, sorted by (role, address).
  const byKey = new Map(out.distribution.entries.map((e) => [`${e.role} ${e.address}`, e.amount]))
  const expected: [string, string, bigint][] = [
    ['contributor', alice.address, 166_667n],
    ['contributor', bob.address, 333_334n],
    ['datanetPool', datanet, 500_000n],
    ['modelOwner', modelOwner.address, 400_000n],
    ['operator', operator.address, 300_000n],
    ['treasury', treasury, 100_002n],
    ['validator', validator, 1_001_000_000_000_200_000n],
  ]
  t.equal(out.distribution.entries.length, expected.length, 'seven entries')
  for (const [role, address, amount] of expected) t.equal(byKey.get(`${role} ${address}`), amount, `${role} ${address}`)
  t.equal(out.distribution.minted, 10n ** 18n)
  t.equal(1_001_000_000_000_200_000n, FEE + 200_000n + 10n ** 18n, 'validator = tx fee + validators\' shares + block reward')
  const total = out.distribution.entries.reduce((s, e) => s + e.amount, 0n)
  t.equal(total, FEE + 2_000_003n + 10n ** 18n, 'every unit of every fee, plus the reward, lands with exactly one party')

  t.equal(c.q.balance(operator.address), operatorBefore - FEE - 2_000_003n + 300_000n, 'operator paid the tx fee and both receipt fees and earned its shares')
  t.equal(BigInt(c.q.meta().supply), supplyBefore + 10n ** 18n, 'supply grew by the reward only')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
  t.match(c.q.contribution(c1), { receipts: 1, weightSharePpm: 333_333, earned: (166_667n + 166_666n).toString(), unclaimed: '166666' })
  t.match(c.q.contribution(c2), { receipts: 1, weightSharePpm: 666_666, earned: (333_334n + 333_333n).toString(), unclaimed: '333333' })
  t.match(c.q.contribution(c3), { status: 'rejected', receipts: 0, earned: '0' })
  t.match(c.q.datanet(datanet), { earned: '1000001', accepted: 2, totalWeight: '3' })
  t.match(c.q.model(model), { receipts: 2, feesTotal: '2000003' })

  // Claim the pool shares.
  const aliceBefore = c.q.balance(alice.address)
  const bobBefore = c.q.balance(bob.address)
  t.equal(c.q.account(alice.address).pendingRewards, '166666')
  t.equal(c.q.account(bob.address).pendingRewards, '333333')
  const claimed = c.block([c.tx(alice, { type: 'claim' }), c.tx(bob, { type: 'claim' })])
  t.same(claimed.results.map((r) => r.status), ['ok', 'ok'])
  t.equal(c.q.balance(alice.address), aliceBefore - FEE + 166_666n, 'alice claims 166,666')
  t.equal(c.q.balance(bob.address), bobBefore - FEE + 333_333n, 'bob claims 333,333')
  t.equal(c.q.account(alice.address).pendingRewards, '0')
  t.same(c.q.attribution(alice.address).earned.contributor, (166_667n + 166_666n).toString(), 'alice earned 333,333 as a contributor')
  t.same(c.q.attribution(bob.address).earned.contributor, (333_334n + 333_333n).toString(), 'bob earned 666,667 as a contributor')
  t.same(c.q.attribution(modelOwner.address).earned.modelOwner, '400000')
  t.same(c.q.attribution(operator.address).earned.operator, '300000')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})
