import type { StateStore, WriteSet } from './store.js'
import { fromBytes, toBytes, type Codec } from './entities.js'

interface Entry {
  codec: Codec<any>
  value: unknown | null
}

/**
 * The state as seen while a block executes: decoded entities over a
 * `StateStore`, with a block layer and a transaction layer on top, so that a
 * failed tx body is reverted by dropping its layer (DESIGN §3). Entities are
 * treated as immutable values: callers replace them with `set`, never mutate
 * what `get` returned.
 */
export class BlockState {
  private readonly block = new Map<string, Entry>()
  private tx: Map<string, Entry> | null = null

  constructor(readonly store: StateStore) {}

  get<T>(codec: Codec<T>, key: string): T | undefined {
    const e = this.tx?.get(key) ?? this.block.get(key)
    if (e) return (e.value ?? undefined) as T | undefined
    const raw = this.store.get(key)
    if (raw === undefined) return undefined
    const value = fromBytes(codec, raw)
    this.block.set(key, { codec, value })
    return value
  }

  set<T>(codec: Codec<T>, key: string, value: T): void {
    ;(this.tx ?? this.block).set(key, { codec, value })
  }

  delete(codec: Codec<any>, key: string): void {
    ;(this.tx ?? this.block).set(key, { codec, value: null })
  }

  beginTx(): void {
    this.tx = new Map()
  }

  commitTx(): void {
    if (!this.tx) return
    for (const [k, e] of this.tx) this.block.set(k, e)
    this.tx = null
  }

  rollbackTx(): void {
    this.tx = null
  }

  /**
   * The block's writes, encoded. Entries only read (never set) are cached
   * decoded values and are left out by comparing with the store's bytes.
   */
  writeSet(): WriteSet {
    const out: WriteSet = new Map()
    for (const [k, e] of this.block) {
      const before = this.store.get(k)
      if (e.value === null) {
        if (before !== undefined) out.set(k, null)
        continue
      }
      const bytes = toBytes(e.codec, e.value)
      if (before === undefined || Buffer.compare(before, bytes) !== 0) out.set(k, bytes)
    }
    return out
  }
}
