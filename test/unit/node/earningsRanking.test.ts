import t from 'tap'
import { EarningsRanking, concentrationRatios, type Concentration } from '../../../node/earningsRanking.js'
import { prng } from '../../helpers/chain.js'

/** The figures recomputed from scratch: sort the positive totals and sum. */
function bruteForce(totals: Map<string, bigint>): Concentration {
  const xs = [...totals.values()].filter((x) => x > 0n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = xs.length
  let sum = 0n
  let weighted = 0n
  xs.forEach((x, i) => { sum += x; weighted += BigInt(i + 1) * x })
  const top10 = xs.slice(Math.max(0, n - 10)).reduce((s, x) => s + x, 0n)
  const bottom50 = xs.slice(0, Math.floor(n / 2)).reduce((s, x) => s + x, 0n)
  return { count: n, sum, weighted, top10, bottom50 }
}

/** Gini by its definition: Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² μ). */
function giniByDefinition(totals: bigint[]): number {
  const xs = totals.filter((x) => x > 0n).map(Number)
  const n = xs.length
  if (n === 0) return 0
  const mean = xs.reduce((s, x) => s + x, 0) / n
  let diff = 0
  for (const a of xs) for (const b of xs) diff += Math.abs(a - b)
  return diff / (2 * n * n * mean)
}

t.test('the ranking equals a recomputation from scratch after every change of a random stream', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rand = prng(seed)
    const r = new EarningsRanking()
    const totals = new Map<string, bigint>()
    let mismatches = 0
    for (let step = 0; step < 600; step++) {
      const address = `0x${Math.floor(rand() * 60).toString(16).padStart(40, '0')}`
      // mostly growth (earnings only grow), sometimes ties, large values and removals
      const roll = rand()
      const old = totals.get(address) ?? 0n
      const next = roll < 0.05 ? 0n : roll < 0.15 ? 1000n : roll < 0.2 ? old + 10n ** 30n : old + BigInt(Math.floor(rand() * 5000))
      r.set(address, next)
      if (next === 0n) totals.delete(address)
      else totals.set(address, next)
      const want = bruteForce(totals)
      const got = r.concentration()
      if (JSON.stringify(got, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) !== JSON.stringify(want, (_, v) => (typeof v === 'bigint' ? v.toString() : v))) {
        mismatches++
        t.fail(`seed ${seed} step ${step}: ${JSON.stringify(got, (_, v) => String(v))} != ${JSON.stringify(want, (_, v) => String(v))}`)
        break
      }
      t.equal(r.get(address), next === 0n ? 0n : next)
    }
    t.equal(mismatches, 0, `seed ${seed}: every step agrees`)
  }
})

t.test('the Gini coefficient equals its definition (mean absolute difference)', async (t) => {
  const rand = prng(42)
  for (let k = 0; k < 30; k++) {
    const r = new EarningsRanking()
    const values: bigint[] = []
    const n = 1 + Math.floor(rand() * 40)
    for (let i = 0; i < n; i++) {
      const v = BigInt(Math.floor(rand() * 1_000_000))
      values.push(v)
      r.set(`a${i}`, v)
    }
    const { gini } = concentrationRatios(r.concentration())
    t.ok(Math.abs(gini - giniByDefinition(values)) < 2e-6, `case ${k}: ${gini} vs ${giniByDefinition(values)}`)
  }
})

t.test('known distributions give known figures', async (t) => {
  const equal = new EarningsRanking()
  for (let i = 0; i < 20; i++) equal.set(`e${i}`, 5n)
  t.same(concentrationRatios(equal.concentration()), { gini: 0, top10Share: 0.5, bottom50Share: 0.5 })
  const one = new EarningsRanking()
  for (let i = 0; i < 3; i++) one.set(`z${i}`, 0n)
  one.set('rich', 100n)
  t.same(concentrationRatios(one.concentration()), { gini: 0, top10Share: 1, bottom50Share: 0 }, 'zero totals are not earners: one earner holds everything')
  const two = new EarningsRanking()
  two.set('a', 1n)
  two.set('b', 3n)
  t.same(concentrationRatios(two.concentration()), { gini: 0.25, top10Share: 1, bottom50Share: 0.25 })
  t.same(concentrationRatios(new EarningsRanking().concentration()), { gini: 0, top10Share: 0, bottom50Share: 0 }, 'no earners')
  t.throws(() => two.set('a', -1n), RangeError)
  t.equal(two.get('a'), 1n, 'a refused change leaves the total')
})
