/**
 * Every earner's running total, kept ordered so that the concentration of
 * earnings (Gini coefficient, share of the top 10, share of the smallest
 * half) is read in O(log n) after each change, whatever the history length.
 *
 * An order-statistics treap keyed by (amount, address) whose nodes carry,
 * for their subtree, the count, the sum and Σ rank·amount (ranks 1-based,
 * ascending): the three quantities the Gini coefficient of sorted values
 * needs, G = 2·Σ i·x₍ᵢ₎ / (n·Σx) − (n + 1)/n. Updating one earner is a
 * delete and an insert, O(log n) expected. Priorities come from a hash of
 * the address, so the shape (not only the figures) is the same on every
 * node and every run.
 */
interface TreeNode {
  amount: bigint
  address: string
  priority: number
  left: TreeNode | null
  right: TreeNode | null
  size: number
  sum: bigint
  /** Σ rank·amount over this subtree, ranks counted within it */
  weighted: bigint
}

/** The concentration figures of a ranking: exact integers, ratios derived by `concentrationRatios`. */
export interface Concentration {
  /** earners with a positive total */
  count: number
  /** Σ of their totals, units */
  sum: bigint
  /** Σ rank·total with totals sorted ascending, ranks from 1 */
  weighted: bigint
  /** Σ of the 10 largest totals */
  top10: bigint
  /** Σ of the ⌊count/2⌋ smallest totals */
  bottom50: bigint
}

export const EMPTY_CONCENTRATION: Concentration = Object.freeze({ count: 0, sum: 0n, weighted: 0n, top10: 0n, bottom50: 0n })

const size = (t: TreeNode | null): number => (t === null ? 0 : t.size)
const sumOf = (t: TreeNode | null): bigint => (t === null ? 0n : t.sum)

function pull(t: TreeNode): TreeNode {
  const l = t.left
  const r = t.right
  const rankOfSelf = BigInt(size(l) + 1)
  t.size = size(l) + 1 + size(r)
  t.sum = sumOf(l) + t.amount + sumOf(r)
  t.weighted = (l === null ? 0n : l.weighted) + rankOfSelf * t.amount + (r === null ? 0n : r.weighted + rankOfSelf * r.sum)
  return t
}

/** (amount, address) order: ascending amount, ties by address. */
function less(aAmount: bigint, aAddress: string, b: TreeNode): boolean {
  return aAmount < b.amount || (aAmount === b.amount && aAddress < b.address)
}

/** Split into keys < (amount, address) and the rest. */
function split(t: TreeNode | null, amount: bigint, address: string): [TreeNode | null, TreeNode | null] {
  if (t === null) return [null, null]
  if (less(t.amount, t.address, { amount, address } as TreeNode)) {
    const [a, b] = split(t.right, amount, address)
    t.right = a
    return [pull(t), b]
  }
  const [a, b] = split(t.left, amount, address)
  t.left = b
  return [a, pull(t)]
}

function merge(a: TreeNode | null, b: TreeNode | null): TreeNode | null {
  if (a === null) return b
  if (b === null) return a
  if (a.priority > b.priority) {
    a.right = merge(a.right, b)
    return pull(a)
  }
  b.left = merge(a, b.left)
  return pull(b)
}

