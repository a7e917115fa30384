import t from 'tap'
import fc from 'fast-check'
import { AdmissionRate, congestionThresholdMs, txWork, heldBlocks, BYTES_PER_RECEIPT } from '../../../node/admissionRate.js'
import { TX_WORK } from '../../../node/proposalBudget.js'

const opts = { targetIntervalMs: 2000, minRate: 500, burstSeconds: 0.5 }

function clock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 0
  return { now: () => ms, advance: (d) => { ms += d } }
}

/** Take txs of `bytes` for `ms` of simulated time, one attempt per ms; returns the work taken. */
function offer(a: AdmissionRate, c: ReturnType<typeof clock>, bytes: number, ms: number): number {
  let taken = 0
  for (let i = 0; i < ms; i++) {
    c.advance(1)
    if (a.take(bytes)) taken += txWork(bytes)
  }
  return taken
}

t.test('work units follow the proposal budget: TX_WORK per tx plus one per receipt-sized chunk', async (t) => {
  t.equal(txWork(344), TX_WORK + 2)
  t.equal(txWork(100 * BYTES_PER_RECEIPT), TX_WORK + 100)
})

t.test('heldBlocks: the proposals a mempool would fill, by whichever limit binds', async (t) => {
  const caps = { maxTxs: 20_000, maxBytes: 8 * 1024 * 1024, maxReceipts: 20_000, maxWork: Infinity }
  t.equal(heldBlocks({ txs: 10_000, bytes: 3_440_000, receipts: 10_000 }, caps), 0.5, 'one-receipt txs: the tx and receipt caps')
  t.equal(heldBlocks({ txs: 400, bytes: 8_000_000, receipts: 40_000 }, caps), 2, '100-receipt txs: the receipt cap')
  t.equal(heldBlocks({ txs: 10, bytes: 16 * 1024 * 1024, receipts: 0 }, caps), 2, 'large txs without receipts: the byte cap')
  t.equal(heldBlocks({ txs: 100, bytes: 2_000_000, receipts: 10_000 }, { ...caps, maxWork: 5250 }), (100 * TX_WORK + 10_000) / 5250, 'with a budget: its work units')
  t.equal(heldBlocks({ txs: 0, bytes: 0, receipts: 0 }, caps), 0, 'an empty mempool')
})

t.test('no limit while heights are healthy', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  t.equal(a.rate, Infinity)
  for (let h = 0; h < 5; h++) {
    t.equal(offer(a, c, 344, 1000), 1000 * txWork(344), 'every tx taken')
    a.onCommit(0)
  }
  t.equal(a.rate, Infinity)
  t.equal(a.congestedHeights, 0)
})

t.test('a height in round 1 halves the rate to half the intake seen, and healthy heights add it back', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  const intake = offer(a, c, 344, 1000) // 1 s at one tx per ms
  a.onCommit(1)
  t.equal(a.congestedHeights, 1)
  const cut = a.rate
  t.equal(cut, intake / 2, 'half the intake of the congested height')
  // ten healthy 1 s heights: in each the node takes no more than the rate (plus one burst), and the rate grows by a tenth of the intake before the cut
  let total = 0
  let bound = 0
  for (let h = 0; h < 10; h++) {
    const rate = a.rate
    const taken = offer(a, c, 344, 1000)
    t.ok(taken <= rate + rate * opts.burstSeconds + txWork(344), `height ${h}: took ${taken} at rate ${rate}`)
    total += taken
    bound += rate
    a.onCommit(0)
  }
  t.ok(total >= bound * 0.9, 'and does take up to it')
  t.equal(a.congestedHeights, 1)
  t.equal(a.rate, cut + 10 * (intake / 10), 'ten healthy heights add back the rate before the cut')
})

t.test('a slow height (over targetIntervalMs) counts as congested; off when the target is 0', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  offer(a, c, 344, 2500)
  a.onCommit(0)
  t.equal(a.congestedHeights, 1)
  t.ok(Number.isFinite(a.rate))
  const off = new AdmissionRate({ ...opts, targetIntervalMs: 0 }, c.now)
  offer(off, c, 344, 2500)
  off.onCommit(3)
  t.equal(off.rate, Infinity)
})

t.test('the rate never falls below minRate, and a tx larger than the burst still gets through', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  for (let h = 0; h < 20; h++) {
    offer(a, c, 344, 3000)
    a.onCommit(1)
  }
  t.equal(a.rate, opts.minRate)
  const huge = 1_000_000 // 5,005 units: ten times the burst
  let through = false
  for (let i = 0; i < 2000 && !through; i++) {
    c.advance(1)
    through = a.take(huge)
  }
  t.ok(through, 'taken once the bucket is full')
})

