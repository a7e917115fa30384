import t, { type Test } from 'tap'
import { TestChain, economy, bodyWrites, h32, signRaw, rawUnsigned, OPEN, FEE } from '../../helpers/chain.js'
import { decodeSignedTx, type TxCall } from '../../../core/tx.js'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { fromHex } from '../../../core/bytes.js'
import { MAX_AMOUNT } from '../../../core/amount.js'
import { executeBlock } from '../../../state/index.js'
import { buildDevnetGenesis } from '../../../genesis/index.js'

type T = Test

/**
 * Run `call` from `key` alone in a block and check the DESIGN §3 failure
 * contract: the fee is paid, the nonce moves, the result is `failed` with
 * `code`, and the body wrote nothing.
 */
function expectFailure(t: T, c: TestChain, key: KeyPair, call: TxCall, code: string, what: string = call.type) {
  const balance = c.q.balance(key.address)
  const nonce = c.q.nonce(key.address)
  // `power` is the power in the set of head + 1: it moves with the height (earlier stake changes reach the set), not with this tx
  const records = () => c.q.validators().map((v) => ({ ...v, power: undefined }))
  const validators = records()
  const r = c.run(key, call)
  t.same(records(), validators, `${what}: validators unchanged`)
  t.equal(r.status, 'failed', `${what}: status failed`)
  t.equal(r.error?.code, code, `${what}: ${code}`)
  t.ok(r.error && r.error.message.length > 0, `${what}: a readable reason`)
  t.equal(c.q.nonce(key.address), nonce + 1, `${what}: nonce incremented`)
  const credited = r.outcome.distribution.entries.filter((e) => e.address === key.address).reduce((sum, e) => sum + e.amount, 0n)
  t.equal(c.q.balance(key.address), balance - FEE + credited, `${what}: fee paid, nothing else moved`)
  t.same(bodyWrites(r.outcome, c, key.address), [], `${what}: no body effect written`)
  t.same(r.receipts, [], `${what}: no receipts`)
  const entries = r.outcome.distribution.entries
  t.same(entries.filter((e) => !['validator', 'delegatorPool', 'treasury'].includes(e.role)), [], `${what}: only validator, delegator pool and treasury credits`)
  return r
}

t.test('transfer', async (t) => {
  const c = new TestChain()
  const [a, b] = [c.account(0), c.account(1)]
  const r = c.run(a, { type: 'transfer', to: b.address, amount: 5n * OPEN })
  t.equal(r.status, 'ok')
  t.equal(c.q.balance(a.address), 1_000_000n * OPEN - 5n * OPEN - FEE)
  t.equal(c.q.balance(b.address), 1_000_000n * OPEN + 5n * OPEN)
  t.equal(c.q.nonce(a.address), 1)
  const self = c.run(a, { type: 'transfer', to: a.address, amount: OPEN })
  t.equal(self.status, 'ok')
  t.equal(c.q.balance(a.address), 1_000_000n * OPEN - 5n * OPEN - 2n * FEE, 'to self: only the fee')
  const fresh = new KeyPair(sha256('fresh'))
  c.run(a, { type: 'transfer', to: fresh.address, amount: FEE + 10n })
  t.equal(c.q.balance(fresh.address), FEE + 10n, 'a new account is created by a transfer')
  expectFailure(t, c, b, { type: 'transfer', to: a.address, amount: 2_000_000n * OPEN }, 'TX_ERROR_INSUFFICIENT_BALANCE')
  expectFailure(t, c, fresh, { type: 'transfer', to: a.address, amount: 11n }, 'TX_ERROR_INSUFFICIENT_BALANCE', 'amount = balance left after the fee + 1')
  t.equal(c.q.balance(fresh.address), 10n)
})