/** FNV-1a of the address: a deterministic treap priority. */
function priorityOf(address: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Σ of the k smallest amounts. */
function prefixSum(t: TreeNode | null, k: number): bigint {
  let s = 0n
  while (t !== null && k > 0) {
    const ls = size(t.left)
    if (k <= ls) {
      t = t.left
      continue
    }
    s += sumOf(t.left) + t.amount
    k -= ls + 1
    t = t.right
  }
  return s
}

/** `setMany` rebuilds the tree when the changes are at least 1/REBUILD_RATIO of the earners. */
export const REBUILD_RATIO = 16

export class EarningsRanking {
  private root: TreeNode | null = null
  private readonly totals = new Map<string, bigint>()

  /** An earner's current total (0 when unknown). */
  get(address: string): bigint {
    return this.totals.get(address) ?? 0n
  }

  get count(): number {
    return this.totals.size
  }

  /** Set an earner's total (0 removes it). Totals here only grow, but any value is accepted. */
  set(address: string, amount: bigint): void {
    if (amount < 0n) throw new RangeError(`negative earnings ${amount} for ${address}`)
    const old = this.totals.get(address)
    if (old === amount) return
    if (old !== undefined) {
      const [a, rest] = split(this.root, old, address)
      const [, c] = split(rest, old, address + '\u0000')
      this.root = merge(a, c)
      this.totals.delete(address)
    }
    if (amount === 0n) return
    const node: TreeNode = { amount, address, priority: priorityOf(address), left: null, right: null, size: 1, sum: amount, weighted: amount }
    const [a, b] = split(this.root, amount, address)
    this.root = merge(merge(a, node), b)
    this.totals.set(address, amount)
  }

  /**
   * Set many totals at once (a block's changes; later entries for the same
   * address win). Few changes go one by one, O(log n) each; when they are
   * at least 1/REBUILD_RATIO of the earners, the tree is rebuilt from all
   * totals instead: sort, then a Cartesian tree by priority, O(n log n)
   * without a split or merge. A treap's shape is fixed by its keys and
   * priorities, so both ways give the same tree and the same figures; a
   * block that pays 1000 of 1000 contributors took ≈ 60-100 ms one by one
   * (bench/flowCost.ts), dominated by the bigint sums of every split and
   * merge. Every amount is checked before anything changes.
   */
  setMany(changes: readonly (readonly [string, bigint])[]): void {
    for (const [address, amount] of changes) if (amount < 0n) throw new RangeError(`negative earnings ${amount} for ${address}`)
    if (changes.length * REBUILD_RATIO < this.totals.size) {
      for (const [address, amount] of changes) this.set(address, amount)
      return
    }
    for (const [address, amount] of changes) {
      if (amount === 0n) this.totals.delete(address)
      else this.totals.set(address, amount)
    }
    this.rebuild()
  }

  /** The tree of `totals`: nodes in key order, heap-ordered by priority (larger above, as `merge` puts them). */
  private rebuild(): void {
    const nodes: TreeNode[] = []
    for (const [address, amount] of this.totals) nodes.push({ amount, address, priority: priorityOf(address), left: null, right: null, size: 1, sum: amount, weighted: amount })
    nodes.sort((a, b) => (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    const stack: TreeNode[] = []
    for (const x of nodes) {
      let last: TreeNode | null = null
      while (stack.length > 0 && stack[stack.length - 1].priority < x.priority) last = stack.pop() as TreeNode
      x.left = last
      if (stack.length > 0) stack[stack.length - 1].right = x
      stack.push(x)
    }
    const root = stack.length > 0 ? stack[0] : null
    // children before parents: an explicit post-order, no recursion
    const order: TreeNode[] = []
    const todo: TreeNode[] = root ? [root] : []
    while (todo.length > 0) {
      const t = todo.pop() as TreeNode
      order.push(t)
      if (t.left) todo.push(t.left)
      if (t.right) todo.push(t.right)
    }
    for (let i = order.length - 1; i >= 0; i--) pull(order[i])
    this.root = root
  }

  /** The `k` largest totals, largest first (ties by address, descending), O(k + log n). */
  top(k: number): { address: string; amount: bigint }[] {
    const out: { address: string; amount: bigint }[] = []
    const stack: TreeNode[] = []
    let t = this.root
    while ((t !== null || stack.length > 0) && out.length < k) {
      while (t !== null) {
        stack.push(t)
        t = t.right
      }
      const n = stack.pop() as TreeNode
      out.push({ address: n.address, amount: n.amount })
      t = n.left
    }
    return out
  }

  /** The exact concentration figures of the totals held now, O(log n). */
  concentration(): Concentration {
    const t = this.root
    if (t === null) return EMPTY_CONCENTRATION
    const n = t.size
    return { count: n, sum: t.sum, weighted: t.weighted, top10: t.sum - prefixSum(t, Math.max(0, n - 10)), bottom50: prefixSum(t, Math.floor(n / 2)) }
  }
}

/** Ratios rounded to 6 decimals (display figures; the integers are exact). */
export interface ConcentrationRatios {
  /** Gini coefficient of the totals, 0 (equal) … (n−1)/n (one earner has everything); 0 without earnings */
  gini: number
  /** share of the 10 largest totals in the sum, 0 … 1 */
  top10Share: number
  /** share of the ⌊n/2⌋ smallest totals in the sum, 0 … 0.5 */
  bottom50Share: number
}

/** Quotient of two non-negative bigints as a number rounded to 6 decimals, exact in the integer part. */
function ratio(num: bigint, den: bigint): number {
  if (den === 0n) return 0
  return Number((num * 1_000_000n * 2n + den) / (2n * den)) / 1_000_000
}

/** Gini = (2·W − (n + 1)·S) / (n·S) (sorted ascending, ranks from 1); top-10 and bottom-50 % shares. */
export function concentrationRatios(c: Concentration): ConcentrationRatios {
  if (c.count === 0 || c.sum === 0n) return { gini: 0, top10Share: 0, bottom50Share: 0 }
  const n = BigInt(c.count)
  return { gini: ratio(2n * c.weighted - (n + 1n) * c.sum, n * c.sum), top10Share: ratio(c.top10, c.sum), bottom50Share: ratio(c.bottom50, c.sum) }
}
