import { AttrchainError } from '../core/errors.js'
import { utf8, bytesEqual, compareBytes } from '../core/bytes.js'
import {
  EMPTY_ROOT, TERMINAL_EMPTY, TERMINAL_OTHER_LEAF, TERMINAL_VALUE, keyPath, valueHash, leafHash, branchHash, bitAt,
} from '../core/stateProof.js'

/**
 * The authenticated state (state root v2): a compacted binary sparse Merkle
 * tree over every key of the StateStore. Hashing, node layout and proof
 * format are defined in core/stateProof.ts (verifyStateProof); this module
 * holds the tree itself.
 *
 * Versions are immutable and share structure (path copying): `update`
 * returns a new version and the nodes it created, the old version stays
 * valid and provable. Everything is synchronous, so block execution (a pure,
 * synchronous function) computes the root itself, and the proposer, every
 * validator, a replay and the simulator compute it the same way.
 *
 * Why not a library (measured on this machine: 2 cores shared with other
 * builds, load average 26–31, each pair back to back; quieter-minute figures,
 * load 7–9, in parentheses; 60-byte values, sha256 paths):
 *
 *                                   this tree        @ethereumjs/mpt 10.1.3   @iden3/js-merkletree 1.5.2
 *   build 100,000 keys              16.1 s (1.7 s)   147.9 s (24.1 s)         10,000 keys: 280 s
 *   10,000 updates into 100,000     1.34 s (0.20 s)  22.1 s (1.55 s)          1,000 into 10,000: 50.6 s
 *   proof at 100,000 keys           19 hashes, 636 B 5.9 nodes, 2,207 B       14 siblings (10,000 keys)
 *   verify one proof                0.25 ms (0.03)   1.36 ms (0.08)           7.9 ms
 *   1,000,000 keys                  build 78.5 s, 10,000 updates 1.05 s (91,019 new nodes),
 *                                   22 hashes / 743 B per proof, verify 0.14 ms, heap 1.15 GB (load 19–22)
 *
 * - @ethereumjs/mpt: every get/put/proof is async (a Promise per node read),
 *   so block building and validation, synchronous and deterministic, would
 *   have to become async through consensus; slower to build and update; its
 *   proofs are larger (RLP branch nodes of 17 slots); at 1,000,000 keys the
 *   in-memory run was killed before it finished.
 * - @iden3/js-merkletree: async storage API as well, and Poseidon over BN254
 *   in BigInt arithmetic (two orders of magnitude slower per hash than
 *   SHA-256), with a fixed maximum depth.
 * - this tree: synchronous, SHA-256 through node:crypto, batch updates
 *   sorted by path so that shared upper nodes are hashed once per block.
 * Scripts: bench/stateTree.ts, bench/stateTreeMpt.ts (iden3's, not a
 * dependency, was run from a scratch dir with the same workload).
 */

export interface TreeLeaf {
  readonly leaf: true
  readonly hash: Uint8Array
  /** sha256(key) */
  readonly path: Uint8Array
  readonly key: string
  readonly value: Uint8Array
}

export interface TreeBranch {
  readonly leaf: false
  readonly hash: Uint8Array
  readonly left: TreeNode | null
  readonly right: TreeNode | null
}

export type TreeNode = TreeLeaf | TreeBranch

/** One write with its path, sorted by path for a batch update. */
interface PathWrite {
  path: Uint8Array
  key: string
  value: Uint8Array | null
}

/** A new version of the tree and the nodes it created (those to persist), from `base`. */
export interface StateTreeUpdate {
  readonly base: StateTree
  readonly tree: StateTree
  /** every node of `tree` that is not in `base`, each once */
  readonly created: readonly TreeNode[]
}

export type StateTreeErrorCode =
  /** a stored tree node is missing or damaged */
  | 'STATE_TREE_ERROR_MISSING_NODE'
  /** one update names a key twice */
  | 'STATE_TREE_ERROR_DUPLICATE_KEY'

export class StateTreeError extends AttrchainError<StateTreeErrorCode> {}

function makeLeaf(path: Uint8Array, key: string, value: Uint8Array, created: TreeNode[]): TreeLeaf {
  const n: TreeLeaf = { leaf: true, hash: leafHash(path, valueHash(value)), path, key, value }
  created.push(n)
  return n
}

/** A branch over two subtrees, compacted: a subtree of one leaf is that leaf, an empty one is null. */
function makeBranch(left: TreeNode | null, right: TreeNode | null, created: TreeNode[]): TreeNode | null {
  if (left === null && (right === null || right.leaf)) return right
  if (right === null && left !== null && left.leaf) return left
  const n: TreeBranch = { leaf: false, hash: branchHash(left?.hash ?? EMPTY_ROOT, right?.hash ?? EMPTY_ROOT), left, right }
  created.push(n)
  return n
}

