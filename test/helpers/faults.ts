import type { Test } from 'tap'
import type { Network, NetNode } from './network.js'

/**
 * Network and process faults for the e2e fault tests (issue 12): seeded
 * randomness, partitions over the per-pair proxies of `startNetwork({links})`,
 * and a fork check over real nodes.
 */

/** mulberry32: a fault schedule is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Seed from `ATTRCHAIN_FAULT_SEED` (decimal or 0x…), else `fallback`; tests print it so a failure can be replayed. */
export function faultSeed(fallback: number): number {
  const s = process.env.ATTRCHAIN_FAULT_SEED
  return s ? Number(s) >>> 0 : fallback
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Indexes of node pairs (i < j) that are on different sides of `sides`. */
function crossing(sides: number[][]): [number, number][] {
  const side = new Map<number, number>()
  for (const [k, g] of sides.entries()) for (const i of g) side.set(i, k)
  const pairs: [number, number][] = []
  for (const i of side.keys()) for (const j of side.keys()) if (i < j && side.get(i) !== side.get(j)) pairs.push([i, j])
  return pairs
}

/**
 * Partition the validators into `sides` (indexes into `net.nodes`): both
 * proxies of every crossing pair cut their connections and refuse new ones
 * until `heal`. Nodes on one side still reach each other.
 */
export function partition(net: Network, sides: number[][]): void {
  for (const [i, j] of crossing(sides)) {
    net.links[i][j]!.block()
    net.links[j][i]!.block()
  }
}

/** Every proxy forwards again; nodes redial through them on their bootstrap backoff. */
export function heal(net: Network): void {
  for (const l of net.links.flat()) l?.restore()
}

/** Drop a link's gossip: cut the live connections of the pair (i, j) in both directions. Returns how many were cut. */
export function cutLink(net: Network, i: number, j: number): number {
  return net.links[i][j]!.cut() + net.links[j][i]!.cut()
}

export async function heights(nodes: NetNode[]): Promise<number[]> {
  return Promise.all(nodes.map(async (n) => (n.running() ? (await n.client.status()).height : -1)))
}

/**
 * No fork: every node holds the same block hash and state root at every
 * height it has. `seen` keeps the first (height → hash/root) and
 * `checked` each node's verified prefix, so calling this repeatedly only
 * reads new heights (plus `recheck` heights below a node's prefix, e.g.
 * after a node was killed). Returns the lowest head among `nodes`.
 */
export class ForkCheck {
  private readonly seen = new Map<number, { hash: string; root: string; by: string }>()
  private readonly checked = new Map<string, number>()
  /** (node, height) comparisons made */
  comparisons = 0

  async check(t: Test, nodes: NetNode[], recheck: NetNode[] = [], recheckDepth = 20): Promise<number> {
    for (const n of recheck) this.checked.set(n.name, Math.max(0, (this.checked.get(n.name) ?? 0) - recheckDepth))
    let low = Infinity
    for (const n of nodes) {
      const head = (await n.client.status()).height
      low = Math.min(low, head)
      for (let h = (this.checked.get(n.name) ?? 0) + 1; h <= head; h++) {
        const b = await n.client.getBlock(h)
        this.comparisons++
        if (b === null) {
          t.fail(`${n.name} has no block ${h} below its head ${head}`)
          return low
        }
        const first = this.seen.get(h)
        if (first === undefined) this.seen.set(h, { hash: b.hash, root: b.header.stateRoot, by: n.name })
        else if (first.hash !== b.hash || first.root !== b.header.stateRoot) {
          t.fail(`fork at height ${h}: ${first.by} has ${first.hash} (root ${first.root}), ${n.name} has ${b.hash} (root ${b.header.stateRoot})`)
          return low
        }
        this.checked.set(n.name, h)
      }
    }
    return low
  }

  /** Heights compared on at least two nodes. */
  get heights(): number {
    return this.seen.size
  }
}
