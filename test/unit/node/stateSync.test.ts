import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { genesisHash } from '../../../genesis/genesis.js'
import { signTx } from '../../../core/tx.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { encode } from '../../../core/codec.js'
import type { Commit } from '../../../consensus/index.js'
import { ChainDb } from '../../../node/db/index.js'
import { ChainService } from '../../../node/chain.js'
import { BlockSync, defaultBlockSyncOptions } from '../../../node/sync.js'
import { SnapshotStore, serveSnapshotRequest } from '../../../node/snapshots.js'
import { stateSync, defaultStateSyncOptions, type StateSyncSource } from '../../../node/stateSync.js'
import { silentLogger } from '../../../node/logger.js'
import {
  decodeManifest, encodeManifest, decodeSnapshotList, encodeSnapshotList, decodeSnapshotRequest, encodeSnapshotRequest, PeerRateLimiter,
  type SnapshotRequest,
} from '../../../p2p/snapshot.js'
import { decode } from '../../../core/codec.js'
import { openChain, signCommit } from '../../helpers/nodeChain.js'

const genesis = buildDevnetGenesis({ validators: 1, accounts: 3 })
const v0 = devValidatorKey(0)

function tmp(t: { teardown(fn: () => unknown): void }, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A serving node: `n` blocks (a few transfers each), a snapshot every `interval` heights in small chunks. */
async function server(t: Parameters<typeof tmp>[0], n: number, interval: number) {
  const peer = await openChain(genesis)
  t.teardown(() => peer.close())
  const store = await SnapshotStore.open({ dir: tmp(t, 'attrchain-snap-'), interval, keep: 2, chunkBytes: 1024 }, silentLogger)
  let lastCommit: Commit | null = null
  for (let h = 1; h <= n; h++) {
    const txs = [0, 1].map((k) => signTx({
      chainId: genesis.chainId, nonce: h - 1, fee: genesis.params.minTxFee, call: { type: 'transfer', to: devAccountKey(2).address, amount: BigInt(h) },
    }, devAccountKey(k)))
    const p = peer.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + h * 1000, proposer: v0.address, txs, lastCommit, evidence: [] })
    lastCommit = signCommit(genesis.chainId, p, [v0])
    await peer.chain.commitBlock(p, lastCommit)
    store.afterCommit(peer.chain, lastCommit)
    await store.idle()
  }
  return { ...peer, store }
}

type Serve = (req: SnapshotRequest) => Promise<Uint8Array>

function source(peers: { id: string; height: number; db: ChainDb; serve: Serve }[]): StateSyncSource & { requests: string[] } {
  const requests: string[] = []
  return {
    requests,
    peers: () => peers.map((p) => ({ id: p.id, height: p.height })),
    requestBlocks: async (id, from, to) => (await peers.find((p) => p.id === id)!.db.getBlocks(from, Math.min(to, from + 99))).filter((b) => b.height >= from),
    requestSnapshot: async (id, req) => {
      requests.push(`${id} ${req.kind}`)
      // the real protocol's frames: the request goes through its codec
      return peers.find((p) => p.id === id)!.serve(decodeSnapshotRequest(encodeSnapshotRequest(req)))
    },
  }
}

async function emptyDb(t: Parameters<typeof tmp>[0]): Promise<ChainDb> {
  const db = await ChainDb.open({ dir: tmp(t, 'attrchain-join-'), genesisHash: genesisHash(genesis), chainId: genesis.chainId })
  t.teardown(() => db.close())
  return db
}

const opts = (trustHeight: number, trustHash: string) => ({
  ...defaultStateSyncOptions, trustHeight, trustHash, chainId: genesis.chainId, maxBlockBytes: genesis.params.maxBlockBytes + 1024 * 1024, timeoutMs: 1500, pollMs: 50,
})

