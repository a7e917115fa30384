import { runSeed, type RunResult } from './world.js'

export interface SweepSummary {
  readonly seeds: number
  readonly heights: number
  readonly roundsPerHeight: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly violations: number
  readonly failedSeeds: number[]
  readonly evidence: number
  /** (height, honest validator) pairs whose presence in the canonical commit was checked */
  readonly economicChecks: number
  readonly wallMs: number
  readonly slowestSeed: {
    readonly seed: number
    readonly validators: number
    readonly byzantine: string[]
    readonly gstMs: number
    readonly virtualMs: number
    readonly wallMs: number
    readonly maxRound: number
    readonly messages: number
  } | null
}

export async function runSeeds(from: number, count: number, heights: number, onResult: (r: RunResult) => void = () => undefined): Promise<RunResult[]> {
  const results: RunResult[] = []
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSeed(seed, heights)
    onResult(r)
    results.push(r)
  }
  return results
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** The one-line summary of a sweep; the slowest seed is the one that took the most virtual time after GST. */
export function summarize(results: RunResult[]): SweepSummary {
  const rounds = results.flatMap((r) => r.rounds.map((x) => x + 1)).sort((a, b) => a - b)
  const failed = results.filter((r) => r.violations.length > 0)
  const slowest = results.reduce<RunResult | null>((a, r) => (!a || r.virtualMs - r.gstMs > a.virtualMs - a.gstMs ? r : a), null)
  return {
    seeds: results.length,
    heights: results.reduce((a, r) => a + r.heights, 0),
    roundsPerHeight: { p50: percentile(rounds, 50), p99: percentile(rounds, 99), max: rounds.at(-1) ?? 0 },
    violations: results.reduce((a, r) => a + r.violations.length, 0),
    failedSeeds: failed.map((r) => r.seed),
    evidence: results.reduce((a, r) => a + r.evidence, 0),
    economicChecks: results.reduce((a, r) => a + r.economicChecks, 0),
    wallMs: results.reduce((a, r) => a + r.wallMs, 0),
    slowestSeed: slowest && {
      seed: slowest.seed,
      validators: slowest.validators,
      byzantine: slowest.byzantine,
      gstMs: slowest.gstMs,
      virtualMs: slowest.virtualMs,
      wallMs: slowest.wallMs,
      maxRound: Math.max(0, ...slowest.rounds),
      messages: slowest.messages,
    },
  }
}
