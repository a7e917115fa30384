/**
 * Reused buffers for large HTTP request bodies (rpc/serverHttp.ts).
 *
 * Why by hand: a body was gathered as chunks and joined with Buffer.concat,
 * one fresh multi-MiB allocation per request. Fresh memory of that size
 * comes from the OS page by page (a page fault each on first touch): on the
 * 2-core VM of the benchmarks, joining a 4 MiB tx_send batch took 9.4 ms
 * that way against 0.2 ms copying into a buffer already touched, and the
 * join was 6 % of each node's busy time under the overload flood. No
 * library does this small thing for node:http; undici's and ws's pools are
 * their own.
 *
 * A body of at least `minBytes` that declares its Content-Length is copied,
 * chunk by chunk as it arrives, into a buffer of `capacity` bytes (the body
 * limit) taken from here, and the buffer comes back once the request is
 * answered. At most `maxFree` buffers are kept; more in use at once are
 * allocated and dropped as before. Only the first `length` bytes of a taken
 * buffer are ever read, and they are the body's own.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = []
  /** buffers allocated because none was free (a count, for tests and metrics) */
  allocated = 0

  constructor(
    /** bytes of each buffer: the largest body (RpcServerOptions.maxBodyBytes) */
    readonly capacity: number,
    /** bodies below this size are joined as before (small allocations are pooled by Node already) */
    readonly minBytes: number,
    readonly maxFree: number,
  ) {}

  /** A buffer for a body that declared `length` bytes, or null when the body should be joined as chunks instead. */
  take(length: number): Buffer | null {
    if (!Number.isSafeInteger(length) || length < this.minBytes || length > this.capacity) return null
    const reused = this.free.pop()
    if (reused) return reused
    this.allocated++
    return Buffer.allocUnsafeSlow(this.capacity)
  }

  /** Give back a buffer from `take` once nothing reads the body any more. */
  release(buf: Buffer): void {
    if (buf.length === this.capacity && this.free.length < this.maxFree && !this.free.includes(buf)) this.free.push(buf)
  }

  /** buffers kept for reuse */
  get freeCount(): number {
    return this.free.length
  }
}

/** Bodies of at least this many bytes go into a reused buffer (tx_send batches; reads are far smaller). */
export const POOLED_BODY_MIN_BYTES = 256 * 1024
/** Reused body buffers kept per server: the large bodies usually in flight at once (one per flooding operator on a node). */
export const POOLED_BODIES_KEPT = 4
