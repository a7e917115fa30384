import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../core/logger.js'
import type { MethodSpec } from './methodTable.js'

/** Options, collaborators and metrics hooks of the RPC server (rpc/server.ts), shared by its transports and dispatcher. */

/**
 * Hook the node backs with prom-client. `method` is a method of the table,
 * `(unknown)` for a name not in it and `(invalid)` for a malformed request,
 * so that callers cannot blow up label cardinality.
 */
export interface RpcMetrics {
  onRequest(method: string, seconds: number, ok: boolean): void
  /**
   * A request refused by a server limit, by reason (bounded set: `busy_server`,
   * `busy_connection`, `response_too_large`, `origin`, `notification`,
   * `tx_intake`: a large HTTP body refused unread by `shedBody`).
   */
  onRefused?(reason: RefusalReason): void
}

export type RefusalReason = 'busy_server' | 'busy_connection' | 'response_too_large' | 'origin' | 'notification' | 'tx_intake'

export interface RpcServerOptions {
  host: string
  /** 0 picks a free port; `start()` reports the actual one. */
  port: number
  /** Largest HTTP body or WebSocket message. */
  maxBodyBytes: number
  /** Largest number of requests in one batch. */
  maxBatch: number
  maxWsConnections: number
  maxSubscriptionsPerConnection: number
  /** A WebSocket client with more than this many bytes unsent is dropped rather than buffered without bound. */
  maxWsBufferedBytes: number
  /** Topics `chain_subscribe` accepts and `publish` sends to. */
  topics: string[]
  /** Ping interval that detects dead WebSocket peers; 0 disables it. */
  wsPingIntervalMs: number
  /** API version reported by `rpc.discover`. */
  version: string
  /**
   * Largest response to one HTTP request or WebSocket message, batch
   * included (UTF-8 bytes). A result that does not fit becomes an
   * RPC_ERROR_RESPONSE_TOO_LARGE error (-32005), and so does every batch item
   * after it, unrun (geth's rule); error entries always go out.
   */
  maxResponseBytes: number
  /** HTTP requests and WebSocket messages served at once over all connections; more are refused with RPC_ERROR_BUSY (-32005). */
  maxConcurrentRequests: number
  /** The same per HTTP or WebSocket connection. */
  maxConcurrentRequestsPerConnection: number
  /**
   * Origins (`scheme://host[:port]`) whose web pages may use the RPC: CORS
   * headers echo them and WebSocket upgrades from them are accepted. A request
   * carrying any other `Origin` is refused with 403 (browsers always send it
   * cross-origin; other clients usually send none). Empty: no origin; `*`: any.
   */
  corsOrigins: string[]
}

export const defaultRpcServerOptions: RpcServerOptions = {
  host: '127.0.0.1',
  port: 8545,
  maxBodyBytes: 5 * 1024 * 1024,
  maxBatch: 100,
  maxWsConnections: 100,
  maxSubscriptionsPerConnection: 16,
  maxWsBufferedBytes: 16 * 1024 * 1024,
  topics: ['newBlocks', 'distributions'],
  wsPingIntervalMs: 30_000,
  version: '0.1.0',
  // geth caps batch responses at 25 MB; 32 MiB holds one full block of maxBlockReceipts (40,000 receipts in 100-receipt
  // txs: 20.5 MB of JSON with full tx bodies, at the 8 MiB byte cap) with room to spare.
  maxResponseBytes: 32 * 1024 * 1024,
  // With the response cap this bounds response memory to about 64 × 32 MiB in the worst case; reads of cached blocks share one string.
  maxConcurrentRequests: 64,
  maxConcurrentRequestsPerConnection: 8,
  corsOrigins: [],
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface RpcServerModules {
  methods: MethodSpec[]
  logger?: Logger
  metrics?: RpcMetrics | null
  /** Extra HTTP routes by path (e.g. `/metrics`); the handler answers every HTTP method itself. */
  extraRoutes?: Record<string, RouteHandler>
  /**
   * Answers GET and HEAD on `/` (the node's explorer page); JSON-RPC stays
   * POST on `/`. Without it GET `/` is 405. Pages it serves may call the RPC
   * from their own origin (see `sameLoopbackOrigin`).
   */
  rootPage?: RouteHandler
  /**
   * Load shedding of a whole HTTP body before it is read (issue 10): asked
   * for every POST body that declares at least SHED_BODY_MIN_BYTES (such
   * bodies are tx_send batches: reads are far smaller). An error answers
   * the request at once (HTTP 503, a Retry-After of the error's
   * `meta.retryAfterMs` rounded up to seconds, the JSON-RPC error with id
   * null) and the body is discarded unread: no copy, no parse. The node
   * refuses exactly when it would refuse any tx_send now, whatever its size
   * (MEMPOOL_ERROR_FULL: backlog, rate, event loop, mempool bounds).
   */
  shedBody?(declaredBytes: number): Error | null
}

/** Bodies of at least this many bytes are asked `shedBody` before they are read (256 KiB; a batch of 100 one-receipt txs is about 60 KiB). */
export const SHED_BODY_MIN_BYTES = 256 * 1024

/**
 * No request needs JSON nested deeper than this. V8's JSON.parse copes with
 * any depth, but whatever walks the value afterwards (validation, handlers,
 * logging) may recurse, so deeper input is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64
