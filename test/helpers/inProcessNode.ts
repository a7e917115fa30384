import type { Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDevnetGenesis, devValidatorKey } from '../../genesis/devnet.js'
import type { Params } from '../../genesis/params.js'
import { initHome } from '../../node/init.js'
import { loadConfig } from '../../node/config.js'
import { AttrchainNode } from '../../node/node.js'
import type { MempoolOptions } from '../../node/mempool.js'
import { silentLogger } from '../../core/logger.js'
import { AttrchainClient } from '../../rpc/index.js'

/**
 * A one-validator devnet node in this process on free ports, 50 ms blocks
 * (fine at unit level: no child processes), with a client; both stopped and
 * the home deleted when `t` ends. `params` override the genesis params,
 * `mempool` the node's mempool limits (config.json's `mempool` keys).
 *
 * The node's event loop is the test's own, so the lag it would shed txs by
 * (mempool.maxEventLoopLagMs) measures the test's work and whatever else
 * shares the CI machine, not the node's load: that check is off here
 * unless a test sets it (a CI run failed when a 400 ms stall turned an
 * expected refusal or admission into limit "event_loop"). Shedding under
 * load is tested on real node processes (test/e2e/overload.test.ts) and in
 * mempool.test.ts with a lag the test controls.
 */
export async function startInProcessNode(t: Test, name: string, opts: { params?: Partial<Params>; mempool?: Partial<MempoolOptions> } = {}): Promise<{ node: AttrchainNode; client: AttrchainClient; home: string }> {
  const home = mkdtempSync(join(tmpdir(), `attrchain-${name}-`))
  initHome({ home, genesis: buildDevnetGenesis({ validators: 1, accounts: 10, ...(opts.params ? { params: opts.params } : {}) }), validatorKey: devValidatorKey(0) })
  const config = loadConfig(home, { rpcPort: 0, p2pPort: 0, blockTimeMs: 50 }, {})
  Object.assign(config.mempool, { maxEventLoopLagMs: Number.MAX_SAFE_INTEGER }, opts.mempool)
  const node = await AttrchainNode.start(config, silentLogger)
  const client = new AttrchainClient(node.rpcUrl)
  t.teardown(async () => {
    await client.close()
    await node.stop()
    rmSync(home, { recursive: true, force: true })
  })
  return { node, client, home }
}
