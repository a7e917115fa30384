import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { RawJson, RpcError, RpcErrorCode, stringifyJson, toJsonRpcError } from './errors.js'
import type { JsonRpcErrorObject } from './errors.js'
import { MethodTable } from './methodTable.js'
import type { CallContext, MethodSpec, OpenRpcDocument, SubscriptionHost } from './methodTable.js'
import { silentLogger, type Logger } from '../core/logger.js'

export type { Logger } from '../core/logger.js'

/**
 * Hook the node backs with prom-client. `method` is a method of the table,
 * `(unknown)` for a name not in it and `(invalid)` for a malformed request,
 * so that callers cannot blow up label cardinality.
 */
export interface RpcMetrics {
  onRequest(method: string, seconds: number, ok: boolean): void
  /**
   * A request refused by a server limit, by reason (bounded set: `busy_server`,
   * `busy_connection`, `response_too_large`, `origin`, `notification`).
   */
  onRefused?(reason: RefusalReason): void
}

export type RefusalReason = 'busy_server' | 'busy_connection' | 'response_too_large' | 'origin' | 'notification'

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
  // geth caps batch responses at 25 MB; 16 MiB holds two full 20,000-receipt blocks (6.5 MB of JSON each).
  maxResponseBytes: 16 * 1024 * 1024,
  // With the response cap this bounds response memory to about 64 × 16 MiB in the worst case; reads of cached blocks share one string.
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
}

/**
 * No request needs JSON nested deeper than this. V8's JSON.parse copes with
 * any depth, but whatever walks the value afterwards (validation, handlers,
 * logging) may recurse, so deeper input is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 64

/** How long an over-limit body is drained before the socket is cut (see refuseTooLarge). */
const LINGER_MS = 2_000
/** How long `stop()` waits for in-flight requests and WebSocket close handshakes before cutting sockets. */
const STOP_GRACE_MS = 1_000

const NOTIFICATION_METHOD = 'chain_subscription'
/** Longest a batch runs its items' synchronous parts before letting the event loop turn (ms). */
const BATCH_SLICE_MS = 10
/** Messages of one WebSocket held while its in-flight limit is reached (beyond: refused busy). */
const MAX_WS_QUEUE = 1024


/** Sent on a preflight from an allowed origin, with `Access-Control-Allow-Origin` echoing it. */
const CORS_PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '86400',
}

/** Requests in flight on one connection (an HTTP socket or a WebSocket). */
interface Load {
  inFlight: number
}

