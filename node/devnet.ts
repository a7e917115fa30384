import { NO_PROGRESS, secondsSince, type Progress } from './progress.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, openSync, closeSync, rmSync, readFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AttrchainError } from '../core/errors.js'
import { toHex } from '../core/bytes.js'
import { formatOpen } from '../core/amount.js'
import type { KeyPair } from '../core/keys.js'
import { genesisHash, type Genesis } from '../genesis/genesis.js'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../genesis/devnet.js'
import { AttrchainClient, units, type AccountInfo } from '../rpc/index.js'
import { initHome } from './init.js'
import { homePaths, readGenesisFile, writeFileDurable } from './home.js'
import { NODE_RUNTIME_FLAGS } from './runtime.js'

/**
 * `attrchain devnet` (DESIGN §7): a parent process writes one genesis and one
 * home per validator under DIR (DIR/node0, DIR/node1, …), spawns one
 * `attrchain start` child per home, waits until each answers `chain_status`,
 * prints the dev keys and endpoints, and stops every child on SIGINT/SIGTERM.
 * The children watch the parent's pid (PARENT_PID_ENV) and stop when it is
 * gone, so a killed parent leaves no orphans.
 */

/** What `DevnetError` carries. */
export type DevnetErrorCode =
  /** the devnet dir holds another genesis (other --validators or --accounts) */
  | 'DEVNET_ERROR_GENESIS_MISMATCH'
  /** a node process exited before answering RPC */
  | 'DEVNET_ERROR_NODE_EXITED'
  /** a node did not answer RPC in time */
  | 'DEVNET_ERROR_TIMEOUT'

export class DevnetError extends AttrchainError<DevnetErrorCode> {}

export const PARENT_PID_ENV = 'ATTRCHAIN_PARENT_PID'

export interface DevnetOptions {
  validators: number
  accounts: number
  /** the devnet dir; node i's home is DIR/node<i> */
  home: string
  /** node i serves RPC on rpcPort + i */
  rpcPort: number
  /** node i listens for p2p on p2pPort + i */
  p2pPort: number
  blockTimeMs: number
  /** delete DIR first; otherwise an existing devnet is restarted with its chain data */
  reset: boolean
  /** one JSON line instead of the banner */
  json: boolean
  /** how long every node gets to answer RPC */
  readyTimeoutMs: number
}

export const defaultDevnetOptions: DevnetOptions = {
  validators: 4, accounts: 10, home: '.devnet', rpcPort: 8545, p2pPort: 26656, blockTimeMs: 1000, reset: false, json: false, readyTimeoutMs: 60_000,
}

export interface DevnetModules {
  stdout(line: string): void
  stderr(line: string): void
  /** resolves once the process is asked to stop */
  stopSignal(): Promise<string>
  env: NodeJS.ProcessEnv
  /** start-up progress (nodes answering, first block); default none */
  progress?: Progress
}

export interface DevnetNode {
  index: number
  home: string
  rpcPort: number
  p2pPort: number
  validator: string
  rpc: string
  /** multiaddr with the node's peer id */
  p2p: string
  logFile: string
}

export interface DevnetLayout {
  genesis: Genesis
  genesisHash: string
  nodes: DevnetNode[]
  accounts: KeyPair[]
  /** true when DIR already held this devnet and its chain data is kept */
  reused: boolean
}

/**
 * The node's libp2p identity in the p2p module's own file format, created
 * ahead of the first start so that its peer id is known to `init` and to the
 * devnet parent; an existing key is kept.
 */
export async function createNodeKey(path: string): Promise<{ peerId: string }> {
  // loaded here, not at the top: libp2p is most of a CLI process's start-up (node/commands/index.ts)
  const [{ loadOrCreateNodeKey }, { peerIdFromPrivateKey }] = await Promise.all([import('../p2p/index.js'), import('@libp2p/peer-id')])
  const { key } = await loadOrCreateNodeKey(path)
  return { peerId: peerIdFromPrivateKey(key).toString() }
}

const multiaddr = (port: number): string => `/ip4/127.0.0.1/tcp/${port}`

