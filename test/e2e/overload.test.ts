import t from 'tap'
import { devAccountKey } from '../../genesis/devnet.js'
import { defaultParams, type Params } from '../../genesis/params.js'
import { defaultNodeConfig } from '../../node/config.js'
import type { BlockInfo } from '../../rpc/index.js'
import { until } from '../helpers/nodeProcess.js'
import { startNetwork, allReach, type NetNode } from '../helpers/network.js'
import { FIRST_OPERATOR, FloodOperator, setupOperators, startFlood } from '../helpers/flood.js'

/**
 * Issue 10: a 4-validator devnet with the DEFAULT settings (the node's
 * default block time, default consensus timeouts and genesis params — what
 * `attrchain devnet --validators 4` runs) flooded open-loop by operators
 * pushing as hard as the nodes let them, some with one receipt per tx and
 * some with 100, must stay live and in agreement:
 * - liveness: no two consecutive committed blocks more than
 *   MAX_BLOCK_GAP_MS apart (by the blocks' own timestamps, from the last
 *   block before the flood to the head after it), and after the flood the
 *   chain advances and every node reaches the head;
 * - safety: every node has the same block at every height.
 * No other timing is asserted.
 */

const VALIDATORS = 4
const OPERATORS = 8
/** operators 0..3 send one receipt per tx, 4..7 a hundred (the benchmark floods with 16; 8 keep this test near a minute on 2 busy cores) */
const receiptsPerTxOf = (i: number): number => (i < OPERATORS / 2 ? 1 : 100)
/** txs each operator signs before the flood (more are signed as it goes) */
const presignedOf = (i: number): number => (receiptsPerTxOf(i) === 1 ? 2000 : 200)
const FLOOD_MS = 15_000
/** the liveness bound: about five failed rounds at one height with the default timeouts */
const MAX_BLOCK_GAP_MS = 20_000
/** after the flood: the chain advances, and every node catches up, each within this */
const AFTER_FLOOD_MS = 30_000

const TIMEOUT_KEYS = ['timeoutProposeMs', 'timeoutProposeDeltaMs', 'timeoutPrevoteMs', 'timeoutPrevoteDeltaMs', 'timeoutPrecommitMs', 'timeoutPrecommitDeltaMs'] as const
/** startNetwork shortens the timeouts for loopback; this test runs the defaults. */
const DEFAULT_TIMEOUTS: Partial<Params> = Object.fromEntries(TIMEOUT_KEYS.map((k) => [k, defaultParams()[k]]))

async function heights(nodes: NetNode[]): Promise<(number | null)[]> {
  return Promise.all(nodes.map(async (n) => (await n.client.status().catch(() => null))?.height ?? null))
}

/** The block at `h` from the first node that has it. */
async function blockAt(nodes: NetNode[], h: number): Promise<BlockInfo> {
  for (const n of nodes) {
    const b = await n.client.getBlock(h).catch(() => null)
    if (b) return b
  }
  throw new Error(`no node has block ${h}`)
}

t.test('a default 4-validator devnet under an open-loop flood stays live and every node agrees on every block', async (t) => {
  const net = await startNetwork({
    validators: VALIDATORS, blockTimeMs: defaultNodeConfig('').blockTimeMs, params: DEFAULT_TIMEOUTS, genesis: { accounts: FIRST_OPERATOR + OPERATORS },
  })
  t.teardown(() => net.close())
  const { nodes } = net
  const clients = nodes.map((n) => n.client)
  await allReach(nodes, 1)

  const keys = Array.from({ length: OPERATORS }, (_, i) => devAccountKey(FIRST_OPERATOR + i))
  const workloads = await setupOperators(clients, keys)
  const ops = keys.map((k, i) => new FloodOperator(k, clients[i % clients.length], workloads[i], receiptsPerTxOf(i)))
  for (const [i, op] of ops.entries()) await op.prepare(presignedOf(i))

  const before = Math.max(...(await heights(nodes)).map((h) => h ?? 0))
  const flood = startFlood(ops)
  await new Promise((r) => setTimeout(r, FLOOD_MS))
  flood.stop()

  const atEnd = Math.max(...(await heights(nodes)).map((h) => h ?? 0))
  const target = atEnd + 2
  let advanced = true
  await until(`a node at height ${target} after the flood`, async () => Math.max(...(await heights(nodes)).map((h) => h ?? 0)) >= target, AFTER_FLOOD_MS, 250).catch(() => {
    advanced = false
  })
  t.ok(advanced, `the chain advances after the flood (height ${atEnd} → ${target} within ${AFTER_FLOOD_MS} ms)`)
  const head = Math.max(...(await heights(nodes)).map((h) => h ?? 0))
  let caughtUp = true
  await allReach(nodes, head, AFTER_FLOOD_MS).catch(() => {
    caughtUp = false
  })
  const hs = await heights(nodes)
  t.ok(caughtUp, `every node reaches height ${head} (heights: ${hs.join(', ')})`)

  // Liveness by the chain's own record: header times of consecutive blocks, from the last block before the flood.
  const top = Math.max(...hs.map((h) => h ?? 0))
  let worst = { gapMs: 0, height: 0 }
  let prev = (await blockAt(nodes, Math.max(1, before))).header.timeMs
  for (let h = Math.max(1, before) + 1; h <= top; h++) {
    const time = (await blockAt(nodes, h)).header.timeMs
    if (time - prev > worst.gapMs) worst = { gapMs: time - prev, height: h }
    prev = time
  }
  t.ok(worst.gapMs <= MAX_BLOCK_GAP_MS, `no block gap over ${MAX_BLOCK_GAP_MS} ms from height ${before} to ${top} (largest: ${worst.gapMs} ms before height ${worst.height})`)

  // Safety: the same block at every height every node has.
  const minHead = Math.min(...hs.map((h) => h ?? 0))
  let disagreement: string | null = null
  for (let h = 1; h <= minHead && disagreement === null; h++) {
    const hashes = await Promise.all(clients.map(async (c) => (await c.getBlock(h))?.hash))
    if (new Set(hashes).size !== 1) disagreement = `height ${h}: ${hashes.join(', ')}`
  }
  t.equal(disagreement, null, `every node has the same block at heights 1..${minHead}`)

  await flood.done
  t.comment(`flood: ${JSON.stringify(flood.stats)}`)
  t.ok(flood.stats.accepted > 0, 'the nodes accepted txs of the flood')
  // A node that sheds a tx at intake (backlog, rate, verifier, event loop) refuses the rest of its batch: a later
  // nonce taken after an earlier refused one could only wait in the mempool (before the fix, hundreds per flood:
  // the p99 latency tail). Not the count and byte limits a verified tx meets again when it is added: a commit in
  // between may make room for a later one (bench/load.ts INTAKE_ONLY_LIMITS).
  t.equal(flood.stats.acceptedAfterRefusal, 0, 'no tx accepted after an earlier tx of its batch was shed at intake')
})