t.test('createValidator, stake, unstake', async (t) => {
  const c = new TestChain()
  const k = c.account(5)
  const r = c.run(k, { type: 'createValidator', amount: 20_000n * OPEN, moniker: 'five', commissionBps: 700 })
  t.equal(r.status, 'ok')
  t.equal(c.q.balance(k.address), 1_000_000n * OPEN - 20_000n * OPEN - FEE)
  const v = c.q.validators().find((x) => x.address === k.address)
  t.match(v, { moniker: 'five', selfStake: (20_000n * OPEN).toString(), delegated: '0', commissionBps: 700, jailed: false })
  t.equal(c.q.account(k.address).staked, (20_000n * OPEN).toString())

  expectFailure(t, c, k, { type: 'createValidator', amount: 20_000n * OPEN, moniker: 'again', commissionBps: 0 }, 'TX_ERROR_DUPLICATE_VALIDATOR')
  expectFailure(t, c, c.validator(0), { type: 'createValidator', amount: 10_000n * OPEN, moniker: 'g', commissionBps: 0 }, 'TX_ERROR_DUPLICATE_VALIDATOR', 'genesis validator')
  expectFailure(t, c, c.account(6), { type: 'createValidator', amount: 10_000n * OPEN - 1n, moniker: 'low', commissionBps: 0 }, 'TX_ERROR_STAKE_TOO_LOW')
  expectFailure(t, c, c.account(6), { type: 'createValidator', amount: 1_000_001n * OPEN, moniker: 'rich', commissionBps: 0 }, 'TX_ERROR_INSUFFICIENT_BALANCE')

  t.equal(c.run(k, { type: 'stake', amount: 3n }).status, 'ok')
  t.equal(c.q.validators().find((x) => x.address === k.address)?.selfStake, (20_000n * OPEN + 3n).toString())
  expectFailure(t, c, c.account(6), { type: 'stake', amount: OPEN }, 'TX_ERROR_UNKNOWN_VALIDATOR', 'stake by a non-validator')
  expectFailure(t, c, k, { type: 'stake', amount: 1_000_000n * OPEN }, 'TX_ERROR_INSUFFICIENT_BALANCE', 'stake more than the balance')

  t.equal(c.run(k, { type: 'unstake', amount: 3n }).status, 'ok')
  t.equal(c.q.account(k.address).unbonding, '3')
  expectFailure(t, c, k, { type: 'unstake', amount: 10_000n * OPEN + 1n }, 'TX_ERROR_STAKE_TOO_LOW', 'unstake leaving less than the minimum')
  expectFailure(t, c, k, { type: 'unstake', amount: 20_000n * OPEN + 1n }, 'TX_ERROR_INSUFFICIENT_STAKE', 'unstake more than staked')
  expectFailure(t, c, c.account(6), { type: 'unstake', amount: 1n }, 'TX_ERROR_UNKNOWN_VALIDATOR', 'unstake by a non-validator')
  t.equal(c.run(k, { type: 'unstake', amount: 20_000n * OPEN }).status, 'ok', 'unstake everything is allowed')
  t.equal(c.q.account(k.address).unbonding, (20_000n * OPEN + 3n).toString())
  t.equal(c.q.account(k.address).staked, '0')
})