/** Write (or check and reuse) the genesis and the home of every node. No processes. */
export async function prepareDevnet(opts: DevnetOptions): Promise<DevnetLayout> {
  if (opts.reset) rmSync(opts.home, { recursive: true, force: true })
  const genesis = buildDevnetGenesis({ validators: opts.validators, accounts: opts.accounts })
  const hash = genesisHash(genesis)
  const nodes: DevnetNode[] = []
  for (let i = 0; i < opts.validators; i++) {
    const home = join(opts.home, `node${i}`)
    mkdirSync(home, { recursive: true })
    const { peerId } = await createNodeKey(homePaths(home).nodeKey)
    nodes.push({
      index: i, home, rpcPort: opts.rpcPort + i, p2pPort: opts.p2pPort + i, validator: devValidatorKey(i).address,
      rpc: `http://127.0.0.1:${opts.rpcPort + i}`, p2p: `${multiaddr(opts.p2pPort + i)}/p2p/${peerId}`, logFile: join(home, 'node.log'),
    })
  }
  let reused = false
  for (const node of nodes) {
    const paths = homePaths(node.home)
    if (existsSync(paths.genesis)) {
      if (genesisHash(readGenesisFile(paths.genesis)) !== hash) {
        throw new DevnetError('DEVNET_ERROR_GENESIS_MISMATCH', `${opts.home} holds a devnet with another genesis (other --validators or --accounts); use --reset or another --home`, { home: opts.home })
      }
      reused = true
    } else {
      initHome({ home: node.home, genesis, validatorKey: devValidatorKey(node.index) })
    }
    // Rewritten on every run: ports and block time follow this run's flags, the chain data stays.
    const config = {
      rpcPort: node.rpcPort, p2pPort: node.p2pPort, blockTimeMs: opts.blockTimeMs,
      bootstrap: nodes.filter((n) => n !== node).map((n) => n.p2p),
    }
    writeFileDurable(paths.config, JSON.stringify(config, null, 2) + '\n')
  }
  const accounts = Array.from({ length: opts.accounts }, (_, k) => devAccountKey(k))
  return { genesis, genesisHash: hash, nodes, accounts, reused }
}

const BIN = fileURLToPath(new URL('../bin/attrchain.js', import.meta.url))

interface Child {
  node: DevnetNode
  proc: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * One `attrchain start` process per node, logs appended to DIR/nodeI/node.log.
 * Ports and block time go as flags so that ATTRCHAIN_* variables in the
 * parent's environment cannot move a node off its devnet port.
 */
function spawnNode(node: DevnetNode, opts: DevnetOptions, env: NodeJS.ProcessEnv): Child {
  const log = openSync(node.logFile, 'a')
  const args = [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', node.home, '--rpc-port', String(node.rpcPort), '--p2p-port', String(node.p2pPort), '--block-time', String(opts.blockTimeMs)]
  // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) reaches the parent
  // alone, whose SIGTERM then stops each node once, instead of a second signal killing it mid-shutdown
  // (issue 12). A parent that dies without stopping them is noticed through PARENT_PID_ENV.
  const proc = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...env, [PARENT_PID_ENV]: String(process.pid) }, detached: true })
  closeSync(log)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.once('exit', (code, signal) => resolveExit({ code, signal }))
    proc.once('error', () => resolveExit({ code: null, signal: null }))
  })
  return { node, proc, exited }
}

function lastLogLine(node: DevnetNode): string {
  if (!existsSync(node.logFile)) return ''
  const lines = readFileSync(node.logFile, 'utf8').trim().split('\n')
  return lines[lines.length - 1] ?? ''
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Resolves once the node answers chain_status; rejects if its process exits first or the deadline passes. */
async function waitReady(child: Child, deadline: number): Promise<void> {
  const client = new AttrchainClient(child.node.rpc, { timeoutMs: 2_000 })
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  void child.exited.then((e) => { exit = e })
  for (;;) {
    if (exit) {
      const { code, signal } = exit
      throw new DevnetError('DEVNET_ERROR_NODE_EXITED', `node${child.node.index} exited (${signal ?? `code ${code}`}) before answering RPC: ${lastLogLine(child.node)} (log: ${child.node.logFile})`, { node: child.node.index })
    }
    if (Date.now() > deadline) {
      throw new DevnetError('DEVNET_ERROR_TIMEOUT', `node${child.node.index} did not answer RPC at ${child.node.rpc} in time (log: ${child.node.logFile})`, { node: child.node.index })
    }
    try {
      await client.status()
      return
    } catch {
      await sleep(100)
    }
  }
}

/**
 * Progress until the chain has a block (a restarted devnet has one
 * already): height and peers while there is none, then one line saying it
 * came. Gives up quietly at the deadline or when the devnet stops (the node
 * logs say why blocks are slow).
 */
async function waitFirstBlock(client: AttrchainClient, deadline: number, progress: Progress, started: number, stopped: () => boolean): Promise<void> {
  for (let i = 0; ; i++) {
    const st = await client.status().catch(() => null)
    if (stopped()) return
    if (st && st.height >= 1) {
      if (i > 0) progress.step(`first block committed ${secondsSince(started)} after start`)
      return
    }
    if (Date.now() > deadline) return
    if (i === 0) progress.step('waiting for the first block')
    progress.update(`waiting for the first block: ${secondsSince(started)}, height ${st?.height ?? '?'}, ${st?.peers ?? '?'} peer(s)`)
    await sleep(250)
  }
}

const STOP_GRACE_MS = 15_000

/** SIGTERM every child, wait for each to exit, SIGKILL what is still there after the grace period. */
async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map(async (c) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return
    c.proc.kill('SIGTERM')
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), STOP_GRACE_MS)
    await c.exited
    clearTimeout(timer)
  }))
}