/** The first index in [from, to) whose path has bit `depth` set (writes sorted by path). */
function splitAt(ws: PathWrite[], from: number, to: number, depth: number): number {
  let lo = from
  let hi = to
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (bitAt(ws[mid].path, depth) === 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A subtree from scratch over writes [from, to) (values only: deletes of absent keys change nothing). */
function build(ws: PathWrite[], from: number, to: number, depth: number, created: TreeNode[]): TreeNode | null {
  const n = to - from
  if (n === 0) return null
  if (n === 1) {
    const w = ws[from]
    return w.value === null ? null : makeLeaf(w.path, w.key, w.value, created)
  }
  const mid = splitAt(ws, from, to, depth)
  return makeBranch(build(ws, from, mid, depth + 1, created), build(ws, mid, to, depth + 1, created), created)
}

function update(node: TreeNode | null, ws: PathWrite[], from: number, to: number, depth: number, created: TreeNode[]): TreeNode | null {
  if (from === to) return node
  if (node === null) return build(ws, from, to, depth, created)
  if (node.leaf) {
    if (to - from === 1 && bytesEqual(ws[from].path, node.path)) {
      const v = ws[from].value
      if (v === null) return null
      return bytesEqual(v, node.value) ? node : makeLeaf(node.path, node.key, v, created)
    }
    // the leaf moves down among the writes, unless one of them replaces it
    const own = ws.slice(from, to)
    let i = 0
    while (i < own.length && compareBytes(own[i].path, node.path) < 0) i++
    if (i < own.length && bytesEqual(own[i].path, node.path)) {
      const w = own[i]
      if (w.value !== null && bytesEqual(w.value, node.value)) own[i] = { path: node.path, key: node.key, value: node.value }
    } else {
      own.splice(i, 0, { path: node.path, key: node.key, value: node.value })
    }
    return buildKeeping(own, 0, own.length, depth, created, node)
  }
  const mid = splitAt(ws, from, to, depth)
  const left = update(node.left, ws, from, mid, depth + 1, created)
  const right = update(node.right, ws, mid, to, depth + 1, created)
  if (left === node.left && right === node.right) return node
  return makeBranch(left, right, created)
}

/** build(), reusing the existing leaf `keep` where it lands unchanged. */
function buildKeeping(ws: PathWrite[], from: number, to: number, depth: number, created: TreeNode[], keep: TreeLeaf): TreeNode | null {
  const n = to - from
  if (n === 0) return null
  if (n === 1) {
    const w = ws[from]
    if (w.value === null) return null
    if (w.path === keep.path && w.value === keep.value) return keep
    return makeLeaf(w.path, w.key, w.value, created)
  }
  const mid = splitAt(ws, from, to, depth)
  return makeBranch(buildKeeping(ws, from, mid, depth + 1, created, keep), buildKeeping(ws, mid, to, depth + 1, created, keep), created)
}

function sortedPathWrites(writes: Iterable<[string, Uint8Array | null]>): PathWrite[] {
  const ws: PathWrite[] = []
  for (const [key, value] of writes) ws.push({ path: keyPath(key), key, value })
  ws.sort((a, b) => compareBytes(a.path, b.path))
  for (let i = 1; i < ws.length; i++) {
    if (bytesEqual(ws[i - 1].path, ws[i].path)) throw new StateTreeError('STATE_TREE_ERROR_DUPLICATE_KEY', `key ${JSON.stringify(ws[i].key)} is written twice in one update`)
  }
  return ws
}

/** One immutable version of the state tree. */
export class StateTree {
  private constructor(readonly top: TreeNode | null) {}

  static readonly EMPTY = new StateTree(null)

  /** The tree of a whole set of entries (a state snapshot), in one batch build. */
  static ofEntries(entries: Iterable<[string, Uint8Array]>): StateTree {
    return StateTree.EMPTY.update(entries).tree
  }

  /** The state root: 32 bytes, EMPTY_ROOT (zeros) for an empty state. */
  get root(): Uint8Array {
    return this.top?.hash ?? EMPTY_ROOT
  }

  /**
   * The version with `writes` applied (null deletes); this one is unchanged.
   * A key written twice in one call is refused (a WriteSet cannot hold it twice).
   */
  update(writes: Iterable<[string, Uint8Array | null]>): StateTreeUpdate {
    const ws = sortedPathWrites(writes)
    const created: TreeNode[] = []
    const top = update(this.top, ws, 0, ws.length, 0, created)
    return { base: this, tree: top === this.top ? this : new StateTree(top), created }
  }

  /** The value under `key` in this version, if any. */
  get(key: string): Uint8Array | undefined {
    const path = keyPath(key)
    let n = this.top
    let depth = 0
    while (n !== null && !n.leaf) n = bitAt(path, depth++) === 0 ? n.left : n.right
    return n !== null && bytesEqual(n.path, path) ? n.value : undefined
  }

  /** The proof of `key` in this version (core/stateProof.ts format): present or absent. */
  prove(key: string): Uint8Array[] {
    const path = keyPath(key)
    const siblings: Uint8Array[] = []
    let n = this.top
    let depth = 0
    while (n !== null && !n.leaf) {
      const right = bitAt(path, depth++) === 1
      siblings.push((right ? n.left : n.right)?.hash ?? EMPTY_ROOT)
      n = right ? n.right : n.left
    }
    return [terminalOf(n, path), ...siblings.reverse()]
  }
}

function terminalOf(n: TreeLeaf | null, path: Uint8Array): Uint8Array {
  if (n === null) return Uint8Array.of(TERMINAL_EMPTY)
  if (bytesEqual(n.path, path)) {
    const t = new Uint8Array(1 + n.value.length)
    t[0] = TERMINAL_VALUE
    t.set(n.value, 1)
    return t
  }
  const t = new Uint8Array(65)
  t[0] = TERMINAL_OTHER_LEAF
  t.set(n.path, 1)
  t.set(valueHash(n.value), 33)
  return t
}

/** The root of a tree over `entries` (state sync: compare a snapshot with a header's stateRoot). */
export function rootOfEntries(entries: Iterable<[string, Uint8Array]>): Uint8Array {
  return StateTree.ofEntries(entries).root
}

// ---------------------------------------------------------------- stored nodes

/**
 * A node as stored (content-addressed by its hash, node/db bucket stateNode):
 * - branch: 0x01 ‖ leftHash(32) ‖ rightHash(32) (zeros for an empty side);
 * - leaf:   0x00 ‖ u32be(key length) ‖ UTF-8 key ‖ value.
 * A leaf keeps its value so that a proof at an older height can be served
 * after the state has moved on.
 */
export function encodeTreeNode(n: TreeNode): Uint8Array {
  if (!n.leaf) {
    const out = new Uint8Array(65)
    out[0] = 0x01
    out.set(n.left?.hash ?? EMPTY_ROOT, 1)
    out.set(n.right?.hash ?? EMPTY_ROOT, 33)
    return out
  }
  const k = utf8(n.key)
  const out = new Uint8Array(5 + k.length + n.value.length)
  new DataView(out.buffer).setUint32(1, k.length)
  out.set(k, 5)
  out.set(n.value, 5 + k.length)
  return out
}

/** Reads a stored node by its hash; null when it is not stored. */
export type NodeReader = (hash: Uint8Array) => Promise<Uint8Array | null>

/**
 * The proof of `key` under the stored tree of `root`, reading nodes through
 * `read` (the same proof StateTree.prove gives for that version), with the
 * value found (null: absent). Throws StateTreeError if a node is missing or
 * does not hash to what its parent says.
 */
export async function proveStored(root: Uint8Array, key: string, read: NodeReader): Promise<{ value: Uint8Array | null; proof: Uint8Array[] }> {
  const path = keyPath(key)
  const siblings: Uint8Array[] = []
  let hash = root
  let depth = 0
  for (;;) {
    if (bytesEqual(hash, EMPTY_ROOT)) return { value: null, proof: [Uint8Array.of(TERMINAL_EMPTY), ...siblings.reverse()] }
    const missing = (why: string): never => { throw new StateTreeError('STATE_TREE_ERROR_MISSING_NODE', `tree node 0x${Buffer.from(hash).toString('hex')} ${why}`) }
    const bytes = (await read(hash)) ?? missing('is not stored (pruned, or never written)')
    if (bytes[0] === 0x01 && bytes.length === 65) {
      const left = bytes.subarray(1, 33)
      const right = bytes.subarray(33, 65)
      if (!bytesEqual(branchHash(left, right), hash)) missing('is damaged')
      const goRight = bitAt(path, depth++) === 1
      siblings.push((goRight ? left : right).slice())
      hash = (goRight ? right : left).slice()
      continue
    }
    if (bytes[0] !== 0x00 || bytes.length < 5) missing('is damaged')
    const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1)
    if (5 + len > bytes.length) missing('is damaged')
    const leafKey = new TextDecoder().decode(bytes.subarray(5, 5 + len))
    const value = bytes.slice(5 + len)
    const leaf: TreeLeaf = { leaf: true, hash, path: keyPath(leafKey), key: leafKey, value }
    if (!bytesEqual(leafHash(leaf.path, valueHash(value)), hash)) missing('is damaged')
    const mine = leafKey === key
    return { value: mine ? value : null, proof: [terminalOf(leaf, path), ...siblings.reverse()] }
  }
}