t.test('delegate and undelegate', async (t) => {
  const c = new TestChain()
  const d = c.account(0)
  const v = c.validator(0).address
  t.equal(c.run(d, { type: 'delegate', validator: v, amount: 100n * OPEN }).status, 'ok')
  t.same(c.q.delegations(d.address), [{ validator: v, amount: (100n * OPEN).toString() }])
  t.equal(c.q.validators()[0].delegated, (100n * OPEN).toString())
  expectFailure(t, c, d, { type: 'delegate', validator: c.account(9).address, amount: OPEN }, 'TX_ERROR_UNKNOWN_VALIDATOR')
  expectFailure(t, c, d, { type: 'delegate', validator: v, amount: 2_000_000n * OPEN }, 'TX_ERROR_INSUFFICIENT_BALANCE')
  expectFailure(t, c, d, { type: 'undelegate', validator: v, amount: 100n * OPEN + 1n }, 'TX_ERROR_INSUFFICIENT_STAKE', 'undelegate more than delegated')
  expectFailure(t, c, c.account(1), { type: 'undelegate', validator: v, amount: 1n }, 'TX_ERROR_NO_DELEGATION', 'undelegate from someone else')
  expectFailure(t, c, d, { type: 'undelegate', validator: c.account(9).address, amount: 1n }, 'TX_ERROR_UNKNOWN_VALIDATOR')

  const before = c.q.balance(d.address)
  const owed = BigInt(c.q.account(d.address).pendingRewards)
  t.ok(owed > 0n, 'the delegation has earned rewards')
  const r = c.run(d, { type: 'undelegate', validator: v, amount: 40n * OPEN })
  t.equal(r.status, 'ok')
  t.same(c.q.delegations(d.address), [{ validator: v, amount: (60n * OPEN).toString() }])
  t.equal(c.q.account(d.address).unbonding, (40n * OPEN).toString())
  t.equal(c.q.balance(d.address), before - FEE + owed, 'accrued delegator rewards were paid out with the undelegation')
  t.equal(c.q.attribution(d.address).earned.delegator, owed.toString())
  t.equal(c.run(d, { type: 'undelegate', validator: v, amount: 60n * OPEN }).status, 'ok')
  t.same(c.q.delegations(d.address), [], 'a fully undelegated delegation disappears')
  t.equal(c.q.validators()[0].delegated, '0')
})

t.test('unjail when not jailed or not a validator', async (t) => {
  const c = new TestChain()
  expectFailure(t, c, c.validator(0), { type: 'unjail' }, 'TX_ERROR_NOT_JAILED')
  expectFailure(t, c, c.account(0), { type: 'unjail' }, 'TX_ERROR_UNKNOWN_VALIDATOR')
})

t.test('Datanets and contributions', async (t) => {
  const e = economy()
  const { c, owner, contributor, other, dn, c1, c2, c3, c4 } = e
  t.match(c.q.datanet(dn), { id: dn, owner: owner.address, name: 'medical-qa', contributionBond: OPEN.toString(), contributions: 4, accepted: 2, totalWeight: '3', earned: '0' })
  t.match(c.q.contribution(c1), { status: 'accepted', weight: 1, bond: '0', contributor: contributor.address, dataHash: h32('c1'), datanetId: dn })
  t.match(c.q.contribution(c2), { status: 'accepted', weight: 2 })
  t.match(c.q.contribution(c3), { status: 'rejected', weight: 0, bond: '0' })
  t.match(c.q.contribution(c4), { status: 'pending', bond: OPEN.toString() })
  t.equal(c.q.balance(contributor.address), 1_000_000n * OPEN - 4n * FEE - 2n * OPEN, 'two bonds back, one slashed, one locked')
  t.same(c.q.contributions(dn, { status: 'accepted' })?.map((x) => x.id), [c1, c2])
  t.equal(c.q.contributions(h32('nope')), null)
  t.equal(c.q.datanet(h32('nope')), null)
  t.equal(c.q.contribution(h32('nope')), null)

  const treasury = c.q.balance(c.chain.params.treasury)
  expectFailure(t, c, other, { type: 'reviewContribution', contributionId: c4, accept: true, weight: 5 }, 'TX_ERROR_NOT_CURATOR', 'review by a non-curator')
  expectFailure(t, c, contributor, { type: 'reviewContribution', contributionId: c4, accept: true, weight: 5 }, 'TX_ERROR_NOT_CURATOR', 'review by the contributor')
  expectFailure(t, c, owner, { type: 'reviewContribution', contributionId: h32('nope'), accept: true, weight: 5 }, 'TX_ERROR_UNKNOWN_CONTRIBUTION')
  expectFailure(t, c, owner, { type: 'reviewContribution', contributionId: c1, accept: false, weight: 0 }, 'TX_ERROR_ALREADY_REVIEWED')
  expectFailure(t, c, owner, { type: 'reviewContribution', contributionId: c3, accept: true, weight: 1 }, 'TX_ERROR_ALREADY_REVIEWED', 'a rejected contribution')
  expectFailure(t, c, contributor, { type: 'contribute', datanetId: h32('nope'), dataHash: h32('x'), metadataUri: '' }, 'TX_ERROR_UNKNOWN_DATANET')

  const poor = new KeyPair(sha256('poor'))
  c.run(owner, { type: 'transfer', to: poor.address, amount: 2n * FEE })
  expectFailure(t, c, poor, { type: 'contribute', datanetId: dn, dataHash: h32('x'), metadataUri: '' }, 'TX_ERROR_INSUFFICIENT_BALANCE', 'cannot lock the bond')

  const reject = c.run(owner, { type: 'reviewContribution', contributionId: c4, accept: false, weight: 0 })
  t.equal(reject.status, 'ok')
  t.ok(c.q.balance(c.chain.params.treasury) - treasury >= OPEN, 'the rejected bond went to the treasury')
  const treasuryCredits = reject.outcome.distribution.entries.filter((x) => x.role === 'treasury').reduce((s, x) => s + x.amount, 0n)
  t.equal(c.q.balance(c.chain.params.treasury) - treasury, OPEN + treasuryCredits, 'exactly the bond plus the block\'s treasury credits')
  t.equal(c.computedSupply(), BigInt(c.q.meta().supply), 'the slashed bond is moved, not burned')
})

