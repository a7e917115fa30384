import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Level } from 'level'
import type { KeyPair } from '../core/keys.js'
import type { Genesis } from '../genesis/genesis.js'
import { initHome } from '../node/init.js'
import { homePaths, writeFileDurable } from '../node/home.js'
import { loadOrCreateNodeKey } from '../p2p/index.js'
import { AttrchainClient } from '../rpc/index.js'
import { log, sleep } from './util.js'
import { NODE_RUNTIME_FLAGS } from '../node/runtime.js'
import { freePort } from '../test/helpers/ports.js'

/**
 * Node processes for the benchmarks: real `attrchain start` children, each
 * with its own home, stopped cleanly (SIGTERM, so that `--cpu-prof` writes
 * its profile) and SIGKILLed if they do not exit in time. Every child is
 * registered in `LIVE` so that the harness can kill them all on SIGINT.
 */

const BIN = fileURLToPath(new URL('../bin/attrchain.js', import.meta.url))
/** Children get the caller's environment without ATTRCHAIN_* settings, so only flags and config.json count. */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATTRCHAIN_')))
const LIVE = new Set<ChildProcess>()
const STOP_GRACE_MS = 30_000

export function killAllNodes(): void {
  for (const c of LIVE) c.kill('SIGKILL')
  LIVE.clear()
}

export { freePort }

export function benchTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'attrchain-bench-'))
}

export interface BenchNodeOptions {
  name: string
  home: string
  genesis: Genesis
  /** null: full node */
  validatorKey: KeyPair | null
  /** config.json of the home (bootstrap is added by the cluster) */
  config?: Record<string, unknown>
}

export interface StartOptions {
  blockTimeMs: number
  /** a directory for `--cpu-prof`, or null */
  profileDir: string | null
  /** the node's --log-level (default warn; node.log in the home, kept with --keep) */
  logLevel?: 'debug' | 'info' | 'warn' | 'error'
  extraFlags?: string[]
}

export class BenchNode {
  readonly client: AttrchainClient
  child: ChildProcess | null = null
  multiaddr = ''
  private config: Record<string, unknown>

  private constructor(readonly name: string, readonly home: string, readonly rpcPort: number, readonly p2pPort: number, config: Record<string, unknown>) {
    this.client = new AttrchainClient(`http://127.0.0.1:${rpcPort}`, { timeoutMs: 120_000 })
    this.config = config
  }

  static async create(opts: BenchNodeOptions): Promise<BenchNode> {
    mkdirSync(opts.home, { recursive: true })
    initHome({ home: opts.home, genesis: opts.genesis, validatorKey: opts.validatorKey })
    const { key } = await loadOrCreateNodeKey(homePaths(opts.home).nodeKey)
    const node = new BenchNode(opts.name, opts.home, await freePort(), await freePort(), opts.config ?? {})
    node.multiaddr = `/ip4/127.0.0.1/tcp/${node.p2pPort}/p2p/${peerIdFromPrivateKey(key).toString()}`
    node.writeConfig()
    return node
  }

  get url(): string {
    return this.client.url
  }

  get pid(): number {
    return this.child?.pid ?? 0
  }

  get chainDbDir(): string {
    return homePaths(this.home).chainDb
  }

  settings(): Record<string, unknown> {
    return { ...this.config }
  }

  setBootstrap(peers: BenchNode[]): void {
    this.config = { ...this.config, bootstrap: peers.filter((p) => p !== this).map((p) => p.multiaddr) }
    this.writeConfig()
  }

  private writeConfig(): void {
    writeFileDurable(homePaths(this.home).config, JSON.stringify(this.config, null, 2) + '\n')
  }

