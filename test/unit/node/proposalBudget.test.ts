import t from 'tap'
import { ProposalBudget, TX_WORK, defaultProposalBudgetOptions } from '../../../node/proposalBudget.js'

const opts = { timeoutProposeMs: 1000, timeoutProposeDeltaMs: 500, ...defaultProposalBudgetOptions }

t.test('the budget follows the measured execution cost: a slower node proposes less', async (t) => {
  const b = new ProposalBudget(opts)
  const before = b.limits(0)
  for (let i = 0; i < 30; i++) b.observe(200, 20_000, 1000) // 1 s for a 20,000-receipt block: ~0.048 ms per work unit
  const slow = b.limits(0)
  t.ok(slow.maxReceipts < before.maxReceipts, 'fewer receipts once blocks are measured as slow')
  const ms = ProposalBudget.work(slow.maxTxs / 100, slow.maxReceipts) * b.costMsPerWork
  t.ok(ms <= 0.41 * 1000, `a block at the budget executes in about 40 % of timeoutPropose (${ms.toFixed(0)} ms)`)
  for (let i = 0; i < 30; i++) b.observe(200, 20_000, 100)
  t.ok(b.limits(0).maxReceipts > slow.maxReceipts, 'more again once execution is fast')
})

t.test('the budget grows with the round like the propose timeout, so a slow height ends', async (t) => {
  const b = new ProposalBudget(opts)
  for (let i = 0; i < 10; i++) b.observe(10, 1000, 200)
  const r = [0, 1, 2, 3].map((round) => b.limits(round).maxReceipts)
  t.ok(r[0]! < r[1]! && r[1]! < r[2]! && r[2]! < r[3]!, `increasing: ${r.join(' < ')}`)
})

t.test('one-receipt txs are limited by their tx cost; tiny blocks and nonsense timings are not learnt from', async (t) => {
  const b = new ProposalBudget(opts)
  const l = b.limits(0)
  t.ok(l.maxTxs * (TX_WORK + 1) <= l.work, 'a block of one-receipt txs stays within the work budget')
  const cost = b.costMsPerWork
  b.observe(1, 1, 500)
  b.observe(100, 10_000, Number.NaN)
  b.observe(100, 10_000, -5)
  t.equal(b.costMsPerWork, cost, 'unchanged')
  for (let i = 0; i < 50; i++) b.observe(1000, 1000, 60_000)
  t.equal(b.limits(0).work, opts.minWork, 'never below minWork, however slow')
})
