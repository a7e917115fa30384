import t from 'tap'
import { createServer, request, type IncomingMessage, type Server } from 'node:http'
import { join } from 'node:path'
import { devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { TxSender, createValidator, registerDatanet, stake } from '../../rpc/index.js'
import { toHex } from '../../core/bytes.js'
import { sha256 } from '../../core/hash.js'
import { AccountCodec, toBytes } from '../../state/entities.js'
import { main, type CliIo } from '../../node/cli.js'
import { writeGenesisFile } from '../../node/home.js'
import { startNetwork, allReach } from '../helpers/network.js'

/**
 * `attrchain verify` against a real node, directly and through a tampering
 * JSON-RPC proxy: the honest answers verify (from the genesis and from a
 * checkpoint, across a validator-set change), and every altered answer —
 * a commit signature, a header field, the validator set, a checkpoint
 * hash — fails loudly with exit code 1.
 */

type Tamper = (method: string, params: unknown[], result: unknown) => unknown

/** An HTTP JSON-RPC proxy in front of the node that lets `tamper` rewrite each result. */
class TamperProxy {
  tamper: Tamper = (_m, _p, r) => r
  private server: Server | null = null
  port = 0

  constructor(private readonly targetPort: number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.forward(req).then(
        (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body),
        (e: Error) => res.writeHead(502).end(e.message),
      )
    })
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r))
    this.port = (this.server!.address() as { port: number }).port
  }

  private async forward(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const answer = await new Promise<string>((resolve, reject) => {
      const out = request({ host: '127.0.0.1', port: this.targetPort, method: 'POST', path: '/', headers: { 'content-type': 'application/json' } }, (r) => {
        const parts: Buffer[] = []
        r.on('data', (d: Buffer) => parts.push(d))
        r.on('end', () => resolve(Buffer.concat(parts).toString('utf8')))
      })
      out.on('error', reject)
      out.end(body)
    })
    const calls = JSON.parse(body) as { method: string; params?: unknown[] } | { method: string; params?: unknown[] }[]
    const replies = JSON.parse(answer) as { result?: unknown } | { result?: unknown }[]
    const one = (call: { method: string; params?: unknown[] }, reply: { result?: unknown }) =>
      ('result' in reply ? { ...reply, result: this.tamper(call.method, call.params ?? [], structuredClone(reply.result)) } : reply)
    return JSON.stringify(Array.isArray(calls) && Array.isArray(replies) ? replies.map((r, i) => one(calls[i]!, r)) : one(calls as { method: string }, replies as { result?: unknown }))
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r())
  }
}

interface Run {
  code: number
  stdout: string
  stderr: string
}

async function verify(args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = { stdout: (s) => { stdout += s }, stderr: (s) => { stderr += s }, env: {}, stopSignal: () => new Promise(() => {}) }
  const code = await main(['verify', ...args], io)
  return { code, stdout, stderr }
}

/** The devnet genesis time is fixed (2026-01-01): past the default trusting period of 168 h, trust it anyway (hours). */
const LONG = ['--trusting-period', '1000000']

const flipHexByte = (hex: string, at: number): string => {
  const i = 2 + 2 * at
  return hex.slice(0, i) + ((parseInt(hex.slice(i, i + 2), 16) ^ 1).toString(16).padStart(2, '0')) + hex.slice(i + 2)
}

