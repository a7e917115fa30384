import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devValidatorKey } from '../../../genesis/devnet.js'
import { initHome } from '../../../node/init.js'
import { loadConfig } from '../../../node/config.js'
import { AttrchainNode } from '../../../node/node.js'
import { silentLogger } from '../../../core/logger.js'
import { sha256 } from '../../../core/hash.js'
import { makeEvidence, voteSignBytes, type Vote } from '../../../consensus/index.js'
import { FAST_PARAMS } from '../../helpers/network.js'
import { until } from '../../helpers/nodeProcess.js'

/**
 * Double-sign evidence reaches a block whoever detected it. Three
 * validators and a full node (no validator key) in this process, over real
 * libp2p on 127.0.0.1. Only the full node is shown validator 2's two
 * conflicting prevotes; it never proposes, so before evidence was gossiped
 * the equivocation stayed with it and was never punished. That is the
 * e2e double-signing test's failure under CI load: the node that saw both
 * votes was the equivocator's honest half, whose proposals lost to its
 * twin's at every height, while the others had decided before the second
 * vote reached them.
 */
t.test('evidence seen only by a node that never proposes is gossiped, included by a validator and punished', async (t) => {
  const genesis = buildDevnetGenesis({ validators: 3, accounts: 1, params: FAST_PARAMS })
  const nodes: AttrchainNode[] = []
  const homes: string[] = []
  t.teardown(async () => {
    for (const n of nodes.reverse()) await n.stop()
    for (const h of homes) rmSync(h, { recursive: true, force: true })
  })
  const start = async (name: string, validator: number | null): Promise<AttrchainNode> => {
    const home = mkdtempSync(join(tmpdir(), `attrchain-evidence-${name}-`))
    homes.push(home)
    const bootstrap = nodes.length > 0 ? [nodes[0]!.network.multiaddrs()[0]!] : []
    initHome({ home, genesis, validatorKey: validator === null ? undefined : devValidatorKey(validator), config: { bootstrap } })
    const node = await AttrchainNode.start(loadConfig(home, { rpcPort: 0, p2pPort: 0, blockTimeMs: 100 }, {}), silentLogger)
    nodes.push(node)
    return node
  }
  for (let i = 0; i < 3; i++) await start(`v${i}`, i)
  const observer = await start('observer', null)
  await until('the full node to follow the chain', async () => observer.chain.head.height >= 3, 30_000)

  const offender = devValidatorKey(2)
  const prevote = (height: number, value: string): Vote => {
    const u = { type: 'prevote' as const, height, round: 0, blockHash: sha256(value), validator: offender.address }
    return { ...u, signature: offender.sign(voteSignBytes(genesis.chainId, u)) }
  }
  // for a height the full node has not started: held until it does, then both meet in one vote set
  const H = observer.chain.head.height + 2
  observer.driver.onVote(prevote(H, 'one block'))
  observer.driver.onVote(prevote(H, 'another block'))

  const v0 = nodes[0]!
  await until('the offender to be jailed', async () => v0.chain.queries.validators().find((v) => v.address === offender.address)?.jailed === true, 30_000, 50)
  t.ok(v0.chain.queries.doubleSignPunished(offender.address, H), `punished for height ${H}`)
  let carrier: string | null = null
  for (let h = H + 1; h <= v0.chain.head.height && carrier === null; h++) {
    const b = await v0.chain.db.getBlock(h)
    if (b && b.evidence.length > 0) carrier = b.header.proposer
  }
  t.ok(carrier !== null && carrier !== observer.validatorAddress, `the evidence came in a block of validator ${carrier}`)
  const top = v0.chain.head.height
  await until('two more heights everywhere', async () => nodes.every((n) => n.chain.head.height >= top + 2), 30_000)
  const same = makeEvidence(prevote(H, 'one block'), prevote(H, 'another block'))
  t.same(nodes.map((n) => n.driver.hasEvidence(same)), [false, false, false, false], 'no node holds it any more (nor re-publishes it)')
})
