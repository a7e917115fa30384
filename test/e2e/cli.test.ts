import t from 'tap'
import { CHILD_ENV } from '../helpers/childEnv.js'
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toHex } from '../../core/bytes.js'
import { TX_TYPES } from '../../core/tx.js'
import { devAccountKey } from '../../genesis/devnet.js'
import { AttrchainClient } from '../../rpc/index.js'
import { main, type CliIo } from '../../node/cli.js'
import { freePort } from '../helpers/ports.js'

const BIN = fileURLToPath(new URL('../../bin/attrchain.js', import.meta.url))
const SINK = '0x' + '22'.repeat(20)
/** The child's environment without the caller's ATTRCHAIN_* settings, so that only the flags count. */
const ENV = CHILD_ENV

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function cli(args: string[], env: NodeJS.ProcessEnv = ENV): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => { stdout += d })
    p.stderr.on('data', (d: Buffer) => { stderr += d })
    p.once('error', reject)
    p.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The CLI in this process, for the many help screens (a child per screen would be slow). */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main(args, io)
  return { code, stdout, stderr }
}


function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode)
  return new Promise((r) => p.once('exit', (code) => r(code)))
}

async function waitForRpc(url: string, child: ChildProcess): Promise<void> {
  const client = new AttrchainClient(url, { timeoutMs: 2000 })
  const end = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode} before answering RPC`)
    if (Date.now() > end) throw new Error(`node at ${url} did not answer in time`)
    try {
      await client.status()
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

function oneErrorLine(t: Test, r: Run, prefix: string, what: string): void {
  const lines = r.stderr.split('\n').filter(Boolean)
  t.equal(lines.length, 1, `${what}: exactly one line on stderr (got ${JSON.stringify(r.stderr)})`)
  t.ok(lines[0]?.startsWith(prefix), `${what}: stderr starts with ${JSON.stringify(prefix)} (got ${JSON.stringify(lines[0])})`)
}

t.test('help on every command lists every flag', async (t) => {
  const top = await inProcess(['--help'])
  t.equal(top.code, 0, '--help exits 0')
  for (const c of ['init', 'start', 'devnet', 'status', 'keys', 'tx', 'query']) t.match(top.stdout, c, `top-level help lists ${c}`)
  const start = await inProcess(['start', '--help'])
  for (const f of ['--home', '--rpc-port', '--rpc-host', '--p2p-port', '--block-time', '--bootstrap', '--no-empty-blocks', '--log-level', '--log-format']) {
    t.match(start.stdout, f, `start --help documents ${f}`)
  }
  const devnet = await inProcess(['devnet', '--help'])
  for (const f of ['--validators', '--accounts', '--home', '--rpc-port', '--p2p-port', '--block-time', '--reset', '--json']) t.match(devnet.stdout, f, `devnet --help documents ${f}`)
  const txHelp = await inProcess(['tx', '--help'])
  for (const type of TX_TYPES) {
    t.match(txHelp.stdout, type, `tx --help lists ${type}`)
    const h = await inProcess(['tx', type, '--help'])
    t.equal(h.code, 0, `tx ${type} --help exits 0`)
    for (const f of ['--from', '--key', '--rpc', '--fee', '--wait', '--json']) t.match(h.stdout, f, `tx ${type} --help documents ${f}`)
  }
  const queries = ['account', 'allowance', 'block', 'commit', 'tx', 'distribution', 'validators', 'delegations', 'datanet', 'datanets', 'contributions', 'contribution', 'model', 'models', 'receipt', 'attribution', 'params']
  const qHelp = await inProcess(['query', '--help'])
  for (const q of queries) {
    t.match(qHelp.stdout, new RegExp(`^  ${q}\\b`, 'm'), `query --help lists ${q}`)
    t.equal((await inProcess(['query', q, '--help'])).code, 0, `query ${q} --help exits 0`)
  }
  for (const k of ['new', 'list', 'show']) t.equal((await inProcess(['keys', k, '--help'])).code, 0, `keys ${k} --help exits 0`)
})

t.test('usage errors exit 2 with one line', async (t) => {
  const cases: [string[], string][] = [
    [['bogus'], 'error: unknown command "bogus"'],
    [['tx', 'bogus'], 'error: unknown tx command "bogus"'],
    [['tx', 'transfer', SINK], 'error: attrchain tx transfer takes TO AMOUNT'],
    [['tx', 'transfer', SINK, '1.5', '--key', '0x00'], 'error: TX_ERROR_BAD_AMOUNT'],
    [['tx', 'transfer', '0x12', '1OPEN'], 'error: TO must be a 0x-prefixed 20-byte hex address'],
    [['tx', 'transfer', SINK, '1OPEN'], 'error: a tx needs a signer'],
    [['query', 'block', 'soon'], 'error: HEIGHT must be a block height or "latest"'],
    [['status', '--frobnicate'], 'error: Unknown option \'--frobnicate\''],
  ]
  for (const [args, prefix] of cases) {
    const r = await inProcess(args)
    t.equal(r.code, 2, `${args.join(' ')}: exit code 2`)
    oneErrorLine(t, r, prefix, args.join(' '))
  }
})

t.test('init + start + tx transfer + query account round trip, in real processes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-cli-'))
  const home = join(dir, 'home')
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const init = await cli(['init', '--home', home, '--json'])
  t.equal(init.code, 0, `init exits 0 (${init.stderr})`)
  const info = JSON.parse(init.stdout) as { chainId: string; validator: string; genesisHash: string; peerId: string }
  t.match(info.peerId, /^12D3KooW/, 'init created the libp2p node key (Ed25519 peer id)')
  t.match(info.chainId, /^attrchain-local-[0-9a-f]{8}$/, 'default chain id: new per init (issue 12)')
  t.match(info.validator, /^0x[0-9a-f]{40}$/, 'this node is the validator')
  const again = await cli(['init', '--home', home])
  t.equal(again.code, 1, 'init refuses an existing home')
  oneErrorLine(t, again, 'error: HOME_ERROR_EXISTS', 'init twice')

  const alice = devAccountKey(0)
  const keyNew = await cli(['keys', 'new', 'alice', '--home', home, '--import', toHex(alice.seed), '--json'])
  t.equal(keyNew.code, 0, `keys new exits 0 (${keyNew.stderr})`)
  t.equal(JSON.parse(keyNew.stdout).address, alice.address, 'imported dev account 0')
  t.equal((await cli(['keys', 'new', 'fresh', '--home', home])).code, 0, 'keys new with a random key')
  const list = JSON.parse((await cli(['keys', 'list', '--home', home, '--json'])).stdout) as { name: string }[]
  t.same(list.map((k) => k.name), ['alice', 'fresh'], 'keys list')
  const show = JSON.parse((await cli(['keys', 'show', 'alice', '--home', home, '--json'])).stdout) as Record<string, string>
  t.equal(show.privateKey, undefined, 'keys show hides the private key')
  const showPrivate = JSON.parse((await cli(['keys', 'show', 'alice', '--home', home, '--private', '--json'])).stdout) as Record<string, string>
  t.equal(showPrivate.privateKey, toHex(alice.seed), 'keys show --private prints the seed')

  const port = await freePort()
  const rpc = `http://127.0.0.1:${port}`
  const node = spawn(process.execPath, [BIN, 'start', '--home', home, '--rpc-port', String(port), '--p2p-port', String(await freePort()), '--block-time', '100'], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] })
  let nodeLog = ''
  node.stderr!.on('data', (d: Buffer) => { nodeLog += d })
  t.teardown(async () => {
    node.kill('SIGKILL')
    await exited(node)
  })
  await waitForRpc(rpc, node)

  const status = await cli(['status', '--rpc', rpc, '--json'])
  t.equal(status.code, 0, 'status exits 0')
  t.equal(JSON.parse(status.stdout).genesisHash, info.genesisHash, 'the node runs the genesis init wrote')

  const tx = await cli(['tx', 'transfer', SINK, '1.5OPEN', '--from', 'alice', '--home', home, '--rpc', rpc, '--wait', '--json'])
  t.equal(tx.code, 0, `tx transfer exits 0 (${tx.stderr})`)
  const sent = JSON.parse(tx.stdout) as { hash: string; status: string; height: number; sender: string }
  t.equal(sent.status, 'ok', 'transfer committed ok')
  t.equal(sent.sender, alice.address, 'signed by the keyring key')

  const q = await cli(['query', 'account', SINK, '--rpc', rpc, '--json'])
  t.equal(q.code, 0, 'query account exits 0')
  t.equal(JSON.parse(q.stdout).balance, '1500000000000000000', '--json shows units as on the wire')
  const human = await cli(['query', 'account', SINK], { ...ENV, ATTRCHAIN_RPC: rpc })
  t.match(human.stdout, /balance\s+1\.5 OPEN/, 'human output in OPEN, RPC URL from ATTRCHAIN_RPC')
  const byKey = await cli(['tx', 'transfer', SINK, '2500000000000000000', '--key', toHex(alice.seed), '--rpc', rpc, '--wait'])
  t.match(byKey.stdout, /^committed 0x[0-9a-f]{64} at height \d+ \(ok\)/, `--key signs too, amount in units (${byKey.stderr})`)
  t.match(byKey.stderr, /^sending the tx and waiting for it to be committed\n/, '--wait says what it waits for (a plain line: stderr is not a terminal)')
  t.equal(tx.stderr, '', '--json without a terminal: no progress lines')
  t.equal(JSON.parse((await cli(['query', 'account', SINK, '--rpc', rpc, '--json'])).stdout).balance, '4000000000000000000', 'both transfers landed')
  const qtx = await cli(['query', 'tx', sent.hash, '--rpc', rpc, '--json'])
  t.match(JSON.parse(qtx.stdout), { hash: sent.hash, type: 'transfer', status: 'ok' }, 'query tx')

  const badNonce = await cli(['tx', 'transfer', SINK, '1OPEN', '--from', 'alice', '--home', home, '--rpc', rpc, '--nonce', '0'])
  t.equal(badNonce.code, 1, 'a used nonce exits 1')
  oneErrorLine(t, badNonce, 'error: TX_ERROR_BAD_NONCE: nonce 0 already used; account nonce is 2', 'bad nonce')
  const unknownKey = await cli(['tx', 'transfer', SINK, '1OPEN', '--from', 'nobody', '--home', home, '--rpc', rpc])
  t.equal(unknownKey.code, 1, 'an unknown key exits 1')
  oneErrorLine(t, unknownKey, 'error: KEYRING_ERROR_NOT_FOUND: no key named "nobody"', 'unknown key')
  const missing = await cli(['query', 'datanet', '0x' + '00'.repeat(32), '--rpc', rpc])
  t.equal(missing.code, 1, 'an unknown id exits 1')
  oneErrorLine(t, missing, 'error: CLI_ERROR_NOT_FOUND', 'unknown datanet')
  const deadPort = await freePort()
  const unreachable = await cli(['status', '--rpc', `http://127.0.0.1:${deadPort}`])
  t.equal(unreachable.code, 1, 'no node there exits 1')
  oneErrorLine(t, unreachable, 'error: RPC_TRANSPORT_ERROR_NETWORK', 'unreachable node')

  node.kill('SIGTERM')
  t.equal(await exited(node), 0, `start exits 0 after SIGTERM (log: ${nodeLog.slice(-500)})`)
  t.match(nodeLog, 'node stopped', 'the node stopped cleanly')
})

t.test('tx submitReceipts reads receipts from a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-cli-receipts-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'receipts.json')
  writeFileSync(file, JSON.stringify([{ modelId: '0x' + '01'.repeat(32), payer: SINK, fee: 'x', inputHash: '0x' + '02'.repeat(32), outputHash: '0x' + '03'.repeat(32) }]))
  const r = await inProcess(['tx', 'submitReceipts', file, '--key', toHex(devAccountKey(0).seed)])
  t.equal(r.code, 2, 'a bad fee in the file is a usage error')
  oneErrorLine(t, r, 'error: TX_ERROR_BAD_AMOUNT: receipts[0].fee', 'bad receipt fee')
})
