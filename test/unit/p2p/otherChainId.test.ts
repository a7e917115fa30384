import t from 'tap'
import { join } from 'node:path'
import { P2PNetwork, type P2PInit } from '../../../p2p/index.js'
import { CHAIN_ID, GENESIS, OTHER_GENESIS, MemoryLogger, Recorder, tempDir, waitFor } from './fixtures.js'

// Issue 12 item 8: two nodes of different chain ids (so different protocol
// names) that name each other as bootstrap peers logged "status handshake
// failed … Protocol selection failed" ~4 lines a second on both sides,
// forever, with no hint. Now each side says it once, with what to check,
// and stops dialling the other.

/** Keeps info lines too: the flood was at info level. */
class InfoLogger extends MemoryLogger {
  override info(msg?: string, ctx: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', msg: msg ?? '', ctx })
  }
}

const tmp = tempDir()
const hosts: P2PNetwork[] = []
t.teardown(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  tmp.cleanup()
})

function host(name: string, logger: MemoryLogger, init: Partial<P2PInit>): P2PNetwork {
  const net = new P2PNetwork(
    {
      chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0,
      statusIntervalMs: 200, requestTimeoutMs: 2000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400, ...init,
    },
    { logger, handlers: new Recorder(10) },
  )
  hosts.push(net)
  return net
}

t.test('a peer of another chain id is reported once with a hint and not redialled', async (t) => {
  const logA = new InfoLogger()
  const logB = new InfoLogger()
  const a = host('a', logA, {})
  await a.start()
  const b = host('b', logB, { chainId: `${CHAIN_ID}-other`, genesisHash: OTHER_GENESIS, bootstrap: [a.multiaddrs()[0]!] })
  await b.start()
  const about = (log: MemoryLogger) => log.lines.filter((l) => l.ctx.peer === (log === logA ? b.peerId : a.peerId))
  // The side that learns first bans and hangs up; the other may then see a closed connection rather than the
  // unsupported protocol, so "at least one side says it, neither says it twice" is the invariant, not "both".
  await waitFor('a side to report the other chain', () => about(logA).some((l) => l.level === 'warn') || about(logB).some((l) => l.level === 'warn'), { timeoutMs: 60_000 })
  // the flood was ~4 lines a second: watch 3 s of it
  const end = Date.now() + 3000
  await waitFor('3 s to pass', () => Date.now() > end, { timeoutMs: 10_000 })
  for (const [name, log] of [['A', logA], ['B', logB]] as const) {
    const lines = about(log)
    const warns = lines.filter((l) => l.level === 'warn')
    t.ok(warns.length <= 1, `${name} reports the other chain's peer at most once (${warns.length})`)
    if (warns.length === 1) t.match(warns[0]?.ctx, { hint: /chain id|genesis/ }, `${name}'s line says what to check`)
    // a handshake that timed out under load before the first answer may add a line; never a stream of them
    t.ok(lines.length <= 3, `${name} logs ${lines.length} line(s) about it in all (${lines.map((l) => l.msg).join(' | ')})`)
  }
  t.ok(about(logA).some((l) => l.level === 'warn') || about(logB).some((l) => l.level === 'warn'), 'at least one side said it, with the hint')
  t.equal(a.peers().length + b.peers().length, 0, 'neither lists the other as a peer')
})
