import t from 'tap'
import { createServer, connect } from 'node:net'
import { CHILD_ENV } from '../helpers/childEnv.js'
import { DelayProxy, measureWan, startWanNetwork, waitHeight } from '../../bench/wan.js'

/**
 * Issue 17 item 4: consensus with 100 ms RTT (± 20 ms jitter) between every
 * pair of validators, put there by a delaying TCP proxy on loopback (no
 * netem in this kernel). Default consensus params: the chain must stay live
 * and every node must hold the same blocks.
 */

t.test('the proxy delays each direction and keeps byte order', async (t) => {
  const echo = createServer((s) => s.pipe(s))
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r))
  const proxy = new DelayProxy({ targetPort: (echo.address() as { port: number }).port, oneWayMs: 50, jitterMs: 20 })
  const port = await proxy.start()
  t.teardown(async () => {
    await proxy.stop()
    await new Promise<void>((r) => echo.close(() => r()))
  })
  const sock = connect(port, '127.0.0.1')
  await new Promise<void>((r) => sock.once('connect', r))
  const started = Date.now()
  let got = ''
  const want = Array.from({ length: 50 }, (_, i) => `${i};`).join('')
  await new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      got += d.toString()
      if (got.length >= want.length) resolve()
    })
    for (let i = 0; i < 50; i++) sock.write(`${i};`)
  })
  t.equal(got, want, 'bytes arrive in order whatever the jitter')
  t.ok(Date.now() - started >= 2 * (50 - 20), 'a round trip takes at least 2 × (one-way − jitter)')
  sock.destroy()
})

t.test('4 validators at 100 ms RTT stay live and agree', async (t) => {
  const net = await startWanNetwork({ validators: 4, rttMs: 100, jitterMs: 20, blockTimeMs: 500, env: CHILD_ENV })
  t.teardown(() => net.close())
  await waitHeight(net, 3, 50_000)
  const figures = await measureWan(net, 4_000)
  t.comment(`100 ms RTT: ${JSON.stringify(figures)}`)
  t.ok(figures.finalityMs.samples >= 1, 'txs commit')
  t.ok(net.proxies.every((p) => p.accepted > 0), 'every node is reached through its delaying proxy')
  const top = Math.min(...(await Promise.all(net.nodes.map(async (n) => (await n.client.status()).height))))
  t.ok(top >= 4, `the chain advanced to ${top}`)
  for (let h = 1; h <= top; h++) {
    const hashes = await Promise.all(net.nodes.map(async (n) => (await n.client.getBlock(h))!.hash))
    t.equal(new Set(hashes).size, 1, `every node has the same block ${h}`)
  }
})
