import { TxError } from '../core/errors.js'
import type { SignedTx, TxCall } from '../core/tx.js'
import type { Params } from '../genesis/params.js'
import { K } from './keys.js'
import { AccountCodec, AllowanceCodec, type Account } from './entities.js'
import { setModelTerms, setDatanetTerms, recordSyntheticSource } from './processLineage.js'
import { setCheckpointKey, signCheckpoint } from './checkpoint.js'
import { fail, getAccount, addBalance, type ExecContext, type ReceiptRecord, type TxResult } from './txContext.js'
import { createValidator, stake, unstake, delegate, undelegate, unjail } from './processStaking.js'
import { registerDatanet, contribute, review } from './processDatanets.js'
import { registerModel } from './processModels.js'
import { submitReceipts } from './processReceipts.js'
import { claim } from './processClaim.js'

/*
 * Tx execution: the envelope checks and the dispatch of a tx body to its
 * family's processor, one file per family as state/checkpoint.ts (staking,
 * Datanets, models, receipts, claim: state/process*.ts); their shared
 * context and accessors are in state/txContext.ts. The names other modules
 * import from here are re-exported below.
 */

export { getAccount, getMeta, addLedger, emptyLedger, type ExecContext, type Payout, type ReceiptRecord, type TxResult } from './txContext.js'
export { MAX_CLAIM_POSITIONS } from './processClaim.js'

// ---------------------------------------------------------------- checks shared with the mempool

/**
 * Checks of a signed tx against state that decide whether it may enter a
 * block at all (DESIGN §3): chain id, nonce, fee ≥ minTxFee, balance ≥ fee.
 * `exactNonce` is false for mempool admission of future nonces.
 */
export function checkTxEnvelope(chainId: string, params: Params, account: Account, stx: SignedTx, exactNonce: boolean): void {
  const { tx } = stx
  if (tx.chainId !== chainId) fail('TX_ERROR_WRONG_CHAIN', `chain id "${tx.chainId}" is not "${chainId}"`, { field: 'chainId' })
  if (tx.nonce < account.nonce) fail('TX_ERROR_BAD_NONCE', `nonce ${tx.nonce} already used; account nonce is ${account.nonce}`, { field: 'nonce', expected: account.nonce })
  if (exactNonce && tx.nonce !== account.nonce) fail('TX_ERROR_BAD_NONCE', `nonce ${tx.nonce} is not the account nonce ${account.nonce}`, { field: 'nonce', expected: account.nonce })
  if (tx.fee < params.minTxFee) fail('TX_ERROR_FEE_TOO_LOW', `fee ${tx.fee} is below minTxFee ${params.minTxFee}`, { field: 'fee' })
  if (tx.call.type === 'submitReceipts' && tx.call.receipts.length > params.maxReceiptsPerTx) {
    fail('TX_ERROR_TOO_MANY_RECEIPTS', `${tx.call.receipts.length} receipts exceed maxReceiptsPerTx ${params.maxReceiptsPerTx}`, { field: 'body' })
  }
  if (tx.call.type === 'submitReceipts') {
    for (const [i, r] of tx.call.receipts.entries()) {
      if (r.attribution.length > params.maxAttribution) fail('TX_ERROR_TOO_MANY_ATTRIBUTIONS', `body[${i}][5] exceeds maxAttribution ${params.maxAttribution}`, { field: `body[${i}][5]` })
    }
  }
  if (account.balance < tx.fee) fail('TX_ERROR_INSUFFICIENT_BALANCE', `balance ${account.balance} cannot pay fee ${tx.fee}`, { field: 'fee' })
}

// ---------------------------------------------------------------- execution

/**
 * Execute one tx whose signature was verified at decode or admission. The
 * envelope (nonce, fee) is applied even if the body fails; a failed body's
 * effects and credits are reverted (DESIGN §3). Envelope failures throw: a
 * block containing such a tx is invalid.
 */
export function executeTx(ctx: ExecContext, stx: SignedTx): TxResult {
  const { state: s } = ctx
  const sender = stx.sender
  const acct = getAccount(s, sender)
  checkTxEnvelope(ctx.chainId, ctx.params, acct, stx, true)
  s.set(AccountCodec, K.account(sender), { balance: acct.balance - stx.tx.fee, nonce: acct.nonce + 1 })
  ctx.credits.addToValidatorPool(stx.tx.fee)

  s.beginTx()
  ctx.credits.beginTx()
  try {
    const receipts = executeCall(ctx, stx, stx.tx.call)
    s.commitTx()
    ctx.credits.commitTx()
    return { hash: stx.hash, status: 'ok', receipts }
  } catch (e) {
    s.rollbackTx()
    ctx.credits.rollbackTx()
    if (!(e instanceof TxError)) throw e
    return { hash: stx.hash, status: 'failed', error: { code: e.code, message: e.reason }, receipts: [] }
  }
}

function executeCall(ctx: ExecContext, stx: SignedTx, call: TxCall): ReceiptRecord[] {
  const s = ctx.state
  const from = stx.sender
  switch (call.type) {
    case 'transfer':
      addBalance(s, from, -call.amount)
      addBalance(s, call.to, call.amount)
      return []
    case 'createValidator': return createValidator(ctx, stx, call.amount, call.moniker, call.commissionBps)
    case 'stake': return stake(ctx, from, call.amount)
    case 'unstake': return unstake(ctx, from, call.amount)
    case 'delegate': return delegate(ctx, from, call.validator, call.amount)
    case 'undelegate': return undelegate(ctx, from, call.validator, call.amount)
    case 'unjail': return unjail(ctx, from)
    case 'registerDatanet': return registerDatanet(ctx, stx, call.name, call.metadataUri, call.contributionBond)
    case 'contribute':
      contribute(ctx, stx, call.datanetId, call.dataHash, call.metadataUri)
      if (call.sourceModelId !== undefined) recordSyntheticSource(s, stx.hash, call.sourceModelId)
      return []
    case 'reviewContribution': return review(ctx, from, call.contributionId, call.accept, call.weight)
    case 'registerModel': return registerModel(ctx, stx, call)
    case 'approveOperator':
      s.set(AllowanceCodec, K.allowance(from, call.operator), { amount: call.amount })
      return []
    case 'submitReceipts': return submitReceipts(ctx, stx, call.receipts)
    case 'claim': return claim(ctx, from)
    case 'setModelTerms':
      setModelTerms(s, from, call)
      return []
    case 'setDatanetTerms':
      setDatanetTerms(s, ctx.params, from, call)
      return []
    case 'setCheckpointKey':
      setCheckpointKey(s, from, call.ethAddress)
      return []
    case 'signCheckpoint':
      signCheckpoint(s, ctx.chainId, from, call.height, call.signature)
      return []
  }
}