t.test('registerModel and approveOperator', async (t) => {
  const e = economy()
  const { c, owner, dn, model, payer, operator } = e
  t.match(c.q.model(model), { id: model, owner: owner.address, name: 'qa-7b', baseModel: 'llama', datanets: [{ datanetId: dn, weight: 1 }], minFee: '1000', receipts: 0, feesTotal: '0' })
  t.equal(c.q.models().length, 1)
  t.equal(c.q.model(h32('nope')), null)
  const r = expectFailure(t, c, owner, { type: 'registerModel', name: 'x', baseModel: 'y', datanets: [{ datanetId: dn, weight: 1 }, { datanetId: h32('nope'), weight: 1 }], minFee: 0n }, 'TX_ERROR_UNKNOWN_DATANET')
  t.match(r.error?.message, /body\[2\]\[1\]\[0\]/, 'names the provenance entry')
  t.equal(c.q.allowance(payer.address, operator.address), (10n * OPEN).toString())
  t.equal(c.run(payer, { type: 'approveOperator', operator: operator.address, amount: 7n }).status, 'ok')
  t.equal(c.q.allowance(payer.address, operator.address), '7', 'approve replaces the allowance')
})

t.test('submitReceipts: happy paths', async (t) => {
  const e = economy()
  const { c, operator, payer, model, c1, c2, dn, owner } = e
  const payerBefore = c.q.balance(payer.address)
  const r = c.run(operator, { type: 'submitReceipts', receipts: [e.receipt(10_000n, [{ contributionId: c1, weight: 1 }, { contributionId: c2, weight: 3 }]), e.receipt(2000n, [], operator.address)] })
  t.equal(r.status, 'ok')
  t.equal(c.q.balance(payer.address), payerBefore - 10_000n, 'the payer paid the fee through the allowance')
  t.equal(c.q.allowance(payer.address, operator.address), (10n * OPEN - 10_000n).toString(), 'the allowance decreased by the fee')
  t.equal(r.receipts.length, 2)
  const [a, b] = r.receipts
  t.same(a.payouts.map((p) => [p.role, p.amount]), [['contributor', 1250n], ['contributor', 3750n], ['modelOwner', 2000n], ['operator', 1500n], ['validators', 1000n], ['treasury', 500n]])
  t.same(b.payouts.map((p) => [p.role, p.address, p.amount]), [['datanetPool', dn, 1000n], ['modelOwner', owner.address, 400n], ['operator', operator.address, 300n], ['validators', null, 200n], ['treasury', c.chain.params.treasury, 100n]])
  t.match(c.q.model(model), { receipts: 2, feesTotal: '12000' })
  t.match(c.q.contribution(c1), { receipts: 1, weightSharePpm: 250_000 })
  t.match(c.q.contribution(c2), { receipts: 1, weightSharePpm: 750_000 })
})