  running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  async start(opts: StartOptions): Promise<void> {
    const nodeFlags: string[] = [...NODE_RUNTIME_FLAGS]
    if (opts.profileDir) {
      mkdirSync(opts.profileDir, { recursive: true })
      // Default file names carry pid and thread id: tsx's loader thread writes a profile of its own beside the main thread's.
      nodeFlags.push('--cpu-prof', '--cpu-prof-dir', opts.profileDir)
    }
    const args = [
      ...nodeFlags, BIN, 'start', '--home', this.home, '--rpc-port', String(this.rpcPort), '--p2p-port', String(this.p2pPort),
      '--block-time', String(opts.blockTimeMs), '--log-level', opts.logLevel ?? 'warn', ...(opts.extraFlags ?? []),
    ]
    const child = spawn(process.execPath, args, { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.pipe(createWriteStream(join(this.home, 'node.log'), { flags: 'a' }))
    LIVE.add(child)
    child.once('exit', () => LIVE.delete(child))
    this.child = child
    const deadline = Date.now() + 60_000
    for (;;) {
      if (!this.running()) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}); see ${this.home}/node.log`)
      try {
        await this.client.status()
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.name} did not answer RPC within 60 s; see ${this.home}/node.log`)
        await sleep(100)
      }
    }
  }

  /** SIGTERM and wait (the node closes LevelDB and writes its CPU profile); SIGKILL after the grace period. */
  async stop(): Promise<void> {
    const child = this.child
    if (!child || !this.running()) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => {
      log(`${this.name} did not stop within ${STOP_GRACE_MS} ms; SIGKILL`)
      child.kill('SIGKILL')
    }, STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
    await this.client.close()
  }

  /** Peak resident set (VmHWM) of the running process, bytes. */
  peakRssBytes(): number | null {
    return procStatusKb(this.pid, 'VmHWM')
  }

  /** user + system CPU seconds used by the process so far (all its threads: main, verifier workers, libuv pool, GC helpers). */
  cpuSeconds(): number | null {
    return procCpuSeconds(this.pid)
  }

  /** user + system CPU seconds used so far by the process's main thread alone (the one that runs the JS event loop: execution, commits, consensus). */
  mainThreadCpuSeconds(): number | null {
    return procCpuSeconds(this.pid, this.pid)
  }

  /** A counter or gauge from the node's `/metrics` (summed over label sets matching `labels`); throws after 30 s without an answer. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return (await this.metrics())(name, labels)
  }

  /** One /metrics snapshot: a lookup like `metric` over it (values read together, e.g. a histogram's count and buckets). */
  async metrics(): Promise<(name: string, labels?: Record<string, string>) => number> {
    const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text()
    return (name, labels = {}) => metricValue(text, name, labels)
  }
}

/** The sum of the samples of `name` in Prometheus text whose labels include `labels`. */
function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m || m[1] !== name) continue
    const ls = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3])
  }
  return sum
}

function procStatusKb(pid: number, field: string): number | null {
  if (!pid) return null
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

const CLOCK_TICKS = 100

/** utime + stime of a process (`tid` absent) or of one of its threads (`/proc/PID/task/TID/stat`; the main thread's TID is the PID), seconds. */
function procCpuSeconds(pid: number, tid?: number): number | null {
  if (!pid) return null
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return null
  }
}

/** Bytes of the files in a directory (LevelDB keeps a flat dir). */
export function dirBytes(dir: string): number {
  let total = 0
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name))
    if (s.isFile()) total += s.size
  }
  return total
}

/** Open a stopped node's LevelDB, compact the whole key space, and return the dir's size. */
export async function compactedBytes(dir: string): Promise<number> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const compactable = db as unknown as { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> }
  await compactable.compactRange(Uint8Array.of(0x00), Uint8Array.of(0xff))
  await db.close()
  return dirBytes(dir)
}

export interface Cluster {
  dir: string
  nodes: BenchNode[]
  close(): Promise<void>
}

/** N validators of one genesis, each bootstrapping from the others, started together. */
export async function startCluster(opts: {
  genesis: Genesis
  validatorKeys: KeyPair[]
  start: StartOptions
  config?: Record<string, unknown>
  keepDir?: boolean
}): Promise<Cluster> {
  const dir = benchTempDir()
  const nodes: BenchNode[] = []
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()))
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const [i, key] of opts.validatorKeys.entries()) {
      nodes.push(await BenchNode.create({ name: `v${i}`, home: join(dir, `v${i}`), genesis: opts.genesis, validatorKey: key, config: opts.config }))
    }
    if (nodes.length > 1) for (const n of nodes) n.setBootstrap(nodes)
    await Promise.all(nodes.map((n) => n.start(opts.start)))
  } catch (e) {
    await close()
    throw e
  }
  return { dir, nodes, close }
}