/** JSON-RPC 2.0 over HTTP POST `/` and WebSocket on the same port (DESIGN §6). */
export class RpcServer {
  private readonly opts: RpcServerOptions
  private readonly table: MethodTable
  private readonly log: Logger
  private readonly metrics: RpcMetrics | null
  private readonly extraRoutes: Record<string, RouteHandler>
  private readonly rootPage: RouteHandler | null
  private readonly topics: Set<string>
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true })
  private readonly wss: WebSocketServer
  private readonly connections = new Set<WsConnection>()
  /** topic → subscription id → connection, so publish touches only subscribers. */
  private readonly subscribers = new Map<string, Map<string, WsConnection>>()
  private readonly stopController = new AbortController()
  private httpServer: http.Server | null = null
  private pingTimer: NodeJS.Timeout | null = null
  private discoverDoc: OpenRpcDocument | null = null
  private readonly load: Load = { inFlight: 0 }
  private readonly httpLoads = new WeakMap<Duplex, Load>()
  private readonly corsOrigins: Set<string>

  constructor(opts: Partial<RpcServerOptions>, modules: RpcServerModules) {
    this.opts = { ...defaultRpcServerOptions, ...opts }
    this.log = modules.logger ?? silentLogger
    this.metrics = modules.metrics ?? null
    this.extraRoutes = modules.extraRoutes ?? {}
    this.rootPage = modules.rootPage ?? null
    this.topics = new Set(this.opts.topics)
    for (const topic of this.topics) this.subscribers.set(topic, new Map())
    this.table = new MethodTable([...modules.methods, ...this.builtinMethods()])
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxBodyBytes })
    this.corsOrigins = new Set(this.opts.corsOrigins.map((o) => o.toLowerCase()))
  }

  /** Requests being served now over all connections (for gauges and tests). */
  get inFlightRequests(): number {
    return this.load.inFlight
  }

  async start(): Promise<{ port: number }> {
    if (this.httpServer) throw new RpcError('RPC_ERROR_ALREADY_STARTED', 'rpc server already started')
    // Stopping aborts every handler signal for good, so a stopped server is not restarted: build a new one.
    if (this.stopController.signal.aborted) throw new RpcError('RPC_ERROR_STOPPED', 'rpc server was stopped')
    const server = http.createServer((req, res) => this.onHttpRequest(req, res))
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head))
    const { host, port: wanted } = this.opts
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new RpcError('RPC_ERROR_LISTEN', `cannot listen on ${host}:${wanted}: ${e.message}`, { host, port: wanted, errno: e.code })),
      )
      server.listen(wanted, host, () => resolve())
    })
    server.removeAllListeners('error')
    server.on('error', (e) => this.log.error('rpc server error', { error: errorText(e) }))
    this.httpServer = server
    if (this.opts.wsPingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), this.opts.wsPingIntervalMs)
      this.pingTimer.unref()
    }
    const port = (server.address() as AddressInfo).port
    this.log.info('rpc server listening', { host: this.opts.host, port })
    return { port }
  }

  /** Close the HTTP server and every WebSocket client; resolves once no socket is left open. */
  async stop(): Promise<void> {
    const server = this.httpServer
    if (!server) return
    this.httpServer = null
    this.stopController.abort()
    if (this.pingTimer) clearInterval(this.pingTimer)
    // Handlers that end on abort answer within microtasks; let those answers out before the sockets close.
    await new Promise((resolve) => setImmediate(resolve))
    // The connection cleanup runs in each socket's 'close' handler, which ws emits after the TCP socket is gone.
    const wsClosed = [...this.connections].map((conn) => new Promise((resolve) => conn.socket.once('close', resolve)))
    for (const conn of this.connections) conn.socket.close(1001, 'server stopping')
    const closed = Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), ...wsClosed])
    server.closeIdleConnections()
    // Handlers were told to stop through their signal and peers were asked to close; whoever is still there is cut off.
    const grace = setTimeout(() => {
      for (const conn of this.connections) conn.socket.terminate()
      server.closeAllConnections()
    }, STOP_GRACE_MS)
    await closed
    clearTimeout(grace)
    this.wss.close()
    this.log.info('rpc server stopped')
  }

  /** Open WebSocket connections (for gauges and tests). */
  get wsConnectionCount(): number {
    return this.connections.size
  }

  /** Live subscriptions over all connections (for gauges and tests). */
  get subscriptionCount(): number {
    let n = 0
    for (const subs of this.subscribers.values()) n += subs.size
    return n
  }

  /**
   * Send `result` to every WebSocket subscriber of `topic`. A function is
   * called only when someone is subscribed: a block's JSON is not built for
   * nobody (block sync commits a hundred blocks a second).
   */
  publish(topic: string, result: unknown | (() => unknown)): void {
    const subs = this.subscribers.get(topic)
    if (!subs) throw new RpcError(RpcErrorCode.unknownTopic, `unknown topic ${topic}`, { topic })
    if (subs.size === 0) return
    // Serialize the result once; only the subscription id differs between subscribers (and it is plain hex).
    const resultJson = stringifyJson(typeof result === 'function' ? (result as () => unknown)() : result)
    for (const [id, conn] of subs) {
      conn.send(
        `{"jsonrpc":"2.0","method":"${NOTIFICATION_METHOD}","params":{"subscription":"${id}","result":${resultJson}}}`,
      )
    }
  }

  // ---- HTTP

  private onHttpRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url)
    const origin = req.headers.origin
    if (origin !== undefined) {
      res.setHeader('Vary', 'Origin')
      if (!this.originAllowed(origin, req)) {
        this.refuseOrigin(origin, req.socket.remoteAddress)
        this.sendHttpError(res, 403, RpcErrorCode.originNotAllowed, `origin ${origin} is not allowed (rpcCorsOrigins)`)
        return
      }
      res.setHeader('Access-Control-Allow-Origin', origin)
    }
    if (req.method === 'OPTIONS') {
      if (origin !== undefined) for (const [k, v] of Object.entries(CORS_PREFLIGHT_HEADERS)) res.setHeader(k, v)
      res.writeHead(204, { Allow: 'GET, POST, OPTIONS' }).end()
      return
    }
    const route = this.extraRoutes[path]
    if (route) {
      this.runRoute(route, req, res)
      return
    }
    if (path === '/health') {
      if (req.method === 'GET' || req.method === 'HEAD') sendJson(res, 200, '{"ok":true}')
      else this.sendHttpError(res, 405, RpcErrorCode.methodNotAllowed, `${req.method} not allowed on ${path}`, 'GET')
      return
    }
    if (path !== '/') {
      this.sendHttpError(res, 404, RpcErrorCode.notFound, `no route ${path}`)
      return
    }
    if (this.rootPage && (req.method === 'GET' || req.method === 'HEAD')) {
      this.runRoute(this.rootPage, req, res)
      return
    }
    if (req.method !== 'POST') {
      this.sendHttpError(res, 405, RpcErrorCode.methodNotAllowed, `${req.method} not allowed on /; use POST`, 'POST')
      return
    }
    this.handleHttpRpc(req, res).catch((e: unknown) => {
      this.log.error('rpc http request failed', { error: errorText(e) })
      if (!res.headersSent) sendJson(res, 500, errorResponse(null, toJsonRpcError(e).error))
      else res.destroy()
    })
  }

  private runRoute(route: RouteHandler, req: IncomingMessage, res: ServerResponse): void {
    Promise.resolve()
      .then(() => route(req, res))
      .catch((e: unknown) => {
        this.log.error('rpc extra route failed', { path: pathOf(req.url), error: errorText(e) })
        if (!res.headersSent) sendJson(res, 500, errorResponse(null, toJsonRpcError(e).error))
        else res.destroy()
      })
  }

  private async handleHttpRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readBody(req, res)
    if (body === null) return
    const load = this.httpLoadOf(req.socket)
    const refused = this.acquire(load)
    if (refused) {
      // Refused before parsing, so the answer is one error with id null (an HTTP client reads its own response anyway).
      this.metrics?.onRefused?.(refused.reason)
      res.setHeader('Retry-After', '1')
      sendJson(res, 503, errorResponse(null, toJsonRpcError(refused.error).error))
      return
    }
    try {
      await this.serveHttpRpc(req, res, body)
    } finally {
      this.release(load)
    }
  }

  private async serveHttpRpc(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const requestAbort = new AbortController()
    // 'close' on the response also fires after a normal finish, when aborting is harmless.
    res.on('close', () => requestAbort.abort())
    const ctx: CallContext = {
      transport: 'http',
      remoteAddress: req.socket.remoteAddress,
      signal: AbortSignal.any([requestAbort.signal, this.stopController.signal]),
    }
    const out = await this.handlePayload(body, ctx, null)
    if (out === null) {
      res.writeHead(204).end()
      return
    }
    // Written part by part: a batch of large cached results is never copied into one more string.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': out.bytes })
    for (const part of out.parts) res.write(part)
    res.end()
  }

  private httpLoadOf(socket: Duplex): Load {
    let load = this.httpLoads.get(socket)
    if (!load) this.httpLoads.set(socket, (load = { inFlight: 0 }))
    return load
  }

  /** Take a slot on the server and on the connection, or say which limit refuses it. */
  private acquire(conn: Load): { reason: RefusalReason; error: RpcError } | null {
    if (this.load.inFlight >= this.opts.maxConcurrentRequests) {
      const limit = this.opts.maxConcurrentRequests
      return { reason: 'busy_server', error: busyError(`server busy: ${limit} requests in flight`, 'server', limit) }
    }
    if (conn.inFlight >= this.opts.maxConcurrentRequestsPerConnection) {
      const limit = this.opts.maxConcurrentRequestsPerConnection
      return { reason: 'busy_connection', error: busyError(`server busy: ${limit} requests in flight on this connection`, 'connection', limit) }
    }
    this.load.inFlight++
    conn.inFlight++
    return null
  }

  private release(conn: Load): void {
    this.load.inFlight--
    conn.inFlight--
  }

  private originAllowed(origin: string, req: IncomingMessage): boolean {
    return this.corsOrigins.has('*') || this.corsOrigins.has(origin.toLowerCase()) || this.sameLoopbackOrigin(origin, req)
  }

  /**
   * A page this server served (the explorer, `rootPage`) calling back to it:
   * the Origin is `http://` + the Host header and that Host is a loopback
   * name of this server's port. A Host of any other name is refused, so a
   * DNS-rebinding page (evil.example resolving to 127.0.0.1) stays out.
   */
  private sameLoopbackOrigin(origin: string, req: IncomingMessage): boolean {
    if (!this.rootPage) return false
    const host = req.headers.host?.toLowerCase()
    const port = (this.httpServer?.address() as AddressInfo | null)?.port
    if (host === undefined || port === undefined || origin.toLowerCase() !== `http://${host}`) return false
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host)
  }

  private refuseOrigin(origin: string, remote: string | undefined): void {
    this.log.debug('rpc origin refused', { origin, remote })
    this.metrics?.onRefused?.('origin')
  }

  /** The request body, or null when it was refused (already answered) or the client went away. */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
    const limit = this.opts.maxBodyBytes
    return new Promise((resolve) => {
      if (Number(req.headers['content-length']) > limit) {
        this.refuseTooLarge(req, res)
        resolve(null)
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      const onData = (chunk: Buffer): void => {
        size += chunk.length
        if (size <= limit) {
          chunks.push(chunk)
          return
        }
        req.off('data', onData)
        chunks.length = 0
        this.refuseTooLarge(req, res)
        resolve(null)
      }
      req.on('data', onData)
      req.on('end', () => resolve(Buffer.concat(chunks, size)))
      // A client that aborts mid-body gets no answer; 'close' after 'end' is a no-op on the settled promise.
      req.on('close', () => resolve(null))
    })
  }

  /**
   * Answer 413 with a JSON-RPC error at once, but keep discarding the rest of
   * the body until the client is done sending (bounded by LINGER_MS): closing a
   * socket with unread input resets it, and the client would lose the answer.
   */
  private refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
    const limit = this.opts.maxBodyBytes
    this.log.debug('rpc body too large', { remote: req.socket.remoteAddress, limit })
    const body = errorResponse(null, rpcErrorObject(RpcErrorCode.bodyTooLarge, `request body exceeds the limit of ${limit} bytes`))
    res.writeHead(413, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    })
    res.write(body)
    const linger = setTimeout(() => res.end(), LINGER_MS)
    linger.unref()
    res.on('close', () => clearTimeout(linger))
    req.on('end', () => {
      clearTimeout(linger)
      res.end()
    })
    req.resume()
  }

  private sendHttpError(res: ServerResponse, status: number, code: string, message: string, allow?: string): void {
    if (allow !== undefined) res.setHeader('Allow', `${allow}, OPTIONS`)
    sendJson(res, status, errorResponse(null, rpcErrorObject(code, message)))
  }

  // ---- WebSocket

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (pathOf(req.url) !== '/') return rejectUpgrade(socket, 404, 'Not Found')
    // Browsers do not apply CORS to WebSockets: the Origin check is what keeps a web page off the node.
    const origin = req.headers.origin
    if (origin !== undefined && !this.originAllowed(origin, req)) {
      this.refuseOrigin(origin, req.socket.remoteAddress)
      return rejectUpgrade(socket, 403, 'Forbidden')
    }
    if (!this.httpServer || this.connections.size >= this.opts.maxWsConnections) {
      this.log.debug('rpc websocket refused', { remote: req.socket.remoteAddress, connections: this.connections.size })
      return rejectUpgrade(socket, 503, 'Service Unavailable')
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onWsConnection(ws, req))
  }

  private onWsConnection(ws: WebSocket, req: IncomingMessage): void {
    const conn = new WsConnection(ws, req.socket.remoteAddress, this.opts, this.log, this.subscribers)
    this.connections.add(conn)
    const serve = (bytes: Buffer): void => {
      const refused = this.acquire(conn.load)
      // Every request with an id is answered, a refused one too: WebSocket clients match answers by id.
      void this.handlePayload(bytes, conn.callContext(this.stopController.signal), refused)
        .then((out) => {
          if (out !== null) conn.send(out.parts.length === 1 ? out.parts[0] : out.parts.join(''))
        })
        .finally(() => {
          if (refused) return
          this.release(conn.load)
          const next = conn.queue.shift()
          if (next) serve(next)
          else ws.resume()
        })
    }
    ws.on('message', (data: RawData) => {
      const bytes = rawToBuffer(data)
      // Pipelined messages over the connection's limit wait their turn, and the socket stops being read
      // meanwhile (TCP backpressure); only what had already arrived is queued, bounded by MAX_WS_QUEUE.
      if (conn.load.inFlight >= this.opts.maxConcurrentRequestsPerConnection && conn.queue.length < MAX_WS_QUEUE) {
        conn.queue.push(bytes)
        ws.pause()
        return
      }
      serve(bytes)
    })
    ws.on('pong', () => {
      conn.alive = true
    })
    // ws emits 'close' after any 'error'; the error only needs recording.
    ws.on('error', (e) => this.log.debug('rpc websocket error', { remote: conn.remoteAddress, error: e.message }))
    ws.on('close', () => {
      conn.dispose()
      this.connections.delete(conn)
    })
  }

  private pingAll(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        this.log.debug('rpc websocket peer unresponsive', { remote: conn.remoteAddress })
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      conn.socket.ping()
    }
  }

  // ---- JSON-RPC

  /**
   * The serialized response to one HTTP body or WebSocket message, or null
   * when nothing is owed; never rejects. With `refused`, no request is run:
   * each one owed an answer gets that limit's error.
   */
  private async handlePayload(bytes: Buffer, ctx: CallContext, refused: Refusal | null): Promise<Reply | null> {
    try {
      return await this.servePayload(bytes, ctx, refused)
    } catch (e) {
      this.log.error('rpc payload failed', { error: errorText(e) })
      return replyOf(partOf(errorResponse(null, toJsonRpcError(e).error)))
    }
  }

  private async servePayload(bytes: Buffer, ctx: CallContext, refused: Refusal | null): Promise<Reply | null> {
    const parsed = this.parse(bytes)
    if (!parsed.ok) return replyOf(partOf(errorResponse(null, parsed.error)))
    const payload = parsed.value
    const budget = new ResponseBudget(this.opts.maxResponseBytes)
    if (!Array.isArray(payload)) return replyOf(await this.handleRequest(payload, ctx, budget, refused))
    if (payload.length === 0) return replyOf(partOf(errorResponse(null, rpcErrorObject(RpcErrorCode.invalidRequest, 'empty batch'))))
    if (payload.length > this.opts.maxBatch) {
      const message = `batch of ${payload.length} exceeds the limit of ${this.opts.maxBatch}`
      return replyOf(partOf(errorResponse(null, rpcErrorObject(RpcErrorCode.batchTooLarge, message))))
    }
    // Items run concurrently (a batch of tx_send with wait "commit" waits for one block, not one per item).
    // Starting one runs its synchronous part, serialization of a synchronous result included; once a turn
    // of the event loop has run BATCH_SLICE_MS the next item waits for the next turn, so consensus timers and
    // network messages are served between items that serialize large results, while a batch of cheap calls
    // (tx_send of consecutive nonces) still starts in one turn, in order.
    const pending: Promise<Part | null>[] = []
    let sliceStart = performance.now()
    for (const item of payload) {
      if (performance.now() - sliceStart > BATCH_SLICE_MS) {
        await yieldToLoop()
        sliceStart = performance.now()
      }
      pending.push(this.handleRequest(item, ctx, budget, refused))
    }
    const owed = (await Promise.all(pending)).filter((r): r is Part => r !== null)
    if (owed.length === 0) return null
    const parts = ['[']
    let total = 2 + owed.length - 1
    for (const [i, part] of owed.entries()) {
      if (i > 0) parts.push(',')
      parts.push(part.text)
      total += part.bytes
    }
    parts.push(']')
    return { parts, bytes: total }
  }

  private parse(bytes: Buffer): { ok: true; value: unknown } | { ok: false; error: JsonRpcErrorObject } {
    let text: string
    try {
      text = this.utf8.decode(bytes)
    } catch {
      return { ok: false, error: rpcErrorObject(RpcErrorCode.parse, 'request is not valid UTF-8') }
    }
    if (exceedsDepth(text, MAX_JSON_DEPTH)) {
      return { ok: false, error: rpcErrorObject(RpcErrorCode.tooDeep, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`) }
    }
    try {
      return { ok: true, value: JSON.parse(text) }
    } catch (e) {
      // SyntaxError for bad JSON; RangeError would be an engine whose parser recurses.
      const message = e instanceof SyntaxError ? `invalid JSON: ${e.message}` : 'invalid JSON'
      return { ok: false, error: rpcErrorObject(RpcErrorCode.parse, message) }
    }
  }

  /**
   * One request object: its serialized response, or null for a notification.
   * The response is charged to `budget`; a result that does not fit becomes
   * the response-too-large error.
   */
  private async handleRequest(req: unknown, ctx: CallContext, budget: ResponseBudget, refused: Refusal | null): Promise<Part | null> {
    const started = performance.now()
    const envelope = checkEnvelope(req)
    if (!envelope.ok) {
      this.metrics?.onRequest('(invalid)', (performance.now() - started) / 1000, false)
      return budget.charge(errorResponse(envelope.id, envelope.error))
    }
    const { id, isNotification, method, params } = envelope
    const spec = this.table.get(method)
    const label = spec ? method : '(unknown)'
    let response: Part
    try {
      if (refused) {
        this.metrics?.onRefused?.(refused.reason)
        throw refused.error
      }
      if (!spec) throw new RpcError(RpcErrorCode.methodNotFound, `method ${method} not found`, { method })
      if (isNotification && spec.requiresId) {
        this.metrics?.onRefused?.('notification')
        throw new RpcError(RpcErrorCode.notificationNotAllowed, `${method} needs an id to answer to; sent as a notification it is not run`, { method })
      }
      const validParams = this.table.validateParams(spec, params)
      // An aborted signal never fires 'abort' again, so a handler that waits on it would hang; refuse instead.
      if (ctx.signal.aborted) throw new RpcError(RpcErrorCode.stopping, 'rpc server is stopping or the connection closed')
      if (budget.exhausted) throw this.tooLarge(method)
      // A synchronous result is serialized in the same turn, so the batch loop's time slice accounts for it.
      const returned = spec.handler(validParams, ctx)
      const result = isThenable(returned) ? await returned : returned
      if (budget.exhausted) throw this.tooLarge(method)
      const out = this.resultResponse(id, result, method)
      if (!budget.take(out.bytes)) throw this.tooLarge(method)
      response = out
      this.metrics?.onRequest(label, (performance.now() - started) / 1000, true)
    } catch (e) {
      const { error, internal } = toJsonRpcError(e)
      if (internal) this.log.error('rpc handler failed', { method, error: errorText(e) })
      else this.log.debug('rpc request refused', { method, code: error.code, reason: (error.data as { reason?: string }).reason })
      response = budget.charge(errorResponse(id, error))
      this.metrics?.onRequest(label, (performance.now() - started) / 1000, false)
    }
    return isNotification ? null : response
  }

  private tooLarge(method: string): RpcError {
    this.metrics?.onRefused?.('response_too_large')
    const limit = this.opts.maxResponseBytes
    return new RpcError(RpcErrorCode.responseTooLarge, `response too large: over the limit of ${limit} bytes for one request or batch`, {
      method,
      limit,
    })
  }

  /** The response text and its UTF-8 size; a RawJson result is spliced in as is. */
  private resultResponse(id: JsonRpcId, result: unknown, method: string): Part {
    const head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":`
    if (result instanceof RawJson) return { text: head + result.text + '}', bytes: Buffer.byteLength(head) + result.bytes + 1 }
    let text: string
    try {
      text = head + stringifyJson(result) + '}'
    } catch (e) {
      this.log.error('rpc result not serializable', { method, error: errorText(e) })
      throw new RpcError(RpcErrorCode.internal, 'internal error')
    }
    return { text, bytes: Buffer.byteLength(text) }
  }

  private builtinMethods(): MethodSpec[] {
    const topics = [...this.topics]
    return [
      {
        name: 'rpc.discover',
        summary: 'The OpenRPC document of every method',
        params: [],
        result: { type: 'object', description: 'OpenRPC 1.2.6 document' },
        handler: () => (this.discoverDoc ??= this.table.openRpc(this.opts.version)),
      },
      {
        name: 'chain_subscribe',
        summary: 'Subscribe to a topic (WebSocket only); notifications arrive as chain_subscription',
        params: [{ name: 'topic', required: true, schema: { type: 'string', enum: topics } }],
        result: { type: 'string', pattern: '^0x[0-9a-f]{32}$', description: 'subscription id' },
        handler: (params, ctx) => requireConnection(ctx, 'chain_subscribe').subscribe(params[0] as string),
        requiresId: true,
      },
      {
        name: 'chain_unsubscribe',
        summary: 'Cancel a subscription of this connection (WebSocket only)',
        params: [{ name: 'subscription', required: true, schema: { type: 'string', maxLength: 66 } }],
        result: { type: 'boolean', description: 'whether the subscription existed' },
        handler: (params, ctx) => requireConnection(ctx, 'chain_unsubscribe').unsubscribe(params[0] as string),
      },
    ]
  }
}

/** One WebSocket client: its subscriptions live and die with it. */
class WsConnection implements SubscriptionHost {
  alive = true
  readonly load: Load = { inFlight: 0 }
  /** Messages received while `load` was at the per-connection limit, served in order as slots free. */
  readonly queue: Buffer[] = []
  private readonly subs = new Map<string, string>()
  private readonly abort = new AbortController()

  constructor(
    readonly socket: WebSocket,
    readonly remoteAddress: string | undefined,
    private readonly opts: RpcServerOptions,
    private readonly log: Logger,
    private readonly subscribers: Map<string, Map<string, WsConnection>>,
  ) {}

  callContext(stopSignal: AbortSignal): CallContext {
    return {
      transport: 'ws',
      remoteAddress: this.remoteAddress,
      signal: AbortSignal.any([this.abort.signal, stopSignal]),
      connection: this,
    }
  }

  subscribe(topic: string): string {
    const topicSubs = this.subscribers.get(topic)
    if (!topicSubs) throw new RpcError(RpcErrorCode.unknownTopic, `unknown topic ${topic}`, { topic })
    if (this.subs.size >= this.opts.maxSubscriptionsPerConnection) {
      throw new RpcError(
        RpcErrorCode.tooManySubscriptions,
        `at most ${this.opts.maxSubscriptionsPerConnection} subscriptions per connection`,
        { limit: this.opts.maxSubscriptionsPerConnection },
      )
    }
    const id = '0x' + randomBytes(16).toString('hex')
    this.subs.set(id, topic)
    topicSubs.set(id, this)
    return id
  }

  unsubscribe(id: string): boolean {
    const topic = this.subs.get(id)
    if (topic === undefined) return false
    this.subs.delete(id)
    this.subscribers.get(topic)?.delete(id)
    return true
  }

  send(text: string): void {
    if (this.socket.readyState !== WebSocket.OPEN) return
    if (this.socket.bufferedAmount > this.opts.maxWsBufferedBytes) {
      this.log.warn('rpc websocket client too slow, dropping it', {
        remote: this.remoteAddress,
        bufferedBytes: this.socket.bufferedAmount,
      })
      this.socket.terminate()
      return
    }
    this.socket.send(text)
  }

  dispose(): void {
    this.queue.length = 0
    this.abort.abort()
    for (const id of [...this.subs.keys()]) this.unsubscribe(id)
  }
}

type JsonRpcId = string | number | null

/** One response object's JSON text and its UTF-8 size. */
interface Part {
  text: string
  bytes: number
}

/** What one HTTP body or WebSocket message is answered with: JSON text in parts, `bytes` in all. */
interface Reply {
  parts: string[]
  bytes: number
}

function partOf(text: string): Part {
  return { text, bytes: Buffer.byteLength(text) }
}

function replyOf(part: Part | null): Reply | null {
  return part === null ? null : { parts: [part.text], bytes: part.bytes }
}

/** A payload refused by a concurrency limit: every request in it owed an answer gets `error`. */
interface Refusal {
  reason: RefusalReason
  error: RpcError
}

/**
 * The bytes one HTTP request or WebSocket message may still answer with. Once
 * a result did not fit, nothing else does (geth's rule for batches: the items
 * past the cap get the error); error entries are small and always go out.
 */
class ResponseBudget {
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

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

type Envelope =
  | { ok: true; id: JsonRpcId; isNotification: boolean; method: string; params: unknown }
  | { ok: false; id: JsonRpcId; error: JsonRpcErrorObject }

/** Check the JSON-RPC 2.0 request shape. An invalid request is always answered, with its id when that id is usable. */
function checkEnvelope(req: unknown): Envelope {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return invalidEnvelope(null, 'request must be an object')
  }
  const r = req as Record<string, unknown>
  const hasId = 'id' in r
  if (hasId && !isValidId(r.id)) return invalidEnvelope(null, 'id must be a string, a number or null')
  const id = hasId ? (r.id as JsonRpcId) : null
  if (r.jsonrpc !== '2.0') return invalidEnvelope(id, 'jsonrpc must be "2.0"')
  if (typeof r.method !== 'string') return invalidEnvelope(id, 'method must be a string')
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null)) {
    return invalidEnvelope(id, 'params must be an array')
  }
  return { ok: true, id, isNotification: !hasId, method: r.method, params: r.params }
}

