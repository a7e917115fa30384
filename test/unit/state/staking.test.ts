import t from 'tap'
import { TestChain, OPEN } from '../../helpers/chain.js'
import type { SignedTx } from '../../../core/tx.js'
import { maxEvidenceAge } from '../../../state/index.js'

const params = { downtimeWindow: 10, downtimeMissedBps: 5000, jailBlocks: 5, unbondingBlocks: 4, slashDowntimeBps: 10, slashDoubleSignBps: 500 }
const STAKE = 100_000n * OPEN

function chain() {
  return new TestChain({ validators: 3, accounts: 4, params })
}

/** A block whose lastCommit lacks `absent`'s precommit. */
function blockWithout(c: TestChain, absent: string, txs: SignedTx[] = []) {
  const prev = c.q.validatorSet(c.height) ?? []
  return c.block(txs, { signers: c.height === 0 ? null : prev.map((m) => m.address).filter((a) => a !== absent) })
}

const members = (c: TestChain, h: number) => (c.q.validatorSet(h) ?? []).map((m) => m.address)
const power = (c: TestChain, h: number, a: string) => c.q.validatorSet(h)?.find((m) => m.address === a)?.power

t.test('downtime: missing more than downtimeMissedBps of the window slashes, jails, leaves at H+2, unjails after jailBlocks', async (t) => {
  const c = chain()
  const v = c.validator(2)
  const info = () => c.q.validators().find((x) => x.address === v.address)!
  // window 10, 5000 bps: 5 misses are tolerated, the 6th jails. Block k carries the commit of k − 1.
  for (let h = 1; h <= 6; h++) {
    blockWithout(c, v.address)
    t.equal(info().jailed, false, `after block ${h}: not jailed`)
    t.equal(info().missed, h - 1, `after block ${h}: ${h - 1} misses`)
  }
  const supply = BigInt(c.q.meta().supply)
  const out = blockWithout(c, v.address)
  const J = c.height
  t.equal(J, 7)
  const slash = (STAKE * 10n) / 10_000n
  t.match(info(), { jailed: true, jailedUntil: J + 5, selfStake: (STAKE - slash).toString(), missed: 0 }, 'the 6th miss of 10 jails and slashes 10 bps')
  t.equal(BigInt(c.q.meta().supply), supply + out.distribution.minted - slash, 'the slash is burned')
  t.equal(c.q.meta().burned, slash.toString())
  t.ok(members(c, J + 1).includes(v.address), 'still in the set of H + 1')
  t.notOk(members(c, J + 2).includes(v.address), 'out of the set of H + 2')
  t.equal(members(c, J + 2).length, 2)

  for (let h = J + 1; h < J + 5; h++) {
    const r = c.block([c.tx(v, { type: 'unjail' })], {})
    t.equal(r.results[0].error?.code, 'TX_ERROR_UNJAIL_TOO_EARLY', `unjail at height ${h} is too early`)
  }
  t.equal(c.height, J + 4)
  const r = c.block([c.tx(v, { type: 'unjail' })])
  t.equal(r.results[0].status, 'ok', `unjail at height ${J + 5} = jailedUntil`)
  t.equal(info().jailed, false)
  t.notOk(members(c, c.height + 1).includes(v.address), 'not yet back at H + 1')
  t.ok(members(c, c.height + 2).includes(v.address), 'back in the set at H + 2')
  t.equal(power(c, c.height + 2, v.address), STAKE - slash)
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test('double-sign evidence slashes slashDoubleSignBps of bonded stake, burned; duplicates are ignored', async (t) => {
  const c = chain()
  const v = c.validator(1).address
  const d = c.account(0)
  c.run(d, { type: 'delegate', validator: v, amount: 1000n * OPEN })
  c.block([])
  c.block([])
  t.equal(power(c, 3, v), STAKE + 1000n * OPEN, 'the delegation of block 1 has power at height 3')
  const supply = BigInt(c.q.meta().supply)
  const bonded = STAKE + 1000n * OPEN
  const slash = (STAKE * 500n) / 10_000n + (1000n * OPEN * 500n) / 10_000n
  t.equal(slash, (bonded * 5n) / 100n)
  const out = c.block([], { evidence: [{ validator: v, height: 3 }] })
  const H = c.height
  t.equal(BigInt(c.q.meta().supply), supply + out.distribution.minted - slash, 'supply drops by exactly the slash')
  t.equal(c.q.meta().burned, slash.toString())
  t.match(c.q.validators().find((x) => x.address === v), { jailed: true, jailedUntil: H + 5, selfStake: (STAKE * 95n / 100n).toString(), delegated: (950n * OPEN).toString() })
  t.same(c.q.delegations(d.address), [{ validator: v, amount: (950n * OPEN).toString() }], 'delegators are slashed pro rata')
  t.ok(members(c, H + 1).includes(v), 'still in the set of H + 1')
  t.notOk(members(c, H + 2).includes(v), 'out at H + 2')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))

  const snapshot = c.q.validators()
  const supply2 = BigInt(c.q.meta().supply)
  const again = c.block([], { evidence: [{ validator: v, height: 3 }, { validator: v, height: 3 }] })
  // power follows the set (the jailed validator leaves it at H + 2), missed the commits
  const still = (xs: typeof snapshot) => xs.map((x) => ({ ...x, missed: 0, power: '' }))
  t.same(still(c.q.validators()), still(snapshot), 'the same evidence again changes nothing')
  t.equal(BigInt(c.q.meta().supply), supply2 + again.distribution.minted, 'nothing burned')

  const supply3 = BigInt(c.q.meta().supply)
  const v0 = c.validator(0).address
  const twice = c.block([], { evidence: [{ validator: v0, height: 3 }, { validator: v0, height: 3 }] })
  t.equal(BigInt(c.q.meta().supply), supply3 + twice.distribution.minted - (STAKE * 5n) / 100n, 'twice in one block slashes once')

  const root = c.root
  const snap = c.snapshot()
  t.throws(() => c.block([], { evidence: [{ validator: c.account(3).address, height: 1 }] }), { code: 'BLOCK_ERROR_BAD_EVIDENCE' }, 'evidence against a non-validator')
  t.same(c.root, root)
  t.same(c.snapshot(), snap, 'nothing applied')
})

