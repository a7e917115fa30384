import t from 'tap'
import { TestChain } from '../../helpers/chain.js'
import { InvariantError, TxError, BlockError } from '../../../core/errors.js'
import { BlockState, CreditBook, K, executeTx, executeBlock, MemoryStateStore } from '../../../state/index.js'

/**
 * A broken invariant of our own state (here: the chain meta is missing) is
 * not the tx's fault. Before InvariantError it was thrown as a TxError, so
 * if it fired inside a tx body the tx was recorded as failed (fee paid,
 * nonce moved) and the block went on as if nothing happened.
 */

/** A store with everything of the genesis state except the chain meta. */
function storeWithoutMeta(c: TestChain): MemoryStateStore {
  const store = new MemoryStateStore()
  store.apply(new Map([...c.store.entries()].filter(([k]) => k !== K.meta())))
  return store
}

t.test('an invariant fired inside a tx body is thrown, not recorded as a failed tx', async (t) => {
  const c = new TestChain()
  const owner = c.account(0)
  // registerDatanet reads the chain meta inside its body (the Datanet sequence number)
  const stx = c.tx(owner, { type: 'registerDatanet', name: 'dn', metadataUri: '', contributionBond: 0n })
  const state = new BlockState(storeWithoutMeta(c))
  const ctx = { chainId: c.chain.chainId, height: 1, timeMs: c.timeMs + 1000, params: c.chain.params, state, credits: new CreditBook() }
  let thrown: unknown = null
  let result: unknown = null
  try {
    result = executeTx(ctx, stx)
  } catch (e) {
    thrown = e
  }
  t.equal(result, null, 'no tx result (it was { status: "failed", code: STATE_ERROR_NOT_INITIALIZED } before)')
  t.ok(thrown instanceof InvariantError, 'an InvariantError')
  t.notOk(thrown instanceof TxError, 'not a TxError')
  t.equal((thrown as InvariantError).code, 'STATE_ERROR_NOT_INITIALIZED')
})

t.test('a block over a state with a broken invariant is refused with the InvariantError', async (t) => {
  const c = new TestChain()
  const stx = c.tx(c.account(0), { type: 'transfer', to: c.account(1).address, amount: 1n })
  const store = storeWithoutMeta(c)
  const before = [...store.entries()].length
  const input = { height: 1, timeMs: c.timeMs + 1000, proposer: c.q.validatorSet(1)![0].address, txs: [stx], evidence: [], lastCommitSigners: null }
  t.throws(() => executeBlock(store, c.chain, c.root, input), InvariantError, 'refused with InvariantError')
  try {
    executeBlock(store, c.chain, c.root, input)
  } catch (e) {
    t.notOk(e instanceof BlockError, 'not reported as a bad block (the block is not at fault)')
    t.notOk(e instanceof TxError, 'not reported as a bad tx')
  }
  t.equal([...store.entries()].length, before, 'nothing written')
})

t.test('a normal block still executes', async (t) => {
  const c = new TestChain()
  const r = c.run(c.account(0), { type: 'registerDatanet', name: 'dn', metadataUri: '', contributionBond: 0n })
  t.equal(r.status, 'ok')
})
