import t from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import { AttrchainClient, TxSender } from '../../../rpc/index.js'
import { transfer } from '../../../rpc/txBuilders.js'
import { devAccountKey } from '../../../genesis/devnet.js'

/**
 * TxSender under backpressure (issue 10): a congested node refuses tx_send
 * with MEMPOOL_ERROR_FULL and says when it will take the tx
 * (`retryAfterMs`); the sender waits that long instead of its own shorter
 * backoff. A JSON-RPC server on loopback plays the node.
 */
t.test('TxSender waits the node\'s retryAfterMs before sending again', async (t) => {
  const sends: number[] = []
  const body = (req: IncomingMessage): Promise<string> => new Promise((resolve) => {
    let s = ''
    req.on('data', (c: Buffer) => { s += c.toString() })
    req.on('end', () => resolve(s))
  })
  const answer = (m: { id: number; method: string }): unknown => {
    switch (m.method) {
      case 'chain_status': return { jsonrpc: '2.0', id: m.id, result: { chainId: 'attrchain-test' } }
      case 'account_get': return { jsonrpc: '2.0', id: m.id, result: { nonce: 0 } }
      case 'chain_params': return { jsonrpc: '2.0', id: m.id, result: { minTxFee: '1' } }
      case 'tx_send':
        sends.push(Date.now())
        if (sends.length === 1) {
          return { jsonrpc: '2.0', id: m.id, error: { code: -32000, message: 'consensus is congested', data: { reason: 'MEMPOOL_ERROR_FULL', limit: 'rate', retryAfterMs: 400 } } }
        }
        return { jsonrpc: '2.0', id: m.id, result: { hash: '0x' + '11'.repeat(32) } }
      default: return { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } }
    }
  }
  const server = createServer(async (req, res) => {
    const msg = JSON.parse(await body(req)) as { id: number; method: string } | { id: number; method: string }[]
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(Array.isArray(msg) ? msg.map(answer) : answer(msg)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const client = new AttrchainClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`)
  t.teardown(() => client.close())
  const sender = new TxSender(client, devAccountKey(0))
  const r = await sender.send(transfer(devAccountKey(1).address, '1'), { wait: 'none' })
  t.equal(r.hash, '0x' + '11'.repeat(32))
  t.equal(sends.length, 2, 'sent twice: refused, then taken')
  // timers never fire early: the resend comes no sooner than the hint (the sender's own first backoff is 100 ms)
  t.ok(sends[1] - sends[0] >= 400 - 2, `resent ${sends[1] - sends[0]} ms later`)
})
