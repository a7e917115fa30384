import t from 'tap'
import { CHILD_ENV } from '../helpers/childEnv.js'
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fromHex, toHex } from '../../core/bytes.js'
import { KeyPair } from '../../core/keys.js'
import { devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { AttrchainClient, TxSender, transfer } from '../../rpc/index.js'
import { freePort } from '../helpers/ports.js'

const BIN = fileURLToPath(new URL('../../bin/attrchain.js', import.meta.url))
const ENV = CHILD_ENV
const DEADLINE_MS = 60_000

interface DevnetJson {
  chainId: string
  genesisHash: string
  nodes: { rpc: string; p2p: string; validator: string; pid: number }[]
  accounts: { address: string; privateKey: string }[]
}

interface Devnet {
  proc: ChildProcess
  info: DevnetJson
  stderr: () => string
}


async function canListen(port: number): Promise<boolean> {
  const server = createServer()
  const ok = await new Promise<boolean>((r) => {
    server.once('error', () => r(false))
    server.listen(port, '127.0.0.1', () => r(true))
  })
  if (ok) await new Promise<void>((r) => server.close(() => r()))
  return ok
}

/**
 * A base port with `n` free ports after it, below Linux's ephemeral range
 * (32768+) where other tests' port-0 listeners land: a devnet of N nodes
 * takes P..P+N-1, which a single free port does not promise.
 */
async function freeRange(n: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000)
    const results = await Promise.all(Array.from({ length: n }, (_, i) => canListen(base + i)))
    if (results.every(Boolean)) return base
    if (attempt > 50) throw new Error('no free port range')
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode)
  return new Promise((r) => p.once('exit', (code) => r(code)))
}

