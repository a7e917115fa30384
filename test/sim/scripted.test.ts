import t from 'tap'
import { toHex } from '../../core/bytes.js'
import { World } from './world.js'
import { lockAttack, lockAttackRoles, lyingPeer, shrinkToOne, slowValidators, SLOW } from './scripted.js'
import { simKey } from './world.js'

/**
 * Scripted adversarial scenarios over the production consensus driver
 * (test/sim/scripted.ts). Every world invariant (agreement, validity,
 * commit verification, evidence, liveness after GST, the economic
 * invariant) is checked in each; the assertions below add what the
 * scenario is about.
 */

t.test('lock attack: the locked validator prevotes nil; the byzantine block Y never gets a polka; X is decided everywhere', async (t) => {
  const world = new World(lockAttack('lock'))
  const r = await world.run()
  t.same(r.violations, [])
  const { n1 } = lockAttackRoles()
  t.equal(r.rounds[0], 0, 'N1 decided height 1 in round 0')
  const x = world.nodes[n1]!.chain.get(1)!.bytes
  for (const node of world.nodes.filter((n) => n.honest)) t.equal(toHex(node.chain.get(1)!.bytes), toHex(x), `node ${node.id} holds X at height 1`)
  t.ok(r.heights >= 4)
})

t.test('valid-round attack: a proposal whose validRound has no polka is not prevoted; X is decided everywhere', async (t) => {
  const world = new World(lockAttack('validRound'))
  const r = await world.run()
  t.same(r.violations, [])
  const { n1 } = lockAttackRoles()
  const x = world.nodes[n1]!.chain.get(1)!.bytes
  for (const node of world.nodes.filter((n) => n.honest)) t.equal(toHex(node.chain.get(1)!.bytes), toHex(x), `node ${node.id} holds X at height 1`)
})

t.test('a lying sync peer (claims height 1,000,000, serves forged commits) never pauses consensus; the lagging validator syncs from honest peers', async (t) => {
  const world = new World(lyingPeer())
  const r = await world.run()
  t.same(r.violations, [])
  const liar = world.nodes.find((n) => n.behaviour === 'liar')!
  const asked = world.nodes.reduce((a, n) => a + (n.requestsTo.get(liar.id) ?? 0), 0)
  t.ok(asked > 0, `honest nodes asked the liar ${asked} times`)
  const lagging = world.nodes[3]!
  t.ok(lagging.syncPauses > 0, 'the validator that was down caught up by block sync')
  t.ok([...lagging.chain.values()].some((b) => b.via === 'sync'))
  t.ok(r.economicChecks > 0)
})

t.test('a slow validator whose votes always arrive last is in every lastCommit, though it is never in the first +2/3', async (t) => {
  const world = new World(slowValidators())
  const r = await world.run()
  t.same(r.violations, [])
  const observer = world.nodes[0]!
  const slow = simKey(SLOW).address
  let bare = 0
  for (let h = 2; h <= observer.committedHeight; h++) {
    const block = world.decodeBlock(observer.chain.get(h)!.bytes)!
    t.ok(block.lastCommit!.signatures.some((s) => s.validator === slow), `block ${h} counts the slow validator present at ${h - 1}`)
  }
  for (const [, signers] of observer.decidedSigners) if (signers < 4) bare++
  t.ok(bare > 0, `node 0 decided ${bare} heights before the slow precommit arrived`)
  t.ok(r.economicChecks > 0, `${r.economicChecks} economic checks`)
})

t.test('the validator set shrinks to one; the last validator carries on alone and the others follow', async (t) => {
  const world = new World(shrinkToOne())
  const r = await world.run()
  t.same(r.violations, [])
  t.equal(world.setFor(10).validators.length, 1)
  const observer = world.nodes[3]!
  t.equal(observer.committedHeight >= 10, true, 'a removed validator keeps following')
  const last = world.decodeBlock(observer.chain.get(10)!.bytes)!.lastCommit!
  t.same(last.signatures.map((s) => s.validator), [simKey(0).address])
})
