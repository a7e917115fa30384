import t from 'tap'
import { errorLine } from '../../../node/cli.js'
import { hintFor } from '../../../node/cliHints.js'
import { RpcRequestError, RpcTransportError, RpcTransportErrorCode } from '../../../rpc/transport.js'

/** Every CLI error is one line that says what failed and, for the common ones, what to do next (issue 16 item 4). */
t.test('errors a new user meets say what to do next', async (t) => {
  const unreachable = errorLine(new RpcTransportError(RpcTransportErrorCode.network, 'request to http://127.0.0.1:1 failed: fetch failed', { cause: { code: 'ECONNREFUSED' } }))
  t.match(unreachable, /^error: RPC_TRANSPORT_ERROR_NETWORK: .*\(ECONNREFUSED\); is a node running there\? Start one with "attrchain devnet"/, 'unreachable node: start one or point --rpc at one')
  const nonce = errorLine(new RpcRequestError(-32000, 'nonce 0 already used; account nonce is 2', { reason: 'TX_ERROR_BAD_NONCE' }))
  t.match(nonce, /^error: TX_ERROR_BAD_NONCE: nonce 0 already used; account nonce is 2; leave out --nonce/, 'bad nonce: the code and message first, then the hint')
  const hash = '0x' + 'ab'.repeat(32)
  const late = errorLine(new RpcRequestError(-32003, `tx ${hash} not committed within 30000 ms; it may still be included`, { reason: 'RPC_ERROR_TIMEOUT' }))
  t.match(late, `"attrchain query tx ${hash}"`, 'a commit wait that timed out names the command to check the tx later')
  const broke = errorLine(new RpcRequestError(-32000, 'balance 1 < 2', { reason: 'TX_ERROR_INSUFFICIENT_BALANCE' }))
  t.match(broke, 'attrchain query account ADDRESS', 'insufficient balance: how to see it')
  for (const line of [unreachable, nonce, late, broke]) t.notMatch(line, '\n', 'one line')
  t.equal(errorLine(new RpcRequestError(-32000, 'something else', { reason: 'TX_ERROR_SOMETHING_ELSE' })), 'error: TX_ERROR_SOMETHING_ELSE: something else', 'no hint: the message alone')
  t.equal(hintFor(undefined, 'x'), null, 'no code, no hint')
})
