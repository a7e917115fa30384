import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTestnet, defaultTestnetOptions, type TestnetOptions } from '../../../node/testnet.js'
import { readGenesisFile } from '../../../node/home.js'

/** Issue 17 item 1: `attrchain testnet` layouts, and bad input refused before anything is written. */

const dir = mkdtempSync(join(tmpdir(), 'attrchain-testnet-unit-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const opts = (o: Partial<TestnetOptions>): TestnetOptions => ({ ...defaultTestnetOptions, hosts: ['10.0.0.1'], output: join(dir, `out-${Math.random().toString(36).slice(2)}`), ...o })

t.test('nodes go round-robin over the hosts; ports count per host; peers are everyone else', async (t) => {
  const o = opts({ hosts: ['10.0.0.1', 'node2.example.org'], validators: 3, fullNodes: 2, stakes: [10_000n * 10n ** 18n, 20_000n * 10n ** 18n, 30_000n * 10n ** 18n] })
  const layout = await writeTestnet(o)
  t.same(layout.nodes.map((n) => [n.name, n.host, n.p2pPort, n.rpcPort]), [
    ['validator0', '10.0.0.1', 26656, 8545], ['validator1', 'node2.example.org', 26656, 8545], ['validator2', '10.0.0.1', 26657, 8546],
    ['fullnode0', 'node2.example.org', 26657, 8546], ['fullnode1', '10.0.0.1', 26658, 8547],
  ])
  t.match(layout.nodes[1].p2p, /^\/dns4\/node2\.example\.org\/tcp\/26656\/p2p\//, 'a DNS host is a /dns4 address')
  const g = readGenesisFile(join(o.output, 'validator2', 'genesis.json'))
  t.same(g.validators.map((v) => v.stake), o.stakes, 'one stake per validator')
  t.equal(readFileSync(join(o.output, 'genesis.json'), 'utf8'), readFileSync(join(o.output, 'fullnode1', 'genesis.json'), 'utf8'), 'one genesis for every home')
  const config = JSON.parse(readFileSync(join(o.output, 'validator0', 'config.json'), 'utf8')) as { p2pHost: string; bootstrap: string[] }
  t.equal(config.p2pHost, '0.0.0.0', 'a non-loopback host listens on every interface')
  t.equal(config.bootstrap.length, 4)
  t.equal(statSync(join(o.output, 'accounts.json')).mode & 0o777, 0o600, 'funded keys are private to the owner')
})

t.test('bad input is refused and writes nothing', async (t) => {
  const cases: [string, Partial<TestnetOptions>, RegExp][] = [
    ['no host', { hosts: [] }, /at least one host/],
    ['bad host', { hosts: ['1.2.3'] }, /neither an IPv4 address nor a DNS name/],
    ['stake count', { validators: 3, stakes: [1n, 2n] }, /one per validator/],
    ['stake below the minimum', { stakes: [1n] }, /minValidatorStake/],
    ['bad params', { params: { maxValidators: 'x' } }, /params\.maxValidators/],
    ['port ranges overlap', { validators: 4, p2pPort: 8000, rpcPort: 8002 }, /overlap/],
    ['no validator', { validators: 0 }, /at least 1/],
  ]
  for (const [what, o, message] of cases) {
    const full = opts(o)
    await t.rejects(writeTestnet(full), { code: 'TESTNET_ERROR_INVALID', message }, what)
    t.notOk(existsSync(full.output), `${what}: nothing written`)
  }
})
