import t from 'tap'
import type { AttrchainClient, ChainParams, MethodHandler, ParamsOf, ResultOf, TxRecord } from '../../../rpc/index.js'

/**
 * Compile-time checks of the types derived from the API table (rpc/api.ts):
 * `tsc --noEmit` fails if a derived type degrades (to unknown or any) or a
 * wrong call type-checks. The runtime part only records that it compiled.
 */

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function assertType<T extends true>(): T | undefined {
  return undefined
}

// results: exact shapes, amounts as strings, nullable where an id may be unknown
assertType<Equal<ResultOf<'account_get'>, { address: string; balance: string; nonce: number; staked: string; unbonding: string; pendingRewards: string }>>()
assertType<Equal<ChainParams['maxBlockReceipts'], number>>()
assertType<Equal<ChainParams['timeoutProposeMs'], number>>()
assertType<Equal<ChainParams['minTxFee'], string>>()
assertType<Equal<TxRecord['status'], 'ok' | 'failed' | 'pending'>>()
assertType<Equal<null extends ResultOf<'model_get'> ? true : false, true>>()
assertType<Equal<null extends ResultOf<'account_get'> ? true : false, false>>()

// params: required first, optional ones may be left out
assertType<Equal<ParamsOf<'account_allowance'>, [string, string]>>()
assertType<Equal<ParamsOf<'chain_getBlock'>, [number | 'latest', ({ full?: boolean } | undefined)?]>>()
assertType<Equal<ParamsOf<'chain_status'>, []>>()

// handlers are typed from the declaration
const handler: MethodHandler<'account_allowance'> = ([payer, operator]) => ({ payer, operator, amount: '0' })
// @ts-expect-error a handler must answer with the declared shape
const badHandler: MethodHandler<'account_allowance'> = () => ({ payer: '0x' })

// the client's call is typed by method name
async function calls(client: AttrchainClient): Promise<void> {
  const acct = await client.call('account_get', ['0x' + '00'.repeat(20)])
  assertType<Equal<typeof acct.nonce, number>>()
  await client.call('chain_status')
  await client.call('datanet_list')
  // @ts-expect-error a required param is missing
  await client.call('account_get', [])
  // @ts-expect-error a param of the wrong type
  await client.call('chain_getBlock', [{ full: true }])
  // a batch answers each call with its own method's type
  const [st, ac] = await client.batch([{ method: 'chain_status' }, { method: 'account_get', params: ['0x' + '00'.repeat(20)] }])
  if (st.ok && ac.ok) assertType<Equal<[typeof st.result.height, typeof ac.result.balance], [number, string]>>()
  // @ts-expect-error a batch item with wrong params
  await client.batch([{ method: 'account_get', params: [1] }])
  // a method outside the table takes its result type as a type argument
  const other = await client.call<{ x: number }>('other_method', [])
  assertType<Equal<typeof other, { x: number }>>()
}

t.test('the API types compile (checked by tsc --noEmit)', async (t) => {
  t.equal(typeof calls, 'function')
  t.equal(typeof handler, 'function')
  t.equal(typeof badHandler, 'function')
})
