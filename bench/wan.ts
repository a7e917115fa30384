import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fromHex } from '../core/bytes.js'
import { KeyPair } from '../core/keys.js'
import type { Params } from '../genesis/params.js'
import { homePaths, writeFileDurable } from '../node/home.js'
import { NODE_RUNTIME_FLAGS } from '../node/runtime.js'
import { writeTestnet, defaultTestnetOptions } from '../node/testnet.js'
import { AttrchainClient, TxSender, txBuilders } from '../rpc/index.js'
import { freePort } from './cluster.js'
import { log, nowMs, percentile, round, sleep } from './util.js'

/**
 * Consensus under WAN latency (issue 17 item 4). The kernel here has no
 * `netem` qdisc, so latency is put between the validators by a delaying TCP
 * proxy on loopback: every node's p2p port sits behind a proxy, and every
 * node's persistent peers are the others' proxies (discovery off, so no
 * direct connection is learnt). Each byte is held `rtt/2 ± jitter` in each
 * direction, order kept, so one connection's round trip is `rtt ± 2·jitter`.
 * Loss is emulated as TCP sees it (the proxy's sockets are TCP, so a packet
 * can only be late, never missing): with probability `lossRate` a chunk is
 * "lost" and arrives one retransmission timeout later (`rtoMs`, by default
 * Linux's minimum RTO of 200 ms or one RTT + 4 × jitter if larger), and
 * every chunk behind it waits too (head-of-line blocking, order kept).
 */

export interface DelayProxyOptions {
  /** the port the proxy forwards to on 127.0.0.1 */
  targetPort: number
  /** the host it forwards to (default 127.0.0.1; the netns test: another namespace's address) */
  targetHost?: string
  /** the address it listens on (default 127.0.0.1) */
  listenHost?: string
  /** delay each direction adds (ms) */
  oneWayMs: number
  /** each chunk's delay varies uniformly in ±jitterMs (never below 0, never reordering) */
  jitterMs: number
  /** probability that a chunk is lost and retransmitted (0..1; default 0) */
  lossRate?: number
  /** extra delay of a lost chunk (ms); default max(200, 2 × oneWayMs + 8 × jitterMs), Linux's RTO floor or one RTT + 4 RTTVAR */
  rtoMs?: number
}

/** The retransmission delay a lost chunk takes under `opts` (ms). */
export function retransmissionMs(opts: DelayProxyOptions): number {
  return opts.rtoMs ?? Math.max(200, 2 * opts.oneWayMs + 8 * opts.jitterMs)
}

interface Pending {
  dueAt: number
  chunk: Buffer | null
}

/** One direction of a proxied connection: chunks leave in arrival order, each no earlier than its due time. */
class DelayedPipe {
  private readonly queue: Pending[] = []
  private timer: NodeJS.Timeout | null = null
  private lastDue = 0
  /** chunks delayed as lost */
  lost = 0

  constructor(private readonly dst: Socket, private readonly opts: DelayProxyOptions) {}

  push(chunk: Buffer | null): void {
    let delay = Math.max(0, this.opts.oneWayMs + (Math.random() * 2 - 1) * this.opts.jitterMs)
    if (chunk !== null && (this.opts.lossRate ?? 0) > 0 && Math.random() < this.opts.lossRate!) {
      delay += retransmissionMs(this.opts)
      this.lost++
    }
    this.lastDue = Math.max(this.lastDue, Date.now() + delay)
    this.queue.push({ dueAt: this.lastDue, chunk })
    this.arm()
  }

  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return
    this.timer = setTimeout(() => {
      this.timer = null
      const now = Date.now()
      while (this.queue.length > 0 && this.queue[0].dueAt <= now) {
        const { chunk } = this.queue.shift()!
        if (this.dst.destroyed) continue
        if (chunk === null) this.dst.end()
        else this.dst.write(chunk)
      }
      this.arm()
    }, Math.max(0, this.queue[0].dueAt - Date.now()))
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.queue.length = 0
  }
}

/** A TCP proxy on 127.0.0.1 that delays both directions of every connection. */
export class DelayProxy {
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private readonly pipes = new Set<DelayedPipe>()
  port = 0
  /** connections proxied so far */
  accepted = 0
  /** connections refused while blocked */
  refused = 0
  private blocked = false

  constructor(readonly opts: DelayProxyOptions) {}

  /**
   * Cut every live connection through this proxy (both ends see a reset, as
   * when a link drops); bytes still held are lost. Returns how many
   * connections were cut. New connections are accepted as before.
   */
  cut(): number {
    for (const p of this.pipes) p.clear()
    const live = [...this.sockets]
    for (const s of live) s.resetAndDestroy()
    return Math.ceil(live.length / 2)
  }

  /** A partition: cut every connection and refuse (reset) new ones until `restore()`. */
  block(): void {
    this.blocked = true
    this.cut()
  }

