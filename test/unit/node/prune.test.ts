import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { genesisHash } from '../../../genesis/genesis.js'
import { signTx } from '../../../core/tx.js'
import type { Commit } from '../../../consensus/index.js'
import { ChainDb } from '../../../node/db/index.js'
import { ChainService } from '../../../node/chain.js'
import { BlockSync, defaultBlockSyncOptions, type SyncSource } from '../../../node/sync.js'
import { silentLogger } from '../../../node/logger.js'
import { openChain, signCommit } from '../../helpers/nodeChain.js'

const genesis = buildDevnetGenesis({ validators: 1, accounts: 2 })
const v0 = devValidatorKey(0)
const a = devAccountKey(0)

/** A real ChainDb + ChainService in a temp dir with `pruneKeepBlocks`, and `n` blocks of one transfer each. */
async function prunedChain(t: { teardown(fn: () => unknown): void }, n: number, keep: number) {
  const dir = mkdtempSync(join(tmpdir(), 'attrchain-prune-'))
  const open = () => ChainDb.open({ dir, genesisHash: genesisHash(genesis), chainId: genesis.chainId, pruneKeepBlocks: keep })
  let db = await open()
  const chain = await ChainService.open(genesis, { db, logger: silentLogger })
  const txHashes: string[] = []
  let lastCommit: Commit | null = null
  for (let h = 1; h <= n; h++) {
    const tx = signTx({ chainId: genesis.chainId, nonce: h - 1, fee: genesis.params.minTxFee, call: { type: 'transfer', to: devAccountKey(1).address, amount: BigInt(h) } }, a)
    txHashes.push(tx.hash)
    const p = chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + h * 1000, proposer: v0.address, txs: [tx], lastCommit, evidence: [] })
    lastCommit = signCommit(genesis.chainId, p, [v0])
    await chain.commitBlock(p, lastCommit)
  }
  const ctx = {
    get db() { return db },
    chain, txHashes,
    reopen: async () => { await db.close(); db = await open(); return db },
  }
  t.teardown(async () => { await db.close(); rmSync(dir, { recursive: true, force: true }) })
  return ctx
}

t.test('pruning keeps the last N blocks and their indexes; older heights give a clear "pruned" error naming the lowest height', async (t) => {
  const c = await prunedChain(t, 20, 5)
  t.equal(c.db.lowestHeight(), 1, 'nothing pruned before a step')
  t.equal(await c.db.pruneStep(4), 4, 'a step prunes at most maxHeights')
  t.equal(c.db.lowestHeight(), 5)
  while ((await c.db.pruneStep(4)) > 0);
  t.equal(c.db.lowestHeight(), 16, 'blocks 16..20 kept')
  t.equal(await c.db.pruneStep(), 0, 'nothing more to prune until the head moves')
  await t.rejects(c.db.getBlock(3), { code: 'DB_ERROR_PRUNED', meta: { height: 3, lowestHeight: 16 } })
  await t.rejects(c.db.getCommit(15), { code: 'DB_ERROR_PRUNED' })
  await t.rejects(c.db.getDistribution(1), { code: 'DB_ERROR_PRUNED' })
  t.equal(await c.db.getTx(c.txHashes[2]), null, 'the tx index of a pruned block is gone')
  t.equal((await c.db.getTx(c.txHashes[17]))?.height, 18, 'the tx index of a kept block stays')
  t.ok(await c.db.getBlock(16), 'the lowest kept block is served')
  t.ok(await c.db.getCommit(16))
  t.same((await c.db.getBlocks(1, 20)).map((b) => b.height), [16, 17, 18, 19, 20], 'block sync serves the kept range only')
  t.ok((await c.db.getFlowStats([3]))[0], 'flow statistics records stay')
  const db = await c.reopen()
  t.equal(db.lowestHeight(), 16, 'the lowest height survives a restart')
  await t.rejects(db.getBlock(15), { code: 'DB_ERROR_PRUNED' })
  t.equal(await db.getBlock(21), null, 'a height above the head is simply absent')
})

