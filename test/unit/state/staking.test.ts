import t from 'tap'
import { TestChain, OPEN } from '../../helpers/chain.js'
import type { SignedTx } from '../../../core/tx.js'

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
  t.same(c.q.validators().map((x) => ({ ...x, missed: 0 })), snapshot.map((x) => ({ ...x, missed: 0 })), 'the same evidence again changes nothing')
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
