/**
 * Peer counts from one bootstrap address (issue 17): a 10-node network of
 * real processes on 127.0.0.1 — one validator and nine full nodes from
 * `attrchain testnet` homes — where every node's config names only node 0
 * as a peer (discovery on, default p2pTargetPeers 10). The peers each node
 * reports in chain_status are sampled every second for SETTLE_S seconds
 * after all nodes answer RPC. Prints one JSON line: min/median/max of the
 * final counts, of the counts over the last 10 samples, and of each node's
 * best; and when every node first reached 9 (everyone else), if it did.
 *
 *   node --import tsx bench/peers.ts [NODES=10] [SETTLE_S=60]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { homePaths, writeFileDurable } from '../node/home.js'
import { NODE_RUNTIME_FLAGS } from '../node/runtime.js'
import { writeTestnet, defaultTestnetOptions } from '../node/testnet.js'
import { AttrchainClient } from '../rpc/index.js'
import { freePort } from './cluster.js'
import { sleep } from './util.js'

const NODES = Number(process.argv[2] ?? 10)
const SETTLE_S = Number(process.argv[3] ?? 60)
const BIN = fileURLToPath(new URL('../bin/attrchain.js', import.meta.url))

const stats = (xs: number[]): { min: number; median: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b)
  return { min: s[0], median: s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2, max: s[s.length - 1] }
}

const dir = mkdtempSync(join(tmpdir(), 'attrchain-peers-'))
const children: ChildProcess[] = []
const clients: AttrchainClient[] = []
try {
  const layout = await writeTestnet({
    ...defaultTestnetOptions, hosts: ['127.0.0.1'], validators: 1, fullNodes: NODES - 1, output: join(dir, 'net'), p2pPort: 40_000, rpcPort: 41_000,
  })
  const ports = await Promise.all(layout.nodes.map(async () => ({ p2p: await freePort(), rpc: await freePort() })))
  const hub = `/ip4/127.0.0.1/tcp/${ports[0].p2p}/p2p/${layout.nodes[0].peerId}`
  for (const [i, n] of layout.nodes.entries()) {
    writeFileDurable(homePaths(n.home).config, JSON.stringify({ p2pPort: ports[i].p2p, rpcPort: ports[i].rpc, bootstrap: i === 0 ? [] : [hub] }) + '\n')
    const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', n.home, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.pipe(createWriteStream(join(n.home, 'node.log'), { flags: 'a' }))
    children.push(child)
    clients.push(new AttrchainClient(`http://127.0.0.1:${ports[i].rpc}`, { timeoutMs: 20_000 }))
  }
  const t0 = Date.now()
  for (const c of clients) {
    for (;;) {
      if (await c.status().then(() => true, () => false)) break
      if (Date.now() - t0 > 120_000) throw new Error('nodes did not start')
      await sleep(250)
    }
  }
  const up = Date.now()
  const samples: number[][] = []
  const best = clients.map(() => 0)
  let allReachedMs: number | null = null
  for (let s = 0; s < SETTLE_S; s++) {
    await sleep(1000)
    // a status call that fails (a busy node) is no sample, not 0 peers
    const peers = await Promise.all(clients.map((c) => c.status().then((st) => st.peers, () => null)))
    samples.push(peers.map((p, i) => p ?? samples[samples.length - 1]?.[i] ?? 0))
    peers.forEach((p, i) => { best[i] = Math.max(best[i], p ?? 0) })
    if (allReachedMs === null && peers.every((p) => p !== null && p >= NODES - 1)) allReachedMs = Date.now() - up
  }
  const final = samples[samples.length - 1]
  console.log(JSON.stringify({
    nodes: NODES, settleSec: SETTLE_S, startupSec: Math.round((up - t0) / 1000), final: stats(final), finalPerNode: final,
    last10: stats(samples.slice(-10).flat()), best: stats(best), allAtNMinus1Ms: allReachedMs,
  }))
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await Promise.all(clients.map((c) => c.close()))
  if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true })
}
