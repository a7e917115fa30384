/**
 * CometBFT's weighted round-robin proposer selection (DESIGN §5; CometBFT
 * spec/consensus/proposer-selection.md and types/validator_set.go), on
 * bigint so that no clipping is ever needed. Entries are keyed by a string
 * whose order equals the byte order of the address (lowercase hex does), so
 * ties go to the smaller address as in CometBFT.
 */
export interface PriorityEntry {
  readonly key: string
  readonly power: bigint
  priority: bigint
}

/** CometBFT's PriorityWindowSizeFactor: priorities stay within 2 × total power. */
const PRIORITY_WINDOW_FACTOR = 2n

export function totalPower(entries: readonly { readonly power: bigint }[]): bigint {
  let sum = 0n
  for (const e of entries) sum += e.power
  return sum
}

/** Go's big.Int Div is Euclidean: for a positive divisor it floors. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b
  return a % b !== 0n && a < 0n ? q - 1n : q
}

/** RescalePriorities: divide (truncating, as Go's int64 `/`) so max − min ≤ diffMax. */
export function rescalePriorities(entries: PriorityEntry[], diffMax: bigint): void {
  if (diffMax <= 0n || entries.length === 0) return
  let max = entries[0]!.priority
  let min = max
  for (const e of entries) {
    if (e.priority > max) max = e.priority
    if (e.priority < min) min = e.priority
  }
  const diff = max - min
  if (diff <= diffMax) return
  const ratio = (diff + diffMax - 1n) / diffMax
  for (const e of entries) e.priority /= ratio
}

/** shiftByAvgProposerPriority: keeps the priorities' sum near zero after set changes. */
export function centerPriorities(entries: PriorityEntry[]): void {
  let sum = 0n
  for (const e of entries) sum += e.priority
  const avg = floorDiv(sum, BigInt(entries.length))
  for (const e of entries) e.priority -= avg
}

/** Highest priority wins; on a tie the smaller address (getValWithMostPriority). */
function mostPriority(entries: readonly PriorityEntry[]): PriorityEntry {
  let best = entries[0]!
  for (const e of entries) {
    if (e.priority > best.priority || (e.priority === best.priority && e.key < best.key)) best = e
  }
  return best
}

/** One election: everyone moves ahead by its power, the head pays the total. */
function incrementOnce(entries: PriorityEntry[], total: bigint): PriorityEntry {
  for (const e of entries) e.priority += e.power
  const proposer = mostPriority(entries)
  proposer.priority -= total
  return proposer
}

/**
 * IncrementProposerPriority(times): rescale and center once, then `times`
 * elections; mutates `entries` and returns the proposer of every election,
 * so that element r − 1 is the proposer of round r of a height.
 */
export function incrementProposerPriority(entries: PriorityEntry[], times: number): PriorityEntry[] {
  if (entries.length === 0 || !Number.isSafeInteger(times) || times <= 0) {
    throw new RangeError('incrementProposerPriority needs a non-empty set and times > 0')
  }
  const total = totalPower(entries)
  rescalePriorities(entries, PRIORITY_WINDOW_FACTOR * total)
  centerPriorities(entries)
  const proposers: PriorityEntry[] = []
  for (let i = 0; i < times; i++) proposers.push(incrementOnce(entries, total))
  return proposers
}

/**
 * The priority of a validator joining the set: −1.125 × the total power after
 * updates and before removals, so that leaving and re-joining never jumps
 * the queue (computeNewPriorities).
 */
export function joiningPriority(totalAfterUpdatesBeforeRemovals: bigint): bigint {
  return -(totalAfterUpdatesBeforeRemovals + (totalAfterUpdatesBeforeRemovals >> 3n))
}