async function eventually(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + DEADLINE_MS
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Start `attrchain devnet --json` and read its one JSON line; every process is killed in teardown. */
async function startDevnet(t: Test, args: string[]): Promise<Devnet> {
  const proc = spawn(process.execPath, [BIN, 'devnet', '--json', ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr += d })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${DEADLINE_MS} ms; stderr: ${stderr}`)), DEADLINE_MS)
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(stdout.slice(0, nl))
    })
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`devnet exited with ${code} before printing; stderr: ${stderr}`))
    })
  })
  const info = JSON.parse(line) as DevnetJson
  t.teardown(async () => {
    for (const n of info.nodes) if (alive(n.pid)) process.kill(n.pid, 'SIGKILL')
    proc.kill('SIGKILL')
    await exited(proc)
  })
  return { proc, info, stderr: () => stderr }
}

async function height(rpc: string): Promise<number> {
  return (await new AttrchainClient(rpc).status()).height
}

t.test('devnet --validators 1 --json: banner line, RPC, commits, a dev-key tx, clean SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-devnet-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const [rpcPort, p2pPort] = [await freePort(), await freePort()]
  const args = ['--home', dir, '--rpc-port', String(rpcPort), '--p2p-port', String(p2pPort), '--block-time', '200']
  const { proc, info } = await startDevnet(t, ['--validators', '1', ...args])

  t.equal(info.chainId, 'attrchain-devnet', 'devnet chain id')
  t.match(info.genesisHash, /^0x[0-9a-f]{64}$/, 'genesis hash')
  t.equal(info.nodes.length, 1, 'one node')
  t.same({ ...info.nodes[0], pid: 0, p2p: '' }, { rpc: `http://127.0.0.1:${rpcPort}`, p2p: '', validator: devValidatorKey(0).address, pid: 0 }, 'node endpoints and validator')
  t.match(info.nodes[0].p2p, new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/${p2pPort}/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]+$`), 'p2p multiaddr with the peer id')
  t.ok(Number.isInteger(info.nodes[0].pid) && alive(info.nodes[0].pid), 'node pid is a running process')
  t.equal(info.accounts.length, 10, 'ten dev accounts by default')
  for (const [k, a] of info.accounts.entries()) {
    t.same(a, { address: devAccountKey(k).address, privateKey: toHex(devAccountKey(k).seed) }, `dev account ${k} is the deterministic key`)
  }

  const rpc = info.nodes[0].rpc
  const client = new AttrchainClient(rpc)
  const status = await client.status()
  t.equal(status.genesisHash, info.genesisHash, 'the node runs the printed genesis')
  await eventually('two more heights', async () => (await height(rpc)) >= status.height + 2)

  const key = new KeyPair(fromHex(info.accounts[0].privateKey))
  const sink = '0x' + '33'.repeat(20)
  const r = await new TxSender(client, key).send(transfer(sink, '2OPEN'), { wait: 'commit' })
  t.equal(r.status, 'ok', 'a tx from a printed dev key is committed')
  t.equal((await client.getAccount(sink)).balance, '2000000000000000000', 'the transfer landed')

  proc.kill('SIGTERM')
  t.equal(await exited(proc), 0, 'devnet exits 0 on SIGTERM')
  await eventually('node process gone', () => !alive(info.nodes[0].pid))
  t.notOk(alive(info.nodes[0].pid), 'no orphan node process')
})

t.test('the default devnet runs 4 validators in agreement; restart keeps the chain, --reset starts anew', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-devnet-restart-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const base = await freeRange(8)
  const args = ['--home', dir, '--rpc-port', String(base), '--p2p-port', String(base + 4), '--block-time', '100']
  const first = await startDevnet(t, args)
  t.equal(first.info.nodes.length, 4, 'runs four validators')
  t.same(first.info.nodes.map((n) => n.validator), [0, 1, 2, 3].map((i) => devValidatorKey(i).address), 'the dev validator keys')
  const clients = first.info.nodes.map((n) => new AttrchainClient(n.rpc))
  await eventually('every node at height 3', async () => (await Promise.all(clients.map((c) => c.status()))).every((s) => s.height >= 3))
  const hashes = await Promise.all(clients.map(async (c) => (await c.getBlock(3))?.hash))
  t.equal(new Set(hashes).size, 1, 'every node committed the same block 3')
  const sink = '0x' + '44'.repeat(20)
  const key = new KeyPair(fromHex(first.info.accounts[1].privateKey))
  const sent = await new TxSender(new AttrchainClient(first.info.nodes[0].rpc), key).send(transfer(sink, '1OPEN'), { wait: 'commit' })
  t.equal(sent.status, 'ok', 'a tx committed in the first run')
  first.proc.kill('SIGINT')
  t.equal(await exited(first.proc), 0, 'devnet exits 0 on SIGINT')
  for (const n of first.info.nodes) await eventually('node process gone', () => !alive(n.pid))

  const second = await startDevnet(t, args)
  t.equal(second.info.genesisHash, first.info.genesisHash, 'same genesis')
  const kept = new AttrchainClient(second.info.nodes[0].rpc)
  t.match(await kept.getTx(sent.hash), { hash: sent.hash, status: 'ok' }, 'the restarted chain still has the tx')
  t.equal((await kept.getAccount(sink)).balance, '1000000000000000000', 'and its effect')
  second.proc.kill('SIGTERM')
  t.equal(await exited(second.proc), 0, 'second run exits 0')
  for (const n of second.info.nodes) await eventually('node process gone', () => !alive(n.pid))

  const third = await startDevnet(t, [...args, '--reset'])
  t.equal(third.info.genesisHash, first.info.genesisHash, 'a reset devnet has the same deterministic genesis')
  t.equal(await new AttrchainClient(third.info.nodes[0].rpc).getTx(sent.hash), null, '--reset starts a fresh chain')
})

t.test('a killed devnet parent leaves no orphan node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-devnet-orphan-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { proc, info } = await startDevnet(t, ['--validators', '1', '--home', dir, '--rpc-port', String(await freePort()), '--p2p-port', String(await freePort())])
  proc.kill('SIGKILL')
  await exited(proc)
  await eventually('node notices its parent is gone', () => !alive(info.nodes[0].pid))
  t.notOk(alive(info.nodes[0].pid), 'the node exited on its own')
})