function columns(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => indent + r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]))).join('  '))
}

function banner(layout: DevnetLayout, children: Child[], balances: AccountInfo[], opts: DevnetOptions): string[] {
  const n = layout.nodes.length
  return [
    `attrchain devnet: ${layout.genesis.chainId}, ${n} validator${n === 1 ? '' : 's'}, block time ${opts.blockTimeMs} ms${layout.reused ? ' (restarted with its chain data; --reset for a fresh chain)' : ''}`,
    '',
    `Chain id      ${layout.genesis.chainId}`,
    `Genesis hash  ${layout.genesisHash}`,
    `Home          ${opts.home}`,
    '',
    'Accounts (dev keys are public: never use them on a real chain)',
    ...columns([['#', 'address', 'private key', 'balance'], ...layout.accounts.map((k, i) => [String(i), k.address, toHex(k.seed), formatOpen(units(balances[i].balance))])]),
    '',
    'Nodes',
    ...columns([['#', 'rpc', 'p2p', 'validator', 'pid', 'log'], ...children.map((c) => [String(c.node.index), c.node.rpc, c.node.p2p, c.node.validator, String(c.proc.pid), c.node.logFile])]),
    '',
    'Ctrl+C stops every node.',
  ]
}

function jsonLine(layout: DevnetLayout, children: Child[]): string {
  return JSON.stringify({
    chainId: layout.genesis.chainId,
    genesisHash: layout.genesisHash,
    nodes: children.map((c) => ({ rpc: c.node.rpc, p2p: c.node.p2p, validator: c.node.validator, pid: c.proc.pid })),
    accounts: layout.accounts.map((k) => ({ address: k.address, privateKey: toHex(k.seed) })),
  })
}

/** Run the devnet until a stop signal (exit code 0) or until a node dies (1). */
export async function runDevnet(requested: DevnetOptions, modules: DevnetModules): Promise<number> {
  const opts = requested
  const stop = modules.stopSignal()
  const layout = await prepareDevnet(opts)
  const children: Child[] = []
  let done = false
  try {
    for (const node of layout.nodes) children.push(spawnNode(node, opts, modules.env))
    const started = Date.now()
    const deadline = started + opts.readyTimeoutMs
    const progress = modules.progress ?? NO_PROGRESS
    const n = children.length
    let answering = 0
    progress.step(`starting ${n} node${n === 1 ? '' : 's'} (logs in ${opts.home}/node*/node.log)`)
    const show = () => progress.update(`starting ${n} node${n === 1 ? '' : 's'}: ${answering}/${n} answering RPC (${secondsSince(started)})`)
    const ready = Promise.all(children.map((c) => waitReady(c, deadline).then(() => {
      answering++
      show()
    })))
    const ticker = setInterval(show, 1000) // a live line that moves while the nodes load
    const early = await Promise.race([ready.then(() => null), stop]).finally(() => {
      clearInterval(ticker)
      progress.done()
    })
    if (early !== null) return 0
    const client = new AttrchainClient(layout.nodes[0].rpc)
    const balances = await Promise.all(layout.accounts.map((k) => client.getAccount(k.address)))
    modules.stdout(opts.json ? jsonLine(layout, children) : banner(layout, children, balances, opts).join('\n'))
    // after the banner, so that what scripts wait for comes as soon as the nodes answer
    void waitFirstBlock(client, deadline, progress, started, () => done).finally(() => progress.done())
    const died = Promise.race(children.map((c) => c.exited.then((e) => ({ child: c, ...e }))))
    const outcome = await Promise.race([stop.then(() => null), died]).finally(() => { done = true })
    if (outcome === null) return 0
    const { child, code, signal } = outcome
    modules.stderr(`error: DEVNET_ERROR_NODE_EXITED: node${child.node.index} exited (${signal ?? `code ${code}`}): ${lastLogLine(child.node)}; stopping the devnet`)
    return 1
  } finally {
    await stopAll(children)
  }
}
