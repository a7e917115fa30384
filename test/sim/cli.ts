import { lockAttack, lyingPeer, shrinkToOne, slowValidators } from './scripted.js'
import type { Scenario } from './scenario.js'
import { summarize, runSeeds } from './sweep.js'
import { World, runSeed } from './world.js'

/**
 * `npm run sim -- --seed S [--heights N] [--verbose]` reproduces one run
 * exactly; `npm run sim -- --seeds N [--from S]` runs a sweep and prints a
 * one-line JSON summary; `npm run sim -- --scenario NAME` runs one scripted
 * scenario. Exit code 1 when any invariant was violated.
 */
const SCRIPTED: Record<string, () => Scenario> = {
  lock: () => lockAttack('lock'),
  'valid-round': () => lockAttack('validRound'),
  'lying-peer': () => lyingPeer(),
  'slow-validator': () => slowValidators(),
  'shrink-to-one': () => shrinkToOne(),
}

const USAGE = `usage: npm run sim -- [options]
  --seed S            run one seed and print its result as JSON
  --seeds N           run a sweep of N seeds (default 100) and print a JSON summary
  --from S            first seed of the sweep (default 1)
  --heights N         heights per run (default 8)
  --scenario NAME     run a scripted scenario: ${Object.keys(SCRIPTED).join(', ')}
  --help              this text
exit code 1 when any invariant was violated`

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE)
    return
  }
  const scripted = arg('scenario')
  if (scripted !== undefined) {
    const make = SCRIPTED[scripted]
    if (!make) {
      console.error(`unknown scenario ${scripted}\n${USAGE}`)
      process.exitCode = 2
      return
    }
    const r = await new World(make()).run()
    console.log(JSON.stringify(r))
    process.exitCode = r.violations.length > 0 ? 1 : 0
    return
  }
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
