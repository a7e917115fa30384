import { encode } from '../core/codec.js'
import { sha256 } from '../core/hash.js'
import { utf8, concatBytes } from '../core/bytes.js'

/**
 * The state store (DESIGN §1): string keys to canonical bytes, read
 * synchronously so that execution stays a pure function of its inputs.
 * Writes are never made directly: a block produces a `WriteSet` that the
 * owner of the store applies, together with the block, atomically.
 */
export type WriteSet = Map<string, Uint8Array | null>

export interface StateStore {
  get(key: string): Uint8Array | undefined
  /** Entries whose key starts with `prefix`, in ascending key order. */
  iteratePrefix(prefix: string): Iterable<[string, Uint8Array]>
  /** Apply a committed block's write set (null = delete). */
  apply(writes: WriteSet): void
}

/** In-memory store: the test store, and the node's cache in front of LevelDB. */
export class MemoryStateStore implements StateStore {
  private readonly map = new Map<string, Uint8Array>()

  get(key: string): Uint8Array | undefined {
    return this.map.get(key)
  }

  *iteratePrefix(prefix: string): Iterable<[string, Uint8Array]> {
    const keys = [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort()
    for (const k of keys) yield [k, this.map.get(k) as Uint8Array]
  }

  apply(writes: WriteSet): void {
    for (const [k, v] of writes) {
      if (v === null) this.map.delete(k)
      else this.map.set(k, v)
    }
  }

  get size(): number {
    return this.map.size
  }

  entries(): IterableIterator<[string, Uint8Array]> {
    return this.map.entries()
  }
}

/** Sorted by key (byte order of UTF-8, equal to JS order for our ASCII keys). */
export function sortedWrites(writes: WriteSet): [string, Uint8Array | null][] {
  return [...writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/**
 * State root v1 = sha256(prevRoot ‖ sha256(canonical sorted write set)),
 * the write set encoded as [[key, value | null]…] sorted by key. A chained
 * digest, not a Merkle root: it commits to the whole history of state
 * changes but does not support inclusion proofs (README, "State root").
 */
export function nextStateRoot(prevRoot: Uint8Array, writes: WriteSet): Uint8Array {
  const body = encode(sortedWrites(writes).map(([k, v]) => [utf8(k), v]))
  return sha256(concatBytes(prevRoot, sha256(body)))
}
