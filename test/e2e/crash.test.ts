import t from 'tap'
import { devAccountKey } from '../../genesis/devnet.js'
import { TxSender, transfer } from '../../rpc/index.js'
import { devnetHome, startNode, tempDir, until, type NodeProcess } from '../helpers/nodeProcess.js'

/**
 * kill -9 a node while it commits under a stream of txs, restart it, and
 * check that it reopens at a committed height with the state root it had
 * reported for that height, and that no tx it reported included is lost.
 * Repeated with kill delays from a fixed sequence.
 */
const KILL_DELAYS_MS = [350, 900, 1500, 600]

t.test('a node killed at any instant reopens consistent', async (t) => {
  const tmp = tempDir('attrchain-crash-')
  devnetHome(tmp.dir)
  if (!process.env.KEEP_TMP) t.teardown(() => tmp.remove())
  const roots = new Map<number, string>()
  const included = new Map<string, number>()
  let node: NodeProcess | null = null
  t.teardown(async () => { await node?.kill9() })

  for (const [round, delay] of KILL_DELAYS_MS.entries()) {
    node = await startNode(tmp.dir, ['--block-time', '50'])
    const client = node.client
    const head = await client.status()
    t.equal(roots.get(head.height) ?? head.stateRoot, head.stateRoot, `round ${round}: reopened at ${head.height} with the root reported for it`)
    t.ok(head.height >= Math.max(0, ...roots.keys()), `round ${round}: no committed height lost`)
    for (const [hash, height] of included) {
      const tx = await client.getTx(hash)
      t.equal(tx?.height, height, `round ${round}: tx ${hash} still included at ${height}`)
    }

    const senders = await Promise.all([0, 1, 2].map(async (k) => {
      const s = new TxSender(client, devAccountKey(k))
      await s.init()
      return s
    }))
    let stop = false
    const load = senders.map(async (s, k) => {
      while (!stop) {
        try {
          const r = await s.send(transfer(devAccountKey(k + 3).address, 1n), { wait: 'commit' })
          if (r.height !== undefined) included.set(r.hash, r.height)
        } catch {
          return
        }
      }
    })
    const watch = (async () => {
      while (!stop) {
        try {
          const b = await client.getBlock('latest')
          if (b) roots.set(b.header.height, b.header.stateRoot)
        } catch {
          return
        }
      }
    })()
    await until('a few blocks under load', async () => included.size > round * 3 + 3, 30_000)
    await new Promise((r) => setTimeout(r, delay))
    stop = true
    await node.kill9()
    await Promise.allSettled([...load, watch])
  }

  node = await startNode(tmp.dir, ['--block-time', '50'])
  const final = await node.client.status()
  for (const [height, root] of roots) {
    if (height > final.height) continue
    const b = await node.client.getBlock(height)
    t.equal(b?.header.stateRoot, root, `height ${height}: the state root reported before the crashes`)
  }
  for (const [hash, height] of included) {
    t.equal((await node.client.getTx(hash))?.status, 'ok', `tx ${hash} at ${height} survived`)
  }
  const before = final.height
  await until('the chain to go on after the crashes', async () => (await node!.client.status()).height > before + 2)
  t.pass('the restarted node keeps committing')
  await node.stop()
  await node.client.close()
  node = null
})
