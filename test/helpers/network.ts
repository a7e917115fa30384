import { spawn, type ChildProcess } from 'node:child_process'
import { CHILD_ENV } from './childEnv.js'
import { createWriteStream, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { buildDevnetGenesis, devValidatorKey, type DevnetGenesisOptions } from '../../genesis/devnet.js'
import type { Genesis } from '../../genesis/genesis.js'
import type { KeyPair } from '../../core/keys.js'
import type { Params } from '../../genesis/params.js'
import { initHome } from '../../node/init.js'
import { homePaths, writeFileDurable } from '../../node/home.js'
import { loadOrCreateNodeKey } from '../../p2p/index.js'
import { AttrchainClient } from '../../rpc/index.js'
import { BIN, exited, freePort, tempDir, until } from './nodeProcess.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'
import { DelayProxy } from '../../bench/wan.js'

/** Consensus timeouts short enough for tests on loopback. */
export const FAST_PARAMS: Partial<Params> = {
  timeoutProposeMs: 600, timeoutProposeDeltaMs: 200, timeoutPrevoteMs: 300, timeoutPrevoteDeltaMs: 100,
  timeoutPrecommitMs: 300, timeoutPrecommitDeltaMs: 100,
  // no rollup checkpoints unless a test asks for them: the validator nodes' signCheckpoint txs would take nonces of the validator accounts tests send from
  checkpointInterval: 0,
}

const ENV = CHILD_ENV

export interface NetNode {
  name: string
  home: string
  rpcPort: number
  p2pPort: number
  multiaddr: string
  key: KeyPair | null
  client: AttrchainClient
  child: ChildProcess | null
  start(): Promise<void>
  kill9(): Promise<void>
  stop(): Promise<void>
  running(): boolean
}

export interface Network {
  genesis: Genesis
  nodes: NetNode[]
  dir: string
  /** a node of this network's genesis; `key` null = full node */
  addNode(name: string, key: KeyPair | null, opts?: { bootstrap?: NetNode[]; genesis?: Genesis }): Promise<NetNode>
  /** with `links`: `links[i][j]` is the proxy node i dials node j through (null on the diagonal); empty otherwise */
  links: (DelayProxy | null)[][]
  close(): Promise<void>
}

/** A delaying TCP proxy (bench/wan.ts) on each ordered pair of validators. */
export interface LinkOptions {
  /** delay each direction adds (ms) */
  oneWayMs: number
  /** each chunk's delay varies in ±jitterMs, order kept */
  jitterMs: number
}

export interface NetworkOptions {
  validators: number
  stakes?: bigint[]
  params?: Partial<Params>
  blockTimeMs?: number
  genesis?: Partial<DevnetGenesisOptions>
  /**
   * Put every validator-to-validator connection behind its own DelayProxy:
   * node i's bootstrap address for node j is the port of `links[i][j]`, and
   * peer discovery is off so no direct address is learnt. Cutting or
   * blocking a pair's two proxies is how the fault tests drop gossip and
   * partition the network on loopback (this kernel has no netem).
   */
  links?: LinkOptions
}

/**
 * N validator processes (`attrchain start`) on 127.0.0.1 with a shared
 * devnet genesis, each bootstrapping from the others. Every process is
 * stopped by `close()`.
 */
export async function startNetwork(opts: NetworkOptions): Promise<Network> {
  const tmp = tempDir('attrchain-net-')
  const genesis = buildDevnetGenesis({ validators: opts.validators, accounts: 10, stakes: opts.stakes, params: { ...FAST_PARAMS, ...opts.params }, ...opts.genesis })
  const blockTime = String(opts.blockTimeMs ?? 200)
  const nodes: NetNode[] = []

  const makeNode = async (name: string, key: KeyPair | null, g: Genesis = genesis): Promise<NetNode> => {
    const home = join(tmp.dir, name)
    mkdirSync(home, { recursive: true })
    initHome({ home, genesis: g, validatorKey: key })
    const { key: nodeKey } = await loadOrCreateNodeKey(homePaths(home).nodeKey)
    const [rpcPort, p2pPort] = [await freePort(), await freePort()]
    const node: NetNode = {
      name, home, rpcPort, p2pPort, key, child: null,
      multiaddr: `/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerIdFromPrivateKey(nodeKey).toString()}`,
      client: new AttrchainClient(`http://127.0.0.1:${rpcPort}`, { timeoutMs: 20_000 }),
      running: () => node.child !== null && node.child.exitCode === null && node.child.signalCode === null,
      start: async () => {
        const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', home, '--rpc-port', String(rpcPort), '--p2p-port', String(p2pPort), '--block-time', blockTime, '--log-level', process.env.ATTRCHAIN_TEST_LOG_LEVEL ?? 'info'], {
          env: ENV, stdio: ['ignore', 'ignore', 'pipe'],
        })
        child.stderr!.pipe(createWriteStream(join(home, 'node.log'), { flags: 'a' }))
        node.child = child
        await until(`${name} to answer RPC`, async () => {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${home}/node.log`)
          return node.client.status()
        }, 90_000) // a loaded 2-core box takes over 30 s to start several tsx processes at once
      },
      kill9: async () => {
        if (!node.running()) return
        node.child!.kill('SIGKILL')
        await exited(node.child!)
      },
      stop: async () => {
        if (!node.running()) return
        node.child!.kill('SIGTERM')
        await exited(node.child!)
      },
    }
    return node
  }

  const writeBootstrap = (node: NetNode, peers: NetNode[]): void => {
    writeFileDurable(homePaths(node.home).config, JSON.stringify({ bootstrap: peers.filter((p) => p !== node).map((p) => p.multiaddr) }, null, 2) + '\n')
  }

  for (let i = 0; i < opts.validators; i++) nodes.push(await makeNode(`v${i}`, devValidatorKey(i)))
  const links = await startLinks(nodes, opts.links)
  for (const [i, n] of nodes.entries()) {
    if (links.length === 0) writeBootstrap(n, nodes)
    else writeFileDurable(homePaths(n.home).config, JSON.stringify({ bootstrap: proxiedBootstrap(nodes, links, i), p2pDiscovery: false }, null, 2) + '\n')
  }
  try {
    await Promise.all(nodes.map((n) => n.start()))
  } catch (e) {
    // the nodes that did start would keep the test process alive (their stderr is piped) until tap's timeout
    await Promise.all(nodes.map((n) => n.kill9()))
    throw e
  }

  const extra: NetNode[] = []
  return {
    genesis, nodes, dir: tmp.dir, links,
    addNode: async (name, key, o = {}) => {
      const node = await makeNode(name, key, o.genesis)
      writeBootstrap(node, o.bootstrap ?? nodes)
      extra.push(node)
      await node.start()
      return node
    },
    close: async () => {
      for (const n of [...nodes, ...extra]) {
        await n.kill9()
        await n.client.close()
      }
      await Promise.all(links.flat().map((l) => l?.stop()))
      if (!process.env.KEEP_TMP) tmp.remove()
    },
  }
}

async function startLinks(nodes: NetNode[], opts: LinkOptions | undefined): Promise<(DelayProxy | null)[][]> {
  if (opts === undefined) return []
  const links = nodes.map((_, i) => nodes.map((to, j) => (i === j ? null : new DelayProxy({ targetPort: to.p2pPort, ...opts }))))
  await Promise.all(links.flat().map((l) => l?.start()))
  return links
}

/** Node i's bootstrap list: every other node at the port of the proxy i → j. */
function proxiedBootstrap(nodes: NetNode[], links: (DelayProxy | null)[][], i: number): string[] {
  return nodes.flatMap((n, j) => (j === i ? [] : [`/ip4/127.0.0.1/tcp/${links[i][j]!.port}/p2p/${n.multiaddr.split('/p2p/')[1]}`]))
}

/** Wait until every running node has committed `height`. */
export async function allReach(nodes: NetNode[], height: number, timeoutMs = 60_000): Promise<void> {
  await until(`every node at height ${height}`, async () => {
    const hs = await Promise.all(nodes.filter((n) => n.running()).map(async (n) => (await n.client.status()).height))
    return hs.every((h) => h >= height)
  }, timeoutMs, 100)
}

export async function heightOf(n: NetNode): Promise<number> {
  return (await n.client.status()).height
}