t.test('stake changes show in the set of H + 2, not H + 1', async (t) => {
  const c = chain()
  c.block([])
  const newV = c.account(1)
  const cv = c.block([c.tx(newV, { type: 'createValidator', amount: 50_000n * OPEN, moniker: 'new', commissionBps: 0 })])
  t.equal(cv.results[0].status, 'ok')
  let H = c.height
  t.notOk(members(c, H + 1).includes(newV.address), 'createValidator: not in H + 1')
  t.equal(power(c, H + 2, newV.address), 50_000n * OPEN, 'createValidator: in H + 2 with its stake')
  t.same(cv.nextValidatorSet.members.map((m) => m.address), members(c, H + 2))

  const v0 = c.validator(0).address
  c.block([c.tx(c.account(0), { type: 'delegate', validator: v0, amount: 7n * OPEN })])
  H = c.height
  t.equal(power(c, H + 1, v0), STAKE, 'delegate: H + 1 unchanged')
  t.equal(power(c, H + 2, v0), STAKE + 7n * OPEN, 'delegate: H + 2 has it')

  c.block([c.tx(c.validator(1), { type: 'unstake', amount: 30_000n * OPEN })])
  H = c.height
  t.equal(power(c, H + 1, c.validator(1).address), STAKE, 'unstake: H + 1 unchanged')
  t.equal(power(c, H + 2, c.validator(1).address), STAKE - 30_000n * OPEN, 'unstake: H + 2 lowered')

  c.block([c.tx(newV, { type: 'unstake', amount: 50_000n * OPEN })])
  H = c.height
  t.ok(members(c, H + 1).includes(newV.address), 'unstake all: still in H + 1')
  t.notOk(members(c, H + 2).includes(newV.address), 'unstake all: out at H + 2')
})

