import { RawJson, stringifyJson } from '../rpc/index.js'

/** Issue 12 item 3: reads of large blocks must never hold the event loop that consensus runs on. */
export interface BlockJsonCacheOptions {
  /** UTF-8 bytes of block JSON kept (LRU); 0 keeps nothing (each read builds its own). */
  maxBytes: number
  /** Longest stretch the builder runs before yielding to the event loop (ms). */
  sliceMs: number
}

export const defaultBlockJsonCacheOptions: BlockJsonCacheOptions = {
  // Ten full 20,000-receipt blocks (6.5 MB of JSON each).
  maxBytes: 64 * 1024 * 1024,
  // A consensus timeout is ≥ hundreds of ms and a vote is handled in well under 1 ms: 10 ms slices keep both prompt.
  sliceMs: 10,
}

/** The parts of a block's JSON (`blockToJson` in node/rpcMethods.ts), each a function of the block alone. */
export interface BlockJsonParts {
  hash: string
  header: unknown
  /** canonical bytes of each tx */
  txs: Uint8Array[]
  /** the JSON value of one tx: its hash, or the decoded tx */
  tx(bytes: Uint8Array): unknown
  lastCommit: unknown
  evidence: number
}

/**
 * The JSON text of committed blocks, by (height, full). Committed blocks never
 * change, so the text of one is built once and served to every reader from
 * a bounded LRU; readers of a block being built share that build; builds run
 * one at a time and yield to the event loop every `sliceMs`, so a burst of
 * reads of a 6.5 MB block costs one build, interleaved with consensus.
 */
export class BlockJsonCache {
  private readonly opts: BlockJsonCacheOptions
  /** Map order is recency order (least recent first); nothing here is consensus state. */
  private readonly entries = new Map<string, RawJson>()
  private readonly building = new Map<string, Promise<RawJson | null>>()
  private bytes = 0
  /** The last build in the queue: builds run one after another, so at most one block is being decoded at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(opts: Partial<BlockJsonCacheOptions> = {}) {
    this.opts = { ...defaultBlockJsonCacheOptions, ...opts }
  }

  /** UTF-8 bytes held (for tests and gauges). */
  get cachedBytes(): number {
    return this.bytes
  }

  /**
   * The JSON of the block at `height` with tx hashes or, when `full`, the
   * decoded txs; null when there is no block there (not cached: it may be
   * committed later). `load` reads the block and the parts of its JSON.
   */
  get(height: number, full: boolean, load: () => Promise<BlockJsonParts | null>): Promise<RawJson | null> {
    const key = `${height}:${full ? 1 : 0}`
    const hit = this.entries.get(key)
    if (hit) {
      this.entries.delete(key)
      this.entries.set(key, hit)
      return Promise.resolve(hit)
    }
    const pending = this.building.get(key)
    if (pending) return pending
    const build = this.queue.then(async () => {
      const parts = await load()
      return parts === null ? null : new RawJson(await buildJson(parts, this.opts.sliceMs))
    })
    this.queue = build.catch(() => undefined)
    const done = build.then(
      (json) => {
        this.building.delete(key)
        if (json) this.remember(key, json)
        return json
      },
      (e: unknown) => {
        this.building.delete(key)
        throw e
      },
    )
    this.building.set(key, done)
    return done
  }

  private remember(key: string, json: RawJson): void {
    // A block larger than a quarter of the cache would evict most of it for one reader; it is served uncached.
    if (json.bytes > this.opts.maxBytes / 4) return
    this.entries.set(key, json)
    this.bytes += json.bytes
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.opts.maxBytes) break
      this.entries.delete(k)
      this.bytes -= v.bytes
    }
  }
}

/** `{hash, header, txs, lastCommit, evidence}` as text, yielding to the event loop every `sliceMs` while the txs are turned into JSON. */
async function buildJson(parts: BlockJsonParts, sliceMs: number): Promise<string> {
  const out: string[] = [`{"hash":${JSON.stringify(parts.hash)},"header":${stringifyJson(parts.header)},"txs":[`]
  let sliceStart = performance.now()
  for (let i = 0; i < parts.txs.length; i++) {
    out.push((i > 0 ? ',' : '') + stringifyJson(parts.tx(parts.txs[i])))
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setImmediate(resolve))
      sliceStart = performance.now()
    }
  }
  out.push(`],"lastCommit":${stringifyJson(parts.lastCommit)},"evidence":${parts.evidence}}`)
  return out.join('')
}