t.test('verify: honest node passes, a tampering proxy fails loudly', async (t) => {
  const net = await startNetwork({ validators: 1 })
  t.teardown(() => net.close())
  const [v0] = net.nodes
  const proxy = new TamperProxy(v0.rpcPort)
  await proxy.start()
  t.teardown(() => proxy.stop())
  const genesisFile = join(net.dir, 'trusted-genesis.json')
  writeGenesisFile(genesisFile, net.genesis)
  const honest = `http://127.0.0.1:${v0.rpcPort}`
  const lying = `http://127.0.0.1:${proxy.port}`

  // a validator-set change: the validator's power grows by its stake tx, at H + 2
  await allReach(net.nodes, 2)
  const sender = new TxSender(v0.client, devValidatorKey(0))
  await sender.init()
  const r = await sender.send(stake('1000OPEN'), { wait: 'commit' })
  t.equal(r.status, 'ok', 'stake committed')
  await allReach(net.nodes, r.height! + 3)
  // a membership change: a validator joins with too little power to be needed (10,000 of 111,000), so the chain goes on without its process
  const joiner = new TxSender(v0.client, devAccountKey(2))
  await joiner.init()
  const j = await joiner.send(createValidator('10000OPEN', 'joiner', 500), { wait: 'commit' })
  t.equal(j.status, 'ok', 'createValidator committed')
  await allReach(net.nodes, j.height! + 3)
  const setOf = async (h: number) => (await v0.client.getValidatorSet(h))!
  t.not((await setOf(r.height! + 2)).hash, (await setOf(1)).hash, 'the set changed power')
  t.equal((await setOf(j.height! + 2)).validators.length, 2, 'the set changed members')
  const target = j.height! + 3
  const alice = devAccountKey(0)
  const aliceSender = new TxSender(v0.client, alice)
  await aliceSender.init()
  const dn = await aliceSender.send(registerDatanet('verify-dn', 'ipfs://verify', '1OPEN'), { wait: 'commit' })
  t.equal(dn.status, 'ok', 'registerDatanet committed')
  await allReach(net.nodes, dn.height! + 1)
  const aliceBalance = (await v0.client.getAccount(alice.address)).balance

  t.test('state: an account, a Datanet and attribution totals verify; an unknown account is proven absent', async (t) => {
    const acct = await verify(['account', alice.address, '--rpc', lying, '--genesis', genesisFile, ...LONG, '--json'])
    t.equal(acct.code, 0, acct.stderr)
    const a = JSON.parse(acct.stdout) as { value: { balance: string; nonce: number }; height: number; signedPower: string; totalPower: string }
    t.same(a.value, { balance: aliceBalance, nonce: 1 }, 'the proven account is what account_get says')
    t.ok(a.height > dn.height!, 'at the latest height')

    const d = await verify(['datanet', dn.hash, '--rpc', honest, '--genesis', genesisFile, ...LONG, '--json'])
    t.equal(d.code, 0, d.stderr)
    t.match(JSON.parse(d.stdout), { value: { name: 'verify-dn', owner: alice.address } })

    const l = await verify(['ledger', devValidatorKey(0).address, '--rpc', honest, '--genesis', genesisFile, ...LONG, '--json'])
    t.equal(l.code, 0, l.stderr)
    t.not(JSON.parse(l.stdout).value, null, 'the validator has attribution totals')

    const old = await verify(['account', alice.address, '--height', '1', '--rpc', honest, '--genesis', genesisFile, ...LONG, '--json'])
    t.equal(old.code, 0, old.stderr)
    t.match(JSON.parse(old.stdout), { height: 1, value: { nonce: 0 } }, 'at height 1, before her tx')

    const nobody = '0x' + '77'.repeat(20)
    const absent = await verify(['account', nobody, '--rpc', honest, '--genesis', genesisFile, ...LONG])
    t.equal(absent.code, 0, absent.stderr)
    t.match(absent.stdout, /VERIFIED account 0x7{40} at height \d+/)
    t.match(absent.stdout, /ABSENT: the proof shows no account/)
    t.equal((await verify(['account', '0x1234', '--rpc', honest])).code, 2, 'a malformed address is a usage error')
  })

  t.test('honest node: the header verifies from the genesis, across the set change', async (t) => {
    const res = await verify(['header', String(target), '--rpc', honest, '--genesis', genesisFile, ...LONG, '--json'])
    t.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as { verified: boolean; height: number; blockHash: string; signedPower: string; totalPower: string }
    t.equal(s.verified, true)
    t.equal(s.height, target)
    t.equal(s.blockHash, (await v0.client.getBlock(target))!.hash, 'the block hash the node reports')
    t.equal(BigInt(s.signedPower) * 111n, BigInt(s.totalPower) * 101n, 'signed by the first validator alone: 101,000 of 111,000')
    const latest = await verify(['header', 'latest', '--rpc', honest, '--genesis', genesisFile, ...LONG])
    t.equal(latest.code, 0, latest.stderr)
    t.match(latest.stdout, /^VERIFIED header latest at height \d+/)
    // at a fixed height the set is fixed (the absent joiner is jailed for downtime some 50 blocks later)
    const human = await verify(['header', String(target), '--rpc', honest, '--genesis', genesisFile, ...LONG])
    t.equal(human.code, 0, human.stderr)
    t.match(human.stdout, /signed by +101000 OPEN of 111000 OPEN power \(90\.99 %\), 1 of 2 validators/)
  })

  t.test('honest node through the proxy, and from a checkpoint', async (t) => {
    const res = await verify(['header', String(target), '--rpc', lying, '--genesis', genesisFile, ...LONG])
    t.equal(res.code, 0, res.stderr)
    const b2 = (await v0.client.getBlock(2))!
    const cp = await verify(['header', String(target), '--rpc', honest, '--trust-height', '2', '--trust-hash', b2.hash, '--json'])
    t.equal(cp.code, 0, cp.stderr)
    t.match(JSON.parse(cp.stdout), { root: { kind: 'checkpoint', height: 2 } })
    const below = await verify(['header', '1', '--rpc', honest, '--trust-height', '2', '--trust-hash', b2.hash, '--json'])
    t.equal(below.code, 0, below.stderr)
    t.match(JSON.parse(below.stdout), { height: 1, via: 'hashChain' })
  })

  const lies: [string, Tamper][] = [
    ['a commit signature', (m, _p, res) => {
      const c = res as { signatures: { signature: string }[] } | null
      if (m === 'chain_getCommit' && c) c.signatures[0]!.signature = flipHexByte(c.signatures[0]!.signature, 5)
      return res
    }],
    ['a header field (stateRoot)', (m, _p, res) => {
      const b = res as { header: { stateRoot: string } } | null
      if (m === 'chain_getBlock' && b) b.header.stateRoot = flipHexByte(b.header.stateRoot, 0)
      return res
    }],
    ['the validator set (a power)', (m, _p, res) => {
      const s = res as { validators: { power: string }[] } | null
      if (m === 'chain_getValidatorSet' && s) s.validators[0]!.power = (BigInt(s.validators[0]!.power) + 1n).toString()
      return res
    }],
    ['the validator set (a forged key)', (m, _p, res) => {
      const s = res as { validators: { pubKey: string }[] } | null
      if (m === 'chain_getValidatorSet' && s) s.validators[0]!.pubKey = flipHexByte(s.validators[0]!.pubKey, 3)
      return res
    }],
  ]
  for (const [what, tamper] of lies) {
    t.test(`a lying node: ${what}`, async (t) => {
      proxy.tamper = tamper
      t.teardown(() => { proxy.tamper = (_m, _p, r) => r })
      for (const args of [['header', String(target)], ['account', alice.address]]) {
        const res = await verify([...args, '--rpc', lying, '--genesis', genesisFile, ...LONG])
        t.equal(res.code, 1, `${args[0]}: exit code 1`)
        t.match(res.stderr, /VERIFICATION FAILED/, 'loud')
        t.match(res.stderr, /LIGHT_ERROR_(INVALID_HEADER|MALFORMED)/)
        t.notMatch(res.stdout, /VERIFIED/, 'nothing printed as verified')
      }
    })
  }

  type ProofAnswer = { value: { balance: string; nonce: number } | null; rawValue: string | null; proof: string[] } | null
  const proofLies: [string, Tamper][] = [
    ['a balance', (m, _p, res) => {
      const a = res as ProofAnswer
      if (m === 'state_getProof' && a?.value) a.value.balance = (BigInt(a.value.balance) * 10n).toString()
      return res
    }],
    ['a balance, with a matching raw value', (m, _p, res) => {
      const a = res as ProofAnswer
      if (m === 'state_getProof' && a?.value) {
        a.value.balance = (BigInt(a.value.balance) * 10n).toString()
        a.rawValue = toHex(toBytes(AccountCodec, { balance: BigInt(a.value.balance), nonce: a.value.nonce }))
      }
      return res
    }],
    ['a proof node', (m, _p, res) => {
      const a = res as ProofAnswer
      if (m === 'state_getProof' && a && a.proof.length > 1) a.proof[1] = toHex(sha256(a.proof[1]!))
      return res
    }],
    ['an account said absent', (m, _p, res) => {
      const a = res as ProofAnswer
      if (m === 'state_getProof' && a) Object.assign(a, { value: null, rawValue: null })
      return res
    }],
  ]
  for (const [what, tamper] of proofLies) {
    t.test(`a lying node: ${what}`, async (t) => {
      proxy.tamper = tamper
      t.teardown(() => { proxy.tamper = (_m, _p, r) => r })
      const res = await verify(['account', alice.address, '--rpc', lying, '--genesis', genesisFile, ...LONG])
      t.equal(res.code, 1, 'exit code 1')
      t.match(res.stderr, /VERIFICATION FAILED[\s\S]*LIGHT_ERROR_PROOF/, 'loud, naming the proof')
      t.notMatch(res.stdout, /VERIFIED/, 'nothing printed as verified')
    })
  }

  t.test('a checkpoint hash the node cannot match', async (t) => {
    const res = await verify(['header', String(target), '--rpc', honest, '--trust-height', '2', '--trust-hash', '0x' + '11'.repeat(32)])
    t.equal(res.code, 1)
    t.match(res.stderr, /VERIFICATION FAILED[\s\S]*LIGHT_ERROR_CHECKPOINT_MISMATCH/)
  })

  t.test('usage: nothing to trust, bad kind', async (t) => {
    t.equal((await verify(['nonsense', '0x00', '--rpc', honest])).code, 2)
    t.equal((await verify(['datanet', alice.address, '--rpc', honest])).code, 2, 'an address where a 32-byte id goes')
    t.equal((await verify(['header', '1', '--rpc', honest, '--trust-height', '2'])).code, 2, '--trust-height without --trust-hash')
    const none = await verify(['header', '1', '--rpc', honest, '--home', join(net.dir, 'no-such-home')])
    t.equal(none.code, 1)
    t.match(none.stderr, /nothing to trust/)
  })
})
