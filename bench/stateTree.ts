/**
 * State tree micro-benchmark (issue 15): build a tree of N keys, apply one
 * batch of U updates, then prove and verify P keys. Prints one JSON line.
 *   node --import tsx bench/stateTree.ts [N=1000000] [U=10000]
 */
import { StateTree } from '../state/stateTree.js'
import { verifyStateProof } from '../core/stateProof.js'

const N = Number(process.argv[2] ?? 1_000_000)
const U = Number(process.argv[3] ?? 10_000)
const P = 1000
const enc = new TextEncoder()
const val = (i: number, v: number): Uint8Array => enc.encode(`value-${i}-${v}-`.padEnd(60, 'x'))
const key = (i: number): string => `acct/${i}`

function* entries(): Iterable<[string, Uint8Array]> {
  for (let i = 0; i < N; i++) yield [key(i), val(i, 0)]
}

let t = performance.now()
const tree = StateTree.ofEntries(entries())
const buildMs = performance.now() - t
const writes: [string, Uint8Array | null][] = []
for (let k = 0; k < U; k++) {
  const j = (k * 7919) % N
  writes.push([key(j), val(j, 1)])
}
t = performance.now()
const up = tree.update(writes)
const updateMs = performance.now() - t
const root = up.tree.root
const proofs: Uint8Array[][] = []
let bytes = 0
let nodes = 0
t = performance.now()
for (let k = 0; k < P; k++) {
  const p = up.tree.prove(key((k * 104729) % N))
  proofs.push(p)
  nodes += p.length
  bytes += p.reduce((s, x) => s + x.length, 0)
}
const proveMs = (performance.now() - t) / P
t = performance.now()
for (let k = 0; k < P; k++) if (verifyStateProof(root, key((k * 104729) % N), proofs[k]) === null) throw new Error('not proven')
const verifyMs = (performance.now() - t) / P
console.log(JSON.stringify({
  tree: 'attrchain compacted sparse Merkle tree (sha256)', N, buildMs: Math.round(buildMs), updates: U, updateMs: Math.round(updateMs),
  createdNodes: up.created.length, proofNodes: nodes / P, proofBytes: bytes / P, proveMs: +proveMs.toFixed(4), verifyMs: +verifyMs.toFixed(4),
  heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
}))
