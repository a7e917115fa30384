/**
 * Join time (issue 17): how long a new node takes to reach the head of a
 * chain of N blocks (default 100,000) by state sync vs by replaying every
 * block from genesis (block sync).
 *
 *   node --import tsx bench/joinTime.ts [N=100000]
 *
 * The chain is generated through the real chain code, not by a running
 * network: a one-validator devnet genesis, then N empty blocks built by
 * ChainService.buildBlock (execution, state tree, distribution), each
 * committed with a commit signed by the validator key, one second apart
 * from the genesis time, into the validator's data dir (fsync only at the
 * end), and a state snapshot of height N in its snapshot dir. Then real
 * processes: the validator (`attrchain start`, snapshots every 1000
 * heights, no empty blocks so the head stays at N while nobody sends txs),
 * and, one after the other, a fresh full node that block-syncs from genesis
 * and a fresh full node started with --state-sync-height N --state-sync-hash
 * <hash of block N>, each timed from spawn until its chain_status height ≥ N.
 * Prints one JSON line.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromHex } from '../core/bytes.js'
import { makeCommit, voteSignBytes, type Commit } from '../consensus/index.js'
import { devValidatorKey } from '../genesis/devnet.js'
import { genesisHash } from '../genesis/genesis.js'
import { ChainDb } from '../node/db/index.js'
import { ChainService, type PreparedBlock } from '../node/chain.js'
import { homePaths } from '../node/home.js'
import { initHome } from '../node/init.js'
import { silentLogger } from '../node/logger.js'
import { SnapshotStore, DEFAULT_SNAPSHOT_CHUNK_BYTES } from '../node/snapshots.js'
import { loadOrCreateNodeKey } from '../p2p/index.js'
import { devnetHome, freePort, startNode, tempDir, until } from '../test/helpers/nodeProcess.js'

const N = Number(process.argv[2] ?? 100_000)
const v0 = devValidatorKey(0)

function sign(chainId: string, p: PreparedBlock): Commit {
  const height = p.block.header.height
  const blockHash = fromHex(p.hash)
  const unsigned = { type: 'precommit' as const, height, round: 0, blockHash, validator: v0.address }
  return makeCommit(height, 0, blockHash, [{ ...unsigned, signature: v0.sign(voteSignBytes(chainId, unsigned)) }])
}

const tmp = tempDir('attrchain-join-')
const vHome = join(tmp.dir, 'validator')
mkdirSync(vHome, { recursive: true })
const genesis = devnetHome(vHome)

// ---- the chain, through the real chain code
const t0 = performance.now()
const db = await ChainDb.open({ dir: homePaths(vHome).chainDb, genesisHash: genesisHash(genesis), chainId: genesis.chainId, sync: false })
const chain = await ChainService.open(genesis, { db, logger: silentLogger })
const snapshots = await SnapshotStore.open({ dir: join(vHome, 'data', 'snapshots'), interval: N, keep: 2, chunkBytes: DEFAULT_SNAPSHOT_CHUNK_BYTES }, silentLogger)
const start = Date.parse(genesis.genesisTime)
let lastCommit: Commit | null = null
for (let h = 1; h <= N; h++) {
  const p = chain.buildBlock({ timeMs: start + h * 1000, proposer: v0.address, txs: [], lastCommit, evidence: [] })
  lastCommit = sign(genesis.chainId, p)
  await chain.commitBlock(p, lastCommit, { durable: false })
  if (h % 10_000 === 0) process.stderr.write(`generated ${h} blocks in ${Math.round((performance.now() - t0) / 1000)} s\n`)
}
snapshots.afterCommit(chain, lastCommit!)
await snapshots.idle()
await db.close()
const generateSec = (performance.now() - t0) / 1000
const headHash = chain.head.blockHash
const dataBytes = await (async () => { const d = await ChainDb.open({ dir: homePaths(vHome).chainDb, genesisHash: genesisHash(genesis), chainId: genesis.chainId }); const s = await d.approximateSize(); await d.close(); return s })()

// ---- real processes
const vPort = await freePort()
const vAddr = `/ip4/127.0.0.1/tcp/${vPort}/p2p/${peerIdFromPrivateKey((await loadOrCreateNodeKey(homePaths(vHome).nodeKey)).key).toString()}`
const validator = await startNode(vHome, ['--p2p-port', String(vPort), '--no-empty-blocks', '--snapshot-interval', '1000'])

async function joinNode(name: string, flags: string[]): Promise<number> {
  const home = join(tmp.dir, name)
  mkdirSync(home, { recursive: true })
  initHome({ home, genesis, validatorKey: null })
  const began = performance.now()
  const node = await startNode(home, ['--bootstrap', vAddr, ...flags])
  await until(`${name} to reach ${N}`, async () => (await node.client.status()).height >= N, 3_600_000, 250)
  const secs = (performance.now() - began) / 1000
  const st = await node.client.status()
  const hash = st.height === N ? st.blockHash : (await node.client.getBlock(N))?.hash
  if (hash !== headHash) throw new Error(`${name} ended on another block ${N}: ${hash}`)
  await node.kill9()
  return secs
}

try {
  const stateSyncSec = await joinNode('statesync', ['--state-sync-height', String(N), '--state-sync-hash', headHash])
  const replaySec = await joinNode('replay', [])
  console.log(JSON.stringify({ blocks: N, generateSec: Math.round(generateSec), validatorDataBytes: dataBytes, stateSyncSec: Number(stateSyncSec.toFixed(1)), replaySec: Number(replaySec.toFixed(1)), stateEntries: chain.db.state.size }))
} finally {
  await validator.kill9()
  if (!process.env.KEEP_TMP) tmp.remove()
}
