import t from 'tap'
import { sortSendReplies } from '../../../bench/load.js'
import { RpcRequestError, type RpcBatchResult } from '../../../rpc/index.js'

/** How an open-loop operator (the bench's flood, test/helpers/flood.ts) sorts the replies to a tx_send batch. */

const ok = (): RpcBatchResult => ({ ok: true, result: { hash: '0x00' } })
const full = (limit: string, retryAfterMs?: number): RpcBatchResult => ({
  ok: false,
  error: new RpcRequestError(-32002, 'refused', { reason: 'MEMPOOL_ERROR_FULL', limit, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }),
})
const refusal = (reason: string, data: Record<string, unknown> = {}): RpcBatchResult => ({ ok: false, error: new RpcRequestError(-32000, reason, { reason, ...data }) })

t.test('replies sorted: accepted, held, sent again, dropped; the longest retry hint and the named account nonce', async (t) => {
  const txs = ['a', 'b', 'c', 'd', 'e', 'f']
  const out = sortSendReplies(txs, [
    ok(),
    refusal('MEMPOOL_ERROR_DUPLICATE'),
    refusal('MEMPOOL_ERROR_NONCE_TOO_FAR', { expected: 7 }),
    refusal('TX_ERROR_BAD_SIGNATURE'),
    full('rate', 900),
    full('rate', 1400),
  ])
  t.equal(out.accepted, 1)
  t.same(out.held, ['b'])
  t.same(out.again, ['c', 'e', 'f'])
  t.same(out.dropped.map((d) => [d.tx, d.reason]), [['d', 'TX_ERROR_BAD_SIGNATURE']])
  t.same(out.refused, { MEMPOOL_ERROR_NONCE_TOO_FAR: 1, TX_ERROR_BAD_SIGNATURE: 1, MEMPOOL_ERROR_FULL: 2 })
  t.equal(out.retryAfterMs, 1400)
  t.equal(out.accountNonce, 7)
})

t.test('acceptedAfterRefusal counts txs taken after a call of their batch was shed at intake, not after an add-time refusal', async (t) => {
  // shed at intake (backlog, rate, verifier, event loop): the node refuses the rest of the batch, so a later acceptance is a fault
  for (const limit of ['backlog', 'rate', 'verifier', 'event_loop']) {
    t.equal(sortSendReplies([1, 2, 3], [ok(), full(limit), ok()]).acceptedAfterRefusal, 1, `after a "${limit}" refusal`)
  }
  // the count and byte limits are met again when a verified tx is added: a commit in between may make room for a later call
  for (const limit of ['txs', 'bytes', 'queued', 'sender_queued']) {
    t.equal(sortSendReplies([1, 2, 3], [ok(), full(limit), ok()]).acceptedAfterRefusal, 0, `not after a "${limit}" refusal`)
  }
  t.equal(sortSendReplies([1, 2, 3], [ok(), ok(), full('rate')]).acceptedAfterRefusal, 0, 'accepted before the refusal: nothing')
  t.equal(sortSendReplies([1, 2], [refusal('TX_ERROR_BAD_NONCE'), ok()]).acceptedAfterRefusal, 0, 'a refusal that is not for capacity: nothing')
})
