import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { BIN, exited } from '../helpers/nodeProcess.js'
import { DelayProxy, measureWan, waitHeight, type WanNetwork } from '../../bench/wan.js'
import { fromHex } from '../../core/bytes.js'
import { KeyPair } from '../../core/keys.js'
import { homePaths, writeFileDurable } from '../../node/home.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'
import { writeTestnet, defaultTestnetOptions } from '../../node/testnet.js'
import { AttrchainClient } from '../../rpc/index.js'

/**
 * Issue 17 item 4, namespace variant: each of 4 validators runs in a
 * network namespace of its own (`ip netns`), joined to the host namespace by
 * a veth pair (10.N.i.1 host side, 10.N.i.2 node side, a /30 each, no route
 * between node namespaces). Every validator-to-validator connection goes
 * node i → host side of veth i → a DelayProxy (50 ms each way ± 10 ms) →
 * veth j → node j: real interfaces and separate network stacks instead of
 * one loopback. Where the kernel has the netem qdisc, the delay is put on
 * the veths by `tc netem` instead and the proxies only forward. Skipped,
 * with the reason, where `ip netns` is refused (not root, no CAP_NET_ADMIN,
 * not Linux).
 */

const N = 4
const ONE_WAY_MS = 50
const JITTER_MS = 10
const tag = `ac${process.pid % 100000}`
const octet = 20 + (process.pid % 200)
const nsName = (i: number): string => `${tag}n${i}`
const hostIf = (i: number): string => `${tag}h${i}`
const nodeIf = (i: number): string => `${tag}v${i}`
const hostAddr = (i: number): string => `10.${octet}.${i}.1`
const nodeAddr = (i: number): string => `10.${octet}.${i}.2`

function run(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() }
}

function must(args: string[]): void {
  const r = run(args)
  if (!r.ok) throw new Error(`${args.join(' ')}: ${r.err}`)
}

/** Why namespaces cannot be used here, or null when they can. */
function refusal(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  const probe = `${tag}probe`
  const r = run(['ip', 'netns', 'add', probe])
  if (!r.ok) return `ip netns add was refused (${r.err || 'no ip command'}); run as root or with CAP_NET_ADMIN`
  run(['ip', 'netns', 'del', probe])
  return null
}

function netemWorks(): boolean {
  const probe = `${tag}nm`
  if (!run(['ip', 'netns', 'add', probe]).ok) return false
  const ok = run(['ip', 'netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']).ok
  run(['ip', 'netns', 'del', probe])
  return ok
}