  /** End a `block()`: new connections are proxied again. */
  restore(): void {
    this.blocked = false
  }

  async start(port = 0): Promise<number> {
    const server = createServer((inbound) => this.accept(inbound))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.opts.listenHost ?? '127.0.0.1', () => resolve())
    })
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  private accept(inbound: Socket): void {
    if (this.blocked) {
      this.refused++
      inbound.on('error', () => undefined)
      inbound.resetAndDestroy()
      return
    }
    this.accepted++
    const outbound = connect(this.opts.targetPort, this.opts.targetHost ?? '127.0.0.1')
    for (const s of [inbound, outbound]) {
      s.setNoDelay(true)
      this.sockets.add(s)
    }
    const toTarget = new DelayedPipe(outbound, this.opts)
    const toClient = new DelayedPipe(inbound, this.opts)
    this.pipes.add(toTarget).add(toClient)
    const wire = (src: Socket, pipe: DelayedPipe, other: Socket): void => {
      src.on('data', (chunk: Buffer) => pipe.push(chunk))
      src.on('end', () => pipe.push(null))
      src.on('error', () => other.destroy())
      src.on('close', () => {
        this.sockets.delete(src)
        pipe.clear()
        this.pipes.delete(pipe)
        other.destroy()
      })
    }
    wire(inbound, toTarget, outbound)
    wire(outbound, toClient, inbound)
  }

  async stop(): Promise<void> {
    for (const p of this.pipes) p.clear()
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = null
    if (server) await new Promise<void>((r) => server.close(() => r()))
  }
}

const BIN = fileURLToPath(new URL('../bin/attrchain.js', import.meta.url))

export interface WanNode {
  name: string
  home: string
  client: AttrchainClient
  child: ChildProcess
}

export interface WanNetwork {
  nodes: WanNode[]
  proxies: DelayProxy[]
  /** a funded account of the genesis */
  funded: KeyPair
  dir: string
  close(): Promise<void>
}

export interface WanNetworkOptions {
  validators: number
  rttMs: number
  jitterMs: number
  /** probability a chunk is lost and retransmitted (DelayProxyOptions.lossRate) */
  lossRate?: number
  /** node --block-time */
  blockTimeMs: number
  params?: Partial<Params>
  /** environment of the node processes */
  env?: NodeJS.ProcessEnv
  keep?: boolean
}

/** Params as genesis.json spells them (amounts are decimal strings). */
function paramsJson(p: Partial<Params>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(p, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) as Record<string, unknown>
}

/**
 * `validators` node processes from `attrchain testnet` homes whose p2p
 * traffic all goes through DelayProxies of `rttMs ± jitterMs`.
 */
