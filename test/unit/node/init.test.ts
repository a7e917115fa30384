import t, { type Test } from 'tap'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main, type CliIo } from '../../../node/cli.js'
import { homePaths } from '../../../node/home.js'
import { devAccountKey } from '../../../genesis/devnet.js'
import { decodeSignedTx } from '../../../core/tx.js'
import { fromHex, toHex } from '../../../core/bytes.js'

// Issue 12 items 7 and 8: `attrchain init` gave every chain the chain id
// `attrchain-local` (a tx signed for one was valid on all), and `init --force`
// deleted the keyring and the validator key although its help said "chain data".

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main(args, io)
  return { code, stdout, stderr }
}

function tempHome(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-init-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'home')
}

t.test('two fresh inits get two different chain ids unless told one', async (t) => {
  const a = JSON.parse((await cli(['init', '--home', tempHome(t), '--json'])).stdout) as { chainId: string; genesisHash: string }
  const b = JSON.parse((await cli(['init', '--home', tempHome(t), '--json'])).stdout) as { chainId: string; genesisHash: string }
  t.match(a.chainId, /^attrchain-local-[0-9a-f]{8}$/)
  t.not(a.chainId, b.chainId, 'chain ids differ, so a tx signed for one is refused by the other (TX_ERROR_WRONG_CHAIN)')
  t.not(a.genesisHash, b.genesisHash)
  const named = JSON.parse((await cli(['init', '--home', tempHome(t), '--chain-id', 'my-chain', '--json'])).stdout) as { chainId: string }
  t.equal(named.chainId, 'my-chain', '--chain-id is kept as given')
  const bad = await cli(['init', '--home', tempHome(t), '--chain-id', 'Bad Id'])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /HOME_ERROR_BAD_CHAIN_ID/)
})

t.test('init --force and --reset-data delete chain data and never a key', async (t) => {
  const home = tempHome(t)
  const first = JSON.parse((await cli(['init', '--home', home, '--json'])).stdout) as { chainId: string; validator: string; peerId: string }
  const paths = homePaths(home)
  t.equal((await cli(['keys', 'new', 'alice', '--home', home])).code, 0)
  const keyring = readFileSync(join(paths.keys, 'alice.json'), 'utf8')
  const validatorKey = readFileSync(paths.validatorKey, 'utf8')
  const plant = () => {
    mkdirSync(paths.chainDb, { recursive: true })
    writeFileSync(join(paths.chainDb, 'CURRENT'), 'x')
    writeFileSync(paths.signState, 'x')
  }

  const again = await cli(['init', '--home', home])
  t.equal(again.code, 1, 'init refuses an initialised home')
  t.match(again.stderr, /--reset-data/, 'the error names the flag that only deletes chain data')

  plant()
  const reset = await cli(['init', '--home', home, '--reset-data', '--json'])
  t.equal(reset.code, 0, reset.stderr)
  t.equal(JSON.parse(reset.stdout).chainId, first.chainId, '--reset-data keeps the genesis')
  t.notOk(existsSync(paths.chainDb) || existsSync(paths.signState), 'chain data and signing state are gone')
  t.equal(readFileSync(join(paths.keys, 'alice.json'), 'utf8'), keyring, 'keyring kept')
  t.equal(readFileSync(paths.validatorKey, 'utf8'), validatorKey, 'validator key kept')

  plant()
  const forced = JSON.parse((await cli(['init', '--home', home, '--force', '--json'])).stdout) as { chainId: string; validator: string; peerId: string }
  t.notOk(existsSync(paths.chainDb), '--force deletes the chain data')
  t.not(forced.chainId, first.chainId, '--force writes a new genesis')
  t.equal(readFileSync(join(paths.keys, 'alice.json'), 'utf8'), keyring, 'keyring kept by --force')
  t.equal(readFileSync(paths.validatorKey, 'utf8'), validatorKey, 'validator key kept by --force')
  t.equal(forced.validator, first.validator, 'the kept validator key validates the new genesis')
  t.equal(forced.peerId, first.peerId, 'node key kept')

  const help = await cli(['init', '--help'])
  t.match(help.stdout, /keeps the keyring/, '--help says what --force keeps')
  t.notMatch(help.stdout, /DESIGN/, '--help points to nothing outside the repository')
})

t.test('tx … --print signs and prints the raw tx and sends nothing (offline with --chain-id, --nonce and --fee)', async (t) => {
  const key = devAccountKey(0)
  const to = '0x' + '22'.repeat(20)
  const args = ['tx', 'transfer', to, '1', '--key', toHex(key.seed), '--chain-id', 'my-chain', '--nonce', '7', '--fee', '1000', '--print']
  // an RPC port nobody listens on: any attempt to send would fail
  const printed = await cli([...args, '--rpc', 'http://127.0.0.1:9', '--json'])
  t.equal(printed.code, 0, printed.stderr)
  const out = JSON.parse(printed.stdout) as { raw: string; hash: string; sender: string }
  const stx = decodeSignedTx(fromHex(out.raw))
  t.same({ chainId: stx.tx.chainId, nonce: stx.tx.nonce, fee: stx.tx.fee, type: stx.tx.call.type }, { chainId: 'my-chain', nonce: 7, fee: 1000n, type: 'transfer' })
  t.equal(stx.sender, key.address)
  t.equal(stx.hash, out.hash)
  const plain = await cli([...args, '--rpc', 'http://127.0.0.1:9'])
  t.equal(plain.stdout.trim(), out.raw, 'without --json: the raw hex alone, ready for tx_send')
  const noNode = await cli(['tx', 'transfer', to, '1', '--key', toHex(key.seed), '--print', '--rpc', 'http://127.0.0.1:9'])
  t.not(noNode.code, 0, 'without --chain-id/--nonce/--fee it asks the node, and says so when there is none')
})
