/**
 * @ethereumjs/mpt for comparison with bench/stateTree.ts (issue 15: measured before choosing the state tree):
 * the same N keys, U updates in one batch, proof size and verify time. Prints one JSON line.
 *   node --import tsx bench/stateTreeMpt.ts [N=1000000]
 */
import { createMPT, createMerkleProof, verifyMerkleProof } from '@ethereumjs/mpt'
import { createHash } from 'node:crypto'
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())
const N = Number(process.argv[2] ?? 1_000_000), U = 10_000
const enc = new TextEncoder()
const val = (i: number, v: number) => enc.encode(`value-${i}-${v}-`.padEnd(60, 'x'))
const opts = { useKeyHashing: true, useKeyHashingFunction: sha }
const t0 = performance.now()
const trie = await createMPT(opts as never)
const BATCH = 10_000
for (let i = 0; i < N; i += BATCH) {
  const ops = [] as { type: 'put'; key: Uint8Array; value: Uint8Array }[]
  for (let j = i; j < Math.min(N, i + BATCH); j++) ops.push({ type: 'put', key: enc.encode(`acct/${j}`), value: val(j, 0) })
  await trie.batch(ops)
}
const tBuild = performance.now() - t0
const t1 = performance.now()
const ops = [] as { type: 'put'; key: Uint8Array; value: Uint8Array }[]
for (let k = 0; k < U; k++) { const j = (k * 7919) % N; ops.push({ type: 'put', key: enc.encode(`acct/${j}`), value: val(j, 1) }) }
await trie.batch(ops)
const root = trie.root()
const tUpd = performance.now() - t1
let bytes = 0, nodes = 0; const P = 200
const proofs = [] as Uint8Array[][]
for (let k = 0; k < P; k++) { const p = await createMerkleProof(trie, enc.encode(`acct/${(k * 104729) % N}`)); proofs.push(p); nodes += p.length; bytes += p.reduce((s, x) => s + x.length, 0) }
const t2 = performance.now()
for (let k = 0; k < P; k++) { const v = await verifyMerkleProof(enc.encode(`acct/${(k * 104729) % N}`), proofs[k], { ...opts } as never); if (!v) throw new Error('bad') }

const tVer = (performance.now() - t2) / P
console.log(JSON.stringify({ lib: '@ethereumjs/mpt 10.1.3 (sha256 key hashing, MapDB)', N, buildMs: Math.round(tBuild), updates: U, updateMs: Math.round(tUpd), proofNodes: nodes / P, proofBytes: bytes / P, verifyMs: +tVer.toFixed(3), rss: Math.round(process.memoryUsage().rss / 1e6), root: Buffer.from(root).toString('hex').slice(0, 16) }))
