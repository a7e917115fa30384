import t from 'tap'
import { join } from 'node:path'
import { DelayProxy } from '../../../bench/wan.js'
import { P2PError, P2PNetwork } from '../../../p2p/index.js'
import { defaultDiscoveryOptions } from '../../../p2p/discovery.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, tempDir, waitFor } from './fixtures.js'

/**
 * Requests never dial (p2p/host.ts openStream), over real libp2p on
 * 127.0.0.1: node A reaches B only through a TCP proxy (its bootstrap
 * address), discovery off. B's own listen address is in A's peer store all
 * the same (identify). With the proxy blocked, a request from A to B fails
 * at once and leaves A unconnected; before the fix libp2p's dialProtocol
 * dialled B by peer id from the peer store, straight to B's listen address,
 * around the proxy (the e2e partition test saw a node reach the other side
 * of a 2/2 split this way).
 */
const tmp = tempDir()
const hosts: P2PNetwork[] = []
let proxy: DelayProxy | null = null
t.teardown(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  await proxy?.stop()
  tmp.cleanup()
})

function host(name: string, bootstrap: string[] = []): P2PNetwork {
  const net = new P2PNetwork(
    {
      chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0, bootstrap,
      statusIntervalMs: 200, requestTimeoutMs: 2000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400,
      discovery: { ...defaultDiscoveryOptions, enabled: false },
    },
    { logger: new MemoryLogger(), handlers: new Recorder(5) },
  )
  hosts.push(net)
  return net
}

t.test('a request to a peer behind a blocked link fails without dialling around the link', async (t) => {
  const b = host('b')
  await b.start()
  const port = Number(b.multiaddrs()[0]!.split('/tcp/')[1]!.split('/')[0])
  proxy = new DelayProxy({ targetPort: port, oneWayMs: 1, jitterMs: 0 })
  const proxyPort = await proxy.start()
  const a = host('a', [`/ip4/127.0.0.1/tcp/${proxyPort}/p2p/${b.peerId}`])
  await a.start()
  await waitFor('A connected to B through the proxy', () => a.peers().some((p) => p.id === b.peerId) && b.peers().length === 1)
  t.ok(proxy.accepted >= 1, 'the connection went through the proxy')

  proxy.block()
  await waitFor('the link to drop on both ends', () => a.peers().length === 0 && b.peers().length === 0)
  const err = await a.requestBlocks(b.peerId, 1, 1).then(() => null, (e: unknown) => e)
  t.ok(err instanceof P2PError && err.code === 'P2P_ERROR_DIAL_FAILED', `the request fails: ${String(err)}`)
  await new Promise((r) => setTimeout(r, 1000))
  t.same(a.peers(), [], 'A did not reach B while the link is blocked')
  t.same(b.peers(), [], 'B saw no connection from A')

  proxy.restore()
  await waitFor('A back on B through the proxy after the restore', () => a.peers().some((p) => p.id === b.peerId))
  const blocks = await a.requestBlocks(b.peerId, 1, 1)
  t.ok(Array.isArray(blocks), 'requests work again on the restored connection')
})
