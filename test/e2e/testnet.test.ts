import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync, copyFileSync, writeFileSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { BIN, exited, tempDir, until } from '../helpers/nodeProcess.js'
import { FAST_PARAMS } from '../helpers/network.js'
import { NODE_RUNTIME_FLAGS } from '../../node/runtime.js'
import { AttrchainClient } from '../../rpc/index.js'
import { main, type CliIo } from '../../node/cli.js'

/**
 * Issue 17 item 1: `attrchain testnet` writes homes for hosts 127.0.0.1
 * that start as a real network with no flag but --home (ports, peers and
 * genesis all come from the generated files); a full node follows; a new
 * validator joins by the README's steps (genesis copied, funded,
 * createValidator signed with its validator key) and then signs blocks.
 */

interface Run { code: number | null; stdout: string; stderr: string }

/** The CLI in this process (a child per command costs seconds on a loaded machine); the nodes are real processes. */
async function cli(args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main(args, io)
  return { code, stdout, stderr }
}

const portFree = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = createServer()
  s.once('error', () => resolve(false))
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
})

/** `n` consecutive free ports on 127.0.0.1, avoiding `avoid`. */
async function freeRange(n: number, avoid: number[] = []): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const range = Array.from({ length: n }, (_, i) => base + i)
    if (range.some((p) => avoid.some((a) => Math.abs(a - p) < n))) continue
    if ((await Promise.all(range.map(portFree))).every(Boolean)) return base
  }
}

function startHome(home: string): ChildProcess {
  const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, BIN, 'start', '--home', home, '--block-time', '200', '--log-level', 'info'], { env: CHILD_ENV, stdio: ['ignore', 'ignore', 'pipe'] })
  child.stderr!.pipe(createWriteStream(join(home, 'node.log'), { flags: 'a' }))
  return child
}

t.test('testnet homes for 127.0.0.1 start as a network; a new validator joins and signs', async (t) => {
  const tmp = tempDir('attrchain-testnet-')
  const out = join(tmp.dir, 'net')
  const p2pBase = await freeRange(5)
  const rpcBase = await freeRange(5, [p2pBase])
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

  const gen = await cli(['testnet', '--hosts', '127.0.0.1', '--validators', '3', '--full-nodes', '1', '--output', out,
    '--p2p-port', String(p2pBase), '--rpc-port', String(rpcBase), '--params', JSON.stringify(FAST_PARAMS), '--json'])
  t.equal(gen.code, 0, gen.stderr)
  const summary = JSON.parse(gen.stdout) as { chainId: string; genesisHash: string; nodes: { name: string; role: string; rpcPort: number; p2p: string; validator: string | null }[]; accounts: string[] }
  t.same(summary.nodes.map((n) => n.role), ['validator', 'validator', 'validator', 'full'])
  t.same(JSON.parse(readFileSync(join(out, 'testnet.json'), 'utf8')), summary, 'testnet.json is the printed summary')
  for (const n of summary.nodes) {
    const config = JSON.parse(readFileSync(join(out, n.name, 'config.json'), 'utf8')) as { bootstrap: string[] }
    t.same(config.bootstrap.sort(), summary.nodes.filter((m) => m !== n).map((m) => m.p2p).sort(), `${n.name}: persistent peers are every other node`)
    t.equal(existsSync(join(out, n.name, 'validator_key.json')), n.role === 'validator', `${n.name}: a validator key only on a validator`)
  }
  const again = await cli(['testnet', '--hosts', '127.0.0.1', '--output', out])
  t.equal(again.code, 1, 'a non-empty output dir is refused without --force')

  // The joiner's home is made by the README's steps: init, the network's genesis, one peer to bootstrap from.
  const join1 = join(tmp.dir, 'joiner')
  const init = await cli(['init', '--home', join1, '--json'])
  t.equal(init.code, 0, init.stderr)
  const joinerKey = JSON.parse(readFileSync(join(join1, 'validator_key.json'), 'utf8')) as { address: string; privateKey: string }
  copyFileSync(join(out, 'genesis.json'), join(join1, 'genesis.json'))
  const [p2pJ, rpcJ] = [p2pBase + 4, rpcBase + 4]
  writeFileSync(join(join1, 'config.json'), JSON.stringify({ p2pPort: p2pJ, rpcPort: rpcJ, bootstrap: [summary.nodes[0].p2p] }))

  for (const n of summary.nodes) children.push(startHome(join(out, n.name)))
  children.push(startHome(join1))
  const nodeClients = summary.nodes.map((n) => new AttrchainClient(`http://127.0.0.1:${n.rpcPort}`, { timeoutMs: 20_000 }))
  clients.push(...nodeClients)
  await until('every generated node at height 3', async () => (await Promise.all(nodeClients.map((c) => c.status()))).every((s) => s.height >= 3), 45_000, 200)
  const statuses = await Promise.all(nodeClients.map((c) => c.status()))
  for (const [i, s] of statuses.entries()) {
    t.equal(s.genesisHash, summary.genesisHash, `${summary.nodes[i].name}: the shared genesis`)
    t.equal(s.validator, summary.nodes[i].validator, `${summary.nodes[i].name}: runs with its own validator key`)
  }
  const hashes = await Promise.all(nodeClients.map(async (c) => (await c.getBlock(2))!.hash))
  t.equal(new Set(hashes).size, 1, 'every node has the same block 2')

  // The joiner follows as a full node, then becomes a validator.
  const joiner = new AttrchainClient(`http://127.0.0.1:${rpcJ}`, { timeoutMs: 20_000 })
  clients.push(joiner)
  const head = (await nodeClients[0].status()).height
  await until('the joiner to catch up', async () => (await joiner.status()).height >= head, 45_000, 200)

  const [funder] = JSON.parse(readFileSync(join(out, 'accounts.json'), 'utf8')) as { privateKey: string }[]
  const rpc0 = `http://127.0.0.1:${summary.nodes[0].rpcPort}`
  const fund = await cli(['tx', 'transfer', '--key', funder.privateKey, '--rpc', rpc0, '--wait', '--json', joinerKey.address, '20000OPEN'])
  t.equal(fund.code, 0, `funding: ${fund.stdout}${fund.stderr}`)
  const create = await cli(['tx', 'createValidator', '--key', joinerKey.privateKey, '--rpc', rpc0, '--wait', '--json', '15000OPEN', 'joiner', '500'])
  t.equal(create.code, 0, `createValidator: ${create.stdout}${create.stderr}`)
  // committed at that height on node 0; node 1 may be a block behind when asked, so it is asked once it holds that height
  const createdAt = (JSON.parse(create.stdout) as { height: number }).height
  await until('node 1 at the createValidator height', async () => (await nodeClients[1].status()).height >= createdAt, 45_000, 200)
  const vals = await nodeClients[1].validators()
  t.ok(vals.some((v) => v.address === joinerKey.address), 'the joiner is in the validator set')
  await until('a block carrying the joiner\'s precommit', async () => {
    const h = (await nodeClients[0].status()).height
    const b = await nodeClients[0].getBlock(h)
    return b?.lastCommit?.signatures.some((s) => s.validator === joinerKey.address)
  }, 45_000, 200)
  t.pass('the joined validator signs')
})