t.test('submitReceipts: rejections, each reverting the whole body', async (t) => {
  const e = economy()
  const { c, operator, payer, c1, c3, c4, c5, model } = e
  const cases: [string, TxCall, string][] = [
    ['unknown model', { type: 'submitReceipts', receipts: [e.receipt(5000n, [], payer.address, h32('nope'))] }, 'TX_ERROR_UNKNOWN_MODEL'],
    ['fee below the model minFee', { type: 'submitReceipts', receipts: [e.receipt(999n)] }, 'TX_ERROR_FEE_BELOW_MODEL_MIN'],
    ['unknown contribution', { type: 'submitReceipts', receipts: [e.receipt(5000n, [{ contributionId: h32('nope'), weight: 1 }])] }, 'TX_ERROR_UNKNOWN_CONTRIBUTION'],
    ['pending contribution', { type: 'submitReceipts', receipts: [e.receipt(5000n, [{ contributionId: c4, weight: 1 }])] }, 'TX_ERROR_CONTRIBUTION_NOT_ACCEPTED'],
    ['rejected contribution', { type: 'submitReceipts', receipts: [e.receipt(5000n, [{ contributionId: c3, weight: 1 }])] }, 'TX_ERROR_CONTRIBUTION_NOT_ACCEPTED'],
    ['contribution outside the model', { type: 'submitReceipts', receipts: [e.receipt(5000n, [{ contributionId: c5, weight: 1 }])] }, 'TX_ERROR_ATTRIBUTION_OUTSIDE_MODEL'],
    ['allowance exceeded', { type: 'submitReceipts', receipts: [e.receipt(10n * OPEN + 1n)] }, 'TX_ERROR_ALLOWANCE_EXCEEDED'],
    ['no allowance (wrong signer for the payer)', { type: 'submitReceipts', receipts: [e.receipt(5000n, [], c.account(7).address)] }, 'TX_ERROR_ALLOWANCE_EXCEEDED'],
    ['a valid receipt then an invalid one', { type: 'submitReceipts', receipts: [e.receipt(5000n, [{ contributionId: c1, weight: 1 }]), e.receipt(6000n), e.receipt(999n)] }, 'TX_ERROR_FEE_BELOW_MODEL_MIN'],
  ]
  for (const [what, call, code] of cases) {
    const allowance = c.q.allowance(payer.address, operator.address)
    const payerBalance = c.q.balance(payer.address)
    const r = expectFailure(t, c, operator, call, code, what)
    t.equal(c.q.allowance(payer.address, operator.address), allowance, `${what}: allowance unchanged`)
    t.equal(c.q.balance(payer.address), payerBalance, `${what}: payer unchanged`)
    t.same(r.outcome.receipts, [], `${what}: no receipt recorded`)
  }
  t.match(c.q.model(model), { receipts: 0, feesTotal: '0' }, 'the model counted nothing')
  t.match(c.q.contribution(c1), { receipts: 0, earned: '0' }, 'the contribution counted nothing')

  // the message names the receipt and field
  const r = c.run(operator, { type: 'submitReceipts', receipts: [e.receipt(5000n), e.receipt(5000n, [{ contributionId: c1, weight: 1 }, { contributionId: c5, weight: 1 }])] })
  t.match(r.error, { code: 'TX_ERROR_ATTRIBUTION_OUTSIDE_MODEL', message: /^body\[1\]\[5\]\[1\]\[0\]/ })

  // payer with allowance but without the balance
  const poor = new KeyPair(sha256('poor payer'))
  c.run(e.owner, { type: 'transfer', to: poor.address, amount: 2n * FEE })
  c.run(poor, { type: 'approveOperator', operator: operator.address, amount: OPEN })
  const r2 = expectFailure(t, c, operator, { type: 'submitReceipts', receipts: [e.receipt(FEE + 1n, [], poor.address)] }, 'TX_ERROR_INSUFFICIENT_BALANCE', 'payer cannot pay')
  t.match(r2.error?.message, /^body\[0\]\[1\]/)
  t.equal(c.q.allowance(poor.address, operator.address), OPEN.toString(), 'allowance restored with the rest of the body')
})

