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
 * chunk by chunk as it arrives, into a buffer taken from here, which comes
 * back once the request is answered. The reused buffers hold `capacity`
 * bytes (the body limit) and there are at most `maxFree` of them, in use or
 * kept; a body that finds them all in use gets a buffer of exactly its
 * declared length, dropped after use (as Buffer.concat did), so slow large
 * uploads cannot make the server hold more than that. Only the first
 * `length` bytes of a taken buffer are ever read, and they are the body's
 * own.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = []
  /** reused buffers handed out and not yet given back */
  private readonly lent = new Set<Buffer>()
  /** buffers allocated because no reused one was free (a count, for tests) */
  allocated = 0

  constructor(
    /** bytes of each reused buffer: the largest body (RpcServerOptions.maxBodyBytes) */
    readonly capacity: number,
    /** bodies below this size are joined as before (small allocations are pooled by Node already) */
    readonly minBytes: number,
    /** reused buffers, in use or kept */
    readonly maxFree: number,
  ) {}

  /** A buffer for a body that declared `length` bytes, or null when the body should be joined as chunks instead. */
  take(length: number): Buffer | null {
    if (!Number.isSafeInteger(length) || length < this.minBytes || length > this.capacity) return null
    let buf = this.free.pop()
    if (buf === undefined) {
      this.allocated++
      // every reusable buffer is in use: a one-off buffer of the body's own size
      if (this.lent.size >= this.maxFree) return Buffer.allocUnsafeSlow(length)
      buf = Buffer.allocUnsafeSlow(this.capacity)
    }
    this.lent.add(buf)
    return buf
  }

  /** Give back a buffer from `take` once nothing reads the body any more; a one-off buffer, or a second release, is ignored. */
  release(buf: Buffer): void {
    if (this.lent.delete(buf)) this.free.push(buf)
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
