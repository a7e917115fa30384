import { hash as oneShot } from 'node:crypto'
import { AttrchainError } from './errors.js'
import { utf8, bytesEqual } from './bytes.js'

/**
 * State root v2 (README "State root"): the root of a compacted binary sparse
 * Merkle tree over every state key. Pure and dependency-free (only
 * node:crypto's SHA-256), so that a light client can verify a proof without
 * the node's code; nothing here imports node/, p2p/ or rpc/.
 *
 * Tree (the same shape as Diem's Jellyfish / Libra sparse Merkle tree):
 * - a key's path is sha256(UTF-8 key), 256 bits, most significant bit of
 *   byte 0 first; bit 0 goes left, bit 1 right;
 * - leaf hash   = sha256(0x00 ‖ path(32) ‖ sha256(value));
 * - branch hash = sha256(0x01 ‖ left(32) ‖ right(32));
 * - the empty subtree hashes to 32 zero bytes (EMPTY_ROOT);
 * - compacted: a subtree holding one leaf is that leaf, placed where its
 *   path first differs from every other key's, so a tree of n keys is about
 *   log2(n) deep. The shape depends only on the set of keys, never on the
 *   order of inserts.
 *
 * Proof of a key (a list of byte strings, hex on the wire):
 * - proof[0], the terminal node met when following the key's path:
 *   - `0x00` — an empty subtree: the key is absent;
 *   - `0x01 ‖ path(32) ‖ valueHash(32)` — the leaf of another key whose path
 *     shares the bits walked so far: the key is absent;
 *   - `0x02 ‖ value` — the key's own leaf, with its value: the key is present;
 * - proof[1..d]: the sibling hashes (32 bytes each) from depth d up to
 *   depth 1 (the last one is a child of the root).
 */

/** The root of an empty tree. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(32)

/** The terminal node tags of a proof (proof[0][0]). */
export const TERMINAL_EMPTY = 0x00
export const TERMINAL_OTHER_LEAF = 0x01
export const TERMINAL_VALUE = 0x02

/** The longest path: 256 bits, so at most 256 siblings. */
export const MAX_DEPTH = 256

/** What `StateProofError` carries. */
export type StateProofErrorCode =
  /** the proof is not a list of well-formed nodes (wrong lengths, unknown terminal tag, too deep) */
  | 'PROOF_ERROR_MALFORMED'
  /** the proof's nodes hash to another root than the one given: wrong root, tampered proof or value */
  | 'PROOF_ERROR_ROOT_MISMATCH'
  /** an absence proof whose other leaf does not lie on the key's path */
  | 'PROOF_ERROR_BAD_PATH'

export class StateProofError extends AttrchainError<StateProofErrorCode> {}

const digest = (b: Uint8Array): Uint8Array => {
  const d = oneShot('sha256', b, 'buffer') as unknown as Buffer
  return new Uint8Array(d.buffer, d.byteOffset, d.length)
}

/** sha256 of the bytes (a value's hash in a leaf). */
export function valueHash(value: Uint8Array): Uint8Array {
  return digest(value)
}

/** The 256-bit path of a state key: sha256 of its UTF-8 bytes. */
export function keyPath(key: string | Uint8Array): Uint8Array {
  return digest(typeof key === 'string' ? utf8(key) : key)
}

const scratch = new Uint8Array(65)

/** sha256(0x00 ‖ path ‖ valueHash). */
export function leafHash(path: Uint8Array, vHash: Uint8Array): Uint8Array {
  scratch[0] = 0x00
  scratch.set(path, 1)
  scratch.set(vHash, 33)
  return digest(scratch)
}

/** sha256(0x01 ‖ left ‖ right); an empty side is EMPTY_ROOT. */
export function branchHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratch[0] = 0x01
  scratch.set(left, 1)
  scratch.set(right, 33)
  return digest(scratch)
}

/** Bit `depth` of a path (0 = left, 1 = right), most significant bit first. */
export function bitAt(path: Uint8Array, depth: number): number {
  return (path[depth >> 3] >> (7 - (depth & 7))) & 1
}

/** Whether two paths agree on their first `depth` bits. */
export function samePrefix(a: Uint8Array, b: Uint8Array, depth: number): boolean {
  const whole = depth >> 3
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false
  const rest = depth & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[whole] & mask) === (b[whole] & mask)
}

/**
 * Verify a proof for `key` against a state root and say what it proves:
 * the key's value (present) or null (proven absent). Throws
 * StateProofError when the proof is malformed or does not lead to `root`
 * (wrong root, tampered node or value): a proof never "fails open".
 * Pure: same inputs, same answer; nothing is allocated beyond the proof's size.
 */
export function verifyStateProof(root: Uint8Array, key: string | Uint8Array, proof: readonly Uint8Array[]): Uint8Array | null {
  const bad = (why: string): never => { throw new StateProofError('PROOF_ERROR_MALFORMED', why) }
  if (!(root instanceof Uint8Array) || root.length !== 32) bad('the root must be 32 bytes')
  if (!Array.isArray(proof) || proof.length < 1) bad('a proof has at least its terminal node')
  if (proof.length - 1 > MAX_DEPTH) bad(`${proof.length - 1} siblings exceed the tree's depth of ${MAX_DEPTH}`)
  const path = keyPath(key)
  const depth = proof.length - 1
  const terminal = proof[0]
  if (!(terminal instanceof Uint8Array) || terminal.length < 1) bad('the terminal node is empty')
  let value: Uint8Array | null = null
  let h: Uint8Array
  switch (terminal[0]) {
    case TERMINAL_EMPTY:
      if (terminal.length !== 1) bad('an empty terminal is the single byte 0x00')
      h = EMPTY_ROOT
      break
    case TERMINAL_OTHER_LEAF: {
      if (terminal.length !== 65) bad('another key\'s leaf is 0x01 ‖ path(32) ‖ valueHash(32)')
      const other = terminal.subarray(1, 33)
      if (bytesEqual(other, path)) throw new StateProofError('PROOF_ERROR_BAD_PATH', 'an absence proof names the key\'s own leaf')
      if (!samePrefix(other, path, depth)) throw new StateProofError('PROOF_ERROR_BAD_PATH', `the other leaf does not share the key's first ${depth} path bits`)
      h = leafHash(other, terminal.subarray(33, 65))
      break
    }
    case TERMINAL_VALUE:
      value = terminal.slice(1)
      h = leafHash(path, valueHash(value))
      break
    default:
      return bad(`unknown terminal tag 0x${terminal[0].toString(16).padStart(2, '0')}`)
  }
  for (let i = 1; i <= depth; i++) {
    const sibling = proof[i]
    if (!(sibling instanceof Uint8Array) || sibling.length !== 32) bad(`sibling ${i} is not 32 bytes`)
    const d = depth - i // the depth of the node whose children are h and sibling
    h = bitAt(path, d) === 0 ? branchHash(h, sibling) : branchHash(sibling, h)
  }
  if (!bytesEqual(h, root)) throw new StateProofError('PROOF_ERROR_ROOT_MISMATCH', 'the proof does not lead to this state root')
  return value
}
