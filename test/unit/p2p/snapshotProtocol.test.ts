import t from 'tap'
import { join } from 'node:path'
import { P2PNetwork } from '../../../p2p/index.js'
import { decodeSnapshotList, encodeSnapshotList, SNAPSHOT_RATE, type SnapshotRequest } from '../../../p2p/snapshot.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { CHAIN_ID, GENESIS, MemoryLogger, Recorder, tempDir, waitFor } from './fixtures.js'

/**
 * `/snapshot/1` over real libp2p on 127.0.0.1: the list, a manifest and a
 * chunk as the serving node's handler answers them; nothing held is an
 * empty frame; a host without the handler lists none; a peer asking more
 * than its budget at once gets its extra streams reset while the others
 * are answered.
 */
const tmp = tempDir()
const hosts: P2PNetwork[] = []
t.teardown(async () => {
  await Promise.all(hosts.map((h) => h.stop()))
  tmp.cleanup()
})

// Snapshot requests time out after 3 × requestTimeoutMs on either side (30 s here): the burst below holds its
// served requests until the refused ones have settled, however slowly a loaded machine gets there.
function host(name: string, handlers: Recorder): P2PNetwork {
  const net = new P2PNetwork(
    { chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, `${name}.json`), listenPort: 0, statusIntervalMs: 200, requestTimeoutMs: 10_000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400 },
    { logger: new MemoryLogger(), handlers },
  )
  hosts.push(net)
  return net
}

const CHUNK = new Uint8Array(200_000).fill(9)
const MANIFEST = Uint8Array.of(1, 2, 3)

class Serving extends Recorder {
  calls = 0
  /** when set, requests are held on it (each keeps its slot) until the test resolves it */
  gate: Promise<void> | null = null
  async serveSnapshot(req: SnapshotRequest): Promise<Uint8Array> {
    this.calls++
    await (this.gate ?? new Promise((r) => setTimeout(r, 10))) // reading a chunk takes a while: requests overlap
    if (req.kind === 'list') return encodeSnapshotList([{ height: 40, hash: toHex(sha256(MANIFEST)), chunks: 1 }])
    if (req.height !== 40) return new Uint8Array(0)
    return req.kind === 'manifest' ? MANIFEST : req.index === 0 ? CHUNK : new Uint8Array(0)
  }
}

t.test('list, manifest and chunk served; not held is empty; a host without snapshots lists none; over-budget requests are reset', async (t) => {
  const serving = new Serving(50)
  const server = host('server', serving)
  await server.start()
  const plain = host('plain', new Recorder(50))
  await plain.start()
  const c = new P2PNetwork(
    { chainId: CHAIN_ID, genesisHash: GENESIS, nodeKeyPath: join(tmp.dir, 'client.json'), listenPort: 0, statusIntervalMs: 200, requestTimeoutMs: 10_000, dialBackoffMinMs: 100, dialBackoffMaxMs: 400, bootstrap: [server.multiaddrs()[0], plain.multiaddrs()[0]] },
    { logger: new MemoryLogger(), handlers: new Recorder(0) },
  )
  hosts.push(c)
  await c.start()
  await waitFor('the client to see both peers', () => c.peers().length === 2, { timeoutMs: 20_000 })

  t.same(decodeSnapshotList(await c.requestSnapshot(server.peerId, { kind: 'list' })), [{ height: 40, hash: toHex(sha256(MANIFEST)), chunks: 1 }])
  t.same(await c.requestSnapshot(server.peerId, { kind: 'manifest', height: 40 }), MANIFEST)
  t.same((await c.requestSnapshot(server.peerId, { kind: 'chunk', height: 40, index: 0 })).length, CHUNK.length, 'a 200 kB chunk in one frame')
  t.equal((await c.requestSnapshot(server.peerId, { kind: 'chunk', height: 40, index: 5 })).length, 0, 'a chunk not held: empty')
  t.equal((await c.requestSnapshot(server.peerId, { kind: 'manifest', height: 7 })).length, 0, 'a snapshot not held: empty')
  t.same(decodeSnapshotList(await c.requestSnapshot(plain.peerId, { kind: 'list' })), [], 'a node without snapshots lists none')

  // Each request let through holds its slot on the gate until every one of the 8 is either refused (settled
  // on the client) or in the handler, so all 8 overlap however slowly their streams open. Were the budget not
  // enforced, all 8 would reach the handler and be answered.
  serving.calls = 0
  let release!: () => void
  serving.gate = new Promise<void>((r) => { release = r })
  let settled = 0
  const requests = Promise.allSettled(Array.from({ length: 8 }, () => c.requestSnapshot(server.peerId, { kind: 'list' }).finally(() => { settled++ })))
  await waitFor('each request refused or held in the handler', () => settled + serving.calls >= 8)
    .catch((e: Error) => t.fail(`${e.message}: ${settled} settled, ${serving.calls} in the handler`))
    .finally(() => release())
  const burst = await requests
  const answered = burst.filter((r) => r.status === 'fulfilled').length
  t.ok(answered >= 1 && answered <= SNAPSHOT_RATE.concurrent, `at most ${SNAPSHOT_RATE.concurrent} served at once: ${answered} of 8 answered`)
  t.ok(burst.some((r) => r.status === 'rejected'), 'the rest were reset')
  t.equal(serving.calls, answered, 'refused requests never reached the handler')
})
