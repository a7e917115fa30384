import { StateTree, type StateTreeUpdate } from './stateTree.js'

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
  /**
   * Apply a committed block's write set (null = delete). `update`, when
   * given, is `tree.update(writes)` computed at execution: reused instead of
   * hashing the writes again (ignored if it was made from another version).
   */
  apply(writes: WriteSet, update?: StateTreeUpdate): void
  /** The authenticated tree of the current contents: `tree.root` is the state root (README "State root"). */
  readonly tree: StateTree
}

/** In-memory store: the test store, and the node's cache in front of LevelDB. */
export class MemoryStateStore implements StateStore {
  private readonly map = new Map<string, Uint8Array>()
  private current: StateTree = StateTree.EMPTY

  get tree(): StateTree {
    return this.current
  }

  get(key: string): Uint8Array | undefined {
    return this.map.get(key)
  }

  *iteratePrefix(prefix: string): Iterable<[string, Uint8Array]> {
    const keys = [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort()
    for (const k of keys) yield [k, this.map.get(k) as Uint8Array]
  }

  apply(writes: WriteSet, update?: StateTreeUpdate): void {
    this.current = (update !== undefined && update.base === this.current ? update : this.current.update(writes)).tree
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
