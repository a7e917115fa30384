import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'

/**
 * Shared settings of the property-based fuzz tests (test/fuzz/*.test.ts).
 *
 * CI is deterministic: every run uses the same seed and the case counts
 * written in each test. To fuzz longer locally:
 *   FUZZ_RUNS=20 npx tap test/fuzz            # 20× the cases of every target
 *   FUZZ_SEED=12345 npx tap test/fuzz         # another fixed seed
 *   FUZZ_SEED=random npx tap test/fuzz        # a fresh seed, printed with any failure
 * A failure prints fast-check's seed and path (replay them with FUZZ_SEED
 * and the shrunk counterexample); a real crasher goes into the target's
 * corpus file under test/fuzz/corpus/, replayed on every run.
 */
export const FUZZ_SEED: number = (() => {
  const s = process.env.FUZZ_SEED
  if (s === undefined || s === '') return 0x5eed_a77c
  if (s === 'random') return (Math.random() * 0x7fffffff) | 0
  const n = Number(s)
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer or "random", got ${s}`)
  return n
})()

const SCALE: number = (() => {
  const s = process.env.FUZZ_RUNS
  if (s === undefined || s === '') return 1
  const n = Number(s)
  if (!(n > 0)) throw new Error(`FUZZ_RUNS must be a positive number (a multiplier of the CI case counts), got ${s}`)
  return n
})()

/** `base` cases (the CI count) times FUZZ_RUNS. */
export function runs(base: number): number {
  return Math.max(1, Math.round(base * SCALE))
}

/** fast-check parameters: the run's seed, `base` × FUZZ_RUNS cases, no shrinking past 200 steps (keeps a failing CI run short). */
export function params(base: number, extra: fc.Parameters<unknown> = {}): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: runs(base), endOnFailure: false, ...extra }
}

/** A corpus entry's input: hex, or a large input described compactly (prefix ‖ repeat×times ‖ suffix, all hex). */
export type CorpusBytes = string | { prefix?: string; repeat: string; times: number; suffix?: string }

export function corpusBytes(b: CorpusBytes): Uint8Array {
  if (typeof b === 'string') return Buffer.from(b.replace(/^0x/, ''), 'hex')
  const rep = Buffer.from(b.repeat, 'hex')
  return Buffer.concat([Buffer.from(b.prefix ?? '', 'hex'), ...Array.from({ length: b.times }, () => rep), Buffer.from(b.suffix ?? '', 'hex')])
}

/** A corpus file of test/fuzz/corpus/ (an array of entries, each with a `name` and a `why`). */
export function loadCorpus<T extends { name: string }>(file: string): T[] {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./corpus/${file}`, import.meta.url)), 'utf8')) as T[]
}

/** Counts cases per target, printed at the end of each file (the closing note's figures). */
export class CaseCounter {
  private readonly counts = new Map<string, number>()
  hit(target: string): void {
    this.counts.set(target, (this.counts.get(target) ?? 0) + 1)
  }
  get(target: string): number {
    return this.counts.get(target) ?? 0
  }
  summary(): string {
    return [...this.counts].map(([k, v]) => `${k}: ${v}`).join(', ')
  }
}