t.test('snapshot wire frames: requests, lists and manifests round-trip; malformed ones are refused', async (t) => {
  for (const r of [{ kind: 'list' }, { kind: 'manifest', height: 7 }, { kind: 'chunk', height: 7, index: 3 }] as SnapshotRequest[]) {
    t.same(decodeSnapshotRequest(encodeSnapshotRequest(r)), r)
  }
  t.throws(() => decodeSnapshotRequest(encode([3])), { code: 'P2P_ERROR_BAD_REQUEST' })
  t.throws(() => decodeSnapshotRequest(encode([2, 1])), { code: 'P2P_ERROR_BAD_REQUEST' })
  t.throws(() => decodeSnapshotRequest(new Uint8Array(64)), { code: 'P2P_ERROR_BAD_REQUEST' })
  const list = [{ height: 20, hash: toHex(sha256(Uint8Array.of(1))), chunks: 3 }]
  t.same(decodeSnapshotList(encodeSnapshotList(list)), list)
  t.throws(() => decodeSnapshotList(encode([[1, new Uint8Array(31), 1]])), { code: 'P2P_ERROR_BAD_RESPONSE' })
  t.throws(() => decodeManifest(encode([1, 2])), { code: 'P2P_ERROR_BAD_RESPONSE' })
})

t.test('per-peer rate limit: a burst, then refused until tokens refill; concurrency bounded', async (t) => {
  let now = 0
  const rl = new PeerRateLimiter({ perSecond: 2, burst: 3, concurrent: 2, maxPeers: 4 }, () => now)
  const a = rl.acquire('a')!
  const b = rl.acquire('a')!
  t.equal(rl.acquire('a'), null, 'a third concurrent request is refused')
  a(); b()
  t.ok(rl.acquire('a'), 'third token')
  t.equal(rl.acquire('a'), null, 'burst spent')
  t.ok(rl.acquire('b'), 'another peer has its own budget')
  now += 1000
  t.ok(rl.acquire('a'), 'refilled after a second')
})

t.test('a fresh node restores a verified snapshot, then block-syncs the rest to the same head', async (t) => {
  const srv = await server(t, 23, 10)
  t.same(srv.store.list().map((s) => s.height), [20, 10], 'snapshots at 10 and 20, last 2 kept')
  t.ok(srv.store.list()[0].chunks > 1, 'the state is cut into several chunks')
  const trusted = (await srv.db.getBlock(15))!
  const { blockHash } = await import('../../../state/block.js')
  const src = source([{ id: 'archive', height: 23, db: srv.db, serve: (r) => serveSnapshotRequest(srv.store, r) }])
  const db = await emptyDb(t)
  const r = await stateSync(opts(15, blockHash(trusted.header)), { source: src, db, logger: silentLogger, now: () => Date.now() })
  t.equal(r.head.height, 20, 'the newest snapshot at or after the trusted height')
  t.equal(db.lowestHeight(), 21, 'no blocks below the snapshot: lowest height is 21')
  const chain = await ChainService.open(genesis, { db, logger: silentLogger })
  t.equal(chain.head.stateRoot, (await srv.db.getBlock(20))!.header.stateRoot)
  const sync = new BlockSync({ ...defaultBlockSyncOptions, pollMs: 50 }, {
    chain, source: { peers: () => [{ id: 'archive', height: 23 }], requestBlocks: src.requestBlocks }, logger: silentLogger,
    pauseConsensus: async () => {}, resumeConsensus: () => {}, now: () => Date.now(),
  })
  t.equal(await sync.catchUp(), 3, 'blocks 21..23 by block sync')
  t.equal(chain.head.blockHash, srv.chain.head.blockHash, 'same head as the serving node')
  t.equal(chain.head.stateRoot, srv.chain.head.stateRoot)
  await t.rejects(db.getBlock(5), { code: 'DB_ERROR_PRUNED', meta: { lowestHeight: 21 } })
})

