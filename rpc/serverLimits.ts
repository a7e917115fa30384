import { RpcError, RpcErrorCode } from './errors.js'
import type { RefusalReason } from './serverOptions.js'

/**
 * The server's shared limits: requests in flight (over the server and per
 * connection, HTTP socket or WebSocket alike) and the bytes one payload may
 * answer with. Transport-free: the HTTP and WebSocket transports take slots
 * here, the dispatcher charges responses to a budget.
 */

/** Requests in flight on one connection (an HTTP socket or a WebSocket). */
export interface Load {
  inFlight: number
}

/** A payload refused by a concurrency limit: every request in it owed an answer gets `error`. */
export interface Refusal {
  reason: RefusalReason
  error: RpcError
}

/** `maxConcurrentRequests` over the server and `maxConcurrentRequestsPerConnection` per connection. */
export class ConcurrencyLimits {
  private readonly load: Load = { inFlight: 0 }

  constructor(
    private readonly maxConcurrentRequests: number,
    private readonly maxConcurrentRequestsPerConnection: number,
  ) {}

  /** Requests being served now over all connections. */
  get inFlight(): number {
    return this.load.inFlight
  }

  /** Whether `conn` has used up its own slots (a WebSocket then queues what arrives). */
  connectionFull(conn: Load): boolean {
    return conn.inFlight >= this.maxConcurrentRequestsPerConnection
  }

  /** Take a slot on the server and on the connection, or say which limit refuses it. */
  acquire(conn: Load): Refusal | null {
    if (this.load.inFlight >= this.maxConcurrentRequests) {
      const limit = this.maxConcurrentRequests
      return { reason: 'busy_server', error: busyError(`server busy: ${limit} requests in flight`, 'server', limit) }
    }
    if (conn.inFlight >= this.maxConcurrentRequestsPerConnection) {
      const limit = this.maxConcurrentRequestsPerConnection
      return { reason: 'busy_connection', error: busyError(`server busy: ${limit} requests in flight on this connection`, 'connection', limit) }
    }
    this.load.inFlight++
    conn.inFlight++
    return null
  }

  release(conn: Load): void {
    this.load.inFlight--
    conn.inFlight--
  }
}

/** One response object's JSON text and its UTF-8 size. */
export interface Part {
  text: string
  bytes: number
}

/** What one HTTP body or WebSocket message is answered with: JSON text in parts, `bytes` in all. */
export interface Reply {
  parts: string[]
  bytes: number
}

export function partOf(text: string): Part {
  return { text, bytes: Buffer.byteLength(text) }
}

export function replyOf(part: Part | null): Reply | null {
  return part === null ? null : { parts: [part.text], bytes: part.bytes }
}

/**
 * The bytes one HTTP request or WebSocket message may still answer with. Once
 * a result did not fit, nothing else does (geth's rule for batches: the items
 * past the cap get the error); error entries are small and always go out.
 */
export class ResponseBudget {
  exhausted = false

  constructor(private remaining: number) {}

  /** Whether `bytes` more fit (with a separator); charges them if so. */
  take(bytes: number): boolean {
    if (this.exhausted || bytes + 1 > this.remaining) {
      this.exhausted = true
      return false
    }
    this.remaining -= bytes + 1
    return true
  }

  /** Charge an error entry, which goes out whatever the budget. */
  charge(text: string): Part {
    const part = partOf(text)
    this.remaining -= part.bytes + 1
    return part
  }
}

function busyError(message: string, scope: 'server' | 'connection', limit: number): RpcError {
  return new RpcError(RpcErrorCode.busy, message, { scope, limit })
}
