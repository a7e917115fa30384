import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateNodeKey } from '../../p2p/index.js'
import { initHome } from '../../node/init.js'
import { homePaths } from '../../node/home.js'
import { devnetHome, freePort, startNode, tempDir, until, type NodeProcess } from '../helpers/nodeProcess.js'

/**
 * Issue 17 with real processes: a single validator (archive, snapshots
 * every 20 heights), a pruned full node (keeps 100 blocks, takes snapshots
 * too), a fresh node that must block-sync from genesis (only the archive
 * node holds the early blocks), and a node joining by state sync from the
 * pruned node alone.
 */
t.test('pruned node serves its range; a fresh node syncs from the archive; a node joins by state sync', async (t) => {
  const tmp = tempDir('attrchain-statesync-')
  const nodes: NodeProcess[] = []
  t.teardown(async () => {
    for (const n of nodes) await n.kill9()
    if (!process.env.KEEP_TMP) tmp.remove()
  })
  const home = async (name: string) => {
    const dir = join(tmp.dir, name)
    mkdirSync(dir, { recursive: true })
    const port = await freePort()
    return { dir, port, addr: async () => `/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey((await loadOrCreateNodeKey(homePaths(dir).nodeKey)).key).toString()}` }
  }
  const start = async (h: Awaited<ReturnType<typeof home>>, flags: string[]) => {
    const n = await startNode(h.dir, ['--p2p-port', String(h.port), '--block-time', '10', ...flags])
    nodes.push(n)
    return n
  }
  const fullNodeHome = async (name: string) => {
    const h = await home(name)
    initHome({ home: h.dir, genesis, validatorKey: null })
    return h
  }

  const vHome = await home('v0')
  const genesis = devnetHome(vHome.dir)
  const v0 = await start(vHome, ['--snapshot-interval', '20'])
  const pHome = await fullNodeHome('pruned')
  const pruned = await start(pHome, ['--prune-keep-blocks', '100', '--snapshot-interval', '20', '--bootstrap', await vHome.addr()])

  await until('the pruned node to prune its first blocks', async () => {
    try {
      await pruned.client.getBlock(1)
      return false
    } catch (e) {
      return /pruned/.test((e as Error).message)
    }
  }, 120_000, 250)
  const err = await pruned.client.getBlock(1).then(() => null, (e: Error) => e)
  t.match(err?.message, /block 1 is pruned: this node keeps blocks from height \d+/, `a clear error naming the lowest height: ${err?.message}`)
  // the head moves every ~10 ms and each step prunes below head − 99: a block 90 below a head read earlier may be gone by the time it is asked for, so the head is read again until the pair is served
  const served = await until('the pruned node to serve its head and a block 90 below it', async () => {
    const pHead = (await pruned.client.status()).height
    const [head, within] = await Promise.all([pruned.client.getBlock(pHead), pruned.client.getBlock(pHead - 90)])
    return head && within ? { head, within } : null
  }, 30_000, 100)
  t.ok(served.head, 'it serves its head')
  t.ok(served.within, 'and blocks within the kept 100')

  await t.test('a fresh node block-syncs from genesis through the archive node, the pruned one cannot serve the early blocks', async (t) => {
    const fHome = await fullNodeHome('fresh')
    const fresh = await start(fHome, ['--bootstrap', `${await pHome.addr()},${await vHome.addr()}`])
    const target = (await v0.client.status()).height
    await until('the fresh node to reach the validator', async () => (await fresh.client.status()).height >= target, 120_000, 250)
    t.equal((await fresh.client.getBlock(1))?.hash, (await v0.client.getBlock(1))?.hash, 'it holds block 1, as the archive node')
    t.equal((await fresh.client.getBlock(target))?.hash, (await v0.client.getBlock(target))?.hash, 'same chain')
    await fresh.stop()
  })

  await t.test('a node joins by state sync from the pruned node alone, then follows the chain', async (t) => {
    // the operator takes a height and its hash from a node they trust (here the validator)
    const head = (await v0.client.status()).height
    const trustHeight = Math.floor((head - 5) / 20) * 20
    const trustHash = (await v0.client.getBlock(trustHeight))!.hash
    const jHome = await fullNodeHome('joiner')
    const joiner = await start(jHome, ['--bootstrap', await pHome.addr(), '--state-sync-height', String(trustHeight), '--state-sync-hash', trustHash])
    const joinedAt = (await joiner.client.status()).height
    t.ok(joinedAt >= trustHeight, `restored at ${joinedAt} ≥ trusted height ${trustHeight}, without blocks 1..${trustHeight}`)
    const e = await joiner.client.getBlock(1).then(() => null, (x: Error) => x)
    t.match(e?.message, /pruned/, 'it holds no block below its snapshot')
    const target = (await v0.client.status()).height + 5
    await until('the state-synced node to follow the chain', async () => (await joiner.client.status()).height >= target, 120_000, 250)
    const [a, b] = await Promise.all([joiner.client.getBlock(target), v0.client.getBlock(target)])
    t.equal(a?.hash, b?.hash, 'same block hash')
    t.equal(a?.header.stateRoot, b?.header.stateRoot, 'same state root')
  })
})