t.test('archive node (pruneKeepBlocks 0) never prunes', async (t) => {
  const c = await prunedChain(t, 6, 0)
  t.equal(await c.db.pruneStep(), 0)
  t.equal(c.db.lowestHeight(), 1)
  t.ok(await c.db.getBlock(1))
})

t.test('block sync asks only peers that hold the heights it needs: a pruned peer is skipped for older heights', async (t) => {
  const pruned = await prunedChain(t, 20, 5)
  while ((await pruned.db.pruneStep()) > 0);
  // the archive peer: the same 20 blocks built again (deterministic), nothing pruned
  const again = await prunedChain(t, 20, 0)
  const requests: string[] = []
  const dbOf = { pruned: pruned.db, archive: again.db }
  const peers = [{ id: 'pruned', height: 20, lowestHeight: pruned.db.lowestHeight() }, { id: 'archive', height: 20, lowestHeight: 1 }]
  const source = (list: typeof peers): SyncSource => ({
    peers: () => list,
    async requestBlocks(peer, from, to) {
      requests.push(`${peer} ${from}..${to}`)
      const db = dbOf[peer as keyof typeof dbOf]
      return (await db.getBlocks(from, to)).filter((b) => b.height >= from)
    },
  })
  const me = await openChain(genesis)
  t.teardown(() => me.close())
  const sync = (s: SyncSource) => new BlockSync({ ...defaultBlockSyncOptions, batchSize: 8, pollMs: 50 }, {
    chain: me.chain, source: s, logger: silentLogger, pauseConsensus: async () => {}, resumeConsensus: () => {}, now: () => performance.now(),
  })
  t.equal(await sync(source(peers.slice(0, 1))).catchUp(), 0, 'only a pruned peer: nothing applied')
  t.same(requests, [], 'and it was never asked for heights it does not hold')
  t.equal(await sync(source(peers)).catchUp(), 20, 'with an archive peer the fresh node syncs everything')
  t.equal(me.chain.head.blockHash, pruned.chain.head.blockHash)
  t.ok(requests.every((r) => !r.startsWith('pruned ') || Number(r.split(' ')[1].split('..')[0]) >= 16), `the pruned peer was asked only for heights ≥ 16: ${requests.join(', ')}`)
})

t.test('status frames carry the served range: lowestHeight as a 4th element, omitted (meaning 1) by an archive node', async (t) => {
  const { encodeStatus, decodeStatus } = await import('../../../p2p/status.js')
  const { encode, decode } = await import('../../../core/codec.js')
  const base = { chainId: genesis.chainId, genesisHash: '0x' + '11'.repeat(32), height: 500 }
  t.same(decodeStatus(encodeStatus({ ...base, lowestHeight: 401 })), { ...base, lowestHeight: 401 }, 'a pruned node says where its blocks start')
  t.equal((decode(encodeStatus({ ...base, lowestHeight: 1 })) as unknown[]).length, 3, 'an archive node sends the 3-element status older nodes read')
  t.same(decodeStatus(encodeStatus(base)), base)
  t.throws(() => decodeStatus(encode([base.chainId, new Uint8Array(32), 5, 0])), { code: 'P2P_ERROR_BAD_RESPONSE' }, 'lowest height 0 refused')
  t.throws(() => decodeStatus(encode([base.chainId, new Uint8Array(32), 5, 'x'])), { code: 'P2P_ERROR_BAD_RESPONSE' })
})

t.test('a pruning step is bounded by bytes too: large blocks are pruned a few at a time', async (t) => {
  const c = await prunedChain(t, 8, 1)
  const blockBytes = (await c.db.getBlockBytes(1))!.length
  t.equal(await c.db.pruneStep(64, blockBytes * 2), 2, 'two blocks reach the byte bound')
  t.equal(c.db.lowestHeight(), 3)
  t.equal(await c.db.pruneStep(64, 1), 1, 'at least one block per step')
  t.equal(c.db.lowestHeight(), 4)
})
