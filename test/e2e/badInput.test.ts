import t from 'tap'
import { request } from 'node:http'
import { devAccountKey } from '../../genesis/devnet.js'
import { signTx, type TxCall } from '../../core/tx.js'
import { toHex } from '../../core/bytes.js'
import { KeyPair } from '../../core/keys.js'
import { devnetHome, startNode, tempDir } from '../helpers/nodeProcess.js'

/**
 * Bad input against a real node: each is answered with the right JSON-RPC
 * error, the node keeps serving, and nothing of the state changes.
 */
interface Reply {
  status: number
  body: any
}

function post(url: string, body: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const rpc = (method: string, params: unknown, id: unknown = 1) => JSON.stringify({ jsonrpc: '2.0', id, method, params })

t.test('bad input gets a clear error and changes nothing', async (t) => {
  const tmp = tempDir('attrchain-badinput-')
  const genesis = devnetHome(tmp.dir)
  const node = await startNode(tmp.dir, ['--block-time', '100'])
  t.teardown(async () => {
    await node.stop()
    await node.client.close()
    tmp.remove()
  })
  const url = node.url
  const alice = devAccountKey(0)
  const bob = devAccountKey(1)
  const tx = (call: TxCall, o: { nonce?: number; chainId?: string; key?: KeyPair } = {}) =>
    signTx({ chainId: o.chainId ?? genesis.chainId, nonce: o.nonce ?? 0, fee: genesis.params.minTxFee, call }, o.key ?? alice)
  const send = (bytes: Uint8Array) => post(url, rpc('tx_send', [toHex(bytes)]))

  const accountsBefore = await Promise.all([alice, bob].map((k) => node.client.getAccount(k.address)))

  const cases: [string, () => Promise<Reply>, number, string?][] = [
    ['invalid JSON', () => post(url, '{"jsonrpc": "2.0", "id": 1, "method": '), -32700],
    ['not UTF-8', () => post(url, Buffer.from([0xff, 0xfe, 0x7b])), -32700],
    ['wrong jsonrpc version', () => post(url, JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'chain_status', params: [] })), -32600],
    ['unknown method', () => post(url, rpc('chain_nope', [])), -32601],
    ['wrong param type', () => post(url, rpc('account_get', [42])), -32602],
    ['by-name params', () => post(url, rpc('account_get', { address: alice.address })), -32602],
    ['garbage hex', () => post(url, rpc('tx_send', ['0xzz'])), -32602],
    ['hex that is not a tx', () => post(url, rpc('tx_send', ['0x0102030405'])), -32001, 'TX_ERROR_MALFORMED'],
    ['a 10 MB string', () => post(url, rpc('tx_send', ['0x' + 'ab'.repeat(5 * 1024 * 1024)])), -32600],
    ['deeply nested JSON', () => post(url, '['.repeat(100_000) + ']'.repeat(100_000)), -32700],
    ['a batch over the cap', () => post(url, JSON.stringify(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'chain_status', params: [] })))), -32600],
    ['bad signature', () => {
      const b = new Uint8Array(tx({ type: 'transfer', to: bob.address, amount: 5n }).bytes)
      b[b.length - 1] ^= 1
      return send(b)
    }, -32001, 'TX_ERROR_BAD_SIGNATURE'],
    ['wrong chain id', () => send(tx({ type: 'transfer', to: bob.address, amount: 5n }, { chainId: 'other-chain' }).bytes), -32001, 'TX_ERROR_WRONG_CHAIN'],
    ['negative amount in JSON param', () => post(url, rpc('account_get', ['-1'])), -32602],
    ['overflowing amount in a tx', () => send(tx({ type: 'transfer', to: bob.address, amount: (1n << 128n) })!.bytes), -32001, 'TX_ERROR_BAD_AMOUNT'],
  ]
  for (const [name, run, code, reason] of cases) {
    let reply: Reply
    try {
      reply = await run()
    } catch (e) {
      if (name === 'overflowing amount in a tx') {
        t.match((e as Error).message, /TX_ERROR_BAD_AMOUNT|2\^128/, `${name}: refused already when signing`)
        continue
      }
      throw e
    }
    const err = Array.isArray(reply.body) ? reply.body[0]?.error : reply.body?.error
    t.equal(err?.code, code, `${name}: error ${code} (${err?.message})`)
    if (reason) t.equal(err?.data?.reason, reason, `${name}: data.reason ${reason}`)
    t.ok(typeof err?.message === 'string' && err.message.length > 0, `${name}: a readable message`)
  }

  const first = await node.client.sendTx(tx({ type: 'transfer', to: bob.address, amount: 5n }), { wait: 'commit' })
  t.equal(first.status, 'ok', 'a good tx still goes through')
  const replay = await send(tx({ type: 'transfer', to: bob.address, amount: 5n }).bytes)
  t.equal(replay.body.error?.code, -32001, 'replayed nonce refused')
  t.equal(replay.body.error?.data?.reason, 'TX_ERROR_BAD_NONCE')
  t.equal(replay.body.error?.data?.expected, 1, 'the error says which nonce is expected')

  const notification = await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'chain_status', params: [] }))
  t.equal(notification.status, 204, 'a notification gets no response')
  const status = await node.client.status()
  t.ok(status.height > 0, 'the node still serves')
  const accountsAfter = await Promise.all([alice, bob].map((k) => node.client.getAccount(k.address)))
  t.equal(BigInt(accountsAfter[0].balance), BigInt(accountsBefore[0].balance) - 5n - genesis.params.minTxFee, 'only the good tx touched alice')
  t.equal(BigInt(accountsAfter[1].balance), BigInt(accountsBefore[1].balance) + 5n, 'only the good tx touched bob')
  t.equal(accountsAfter[0].nonce, 1)
})
