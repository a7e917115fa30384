import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { BIN, exited, freePort, tempDir, until } from '../helpers/nodeProcess.js'
import { FAST_PARAMS } from '../helpers/network.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'
import { homePaths, writeFileDurable } from '../../node/home.js'
import { writeTestnet, defaultTestnetOptions } from '../../node/testnet.js'
import { AttrchainClient } from '../../rpc/index.js'

/**
 * Issue 17 item 2 with real node processes: one validator and five full
 * nodes whose config names only the validator as a peer. Before discovery
 * each full node stayed at 1 peer (and fell back to block sync from that
 * one peer); now each finds the others through the chain's DHT. Six
 * processes rather than ten: ten node processes do not fit a loaded 2-core
 * CI box within a minute (the ten-host case runs in-process in
 * test/unit/p2p/discovery.test.ts).
 */

const FULL_NODES = 5

t.test('full nodes that know one peer find the others', async (t) => {
  const tmp = tempDir('attrchain-discovery-')
  const children: ChildProcess[] = []
  const clients: AttrchainClient[] = []
  t.teardown(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
      await exited(c)
    }
    for (const c of clients) await c.close()
    if (!process.env.KEEP_TMP) tmp.remove()
  })
  const layout = await writeTestnet({
    ...defaultTestnetOptions, hosts: ['127.0.0.1'], validators: 1, fullNodes: FULL_NODES, output: join(tmp.dir, 'net'),
    params: JSON.parse(JSON.stringify(FAST_PARAMS)) as Record<string, unknown>, p2pPort: 40_000, rpcPort: 41_000,
  })
  const ports = await Promise.all(layout.nodes.map(async () => ({ p2p: await freePort(), rpc: await freePort() })))
  const addr = (i: number): string => `/ip4/127.0.0.1/tcp/${ports[i].p2p}/p2p/${layout.nodes[i].peerId}`
  for (const [i, n] of layout.nodes.entries()) {
    writeFileDurable(homePaths(n.home).config, JSON.stringify({ p2pPort: ports[i].p2p, rpcPort: ports[i].rpc, bootstrap: i === 0 ? [] : [addr(0)] }) + '\n')
  }
  for (const n of layout.nodes) {
    const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', n.home, '--block-time', '200', '--log-level', 'info'], { env: CHILD_ENV, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.pipe(createWriteStream(join(n.home, 'node.log'), { flags: 'a' }))
    children.push(child)
  }
  clients.push(...ports.map((p) => new AttrchainClient(`http://127.0.0.1:${p.rpc}`, { timeoutMs: 20_000 })))
  // Connections come and go while simultaneous dials settle, so each node's best count is kept.
  const best = clients.map(() => 0)
  await until('every full node past its one bootstrap peer', async () => {
    const peers = await Promise.all(clients.map((c) => c.status().then((s) => s.peers, () => 0)))
    for (const [i, p] of peers.entries()) best[i] = Math.max(best[i], p)
    return best.slice(1).every((b) => b >= 2)
  }, 50_000, 250)
  t.comment(`most peers per node (validator first): ${best.join(', ')}`)
  for (let i = 1; i < best.length; i++) t.ok(best[i] > 1, `fullnode${i - 1} reached ${best[i]} peers from one bootstrap address`)
})
