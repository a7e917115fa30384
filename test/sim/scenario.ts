import type { Message, SimNode } from './node.js'
import { Prng } from './prng.js'
import type { World } from './world.js'

/**
 * Byzantine behaviours: `invalidProposer` proposes blocks the honest
 * validation rejects; `equivocator` sends a conflicting vote to half its
 * peers each time it votes; `twin` runs its key in two instances with
 * separate signers, which sign different votes whenever they see different
 * things; `silent` runs nothing (a scripted scenario forges its messages);
 * `liar` is a full node outside the set that claims height 1,000,000 and
 * answers block requests with a commit it forged.
 */
export type Behaviour = 'honest' | 'invalidProposer' | 'equivocator' | 'twin' | 'silent' | 'liar'

/** A scripted adversary: message schedules the random network would not find. */
export interface Script {
  readonly name: string
  /** delay of this message in ms, null to drop it, undefined to leave it to the scenario's network */
  route?(from: SimNode, to: SimNode, msg: Message, nowMs: number): number | null | undefined
  /** called once after every node started: forged messages are scheduled here */
  setup?(world: World): void
  /** the delay bound after GST when `route` delays beyond stableMaxDelayMs (economic invariant) */
  readonly maxDelayAfterGstMs?: number
}

export interface ValidatorSpec {
  readonly power: bigint
  readonly behaviour: Behaviour
  /** Height from which it is in the set (1: genesis); before that it follows as a full node. */
  readonly joinsAt: number
}

export interface Partition {
  readonly fromMs: number
  readonly untilMs: number
  /** Node indices on side A; everyone else is on side B. */
  readonly sideA: readonly number[]
}

export interface Crash {
  readonly node: number
  readonly atMs: number
  readonly restartAtMs: number
}

/** A staking change decided in block `height`, effective at `height + 2` (DESIGN §5). */
export interface PowerChange {
  readonly height: number
  readonly validator: number
  readonly power: bigint
}

export interface Scenario {
  readonly seed: number
  readonly validators: readonly ValidatorSpec[]
  readonly heights: number
  /** Until GST the network drops, partitions and delays a lot; after it, it behaves. */
  readonly gstMs: number
  readonly dropRate: number
  readonly duplicateRate: number
  readonly maxDelayMs: number
  readonly stableMaxDelayMs: number
  readonly partitions: readonly Partition[]
  readonly crashes: readonly Crash[]
  /** Directed links (from, to) four times slower until GST: a node that sees polkas late while others decide. */
  readonly slowLinks: readonly (readonly [number, number])[]
  readonly powerChanges: readonly PowerChange[]
  readonly gossipMs: number
  /** the driver's commit pause (timeout_commit) */
  readonly blockTimeMs: number
  /** nodes outside the validator set */
  readonly extraNodes?: readonly Behaviour[]
  readonly script?: Script
}

const BYZANTINE: Behaviour[] = ['invalidProposer', 'equivocator', 'twin']

/** Every scenario is a pure function of its seed. */
export function makeScenario(seed: number, heights: number): Scenario {
  const rng = new Prng(seed)
  const n = rng.pick([1, 2, 3, 4, 4, 4, 5, 6, 7])
  const equalStakes = rng.chance(0.4)
  const powers = Array.from({ length: n }, () => BigInt(equalStakes ? 10 : rng.int(1, 20)))
  const behaviours = chooseByzantine(rng, powers)
  const joiner = n >= 4 && rng.chance(0.2) ? pickJoiner(rng, behaviours, powers) : -1
  const validators = powers.map((power, i) => ({ power, behaviour: behaviours[i]!, joinsAt: i === joiner ? 3 : 1 }))
  const gstMs = rng.chance(0.2) ? 0 : rng.int(1000, 20_000)
  return {
    seed,
    validators,
    heights,
    gstMs,
    dropRate: rng.chance(0.3) ? 0 : rng.float() * 0.5,
    duplicateRate: rng.float() * 0.1,
    maxDelayMs: rng.int(10, 3000),
    stableMaxDelayMs: rng.int(5, 200),
    partitions: makePartitions(rng, n, gstMs),
    crashes: makeCrashes(rng, behaviours, gstMs),
    slowLinks: Array.from({ length: n < 2 ? 0 : rng.int(0, n) }, () => [rng.int(0, n - 1), rng.int(0, n - 1)] as const),
    powerChanges: makePowerChanges(rng, behaviours, heights, joiner),
    gossipMs: rng.int(200, 600),
    blockTimeMs: rng.int(0, 400),
  }
}

/** Byzantine validators hold less than 1/3 of the power at every height (changes only add honest power). */
function chooseByzantine(rng: Prng, powers: bigint[]): Behaviour[] {
  const behaviours: Behaviour[] = powers.map(() => 'honest')
  if (powers.length < 4 || rng.chance(0.3)) return behaviours
  const total = powers.reduce((a, b) => a + b, 0n)
  let byzantine = 0n
  for (let tries = 0; tries < 3; tries++) {
    const i = rng.int(0, powers.length - 1)
    if (behaviours[i] !== 'honest' || 3n * (byzantine + powers[i]!) >= total) continue
    behaviours[i] = rng.pick(BYZANTINE)
    byzantine += powers[i]!
  }
  return behaviours
}

/** A validator that joins at height 3, if the byzantine power stays below 1/3 without it. */
function pickJoiner(rng: Prng, behaviours: Behaviour[], powers: bigint[]): number {
  const honest = behaviours.flatMap((b, i) => (b === 'honest' ? [i] : []))
  if (honest.length < 3) return -1
  const joiner = rng.pick(honest)
  let total = 0n
  let byzantine = 0n
  powers.forEach((p, i) => {
    if (i !== joiner) total += p
    if (behaviours[i] !== 'honest') byzantine += p
  })
  return 3n * byzantine < total ? joiner : -1
}

function makePartitions(rng: Prng, n: number, gstMs: number): Partition[] {
  if (gstMs === 0 || n < 2) return []
  return Array.from({ length: rng.int(0, 4) }, () => {
    const fromMs = rng.int(0, gstMs - 1)
    const sideA = Array.from({ length: n }, (_, i) => i).filter(() => rng.chance(0.5))
    return { fromMs, untilMs: rng.int(fromMs + 1, gstMs), sideA }
  })
}

function makeCrashes(rng: Prng, behaviours: Behaviour[], gstMs: number): Crash[] {
  if (gstMs === 0) return []
  const honest = behaviours.flatMap((b, i) => (b === 'honest' ? [i] : []))
  return Array.from({ length: rng.int(0, 3) }, () => {
    const atMs = rng.int(0, gstMs - 1)
    return { node: rng.pick(honest), atMs, restartAtMs: rng.int(atMs + 1, gstMs) }
  })
}

function makePowerChanges(rng: Prng, behaviours: Behaviour[], heights: number, joiner: number): PowerChange[] {
  const honest = behaviours.flatMap((b, i) => (b === 'honest' && i !== joiner ? [i] : []))
  if (heights < 3 || honest.length === 0 || !rng.chance(0.3)) return []
  return [{ height: rng.int(1, heights - 2), validator: rng.pick(honest), power: BigInt(rng.int(20, 40)) }]
}