t.test('a congested height during which the node took less than minRate cuts nothing (startup, a peer away: not its intake)', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  // the devnet's first heights: a round-1 height with no tx_send at all
  c.advance(1800)
  a.onCommit(1)
  t.equal(a.congestedHeights, 1, 'counted as congested')
  t.equal(a.rate, Infinity, 'but no limit: it was not this node\'s intake')
  c.advance(1000)
  a.take(20_000) // 105 units in a 2.5 s height: 42 units/s
  c.advance(1500)
  a.onCommit(0)
  t.equal(a.rate, Infinity, 'nor a slow height with a trickle of txs')
  // the same node under a flood: its intake is what congests, and it is cut
  offer(a, c, 344, 2500)
  a.onCommit(1)
  t.ok(Number.isFinite(a.rate) && a.rate >= opts.minRate, `cut to ${a.rate}`)
})

t.test('retryAfterMs: 0 without a limit, else the time until the bucket holds the tx', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  t.equal(a.retryAfterMs(344), 0)
  offer(a, c, 344, 1000)
  a.onCommit(1)
  while (a.take(344)) c.advance(0)
  const wait = a.retryAfterMs(344)
  t.ok(wait > 0 && wait <= Math.ceil((txWork(344) / a.rate) * 1000), `wait ${wait} ms at rate ${a.rate}`)
  c.advance(wait)
  t.ok(a.take(344), 'taken once that time has passed')
})

t.test('retryAfterLaterMs: a batch\'s refused tail is told when the bucket holds all of it, at most a full bucket\'s time', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  t.equal(a.retryAfterLaterMs(7, 344), 7, 'no limit: the earlier hint')
  offer(a, c, 344, 1000)
  a.onCommit(1)
  while (a.take(344)) c.advance(0)
  const perTx = Math.ceil((txWork(344) / a.rate) * 1000)
  let hint = a.retryAfterMs(344)
  const first = hint
  for (let i = 1; i < 100; i++) {
    const next = a.retryAfterLaterMs(hint, 344)
    t.ok(next >= hint, 'never shrinks along the batch')
    hint = next
  }
  t.equal(hint, Math.min(first + 99 * perTx, opts.burstSeconds * 1000), `100 refused txs: ${hint} ms at rate ${a.rate}`)
  t.equal(a.retryAfterLaterMs(0, 100 * BYTES_PER_RECEIPT * 1000), opts.burstSeconds * 1000, 'a huge tail: capped at the time the bucket takes to fill')
})

t.test('refund gives back what a refused tx took', async (t) => {
  const c = clock()
  const a = new AdmissionRate(opts, c.now)
  offer(a, c, 344, 1000)
  a.onCommit(1)
  c.advance(10_000) // bucket full
  let n = 0
  while (a.take(344)) n++
  a.refund(344)
  t.ok(a.take(344), 'the refunded work is available again')
  t.ok(n > 0)
})

t.test('invariant: over any schedule of commits and offers, work taken under a limit ≤ rate × time + burst', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.record({ round: fc.nat(3), ms: fc.integer({ min: 1, max: 4000 }), bytes: fc.integer({ min: 100, max: 30_000 }) }), { minLength: 1, maxLength: 30 }),
    (steps) => {
      const c = clock()
      const a = new AdmissionRate(opts, c.now)
      for (const s of steps) {
        const rate = a.rate
        const taken = offer(a, c, s.bytes, s.ms)
        if (Number.isFinite(rate)) {
          const bound = rate * (s.ms / 1000) + rate * opts.burstSeconds + txWork(s.bytes)
          if (taken > bound) return false
        }
        a.onCommit(s.round)
        if (!(a.rate >= opts.minRate)) return false
      }
      return true
    },
  ), { numRuns: 200 })
})

t.test('canTake answers what take would do and takes nothing (tx_send load shedding asks it first)', async (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 100, max: 30_000 }), fc.boolean()), { maxLength: 300 }), (steps) => {
    const c = clock()
    const a = new AdmissionRate(opts, c.now)
    offer(a, c, 344, 2500)
    a.onCommit(1) // congested: a finite rate from here on
    if (!Number.isFinite(a.rate)) return false
    for (const [ms, bytes, ask] of steps) {
      c.advance(ms)
      if (ask) {
        const said = a.canTake(bytes)
        if (a.canTake(bytes) !== said) return false
        if (a.take(bytes) !== said) return false
      } else {
        a.take(bytes)
      }
    }
    return true
  }))
})

t.test('the congestion threshold is never under two block times (a 5 s block chain is not always congested)', async (t) => {
  t.equal(congestionThresholdMs(2000, 1000), 2000, 'the default devnet: 2 s')
  t.equal(congestionThresholdMs(2000, 200), 2000)
  t.equal(congestionThresholdMs(2000, 5000), 10_000, 'slow blocks: two block times')
  t.equal(congestionThresholdMs(0, 5000), 0, '0 keeps the limit off')
  // Healthy 5 s heights under the threshold: the rate stays unlimited.
  const c = clock()
  const a = new AdmissionRate({ ...opts, targetIntervalMs: congestionThresholdMs(2000, 5000) }, c.now)
  for (let h = 0; h < 5; h++) {
    c.advance(5000)
    a.onCommit(0)
  }
  t.equal(a.rate, Infinity)
})