t.test('refused: a wrong trusted hash, a spoiled chunk, a forged state; nothing is written', async (t) => {
  const srv = await server(t, 12, 10)
  const { blockHash } = await import('../../../state/block.js')
  const trustHash = blockHash((await srv.db.getBlock(10))!.header)
  const honest: Serve = (r) => serveSnapshotRequest(srv.store, r)

  await t.test('wrong trusted hash', async (t) => {
    const db = await emptyDb(t)
    await t.rejects(stateSync(opts(10, '0x' + 'ab'.repeat(32)), { source: source([{ id: 'p', height: 12, db: srv.db, serve: honest }]), db, logger: silentLogger, now: () => Date.now() }),
      { code: 'STATE_SYNC_ERROR_TIMEOUT', message: /not the trusted hash/ })
    t.equal(db.head(), null, 'nothing restored')
  })

  // a chunk with one byte flipped fails its hash; an honest second peer serves it
  const spoiled: Serve = async (r) => {
    const bytes = await honest(r)
    if (r.kind !== 'chunk' || r.index !== 1) return bytes
    const copy = new Uint8Array(bytes)
    copy[copy.length - 1] ^= 1
    return copy
  }
  await t.test('spoiled chunk, honest peer beside it', async (t) => {
    const db = await emptyDb(t)
    const r = await stateSync(opts(10, trustHash), {
      source: source([{ id: 'evil', height: 12, db: srv.db, serve: spoiled }, { id: 'good', height: 12, db: srv.db, serve: honest }]), db, logger: silentLogger, now: () => Date.now(),
    })
    t.equal(r.head.height, 10)
  })
  await t.test('a snapshot over the byte cap is refused before it is all fetched', async (t) => {
    const db = await emptyDb(t)
    const src = source([{ id: 'p', height: 12, db: srv.db, serve: honest }])
    await t.rejects(stateSync({ ...opts(10, trustHash), maxStateBytes: 1500 }, { source: src, db, logger: silentLogger, now: () => Date.now() }),
      { code: 'STATE_SYNC_ERROR_TIMEOUT', message: /exceeds 1500 bytes/ })
    t.equal(db.head(), null)
  })
  await t.test('spoiled chunk, no honest peer', async (t) => {
    const db = await emptyDb(t)
    await t.rejects(stateSync(opts(10, trustHash), { source: source([{ id: 'evil', height: 12, db: srv.db, serve: spoiled }]), db, logger: silentLogger, now: () => Date.now() }),
      { code: 'STATE_SYNC_ERROR_TIMEOUT', message: /does not match its hash/ })
    t.equal(db.head(), null)
  })

  // a forged state: one value changed, chunk hashes, manifest and listing recomputed so that they agree with each other;
  // only the state root of the trusted header exposes it
  const forged = async (): Promise<Serve> => {
    const man = decodeManifest((await honest({ kind: 'manifest', height: 10 })))
    const chunks: Uint8Array[] = []
    for (let i = 0; i < man.chunkHashes.length; i++) chunks.push(await honest({ kind: 'chunk', height: 10, index: i }))
    const entries = decode(chunks[0]) as [Uint8Array, Uint8Array][]
    const v = new Uint8Array(entries[0][1])
    v[v.length - 1] ^= 1
    entries[0][1] = v
    chunks[0] = encode(entries)
    const manifest = encodeManifest({ ...man, chunkHashes: chunks.map((c) => sha256(c)) })
    return async (r) => r.kind === 'list'
      ? encodeSnapshotList([{ height: 10, hash: toHex(sha256(manifest)), chunks: chunks.length }])
      : r.kind === 'manifest' ? manifest : chunks[r.index] ?? new Uint8Array(0)
  }
  await t.test('forged state with consistent hashes', async (t) => {
    const db = await emptyDb(t)
    await t.rejects(stateSync(opts(10, trustHash), { source: source([{ id: 'forger', height: 12, db: srv.db, serve: await forged() }]), db, logger: silentLogger, now: () => Date.now() }),
      { code: 'STATE_SYNC_ERROR_TIMEOUT', message: /state root/ })
    t.equal(db.head(), null, 'nothing restored')
    t.equal(db.state.size, 0, 'no state in memory either')
  })
})
