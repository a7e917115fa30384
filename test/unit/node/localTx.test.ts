import t from 'tap'
import { toHex } from '../../../core/bytes.js'
import { signTx } from '../../../core/tx.js'
import { DEVNET_CHAIN_ID, devAccountKey } from '../../../genesis/devnet.js'
import { defaultParams } from '../../../genesis/params.js'
import { defaultMempoolOptions } from '../../../node/mempool.js'
import { RpcRequestError } from '../../../rpc/index.js'
import { startInProcessNode } from '../../helpers/inProcessNode.js'

/*
 * The node's own protocol txs (a validator's checkpoint signature) skip
 * the intake limits that shed operator load (node.submitTx `local`): an
 * operator flood that fills the backlog must not keep the validator's own
 * protocol tx out. The backlog (executable txs beyond the proposal in
 * flight) is filled deterministically here: with maxBlockTxs 2, 100
 * executable txs of one account, taken at once over the node-originated
 * path (which skips the very limit under test), are 50 blocks of work, at
 * least 2.5 s at the in-process node's 50 ms blocks, made by this same
 * event loop: far over the default bound of one proposal's worth, while
 * the test's tx_send is one round trip. (Txs behind a nonce gap filled it before; they no longer count:
 * Mempool.backlog.)
 */
t.test('a node-originated tx passes the intake limits an RPC tx is refused by, and is committed', async (t) => {
  const { node, client } = await startInProcessNode(t, 'local-tx', { params: { maxBlockTxs: 2 } })
  const fee = defaultParams().minTxFee
  const busy = devAccountKey(1)
  // signed first, then taken at once (one verifier batch), so that blocks do not drain them as they come in
  const burst = Array.from({ length: 100 }, (_, nonce) => signTx({ chainId: DEVNET_CHAIN_ID, nonce, fee, call: { type: 'transfer', to: devAccountKey(2).address, amount: 1n } }, busy))
  await Promise.all(burst.map((stx) => node.submitTx(stx.bytes, { local: true })))
  t.ok(node.mempool.backlog.txs > 2 * (defaultMempoolOptions.maxBacklogBlocks * 2), `the backlog is far over the bound (${node.mempool.backlog.txs} txs)`)
  const own = signTx({ chainId: DEVNET_CHAIN_ID, nonce: 0, fee, call: { type: 'transfer', to: devAccountKey(4).address, amount: 7n } }, devAccountKey(3))

  const refused = await client.call('tx_send', [toHex(own.bytes)]).then(() => null, (e: unknown) => e)
  t.ok(refused instanceof RpcRequestError, 'the RPC tx is refused')
  t.equal((refused as RpcRequestError).reason, 'MEMPOOL_ERROR_FULL')
  t.equal(((refused as RpcRequestError).data as { limit?: string }).limit, 'backlog', 'for the backlog')
  t.equal(node.mempool.has(own.hash), false, 'and not held')

  // Waiting starts before the tx is submitted, as tx_send's wait "commit" does: waitForTx only sees commits
  // after it is called, and with 50 ms blocks the tx could commit during the tx_get round trip below (it did,
  // with another test process beside this one: the wait then ran into its 30 s abort).
  const committed = node.waitForTx(own.hash, AbortSignal.timeout(30_000))
  const admitted = await node.submitTx(own.bytes, { local: true })
  t.equal(admitted.hash, own.hash, 'the same tx is taken as node-originated')
  const r = await client.call('tx_get', [own.hash])
  t.ok(r !== null, 'and is known to the node')
  const done = await committed
  t.equal(done.status, 'ok', 'and committed')

  // still checked like any tx: a replay is refused
  await t.rejects(node.submitTx(own.bytes, { local: true }), /nonce/i, 'a replayed node-originated tx is refused')
})