t.test('claim with nothing to claim only pays the fee', async (t) => {
  const c = new TestChain()
  const r = c.run(c.account(0), { type: 'claim' })
  t.equal(r.status, 'ok')
  t.equal(c.q.balance(c.account(0).address), 1_000_000n * OPEN - FEE)
})

t.test('params limits: too many receipts or attributions make the block invalid', async (t) => {
  const genesis = buildDevnetGenesis({ validators: 1, accounts: 10, params: { maxReceiptsPerTx: 2, maxAttribution: 1 } })
  const c = new TestChain({}, genesis)
  const operator = c.account(2)
  const dn = c.run(c.account(0), { type: 'registerDatanet', name: 'd', metadataUri: '', contributionBond: 0n }).hash
  const model = c.run(c.account(0), { type: 'registerModel', name: 'm', baseModel: 'b', datanets: [{ datanetId: dn, weight: 1 }], minFee: 0n }).hash
  const rc = (i: number, attribution: { contributionId: string; weight: number }[] = []) =>
    ({ modelId: model, payer: operator.address, fee: 100n, inputHash: h32(`i${i}`), outputHash: h32(`o${i}`), attribution })
  const limits = { maxReceiptsPerTx: genesis.params.maxReceiptsPerTx, maxAttribution: genesis.params.maxAttribution }

  t.equal(c.run(operator, { type: 'submitReceipts', receipts: [rc(0), rc(1)] }).status, 'ok', 'two receipts are fine')
  const cases: [string, TxCall, string][] = [
    ['three receipts', { type: 'submitReceipts', receipts: [rc(0), rc(1), rc(2)] }, 'TX_ERROR_TOO_MANY_RECEIPTS'],
    ['two attributions', { type: 'submitReceipts', receipts: [rc(0, [{ contributionId: h32('a'), weight: 1 }, { contributionId: h32('b'), weight: 1 }])] }, 'TX_ERROR_TOO_MANY_ATTRIBUTIONS'],
  ]
  for (const [what, call, code] of cases) {
    const stx = c.tx(operator, call)
    t.throws(() => decodeSignedTx(stx.bytes, limits), { code }, `${what}: refused at decode with the chain's limits`)
    const root = c.root
    const snap = c.snapshot()
    t.throws(() => c.block([stx]), { code: 'BLOCK_ERROR_INVALID_TX', message: new RegExp(code) }, `${what}: the block is refused`)
    t.same(c.root, root, `${what}: root unchanged`)
    t.same(c.snapshot(), snap, `${what}: store unchanged`)
    c.resetNonces()
  }
})

