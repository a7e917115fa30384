import t from 'tap'
import { UNITS_PER_OPEN } from '../../core/amount.js'
import { devValidatorKey } from '../../genesis/devnet.js'
import { until } from '../helpers/nodeProcess.js'
import { startNetwork, allReach } from '../helpers/network.js'

/**
 * Issue 11 on real processes: an honest validator doing its job is never
 * punished, and no block comes before genesis time.
 */
const OPEN = UNITS_PER_OPEN

t.test('unequal powers, default 1 s commit pause: every online validator is in the canonical commits and nobody is jailed', async (t) => {
  // Before full commits the 100k validator was absent from 73-84 % of lastCommits and jailed within ~20 heights here.
  const net = await startNetwork({
    validators: 4, stakes: [400_000n * OPEN, 300_000n * OPEN, 200_000n * OPEN, 100_000n * OPEN], blockTimeMs: 1000,
    params: { downtimeWindow: 20, downtimeMissedBps: 5000 },
  })
  t.teardown(() => net.close())
  const target = 30
  await allReach(net.nodes, target, 180_000)
  const [v0] = net.nodes
  const smallest = devValidatorKey(3).address
  let carried = 0
  for (let h = 2; h <= target; h++) {
    const block = await v0!.client.getBlock(h)
    const signers = block!.lastCommit!.signatures.map((s) => s.validator)
    if (signers.includes(smallest)) carried++
  }
  t.ok(carried * 2 > target - 1, `the smallest validator is in most canonical commits (${carried} of ${target - 1})`)
  const vals = await v0!.client.validators()
  t.same(vals.filter((v) => v.jailed).map((v) => v.address), [], 'no validator jailed')
  t.ok(vals.every((v) => BigInt(v.power) > 0n), 'every validator keeps its power')
  // chain_getCommit(H) is the canonical commit: the same on every node, and the one block H + 1 carries.
  for (const h of [5, 10, 20]) {
    const carriedCommit = (await v0!.client.getBlock(h + 1))!.lastCommit
    for (const n of net.nodes) t.same(await n.client.getCommit(h), carriedCommit, `${n.name}: chain_getCommit(${h}) = block ${h + 1}'s lastCommit`)
  }
})

t.test('a genesis time in the future: no block before it, and block 1 in an early round', async (t) => {
  const genesisMs = Date.now() + 15_000
  const net = await startNetwork({ validators: 4, blockTimeMs: 500, genesis: { genesisTime: new Date(genesisMs).toISOString() } })
  t.teardown(() => net.close())
  // four nodes may take over 15 s to start on a loaded 2-core machine: the round of block 1 says something only if all were up before genesis
  const upBeforeGenesis = Date.now() < genesisMs - 2000
  // Before the fix a lone node stamped blocks genesis + 1 ms, + 2 ms… before genesis, and 4 validators needed ~23 rounds for block 1.
  while (Date.now() < genesisMs - 1000) {
    for (const n of net.nodes) t.equal((await n.client.status()).height, 0, `${n.name}: no block before genesis time`)
    await new Promise((r) => setTimeout(r, 1000))
  }
  await allReach(net.nodes, 2, 60_000)
  const b1 = (await net.nodes[0]!.client.getBlock(1))!
  t.ok(b1.header.timeMs >= genesisMs, 'block 1 is not stamped before genesis')
  const c1 = await net.nodes[0]!.client.getCommit(1)
  // Round 0 needs every proposal and vote to cross a gossip mesh that forms over 1 s heartbeats after the nodes are
  // up; on a loaded machine a round or two may fail. Rounds up to 3 still tell the fix from the ~23 before it.
  if (upBeforeGenesis) t.ok(c1!.round <= 3, `block 1 committed in round ${c1!.round}`)
  else t.comment(`the nodes came up after genesis time; block 1 committed in round ${c1!.round} (not asserted)`)
  await until('a block at least 1 s after genesis', async () => ((await net.nodes[0]!.client.getBlock('latest'))!.header.timeMs > genesisMs + 1000))
})
