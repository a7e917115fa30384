import t from 'tap'
import { ProposalBudget, TX_WORK, defaultProposalBudgetOptions } from '../../../node/proposalBudget.js'

const opts = { timeoutProposeMs: 1000, timeoutProposeDeltaMs: 500, ...defaultProposalBudgetOptions }

t.test('the budget follows the measured execution cost: a slower node proposes less', async (t) => {
  const b = new ProposalBudget(opts)
  const block = (ms: number): void => {
    b.observe(200, 20_000, ms)
    b.committed(200, 20_000)
  }
  for (let i = 0; i < 4; i++) block(100) // fast 20,000-receipt blocks
  const before = b.limits(0)
  for (let i = 0; i < 30; i++) block(1000) // 1 s for a 20,000-receipt block: ~0.048 ms per work unit
  const slow = b.limits(0)
  t.ok(slow.maxReceipts < before.maxReceipts, 'fewer receipts once blocks are measured as slow')
  const ms = ProposalBudget.work(slow.maxTxs / 100, slow.maxReceipts) * b.costMsPerWork
  t.ok(ms <= 0.41 * 1000, `a block at the budget executes in about 40 % of timeoutPropose (${ms.toFixed(0)} ms)`)
  for (let i = 0; i < 30; i++) block(100)
  t.ok(b.limits(0).maxReceipts > slow.maxReceipts, 'more again once execution is fast')
})

t.test('the budget grows with the round like the propose timeout, so a slow height ends', async (t) => {
  const b = new ProposalBudget(opts)
  // slow blocks (0.57 ms per work unit): the round-3 budget stays within the slow-start bound of twice these blocks
  for (let i = 0; i < 10; i++) {
    b.observe(10, 1000, 600)
    b.committed(10, 1000)
  }
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

t.test('slow start: a proposal holds at most twice the work of the largest recent block, so a flood after an idle spell ramps up', async (t) => {
  const b = new ProposalBudget(opts)
  // fast blocks long ago: the cost estimate allows a large block …
  for (let i = 0; i < 4; i++) {
    b.observe(200, 20_000, 100)
    b.committed(200, 20_000)
  }
  t.equal(b.limits(0).work, 2 * ProposalBudget.work(200, 20_000), "twice the recent blocks (the cost alone would allow more)")
  // … then an idle spell of empty blocks
  for (let i = 0; i < 4; i++) b.committed(0, 0)
  t.equal(b.limits(0).work, opts.minWork, 'after idle: minWork')
  t.equal(b.limits(3).work, opts.minWork, 'in a later round too: the round grows the timeout, not the block')
  // each height holds what the last could: the budget doubles per block up to what the cost allows
  const sizes: number[] = []
  for (let h = 0; h < 12; h++) {
    const l = b.limits(0)
    sizes.push(l.work)
    b.observe(0, l.work, l.work * 0.005) // executed at the old speed
    b.committed(0, l.work)
  }
  t.same(sizes.slice(0, 4), [opts.minWork, 2 * opts.minWork, 4 * opts.minWork, 8 * opts.minWork], `doubling: ${sizes.join(', ')}`)
  t.equal(sizes[11], Math.floor((opts.fraction * opts.timeoutProposeMs) / b.costMsPerWork), 'until the measured cost binds again')
})

t.test('a proposal may always hold one tx of maxReceiptsPerTx receipts, however small the budget (slow start after idle, a slow node)', async (t) => {
  const b = new ProposalBudget({ ...opts, maxTxReceipts: 1000 })
  for (let i = 0; i < 4; i++) b.committed(0, 0) // idle: slow start at its floor
  t.ok(b.limits(0).maxReceipts >= 1000, `idle: ${b.limits(0).maxReceipts} receipts`)
  for (let i = 0; i < 50; i++) b.observe(1, 1000, 60_000) // and very slow
  t.ok(b.limits(0).maxReceipts >= 1000 && b.limits(0).maxTxs >= 1, `slow: ${b.limits(0).maxReceipts} receipts`)
})

t.test('slow start follows committed blocks only: a proposal that failed its round does not raise the bound', async (t) => {
  const b = new ProposalBudget(opts)
  for (let i = 0; i < 4; i++) {
    b.observe(0, 5000, 50)
    b.committed(0, 5000)
  }
  const bound = b.limits(0).work
  t.equal(bound, 10_000, 'twice the committed blocks')
  b.observe(0, bound, 100) // the round-0 proposal, validated here; its round failed all the same (contention, transfer)
  t.ok(b.limits(1).work <= bound, `the round-1 proposal is not larger (${b.limits(1).work})`)
})

t.test('a late proposer proposes less: lateness takes half of itself off the budget, never below the floor', async (t) => {
  const b = new ProposalBudget(opts)
  // 0.02 ms per work unit measured; slow start allows far more than the budget
  for (let i = 0; i < 4; i++) {
    b.observe(1000, 100_000, 0.02 * ProposalBudget.work(1000, 100_000))
    b.committed(1000, 100_000)
  }
  const onTime = b.limits(0).work
  t.equal(onTime, Math.floor((0.4 * 1000) / 0.02), 'on time: 40 % of the propose timeout')
  t.equal(b.limits(0, 0).work, onTime, 'lateMs 0 is on time')
  t.equal(b.limits(0, 400).work, Math.floor((0.4 * 1000 - 200) / 0.02), '400 ms late: 200 ms of budget left')
  t.ok(b.limits(0, 400).work * 2 * 0.02 + 400 <= 0.8 * 1000, 'build + validation + lateness stay within the timeout less the transfer share')
  t.equal(b.limits(0, 800).work, opts.minWork, '800 ms late: nothing left but the floor')
  t.equal(b.limits(0, 60_000).work, opts.minWork, 'far past the timeout: the floor')
  t.equal(b.limits(0, -50).work, onTime, 'a negative lateness (clock skew) counts as none')
  t.ok(b.limits(1, 400).work > b.limits(0, 400).work, 'a later round\'s longer timeout leaves more')
})