t.test('envelope failures make the whole block invalid and apply nothing', async (t) => {
  const c = new TestChain()
  const a = c.account(0)
  const b = c.account(1)
  c.run(a, { type: 'transfer', to: b.address, amount: 1n })
  const good = c.tx(b, { type: 'transfer', to: a.address, amount: 1n })
  const cases: [string, () => ReturnType<TestChain['tx']>, string][] = [
    ['nonce replay', () => c.tx(a, { type: 'transfer', to: b.address, amount: 1n }, { nonce: 0 }), 'TX_ERROR_BAD_NONCE'],
    ['future nonce', () => c.tx(a, { type: 'transfer', to: b.address, amount: 1n }, { nonce: 5 }), 'TX_ERROR_BAD_NONCE'],
    ['wrong chain id', () => c.tx(a, { type: 'transfer', to: b.address, amount: 1n }, { nonce: 1, chainId: 'attrchain-other' }), 'TX_ERROR_WRONG_CHAIN'],
    ['fee below minTxFee', () => c.tx(a, { type: 'transfer', to: b.address, amount: 1n }, { nonce: 1, fee: FEE - 1n }), 'TX_ERROR_FEE_TOO_LOW'],
    ['fee above the balance', () => c.tx(new KeyPair(sha256('empty')), { type: 'claim' }, { nonce: 0 }), 'TX_ERROR_INSUFFICIENT_BALANCE'],
  ]
  for (const [what, make, code] of cases) {
    const root = c.root
    const snap = c.snapshot()
    const height = c.height
    t.throws(() => c.block([good, make()]), { name: 'BlockError', code: 'BLOCK_ERROR_INVALID_TX', meta: { index: 1 }, message: new RegExp(code) }, what)
    t.same(c.root, root, `${what}: root unchanged`)
    t.same(c.snapshot(), snap, `${what}: store unchanged, not even the good tx before it`)
    t.equal(c.q.meta().height, height, `${what}: height unchanged`)
  }
  t.throws(() => c.block([good, good]), { code: 'BLOCK_ERROR_INVALID_TX', message: /TX_ERROR_BAD_NONCE/ }, 'the same tx twice in a block')
  const prev = c.blocks.length
  c.block([good])
  t.equal(c.blocks.length, prev + 1)
  t.throws(() => executeBlock(c.store, c.chain, c.root, { ...c.blocks[c.blocks.length - 1] }), { code: 'BLOCK_ERROR_BAD_HEIGHT' }, 'a block at a height already applied')
  t.throws(() => c.block([good]), { code: 'BLOCK_ERROR_INVALID_TX', message: /TX_ERROR_BAD_NONCE/ }, 'replaying an included tx in a later block')
})

t.test('bad signatures and bad amounts never reach a block: decodeSignedTx refuses them', async (t) => {
  const c = new TestChain()
  const a = c.account(0)
  const stx = c.tx(a, { type: 'transfer', to: c.account(1).address, amount: OPEN })
  const forged = stx.bytes.slice()
  forged[forged.length - 1] ^= 0xff
  t.throws(() => decodeSignedTx(forged), { code: 'TX_ERROR_BAD_SIGNATURE' })
  const to = fromHex(c.account(1).address, 'to', 20)
  t.throws(() => decodeSignedTx(signRaw(a, rawUnsigned('transfer', [to, (MAX_AMOUNT + 1n).toString()]))), { code: 'TX_ERROR_BAD_AMOUNT', meta: { field: 'body[1]' } }, 'overflowing amount')
  t.throws(() => decodeSignedTx(signRaw(a, rawUnsigned('transfer', [to, '-1']))), { code: 'TX_ERROR_BAD_AMOUNT', meta: { field: 'body[1]' } }, 'negative amount')
  t.throws(() => decodeSignedTx(signRaw(a, rawUnsigned('transfer', [to, '1'], { fee: '-1' }))), { code: 'TX_ERROR_BAD_AMOUNT', meta: { field: 'fee' } }, 'negative fee')
  const ok = decodeSignedTx(signRaw(a, rawUnsigned('transfer', [to, MAX_AMOUNT.toString()])))
  const out = c.block([ok])
  t.equal(out.results[0].status, 'failed', 'an amount of 2^128 - 1 decodes and fails for lack of balance')
  t.equal(out.results[0].error?.code, 'TX_ERROR_INSUFFICIENT_BALANCE')
})