const why = refusal()
t.test('4 validators in separate network namespaces, 100 ms RTT between them: live and in agreement', { skip: why ?? false }, async (t) => {
  const netem = netemWorks()
  t.comment(netem ? 'netem available: delay on the veths' : 'no netem qdisc in this kernel: delay by the proxies between the namespaces')
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-netns-'))
  const children: ChildProcess[] = []
  const proxies: DelayProxy[] = []
  const clients: AttrchainClient[] = []
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await Promise.all(children.map((c) => exited(c)))
    await Promise.all(clients.map((c) => c.close()))
    await Promise.all(proxies.map((p) => p.stop()))
    for (let i = 0; i < N; i++) run(['ip', 'netns', 'del', nsName(i)]) // removes its veth pair too
    if (!process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < N; i++) {
    must(['ip', 'netns', 'add', nsName(i)])
    must(['ip', 'link', 'add', hostIf(i), 'type', 'veth', 'peer', 'name', nodeIf(i)])
    must(['ip', 'link', 'set', nodeIf(i), 'netns', nsName(i)])
    must(['ip', 'addr', 'add', `${hostAddr(i)}/30`, 'dev', hostIf(i)])
    must(['ip', 'link', 'set', hostIf(i), 'up'])
    must(['ip', 'netns', 'exec', nsName(i), 'ip', 'addr', 'add', `${nodeAddr(i)}/30`, 'dev', nodeIf(i)])
    must(['ip', 'netns', 'exec', nsName(i), 'ip', 'link', 'set', nodeIf(i), 'up'])
    must(['ip', 'netns', 'exec', nsName(i), 'ip', 'link', 'set', 'lo', 'up'])
    if (netem) {
      // half the one-way delay on each veth end: node i → host → node j crosses two veths each way
      must(['tc', 'qdisc', 'add', 'dev', hostIf(i), 'root', 'netem', 'delay', `${ONE_WAY_MS / 2}ms`, `${JITTER_MS / 2}ms`])
      must(['ip', 'netns', 'exec', nsName(i), 'tc', 'qdisc', 'add', 'dev', nodeIf(i), 'root', 'netem', 'delay', `${ONE_WAY_MS / 2}ms`, `${JITTER_MS / 2}ms`])
    }
  }
  const layout = await writeTestnet({
    ...defaultTestnetOptions, hosts: ['127.0.0.1'], validators: N, fullNodes: 0, output: join(dir, 'net'), chainId: 'attrchain-netns', p2pPort: 26656, rpcPort: 8545,
  })
  // proxy (i, j) listens on node i's host-side address and forwards to node j's p2p port in its namespace
  const link = (i: number, j: number): DelayProxy => proxies[i * N + j]
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      proxies.push(new DelayProxy({ listenHost: hostAddr(i), targetHost: nodeAddr(j), targetPort: 26656, oneWayMs: netem ? 0 : ONE_WAY_MS, jitterMs: netem ? 0 : JITTER_MS }))
    }
  }
  await Promise.all(proxies.map((p, k) => (Math.floor(k / N) === k % N ? null : p.start())))
  for (const [i, n] of layout.nodes.entries()) {
    const bootstrap = layout.nodes.flatMap((m, j) => (j === i ? [] : [`/ip4/${hostAddr(i)}/tcp/${link(i, j).port}/p2p/${m.peerId}`]))
    writeFileDurable(homePaths(n.home).config, JSON.stringify({
      p2pHost: nodeAddr(i), p2pPort: 26656, rpcHost: nodeAddr(i), rpcPort: 8545, bootstrap, p2pDiscovery: false,
    }, null, 2) + '\n')
    const child = spawn('ip', ['netns', 'exec', nsName(i), process.execPath, ...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', n.home, '--block-time', '500', '--log-level', 'info'], {
      env: CHILD_ENV, stdio: ['ignore', 'ignore', 'pipe'],
    })
    child.stderr!.pipe(createWriteStream(join(n.home, 'node.log'), { flags: 'a' }))
    children.push(child)
    clients.push(new AttrchainClient(`http://${nodeAddr(i)}:8545`, { timeoutMs: 30_000 }))
  }
  const [account] = JSON.parse(readFileSync(join(dir, 'net', 'accounts.json'), 'utf8')) as { privateKey: string }[]
  const net: WanNetwork = {
    nodes: layout.nodes.map((n, i) => ({ name: n.name, home: n.home, child: children[i], client: clients[i] })),
    proxies, dir, funded: new KeyPair(fromHex(account.privateKey, 'privateKey', 32)), close: async () => {},
  }
  await waitHeight(net, 3, 90_000)
  const figures = await measureWan(net, 4_000)
  t.comment(`netns, ${2 * ONE_WAY_MS} ms RTT: ${JSON.stringify(figures)}`)
  t.ok(figures.finalityMs.samples >= 1, 'txs commit')
  t.ok(proxies.every((p, k) => Math.floor(k / N) === k % N || p.accepted > 0), 'every pair of nodes is connected through its link between namespaces')
  const top = Math.min(...(await Promise.all(clients.map(async (c) => (await c.status()).height))))
  t.ok(top >= 4, `the chain advanced to ${top}`)
  for (let h = 1; h <= top; h++) {
    const hashes = await Promise.all(clients.map(async (c) => (await c.getBlock(h))!.hash))
    t.equal(new Set(hashes).size, 1, `every node has the same block ${h}`)
  }
})