export async function startWanNetwork(opts: WanNetworkOptions): Promise<WanNetwork> {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-wan-'))
  const layout = await writeTestnet({
    ...defaultTestnetOptions, hosts: ['127.0.0.1'], validators: opts.validators, fullNodes: 0, output: join(dir, 'net'), chainId: 'attrchain-wan',
    params: paramsJson(opts.params ?? {}), p2pPort: 40_000, rpcPort: 41_000,
  })
  const ports = await Promise.all(layout.nodes.map(async () => ({ p2p: await freePort(), rpc: await freePort() })))
  const proxies = layout.nodes.map((_, i) => new DelayProxy({ targetPort: ports[i].p2p, oneWayMs: opts.rttMs / 2, jitterMs: opts.jitterMs / 2, lossRate: opts.lossRate ?? 0 }))
  await Promise.all(proxies.map((p) => p.start()))
  for (const [i, n] of layout.nodes.entries()) {
    const bootstrap = layout.nodes.map((m, j) => `/ip4/127.0.0.1/tcp/${proxies[j].port}/p2p/${m.peerId}`).filter((_, j) => j !== i)
    writeFileDurable(homePaths(n.home).config, JSON.stringify({ p2pPort: ports[i].p2p, rpcPort: ports[i].rpc, bootstrap, p2pDiscovery: false }, null, 2) + '\n')
  }
  const nodes: WanNode[] = layout.nodes.map((n, i) => {
    const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', n.home, '--block-time', String(opts.blockTimeMs), '--log-level', 'info'], {
      env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr!.pipe(createWriteStream(join(n.home, 'node.log'), { flags: 'a' }))
    return { name: n.name, home: n.home, child, client: new AttrchainClient(`http://127.0.0.1:${ports[i].rpc}`, { timeoutMs: 30_000 }) }
  })
  const [account] = JSON.parse(readFileSync(join(dir, 'net', 'accounts.json'), 'utf8')) as { privateKey: string }[]
  return {
    nodes, proxies, dir, funded: new KeyPair(fromHex(account.privateKey, 'privateKey', 32)),
    close: async () => {
      for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL')
      await Promise.all(nodes.map((n) => (n.child.exitCode !== null || n.child.signalCode !== null ? null : new Promise((r) => n.child.once('exit', r)))))
      await Promise.all(nodes.map((n) => n.client.close()))
      await Promise.all(proxies.map((p) => p.stop()))
      if (!opts.keep) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves once every node has committed `height`. */
export async function waitHeight(net: WanNetwork, height: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const hs = await Promise.all(net.nodes.map((n) => n.client.status().then((s) => s.height, () => -1)))
    if (hs.every((h) => h >= height)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for height ${height} (heights ${hs.join(', ')}; logs in ${net.dir})`)
    await sleep(200)
  }
}

export interface WanFigures {
  heights: number
  /** commit round + 1, per height */
  roundsPerHeight: { mean: number | null; max: number | null; overOne: number }
  /** header timeMs gaps (BFT time) */
  blockIntervalMs: { p50: number | null; p99: number | null }
  /** tx_send with wait "commit" on node 0, one transfer at a time: submit to commit seen */
  finalityMs: { p50: number | null; p99: number | null; samples: number }
}

/**
 * Sends one transfer at a time for `durationMs` and reads the blocks
 * committed meanwhile: rounds per height from each block's commit (carried
 * by the next block), block intervals from the headers, finality from the
 * tx round trips.
 */
export async function measureWan(net: WanNetwork, durationMs: number): Promise<WanFigures> {
  const node0 = net.nodes[0].client
  const from = (await node0.status()).height
  const sender = new TxSender(node0, net.funded)
  const sink = KeyPair.generate().address
  const latencies: number[] = []
  const end = Date.now() + durationMs
  while (Date.now() < end) {
    const t0 = nowMs()
    const r = await sender.send(txBuilders.transfer(sink, 1n), { wait: 'commit' })
    if (r.status === 'ok') latencies.push(nowMs() - t0)
    await sleep(100)
  }
  const to = (await node0.status()).height
  const rounds: number[] = []
  const intervals: number[] = []
  let prevTime: number | null = null
  for (let h = Math.max(1, from); h <= to; h++) {
    const b = await node0.getBlock(h)
    if (b === null) continue
    const t = b.header.timeMs
    if (prevTime !== null) intervals.push(t - prevTime)
    prevTime = t
    if (h > from && b.lastCommit) rounds.push(b.lastCommit.round + 1)
  }
  const f = (x: number | null): number | null => (x === null ? null : round(x, 0))
  return {
    heights: to - from,
    roundsPerHeight: {
      mean: rounds.length ? round(rounds.reduce((a, b) => a + b, 0) / rounds.length, 2) : null,
      max: rounds.length ? Math.max(...rounds) : null,
      overOne: rounds.filter((r) => r > 1).length,
    },
    blockIntervalMs: { p50: f(percentile(intervals, 50)), p99: f(percentile(intervals, 99)) },
    finalityMs: { p50: f(percentile(latencies, 50)), p99: f(percentile(latencies, 99)), samples: latencies.length },
  }
}

export interface WanBenchOptions {
  durationS: number
  keep: boolean
}

/**
 * Cases measured by `npm run bench -- --scenario wan`: RTT (jitter a tenth
 * of it) and the share of chunks lost and retransmitted. RTT 0 is the
 * loopback baseline through the same proxies.
 */
export const WAN_CASES: readonly { rttMs: number; lossRate: number }[] = [
  { rttMs: 0, lossRate: 0 }, { rttMs: 50, lossRate: 0 }, { rttMs: 100, lossRate: 0 }, { rttMs: 200, lossRate: 0 },
  { rttMs: 100, lossRate: 0.01 }, { rttMs: 200, lossRate: 0.02 },
]

/** `--scenario wan`: 4 validators, the default params and block time, for each of WAN_CASES. */
export async function runWan(opts: WanBenchOptions): Promise<Record<string, unknown>> {
  const cases: Record<string, unknown>[] = []
  for (const { rttMs, lossRate } of WAN_CASES) {
    const jitterMs = rttMs / 10
    log(`wan: 4 validators, rtt ${rttMs} ms ± ${jitterMs} ms, loss ${lossRate * 100} %`)
    const net = await startWanNetwork({ validators: 4, rttMs, jitterMs, lossRate, blockTimeMs: 1000, keep: opts.keep })
    try {
      await waitHeight(net, 2, 120_000)
      const figures = await measureWan(net, opts.durationS * 1000)
      cases.push({ rttMs, jitterMs, lossRate, ...figures })
      log(`wan rtt ${rttMs} loss ${lossRate}: ${JSON.stringify(figures)}`)
    } catch (e) {
      cases.push({ rttMs, jitterMs, lossRate, error: (e as Error).message })
    } finally {
      await net.close()
    }
  }
  return { validators: 4, blockTimeMs: 1000, params: 'defaults', cases }
}
