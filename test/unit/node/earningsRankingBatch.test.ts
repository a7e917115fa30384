import t from 'tap'
import { EarningsRanking, REBUILD_RATIO, type Concentration } from '../../../node/earningsRanking.js'
import { prng } from '../../helpers/chain.js'

/** The figures recomputed from scratch: sort the positive totals and sum. */
function bruteForce(totals: Map<string, bigint>): Concentration {
  const xs = [...totals.values()].filter((x) => x > 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = xs.length
  let sum = 0n
  let weighted = 0n
  xs.forEach((x, i) => { sum += x; weighted += BigInt(i + 1) * x })
  return { count: n, sum, weighted, top10: xs.slice(Math.max(0, n - 10)).reduce((s, x) => s + x, 0n), bottom50: xs.slice(0, Math.floor(n / 2)).reduce((s, x) => s + x, 0n) }
}

/**
 * setMany (a block's changes at once, rebuilding the tree when they are many)
 * against set one by one and against a recomputation, over random streams of
 * batches small and large, with removals (0) and ties.
 */
t.test('setMany equals set one by one and a recomputation, for small and large batches', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rnd = prng(seed)
    const batched = new EarningsRanking()
    const single = new EarningsRanking()
    const truth = new Map<string, bigint>()
    let rebuilds = 0
    let incremental = 0
    for (let step = 0; step < 60; step++) {
      const earners = 1 + Math.floor(rnd() * 400)
      // batch sizes from 1 to beyond the earners: both paths of setMany
      const k = step % 3 === 0 ? 1 + Math.floor(rnd() * 5) : 1 + Math.floor(rnd() * earners)
      const changes = new Map<string, bigint>()
      for (let i = 0; i < k; i++) {
        const address = `0x${Math.floor(rnd() * earners).toString(16).padStart(40, '0')}`
        changes.set(address, rnd() < 0.05 ? 0n : BigInt(Math.floor(rnd() * 50)) * 10n ** 15n)
      }
      const list = [...changes]
      if (list.length * REBUILD_RATIO < batched.count) incremental++
      else rebuilds++
      batched.setMany(list)
      for (const [a, v] of list) {
        single.set(a, v)
        if (v === 0n) truth.delete(a)
        else truth.set(a, v)
      }
      t.same(batched.concentration(), bruteForce(truth), `seed ${seed} step ${step}: figures equal a recomputation`)
      t.same(batched.top(1000), single.top(1000), `seed ${seed} step ${step}: same order as set one by one`)
      t.equal(batched.count, truth.size, 'count')
    }
    t.ok(rebuilds > 0 && incremental > 0, `seed ${seed}: both paths taken (${rebuilds} rebuilds, ${incremental} one by one)`)
  }
})

t.test('a negative amount anywhere in a batch changes nothing', async (t) => {
  const r = new EarningsRanking()
  r.setMany([['0xa', 5n], ['0xb', 7n]])
  const before = r.concentration()
  t.throws(() => r.setMany([['0xa', 9n], ['0xc', -1n]]), RangeError)
  t.same(r.concentration(), before, 'figures unchanged')
  t.equal(r.get('0xa'), 5n, 'earlier entries of the refused batch not applied')
})