function invalidEnvelope(id: JsonRpcId, message: string): Envelope {
  return { ok: false, id, error: rpcErrorObject(RpcErrorCode.invalidRequest, message) }
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

function rpcErrorObject(code: string, message: string): JsonRpcErrorObject {
  return toJsonRpcError(new RpcError(code, message)).error
}

function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): string {
  return stringifyJson({ jsonrpc: '2.0', id, error })
}

function requireConnection(ctx: CallContext, method: string): SubscriptionHost {
  if (!ctx.connection) throw new RpcError(RpcErrorCode.wsOnly, `${method} is only available over WebSocket`, { method })
  return ctx.connection
}

/**
 * Whether JSON text nests arrays/objects deeper than `max`, scanning outside
 * strings only. Text shorter than `max` cannot, so small requests skip the scan.
 */
function exceedsDepth(text: string, max: number): boolean {
  if (text.length <= max) return false
  // At most `max` openers in all cannot nest deeper: typical bodies (a few
  // calls around long hex strings) are decided here by native indexOf.
  let openers = 0
  for (const opener of ['[', '{']) {
    for (let i = text.indexOf(opener); i !== -1 && openers <= max; i = text.indexOf(opener, i + 1)) openers++
  }
  if (openers <= max) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      i = endOfString(text, i)
      if (i === -1) return false // unterminated: JSON.parse reports it
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

/** Index of the quote closing the JSON string opened at `open`, or -1. */
function endOfString(text: string, open: number): number {
  for (let j = text.indexOf('"', open + 1); j !== -1; j = text.indexOf('"', j + 1)) {
    let backslashes = 0
    while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return j
  }
  return -1
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function pathOf(url = '/'): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}

function errorText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e)
}
