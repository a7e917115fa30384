import t from 'tap'
import { devAccountKey, devValidatorKey } from '../../genesis/devnet.js'
import { receiptId } from '../../core/tx.js'
import {
  TxSender, registerDatanet, contribute, reviewContribution, registerModel, approveOperator, submitReceipts, claim,
  type AttrchainClient,
} from '../../rpc/index.js'
import { devnetHome, startNode, tempDir } from '../helpers/nodeProcess.js'

/**
 * The whole attribution economy through JSON-RPC against a real node
 * process: Datanet, three contributions (two accepted, one rejected), a
 * model, an approved operator, receipts with and without attribution, and
 * claims, with every balance, distribution, payout and total checked to the
 * unit. Fee split: contributors 50 %, model owner 20 %, operator 15 %,
 * validators 10 %, treasury 5 %.
 */
const OPEN = 10n ** 18n
const TREASURY = '0x6145f6d344b872c84e744d0fdbe6669c0ac70a90'
const hash32 = (b: number) => '0x' + b.toString(16).padStart(2, '0').repeat(32)

t.test('lifecycle of Datanets, models and receipts through JSON-RPC', async (t) => {
  const tmp = tempDir('attrchain-lifecycle-')
  const genesis = devnetHome(tmp.dir)
  const node = await startNode(tmp.dir, ['--block-time', '100'])
  t.teardown(async () => {
    await node.stop()
    await node.client.close()
    tmp.remove()
  })
  const client = node.client
  const fee = genesis.params.minTxFee
  const [curator, bob, carol, dave, owner, payer, op] = [0, 1, 2, 3, 4, 5, 6].map(devAccountKey)
  const sender = async (k: typeof curator) => {
    const s = new TxSender(client, k)
    await s.init()
    return s
  }
  const balance = async (c: AttrchainClient, a: string) => BigInt((await c.getAccount(a)).balance)
  const ok = async (s: TxSender, call: Parameters<TxSender['send']>[0]) => {
    const r = await s.send(call, { wait: 'commit' })
    t.equal(r.status, 'ok', `${call.type} committed: ${JSON.stringify(r.error ?? {})}`)
    return r
  }

  const cur = await sender(curator)
  const dn = await ok(cur, registerDatanet('medical-qa', 'ipfs://datanet', '1OPEN'))
  const datanetId = dn.hash
  const contributions: string[] = []
  for (const [i, k] of [bob, carol, dave].entries()) {
    const r = await ok(await sender(k), contribute(datanetId, hash32(i + 1), `ipfs://c${i}`))
    contributions.push(r.hash)
  }
  const [cBob, cCarol, cDave] = contributions
  const daveBefore = await balance(client, dave.address)
  const treasuryEarned = async () => BigInt((await client.attribution(TREASURY)).earned.treasury)
  const treasuryBeforeReview = await treasuryEarned()
  await ok(cur, reviewContribution(cBob, true, 1))
  await ok(cur, reviewContribution(cCarol, true, 3))
  await ok(cur, reviewContribution(cDave, false))
  t.equal(await balance(client, dave.address), daveBefore, 'a rejected bond is not returned')
  t.equal(await treasuryEarned(), treasuryBeforeReview + OPEN, 'the rejected bond went to the treasury')
  t.equal((await client.getContribution(cDave))!.status, 'rejected')
  const dnInfo = (await client.getDatanet(datanetId))!
  t.equal(dnInfo.accepted, 2)
  t.equal(dnInfo.totalWeight, '4')
  t.equal((await client.datanetContributions(datanetId, { status: 'accepted' }))!.length, 2)

  const own = await sender(owner)
  const model = await ok(own, registerModel('med-llm', 'llama-3-8b', [[datanetId, 1]], '1000'))
  const pay = await sender(payer)
  await ok(pay, approveOperator(op.address, '10OPEN'))
  t.equal((await client.getAllowance(payer.address, op.address)).amount, (10n * OPEN).toString())

  const before = {
    bob: await balance(client, bob.address), carol: await balance(client, carol.address),
    owner: await balance(client, owner.address), payer: await balance(client, payer.address), op: await balance(client, op.address),
  }
  const treasuryBeforeReceipts = await treasuryEarned()
  const opSender = await sender(op)
  const r = await ok(opSender, submitReceipts([
    { modelId: model.hash, payer: op.address, fee: '1000000', inputHash: hash32(0xa1), outputHash: hash32(0xb1), attribution: [[cBob, 1], [cCarol, 3]] },
    { modelId: model.hash, payer: payer.address, fee: '2000000', inputHash: hash32(0xa2), outputHash: hash32(0xb2) },
  ]))
  const height = r.height!

  // Receipt A: F = 1,000,000 → C 500,000 (bob 125,000, carol 375,000), owner 200,000, operator 150,000, validators 100,000, treasury 50,000.
  // Receipt B: F = 2,000,000 → C 1,000,000 to the Datanet pool, owner 400,000, operator 300,000, validators 200,000, treasury 100,000.
  const d = (await client.getDistribution(height))!
  const entry = (role: string, address: string) => d.entries.find((e) => e.role === role && e.address === address)?.amount
  t.equal(entry('contributor', bob.address), '125000')
  t.equal(entry('contributor', carol.address), '375000')
  t.equal(entry('datanetPool', datanetId), '1000000')
  t.equal(entry('modelOwner', owner.address), '600000')
  t.equal(entry('operator', op.address), '450000')
  t.equal(entry('treasury', TREASURY), '150000')
  t.equal(entry('validator', devValidatorKey(0).address), (fee + 300_000n + OPEN).toString(), 'validator: tx fee + validators\' share + block reward')
  const total = d.entries.reduce((s, e) => s + BigInt(e.amount), 0n)
  t.equal(total, fee + 3_000_000n + OPEN, 'the distribution is the fees plus the minted reward, to the unit')

  const ra = (await client.getReceipt(receiptId(r.hash, 0)))!
  t.same(ra.payouts.map((p) => [p.role, p.address, p.amount]), [
    ['contributor', bob.address, '125000'], ['contributor', carol.address, '375000'], ['modelOwner', owner.address, '200000'],
    ['operator', op.address, '150000'], ['validators', null, '100000'], ['treasury', TREASURY, '50000'],
  ], 'receipt A pays out its whole fee')
  const rb = (await client.getReceipt(receiptId(r.hash, 1)))!
  t.same(rb.payouts.map((p) => [p.role, p.address, p.amount]), [
    ['datanetPool', datanetId, '1000000'], ['modelOwner', owner.address, '400000'], ['operator', op.address, '300000'],
    ['validators', null, '200000'], ['treasury', TREASURY, '100000'],
  ], 'receipt B pays the Datanet pool')

  t.equal(await balance(client, bob.address), before.bob + 125_000n)
  t.equal(await balance(client, carol.address), before.carol + 375_000n)
  t.equal(await balance(client, owner.address), before.owner + 600_000n)
  t.equal(await balance(client, payer.address), before.payer - 2_000_000n, 'the payer paid receipt B')
  t.equal(await balance(client, op.address), before.op - fee - 1_000_000n + 450_000n, 'the operator paid its tx fee and receipt A, earned its share')
  t.equal((await client.getAllowance(payer.address, op.address)).amount, (10n * OPEN - 2_000_000n).toString(), 'allowance spent by the fee')
  t.equal((await client.getAccount(carol.address)).pendingRewards, '750000', 'carol has 3/4 of the pool to claim')

  const bobClaim = await ok(await sender(bob), claim())
  const carolClaim = await ok(await sender(carol), claim())
  t.ok(bobClaim.height! > height && carolClaim.height! > height)
  t.equal(await balance(client, bob.address), before.bob + 125_000n + 250_000n - fee)
  t.equal(await balance(client, carol.address), before.carol + 375_000n + 750_000n - fee)
  t.equal((await client.getAccount(carol.address)).pendingRewards, '0')

  const att = await client.attribution(carol.address)
  t.equal(att.earned.contributor, '1125000', 'carol: 375,000 attributed + 750,000 from the pool')
  const cc = (await client.getContribution(cCarol))!
  t.equal(cc.receipts, 1)
  t.equal(cc.earned, '1125000')
  const m = (await client.getModel(model.hash))!
  t.equal(m.receipts, 2)
  t.equal(m.feesTotal, '3000000')
  t.equal((await client.getDatanet(datanetId))!.earned, '1500000', 'Datanet earned: 500,000 attributed + 1,000,000 pool')
  t.equal(await treasuryEarned(), treasuryBeforeReceipts + 150_000n, 'the treasury earned exactly its receipt shares since')
})
