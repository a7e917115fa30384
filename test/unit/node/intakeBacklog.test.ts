import t from 'tap'
import { signTx } from '../../../core/tx.js'
import { DEVNET_CHAIN_ID, devAccountKey } from '../../../genesis/devnet.js'
import { defaultParams } from '../../../genesis/params.js'
import { MempoolError } from '../../../node/mempool.js'
import { startInProcessNode } from '../../helpers/inProcessNode.js'

/*
 * The backlog bound (mempool.maxBacklogBlocks) counts the txs taken over
 * tx_send that are still waiting for the verifier threads. It did not: a
 * flood's batch passed the bound tx by tx while none of its signatures had
 * been verified yet (the mempool was empty at every check), and the
 * mempool then took several proposals' worth at once — the 4-validator
 * overload bench's p99 submit→commit of 4-8 s against blocks every 1.2 s.
 * Here 200 txs are submitted in one tick (as a JSON-RPC batch's calls are
 * started) against blocks of at most 10 txs: with the bound at one
 * proposal, about 10 are taken, not 200.
 */
t.test('txs still being verified count in the backlog bound: one tick\'s burst takes about one proposal, not all of it', async (t) => {
  const maxBlockTxs = 10
  const { node } = await startInProcessNode(t, 'intake-backlog', { params: { maxBlockTxs } })
  const fee = defaultParams().minTxFee
  const sender = devAccountKey(1)
  const burst = Array.from({ length: 200 }, (_, nonce) => signTx({ chainId: DEVNET_CHAIN_ID, nonce, fee, call: { type: 'transfer', to: devAccountKey(2).address, amount: 1n } }, sender))
  const outcomes = await Promise.all(burst.map((stx) => node.submitTx(stx.bytes).then(() => 'taken' as const, (e: unknown) => e)))

  const taken = outcomes.filter((o) => o === 'taken').length
  t.ok(taken >= 1, `some are taken (${taken})`)
  t.ok(taken <= 2 * maxBlockTxs, `about one proposal's worth is taken, not the whole burst (${taken} of ${burst.length}; bound ${maxBlockTxs} txs)`)
  const firstRefused = outcomes.findIndex((o) => o !== 'taken')
  t.equal(firstRefused, taken, 'the taken ones are the first nonces: nothing after a refusal was taken')
  const notBacklog = outcomes.slice(firstRefused).filter((o) => !(o instanceof MempoolError && o.code === 'MEMPOOL_ERROR_FULL' && o.meta.limit === 'backlog'))
  t.same(notBacklog, [], 'the rest are refused with MEMPOOL_ERROR_FULL, limit "backlog"')
  t.ok(node.mempool.size <= taken, 'the mempool holds no more than was taken')
})
