import { summarize, runSeeds } from './sweep.js'
import { runSeed } from './world.js'

/**
 * `npm run sim -- --seed S [--heights N] [--verbose]` reproduces one run
 * exactly; `npm run sim -- --seeds N [--from S]` runs a sweep and prints a
 * one-line JSON summary. Exit code 1 when any invariant was violated.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main(): Promise<void> {
  const heights = Number(arg('heights') ?? 8)
  const one = arg('seed')
  if (one !== undefined) {
    const r = await runSeed(Number(one), heights)
    console.log(JSON.stringify(r))
    process.exitCode = r.violations.length > 0 ? 1 : 0
    return
  }
  const seeds = Number(arg('seeds') ?? 100)
  const from = Number(arg('from') ?? 1)
  const results = await runSeeds(from, seeds, heights, (r) => {
    if (r.violations.length > 0) console.error(`seed ${r.seed} FAILED (reproduce: npm run sim -- --seed ${r.seed} --heights ${heights}):\n  ${r.violations.join('\n  ')}`)
  })
  const summary = summarize(results)
  console.log(JSON.stringify(summary))
  process.exitCode = summary.violations > 0 ? 1 : 0
}

await main()
