import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { DelayProxy, retransmissionMs } from '../../../bench/wan.js'

/** An echo server on loopback; returns its port and a close function. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
    s.pipe(s)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return { port, close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()) }) }
}

/** Sends `n` one-byte messages one after the other through `port` and returns each round trip (ms). */
async function roundTrips(port: number, n: number): Promise<number[]> {
  const s = connect(port, '127.0.0.1')
  s.setNoDelay(true)
  await new Promise<void>((resolve) => s.once('connect', resolve))
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const started = Date.now()
    s.write(Buffer.from([i]))
    await new Promise<void>((resolve) => s.once('data', () => resolve()))
    out.push(Date.now() - started)
  }
  s.destroy()
  return out
}

t.test('retransmission delay: Linux RTO floor, or one RTT + 4 × jitter', async (t) => {
  t.equal(retransmissionMs({ targetPort: 1, oneWayMs: 10, jitterMs: 1 }), 200)
  t.equal(retransmissionMs({ targetPort: 1, oneWayMs: 100, jitterMs: 10 }), 280)
  t.equal(retransmissionMs({ targetPort: 1, oneWayMs: 100, jitterMs: 10, rtoMs: 50 }), 50)
})

t.test('a lost chunk arrives a retransmission later; bytes and order are kept', async (t) => {
  const echo = await echoServer()
  const lossy = new DelayProxy({ targetPort: echo.port, oneWayMs: 5, jitterMs: 0, lossRate: 1, rtoMs: 100 })
  const clean = new DelayProxy({ targetPort: echo.port, oneWayMs: 5, jitterMs: 0 })
  try {
    await lossy.start()
    await clean.start()
    // every chunk lost in both directions: each round trip waits two retransmissions on top of 2 × 5 ms (timers never fire early)
    for (const ms of await roundTrips(lossy.port, 3)) t.ok(ms >= 2 * (5 + 100) - 2, `lossy round trip ${ms} ms ≥ 208`)
    for (const ms of await roundTrips(clean.port, 3)) t.ok(ms >= 2 * 5 - 2, `clean round trip ${ms} ms ≥ 8`)
    // order and content through a lossy proxy
    const s = connect(lossy.port, '127.0.0.1')
    await new Promise<void>((resolve) => s.once('connect', resolve))
    const got: Buffer[] = []
    s.on('data', (b: Buffer) => got.push(b))
    const sent = Buffer.from(Array.from({ length: 2000 }, (_, i) => i % 251))
    for (let i = 0; i < sent.length; i += 100) s.write(sent.subarray(i, i + 100))
    await new Promise<void>((resolve) => { const check = (): void => { if (Buffer.concat(got).length >= sent.length) resolve(); else setTimeout(check, 20) }; check() })
    t.same(Buffer.concat(got), sent, 'every byte, in order')
    s.destroy()
  } finally {
    await lossy.stop()
    await clean.stop()
    await echo.close()
  }
})