t.test('unbonding is released exactly at height + unbondingBlocks', async (t) => {
  const c = chain()
  const d = c.account(2)
  const v = c.validator(0).address
  c.run(d, { type: 'delegate', validator: v, amount: 500n * OPEN })
  c.run(d, { type: 'undelegate', validator: v, amount: 500n * OPEN })
  const H = c.height
  const balance = c.q.balance(d.address)
  t.equal(c.q.account(d.address).unbonding, (500n * OPEN).toString())
  for (let h = H + 1; h < H + 4; h++) {
    c.block([])
    t.equal(c.q.balance(d.address), balance, `height ${h}: not released`)
    t.equal(c.q.account(d.address).unbonding, (500n * OPEN).toString(), `height ${h}: still unbonding`)
  }
  c.block([])
  t.equal(c.height, H + 4)
  t.equal(c.q.balance(d.address), balance + 500n * OPEN, `released at height ${H + 4}`)
  t.equal(c.q.account(d.address).unbonding, '0')

  // two unbondings of one validator at different heights
  const val = c.validator(1)
  c.run(val, { type: 'unstake', amount: 10n * OPEN })
  const U1 = c.height
  c.run(val, { type: 'unstake', amount: 20n * OPEN })
  const unbonding = () => c.q.account(val.address).unbonding
  t.equal(unbonding(), (30n * OPEN).toString())
  while (c.height < U1 + 3) c.block([])
  t.equal(unbonding(), (30n * OPEN).toString(), 'nothing before U1 + 4')
  c.block([])
  t.equal(unbonding(), (20n * OPEN).toString(), 'the first at U1 + 4')
  c.block([])
  t.equal(unbonding(), '0', 'the second one block later')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

// ---------------------------------------------------------------- issue 11: the set is never emptied

t.test('the last validator cannot unstake all (single validator): TX_ERROR_LAST_VALIDATOR, fee paid, nothing else changes', async (t) => {
  const c = new TestChain({ validators: 1, accounts: 1, params })
  const v = c.validator(0)
  c.block([])
  const before = c.q.validators()[0]
  const balance = c.q.balance(v.address)
  const r = c.run(v, { type: 'unstake', amount: STAKE })
  t.equal(r.status, 'failed')
  t.equal(r.error?.code, 'TX_ERROR_LAST_VALIDATOR')
  t.match(r.error?.message, /validator set empty/)
  t.equal(c.q.validators()[0].selfStake, before.selfStake, 'self-stake unchanged')
  t.equal(c.q.account(v.address).unbonding, '0', 'nothing unbonding')
  const credited = r.outcome.distribution.entries.filter((e) => e.address === v.address).reduce((s, e) => s + e.amount, 0n)
  t.equal(c.q.balance(v.address), balance - c.chain.params.minTxFee + credited, 'the fee is paid')
  t.same(members(c, c.height + 2), [v.address], 'still the set at H + 2')
  t.same(r.outcome.events, [], 'no staking event')
  // a partial unstake that keeps the validator in the set is fine
  t.equal(c.run(v, { type: 'unstake', amount: STAKE - c.chain.params.minValidatorStake }).status, 'ok')
  for (let i = 0; i < 3; i++) c.block([])
  t.same(members(c, c.height + 2), [v.address], 'the chain goes on')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test('last of four: three leave, the fourth cannot; within one block the tx that would empty the set fails', async (t) => {
  const c = new TestChain({ validators: 4, accounts: 1, params })
  const vs = [0, 1, 2, 3].map((i) => c.validator(i))
  const out = c.block([c.tx(vs[0], { type: 'unstake', amount: STAKE }), c.tx(vs[1], { type: 'unstake', amount: STAKE })])
  t.same(out.results.map((r) => r.status), ['ok', 'ok'])
  const both = c.block([c.tx(vs[2], { type: 'unstake', amount: STAKE }), c.tx(vs[3], { type: 'unstake', amount: STAKE })])
  t.same(both.results.map((r) => r.status), ['ok', 'failed'], 'the second unstake of the block would empty the set')
  t.equal(both.results[1].error?.code, 'TX_ERROR_LAST_VALIDATOR')
  t.same(members(c, c.height + 2), [vs[3].address])
  const again = c.run(vs[3], { type: 'unstake', amount: STAKE })
  t.equal(again.error?.code, 'TX_ERROR_LAST_VALIDATOR')
  // undelegating from the last validator is fine: it stays in the set
  const d = c.account(0)
  t.equal(c.run(d, { type: 'delegate', validator: vs[3].address, amount: 10n * OPEN }).status, 'ok')
  t.equal(c.run(d, { type: 'undelegate', validator: vs[3].address, amount: 10n * OPEN }).status, 'ok')
  // a new validator joins: now the old one may leave
  t.equal(c.run(vs[0], { type: 'stake', amount: STAKE }).status, 'ok')
  t.equal(c.run(vs[3], { type: 'unstake', amount: STAKE }).status, 'ok', 'another validator is in the set now')
  t.same(members(c, c.height + 2), [vs[0].address])
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test('the last validator is slashed for double signing but not jailed out of the set', async (t) => {
  const c = new TestChain({ validators: 1, accounts: 1, params })
  const v = c.validator(0).address
  c.block([])
  c.block([])
  const out = c.block([], { evidence: [{ validator: v, height: 2 }] })
  const slash = (STAKE * 500n) / 10_000n
  t.match(c.q.validators()[0], { jailed: false, selfStake: (STAKE - slash).toString() }, 'burned, not jailed')
  t.equal(c.q.meta().burned, slash.toString())
  t.same(out.events.filter((e) => e.kind !== 'validatorSetChange'), [
    { kind: 'slash', validator: v, height: 3, reason: 'doubleSign', infractionHeight: 2, amount: slash, bonded: slash, unbonding: 0n, jailed: false },
  ], 'a slash event with jailed: false, no jail event')
  t.same(members(c, c.height + 2), [v])
  for (let i = 0; i < 3; i++) c.block([])
  t.same(members(c, c.height + 2), [v], 'the chain goes on')
})

t.test('of two validators, the one left after the other is jailed is not jailed; evidence order decides', async (t) => {
  const c = new TestChain({ validators: 2, accounts: 1, params })
  const [a, b] = [c.validator(0).address, c.validator(1).address].sort()
  c.block([])
  c.block([])
  const out = c.block([], { evidence: [{ validator: a, height: 2 }, { validator: b, height: 2 }] })
  const info = (x: string) => c.q.validators().find((v) => v.address === x)!
  t.equal(info(a).jailed, true, 'the first is jailed')
  t.equal(info(b).jailed, false, 'the second would have emptied the set: slashed only')
  t.same(out.events.filter((e) => e.kind === 'jail').map((e) => e.validator), [a])
  t.same(out.events.filter((e) => e.kind === 'slash').map((e) => e.validator), [a, b])
  t.same(members(c, c.height + 2), [b])
})

t.test('a slash that takes the last validator below minValidatorStake keeps the previous set', async (t) => {
  const c = new TestChain({ validators: 1, accounts: 1, params: { ...params, slashDoubleSignBps: 9500 } })
  const v = c.validator(0)
  c.block([])
  c.block([])
  const out = c.block([], { evidence: [{ validator: v.address, height: 2 }] })
  t.equal(c.q.validators()[0].selfStake, (STAKE * 5n / 100n).toString(), 'below minValidatorStake now')
  t.same(out.nextValidatorSet.members.map((m) => m.address), [v.address], 'the set of H + 1 carries over')
  t.same(members(c, c.height + 2), [v.address])
  c.block([])
  t.same(members(c, c.height + 2), [v.address], 'and again')
  t.equal(c.run(v, { type: 'stake', amount: 9_000n * OPEN }).status, 'ok', 'staking back')
  t.equal(power(c, c.height + 2, v.address), 14_000n * OPEN, 'the set follows the stake again')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

// ---------------------------------------------------------------- issue 11: slashing tied to the infraction height

/** Every unbonding entry amount of `a`, from state. */
const unbonding = (c: TestChain, a: string) => BigInt(c.q.account(a).unbonding)

t.test('double sign at H: stake bonded at H is slashed (unbonding since included), stake bonded after H is not', async (t) => {
  const c = chain()
  const val = c.validator(1)
  const v = val.address
  const [early, late] = [c.account(0), c.account(1)]
  const D = 1000n * OPEN
  t.equal(c.run(early, { type: 'delegate', validator: v, amount: D }).status, 'ok') // block 1: power from 3
  c.block([]) // 2
  c.block([]) // 3
  c.block([]) // 4
  const H = 5
  t.equal(power(c, H, v), STAKE + D, 'bonded at H: self-stake and the early delegation')
  // block 5 (= H): stake that leaves now still had power at H; stake that comes now gets power at H + 2
  c.block([
    c.tx(val, { type: 'unstake', amount: 20_000n * OPEN }),
    c.tx(late, { type: 'delegate', validator: v, amount: 500n * OPEN }),
  ])
  c.block([c.tx(early, { type: 'undelegate', validator: v, amount: 400n * OPEN }), c.tx(val, { type: 'stake', amount: 7n * OPEN })]) // 6
  const supply = BigInt(c.q.meta().supply)
  const out = c.block([], { evidence: [{ validator: v, height: H }] }) // 7
  const cut = (x: bigint) => (x * 500n) / 10_000n
  const expected = cut(STAKE) + cut(D)
  t.equal(BigInt(c.q.meta().supply), supply + out.distribution.minted - expected, 'burned: 5% of the stake bonded at H, no more')
  t.equal(unbonding(c, v), 20_000n * OPEN - cut(20_000n * OPEN), 'the unstake made at H is slashed')
  t.equal(unbonding(c, early.address), 400n * OPEN - cut(400n * OPEN), 'the undelegation made after H is slashed')
  const info = c.q.validators().find((x) => x.address === v)!
  t.equal(BigInt(info.selfStake as string), STAKE - 20_000n * OPEN + 7n * OPEN - (cut(STAKE) - cut(20_000n * OPEN)), 'self-stake: the rest of its part, the stake added after H untouched')
  t.equal(BigInt(info.delegated as string), D - 400n * OPEN + 500n * OPEN - (cut(D) - cut(400n * OPEN)), 'delegated: the rest of the delegators\' part')
  const slash = out.events.find((e) => e.kind === 'slash')
  t.match(slash, { kind: 'slash', validator: v, height: 7, infractionHeight: H, reason: 'doubleSign', amount: expected, unbonding: cut(20_000n * OPEN) + cut(400n * OPEN), jailed: true })
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test('delegations made after the infraction are not slashed (issue 11 reproduction: delegations at H − 1 and H)', async (t) => {
  const c = chain()
  const v = c.validator(1).address
  const d = c.account(0)
  for (let h = 1; h <= 7; h++) c.block([])
  c.run(d, { type: 'delegate', validator: v, amount: 1000n * OPEN }) // 8
  c.run(d, { type: 'delegate', validator: v, amount: 1000n * OPEN }) // 9
  c.block([], { evidence: [{ validator: v, height: 9 }] }) // 10
  t.same(c.q.delegations(d.address), [{ validator: v, amount: (2000n * OPEN).toString() }], 'the delegations had no power at 9')
  t.equal(c.q.meta().burned, ((STAKE * 500n) / 10_000n).toString(), 'only the self-stake bonded at 9')
})

t.test('unbonding that left the set before the infraction height is not slashed', async (t) => {
  const c = chain()
  const val = c.validator(1)
  c.block([]) // 1
  c.run(val, { type: 'unstake', amount: 30_000n * OPEN }) // 2: power lowered from 4
  c.block([]) // 3
  c.block([]) // 4
  t.equal(power(c, 4, val.address), STAKE - 30_000n * OPEN)
  c.block([], { evidence: [{ validator: val.address, height: 4 }] }) // 5
  t.equal(unbonding(c, val.address), 30_000n * OPEN, 'the entry of block 2 had no power at 4')
  t.equal(c.q.meta().burned, (((STAKE - 30_000n * OPEN) * 500n) / 10_000n).toString())
})

t.test('evidence older than the unbonding period, of a future height, or of a height the validator was not in the set is refused', async (t) => {
  const c = chain() // unbondingBlocks 4: evidence of h goes in blocks h + 1 … h + 3
  const v = c.validator(1).address
  for (let h = 1; h <= 5; h++) c.block([])
  const root = c.root
  const snap = c.snapshot()
  t.throws(() => c.block([], { evidence: [{ validator: v, height: 2 }] }), { code: 'BLOCK_ERROR_BAD_EVIDENCE' }, 'age 4 is too old')
  t.throws(() => c.block([], { evidence: [{ validator: v, height: 6 }] }), { code: 'BLOCK_ERROR_BAD_EVIDENCE' }, 'the height being decided')
  const joiner = c.account(0)
  t.equal(c.run(joiner, { type: 'createValidator', amount: 20_000n * OPEN, moniker: 'j', commissionBps: 0 }).status, 'ok') // 6
  const root6 = c.root
  const snap6 = c.snapshot()
  t.throws(() => c.block([], { evidence: [{ validator: joiner.address, height: 6 }] }), { code: 'BLOCK_ERROR_BAD_EVIDENCE' }, 'not in the set of 6')
  t.same(c.root, root6)
  t.same(c.snapshot(), snap6, 'nothing applied')
  t.not(root, root6)
  t.equal(snap.size > 0, true)
  c.block([], { evidence: [{ validator: v, height: 4 }] }) // 7: age 3 is accepted
  t.equal(c.q.validators().find((x) => x.address === v)!.jailed, true)
  t.equal(maxEvidenceAge(c.chain.params), 3)
  const keys = [...c.store.entries()].map(([k]) => k).filter((k) => k.startsWith('valstake/'))
  t.same(keys, ['valstake/000000000005', 'valstake/000000000006', 'valstake/000000000007', 'valstake/000000000008', 'valstake/000000000009'], 'stake snapshots are kept for the evidence window only (block 8 takes evidence of 5 … 7)')
})

t.test('downtime slashes the stake bonded at the missed height', async (t) => {
  const c = chain()
  const val = c.validator(2)
  const d = c.account(0)
  for (let h = 1; h <= 5; h++) blockWithout(c, val.address)
  // block 6 misses 5 and carries a delegation (power from 8); block 7 records the 6th miss (of height 6) and jails
  blockWithout(c, val.address, [c.tx(d, { type: 'delegate', validator: val.address, amount: 1000n * OPEN })])
  const out = blockWithout(c, val.address)
  t.match(out.events.find((e) => e.kind === 'slash'), { validator: val.address, reason: 'downtime', infractionHeight: 6, amount: (STAKE * 10n) / 10_000n })
  t.same(c.q.delegations(d.address), [{ validator: val.address, amount: (1000n * OPEN).toString() }], 'the delegation made at 6 had no power at 6')
})

// ---------------------------------------------------------------- issue 11: no zero-token dust

t.test('a delegation slashed to 0 tokens is closed by undelegate or claim; new delegations wait until the old are closed', async (t) => {
  const c = new TestChain({ validators: 3, accounts: 4, params: { ...params, slashDoubleSignBps: 10_000 } })
  const v = c.validator(1).address
  const [a, b, x] = [c.account(0), c.account(1), c.account(2)]
  c.run(a, { type: 'delegate', validator: v, amount: 100n * OPEN }) // 1
  c.run(b, { type: 'delegate', validator: v, amount: 100n * OPEN }) // 2
  c.block([]) // 3
  c.block([]) // 4
  c.run(b, { type: 'undelegate', validator: v, amount: 40n * OPEN }) // 5
  c.block([], { evidence: [{ validator: v, height: 4 }] }) // 6
  t.same(c.q.delegations(a.address), [{ validator: v, amount: '0' }], 'slashed to 0 tokens')
  t.equal(c.q.account(b.address).unbonding, '0', 'the unbonding entry slashed to 0 is gone')
  t.notOk(c.store.get(`unbond/${b.address}`), 'no zero entry left in state')
  const refused = c.run(x, { type: 'delegate', validator: v, amount: 5n * OPEN })
  t.equal(refused.error?.code, 'TX_ERROR_ZERO_EXCHANGE_RATE', 'new delegations would share worthless shares')
  const closed = c.run(a, { type: 'undelegate', validator: v, amount: 1n })
  t.equal(closed.status, 'ok', 'undelegate closes it (was: "delegation is 0")')
  t.same(c.q.delegations(a.address), [])
  t.equal(c.q.account(a.address).unbonding, '0', 'no zero unbonding entry')
  t.equal(c.run(b, { type: 'claim' }).status, 'ok')
  t.same(c.q.delegations(b.address), [], 'claim closes it too')
  t.equal(c.run(x, { type: 'delegate', validator: v, amount: 5n * OPEN }).status, 'ok', 'delegations are taken again')
  t.same(c.q.delegations(x.address), [{ validator: v, amount: (5n * OPEN).toString() }])
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

t.test('a partial undelegate that would leave 0 tokens closes the delegation', async (t) => {
  const c = chain()
  const v = c.validator(0).address
  const [a, b] = [c.account(0), c.account(1)]
  c.run(a, { type: 'delegate', validator: v, amount: 3n }) // 3 shares for 3 tokens
  c.run(b, { type: 'delegate', validator: v, amount: 1000n * OPEN })
  c.block([])
  c.block([])
  c.block([], { evidence: [{ validator: v, height: 4 }] }) // 5% off: a's 3 shares are worth 2 tokens
  t.same(c.q.delegations(a.address), [{ validator: v, amount: '2' }])
  // 1 token costs ⌈1 · 3 / 2.85⌉ = 2 shares; the 1 share left would be worth ⌊0.95⌋ = 0 tokens
  t.equal(c.run(a, { type: 'undelegate', validator: v, amount: 1n }).status, 'ok')
  t.same(c.q.delegations(a.address), [], 'nothing worthless left behind')
  t.equal(c.q.account(a.address).unbonding, '1')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply))
})

// ---------------------------------------------------------------- issue 11: punishment is visible

t.test('staking_validators.power is the power in the set of head + 1: 0 when jailed or outside the set', async (t) => {
  const c = new TestChain({ validators: 3, accounts: 2, params: { ...params, maxValidators: 2 } })
  const powerOf = (a: string) => c.q.validators().find((x) => x.address === a)!.power
  const inSet = members(c, 1)
  const outside = [0, 1, 2].map((i) => c.validator(i).address).find((a) => !inSet.includes(a))!
  t.equal(inSet.length, 2)
  t.equal(powerOf(outside), '0', 'a validator outside maxValidators has no power')
  for (const a of inSet) t.equal(powerOf(a), STAKE.toString(), `${a}: its power in the set`)
  c.block([])
  c.block([])
  const v = inSet[0]
  c.block([], { evidence: [{ validator: v, height: 2 }] })
  const J = c.height
  t.equal(powerOf(v), STAKE.toString(), `jailed at ${J}: still votes at ${J + 1}`)
  c.block([])
  t.equal(c.q.validators().find((x) => x.address === v)!.jailed, true)
  t.equal(powerOf(v), '0', 'jailed and out of the set: power 0')
  t.equal(powerOf(outside), STAKE.toString(), 'the next highest took its place')
})

t.test('BlockOutcome.events: slash, jail, unjail and set changes, in execution order', async (t) => {
  const c = chain()
  const v = c.validator(2).address
  const d = c.account(0)
  for (let h = 1; h <= 6; h++) t.same(blockWithout(c, v).events, [], `block ${h}: no event`)
  const out = blockWithout(c, v)
  const J = c.height
  const slash = (STAKE * 10n) / 10_000n
  t.same(out.events, [
    { kind: 'slash', validator: v, height: J, reason: 'downtime', infractionHeight: J - 1, amount: slash, bonded: slash, unbonding: 0n, jailed: true },
    { kind: 'jail', validator: v, height: J, reason: 'downtime', jailedUntil: J + 5 },
    { kind: 'validatorSetChange', validator: v, height: J, effectiveHeight: J + 2, power: 0n, previousPower: STAKE },
  ])
  while (c.height < J + 4) c.block([])
  const back = c.block([c.tx(c.validator(2), { type: 'unjail' }), c.tx(d, { type: 'delegate', validator: c.validator(0).address, amount: 3n })])
  const H = c.height
  t.same(back.events, [
    { kind: 'unjail', validator: v, height: H },
    { kind: 'validatorSetChange', validator: c.validator(0).address, height: H, effectiveHeight: H + 2, power: STAKE + 3n, previousPower: STAKE },
    { kind: 'validatorSetChange', validator: v, height: H, effectiveHeight: H + 2, power: STAKE - slash, previousPower: 0n },
  ].sort((a, b) => (a.kind === 'unjail' ? -1 : b.kind === 'unjail' ? 1 : a.validator < b.validator ? -1 : 1)), 'unjail (tx order), then set changes by address')
  const failed = c.block([c.tx(c.validator(2), { type: 'unjail' })])
  t.equal(failed.results[0].status, 'failed')
  t.same(failed.events, [], 'a failed unjail is no event')
})
