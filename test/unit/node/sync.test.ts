import t from 'tap'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { signTx } from '../../../core/tx.js'
import type { Commit } from '../../../consensus/index.js'
import { BlockSync, defaultBlockSyncOptions, type SyncSource } from '../../../node/sync.js'
import { silentLogger } from '../../../node/logger.js'
import { openChain, signCommit } from '../../helpers/nodeChain.js'

const genesis = buildDevnetGenesis({ validators: 1, accounts: 2 })
const v0 = devValidatorKey(0)
const a = devAccountKey(0)

/** A chain of `n` committed blocks (one transfer each), the peer's side of sync. */
async function peerChain(t: { teardown(fn: () => unknown): void }, n: number) {
  const peer = await openChain(genesis)
  t.teardown(() => peer.close())
  let lastCommit: Commit | null = null
  for (let h = 1; h <= n; h++) {
    const tx = signTx({ chainId: genesis.chainId, nonce: h - 1, fee: genesis.params.minTxFee, call: { type: 'transfer', to: devAccountKey(1).address, amount: BigInt(h) } }, a)
    const p = peer.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + h * 1000, proposer: v0.address, txs: [tx], lastCommit, evidence: [] })
    lastCommit = signCommit(genesis.chainId, p, [v0])
    await peer.chain.commitBlock(p, lastCommit)
  }
  return peer
}

type Served = { height: number; bytes: Uint8Array; commit: Uint8Array | null }

/** Serves blocks from a real ChainDb, recording each request; `tamper` may spoil what a peer serves. */
function sourceOver(db: Awaited<ReturnType<typeof peerChain>>['db'], peers: { id: string; height: number }[], events: string[], tamper?: (peer: string, b: Served) => Served) {
  const source: SyncSource = {
    peers: () => peers,
    async requestBlocks(peer, from, to) {
      events.push(`request ${peer} ${from}..${to}`)
      const out: Served[] = []
      for (let h = from; h <= to; h++) {
        const bytes = await db.getBlockBytes(h)
        if (bytes === null) break
        const served = { height: h, bytes, commit: await db.getCommit(h) }
        out.push(tamper ? tamper(peer, served) : served)
      }
      await new Promise((r) => setTimeout(r, 2))
      return out
    },
  }
  return source
}

function syncer(chain: Awaited<ReturnType<typeof openChain>>['chain'], source: SyncSource, events: string[], now: () => number = () => performance.now()) {
  return new BlockSync({ ...defaultBlockSyncOptions, batchSize: 4, pollMs: 50 }, {
    chain, source, logger: silentLogger,
    pauseConsensus: async () => { events.push('pause') },
    resumeConsensus: () => { events.push('resume') },
    onCommitted: (p) => events.push(`committed ${p.block.header.height}`),
    now,
  })
}

t.test('a node behind catches up in batches, the next batch requested while the current one executes', async (t) => {
  const peer = await peerChain(t, 13)
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const events: string[] = []
  const sync = syncer(me.chain, sourceOver(peer.db, [{ id: 'p1', height: 13 }], events), events)
  t.equal(await sync.catchUp(), 13, 'every block applied')
  t.equal(me.chain.head.blockHash, peer.chain.head.blockHash, 'same head')
  t.equal(me.chain.head.stateRoot, peer.chain.head.stateRoot, 'same state')
  const requests = events.filter((e) => e.startsWith('request'))
  t.same(requests, ['request p1 1..4', 'request p1 5..8', 'request p1 9..12', 'request p1 13..13'], 'contiguous ranges')
  t.ok(events.indexOf('request p1 5..8') < events.indexOf('committed 1'), 'blocks 5..8 were asked for before block 1 was applied')
  t.equal(await sync.catchUp(), 0, 'nothing to do once level')
})

t.test('a peer serving a spoiled block is dropped (with its prefetched batch) and another peer finishes', async (t) => {
  const peer = await peerChain(t, 10)
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const events: string[] = []
  const spoil = (id: string, b: Served): Served => {
    if (id !== 'evil' || b.height !== 3) return b
    const bytes = new Uint8Array(b.bytes)
    bytes[bytes.length - 1] ^= 1
    return { ...b, bytes }
  }
  const peers = [{ id: 'evil', height: 10 }, { id: 'good', height: 10 }]
  const sync = syncer(me.chain, sourceOver(peer.db, peers, events, spoil), events)
  t.equal(await sync.catchUp(), 10)
  t.equal(me.chain.head.blockHash, peer.chain.head.blockHash, 'same head as the honest chain')
  t.same(events.filter((e) => e.startsWith('request')), ['request evil 1..4', 'request evil 5..8', 'request good 3..6', 'request good 7..10'],
    'after block 3 failed, the evil peer\'s prefetched 5..8 was dropped and the good peer served from 3')
  t.notOk(events.includes('committed 3') && events.indexOf('committed 3') < events.indexOf('request good 3..6'), 'the spoiled block 3 was never committed')
})

t.test('blocks served without their commit are refused', async (t) => {
  const peer = await peerChain(t, 3)
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const events: string[] = []
  const source = sourceOver(peer.db, [{ id: 'p', height: 3 }], events, (_id, b) => ({ ...b, commit: b.height === 2 ? null : b.commit }))
  t.equal(await syncer(me.chain, source, events).catchUp(), 1, 'block 1 applied, block 2 refused, no other peer')
  t.equal(me.chain.head.height, 1)
})

t.test('a peer that claims heights it does not serve never pauses consensus, is backed off, then penalised (issue 11: lying peer)', async (t) => {
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const events: string[] = []
  const penalised: string[] = []
  let clock = 0
  const source: SyncSource = {
    peers: () => (penalised.includes('liar') ? [] : [{ id: 'liar', height: 1_000_000 }]),
    async requestBlocks(peer, from, to) {
      events.push(`request ${peer} ${from}..${to}`)
      return []
    },
    penalisePeer: (peer) => { penalised.push(peer) },
  }
  const sync = syncer(me.chain, source, events, () => clock)
  for (let i = 0; i < 20; i++) {
    t.equal(await sync.catchUp(), 0)
    clock += 50
  }
  t.notOk(events.includes('pause'), 'consensus was never paused')
  t.same(penalised, ['liar'], 'penalised once, after maxFailures')
  const asked = events.filter((e) => e.startsWith('request')).length
  t.equal(asked, defaultBlockSyncOptions.maxFailures, 'asked only maxFailures times in 1 s: backed off between failures (50 ms polls)')
  t.equal(me.chain.head.height, 0)
})

t.test('a block whose commit does not verify never pauses consensus; an honest peer then serves', async (t) => {
  const peer = await peerChain(t, 5)
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const events: string[] = []
  const forged = (id: string, b: Served): Served => (id === 'forger' && b.commit ? { ...b, commit: b.commit.map((x, i) => (i === b.commit!.length - 1 ? x ^ 1 : x)) } : b)
  const peers = [{ id: 'forger', height: 50 }, { id: 'good', height: 5 }]
  const sync = syncer(me.chain, sourceOver(peer.db, peers, events, forged), events)
  t.equal(await sync.catchUp(), 5, 'the honest peer served every block')
  t.equal(events.filter((e) => e === 'pause').length, 1, 'paused once, for the honest peer')
  t.ok(events.indexOf('request forger 1..4') < events.indexOf('pause'), 'the forger was asked first and did not cause the pause')
  t.equal(me.chain.head.blockHash, peer.chain.head.blockHash)
})
