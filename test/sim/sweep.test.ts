import t from 'tap'
import { runSeeds, summarize } from './sweep.js'

/**
 * The CI sweep (issue 4): a slice of the big sweep that fits in well under a
 * minute. Any failing seed is printed with the command that reproduces it.
 */
const SEEDS = 500
const HEIGHTS = 8

t.test(`deterministic simulation: ${SEEDS} seeds × ${HEIGHTS} heights, no invariant violated`, async (t) => {
  const results = await runSeeds(1, SEEDS, HEIGHTS)
  for (const r of results) {
    if (r.violations.length > 0) t.fail(`seed ${r.seed}: npm run sim -- --seed ${r.seed} --heights ${HEIGHTS}\n  ${r.violations.join('\n  ')}`)
  }
  const summary = summarize(results)
  t.comment(JSON.stringify(summary))
  t.equal(summary.violations, 0, 'agreement, validity, liveness and evidence hold on every seed')
  t.equal(results.filter((r) => r.heights < HEIGHTS).length, 0, 'every run decided every height')
  t.ok(summary.economicChecks > 0, 'the economic invariant was exercised')
  t.ok(summary.evidence > 0, 'double signing was detected')
})

t.test('a seed reproduces exactly', async (t) => {
  const [a] = await runSeeds(4242, 1, HEIGHTS)
  const [b] = await runSeeds(4242, 1, HEIGHTS)
  t.same({ ...a!, wallMs: 0 }, { ...b!, wallMs: 0 })
})
