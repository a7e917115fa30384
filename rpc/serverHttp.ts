import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { RpcErrorCode, toJsonRpcError, type RpcErrorCodeValue } from './errors.js'
import type { Logger } from '../core/logger.js'
import type { CallContext } from './methodTable.js'
import { SHED_BODY_MIN_BYTES, type RouteHandler, type RpcMetrics, type RpcServerOptions } from './serverOptions.js'
import type { ConcurrencyLimits, Load } from './serverLimits.js'
import { errorResponse, errorText, rpcErrorObject, type JsonRpcDispatcher } from './dispatcher.js'
import { BodyBuffers, POOLED_BODIES_KEPT, POOLED_BODY_MIN_BYTES } from './bodyBuffers.js'

/**
 * The HTTP transport of the RPC server: JSON-RPC on POST `/`, `/health`,
 * extra routes and the root page, CORS and the Origin check, the body limit
 * (413 with the body drained) and a concurrency slot per request. The
 * JSON-RPC itself is the dispatcher's (rpc/dispatcher.ts).
 */

/** How long an over-limit body is drained before the socket is cut (see refuseTooLarge). */
const LINGER_MS = 2_000

/** Sent on a preflight from an allowed origin, with `Access-Control-Allow-Origin` echoing it. */
const CORS_PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
  'Access-Control-Max-Age': '86400',
}

/**
 * Which web origins may use the RPC (`corsOrigins`, plus the pages this
 * server serves itself); HTTP and WebSocket upgrades ask the same policy.
 */
export class OriginPolicy {
  private readonly corsOrigins: Set<string>

  constructor(
    corsOrigins: readonly string[],
    private readonly hasRootPage: boolean,
    /** the port this server listens on, once it does */
    private readonly port: () => number | undefined,
    private readonly log: Logger,
    private readonly metrics: RpcMetrics | null,
  ) {
    this.corsOrigins = new Set(corsOrigins.map((o) => o.toLowerCase()))
  }

  allowed(origin: string, req: IncomingMessage): boolean {
    return this.corsOrigins.has('*') || this.corsOrigins.has(origin.toLowerCase()) || this.sameLoopbackOrigin(origin, req)
  }

  /**
   * A page this server served (the explorer, `rootPage`) calling back to it:
   * the Origin is `http://` + the Host header and that Host is a loopback
   * name of this server's port. A Host of any other name is refused, so a
   * DNS-rebinding page (evil.example resolving to 127.0.0.1) stays out.
   */
  private sameLoopbackOrigin(origin: string, req: IncomingMessage): boolean {
    if (!this.hasRootPage) return false
    const host = req.headers.host?.toLowerCase()
    const port = this.port()
    if (host === undefined || port === undefined || origin.toLowerCase() !== `http://${host}`) return false
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host)
  }

  refuse(origin: string, remote: string | undefined): void {
    this.log.debug('rpc origin refused', { origin, remote })
    this.metrics?.onRefused?.('origin')
  }
}

export interface HttpTransportModules {
  dispatcher: JsonRpcDispatcher
  limits: ConcurrencyLimits
  origins: OriginPolicy
  log: Logger
  metrics: RpcMetrics | null
  extraRoutes: Record<string, RouteHandler>
  rootPage: RouteHandler | null
  /** aborted when the server stops: every handler's signal follows it */
  stopSignal: AbortSignal
  /** RpcServerModules.shedBody */
  shedBody: ((declaredBytes: number) => Error | null) | null
}

/** A request body: `bytes`, and the reused buffer under it to give back once answered (null: joined from chunks). */
interface Body {
  bytes: Buffer
  pooled: Buffer | null
}

export class HttpTransport {
  private readonly httpLoads = new WeakMap<Duplex, Load>()
  /** large bodies are copied into reused buffers (rpc/bodyBuffers.ts) */
  private readonly bodies: BodyBuffers

  constructor(
    private readonly opts: RpcServerOptions,
    private readonly m: HttpTransportModules,
  ) {
    this.bodies = new BodyBuffers(opts.maxBodyBytes, POOLED_BODY_MIN_BYTES, POOLED_BODIES_KEPT)
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url)
    const origin = req.headers.origin
    if (origin !== undefined) {
      res.setHeader('Vary', 'Origin')
      if (!this.m.origins.allowed(origin, req)) {
        this.m.origins.refuse(origin, req.socket.remoteAddress)
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
    const route = this.m.extraRoutes[path]
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
    if (this.m.rootPage && (req.method === 'GET' || req.method === 'HEAD')) {
      this.runRoute(this.m.rootPage, req, res)
      return
    }
    if (req.method !== 'POST') {
      this.sendHttpError(res, 405, RpcErrorCode.methodNotAllowed, `${req.method} not allowed on /; use POST`, 'POST')
      return
    }
    this.handleHttpRpc(req, res).catch((e: unknown) => {
      this.m.log.error('rpc http request failed', { error: errorText(e) })
      if (!res.headersSent) sendJson(res, 500, errorResponse(null, toJsonRpcError(e).error))
      else res.destroy()
    })
  }

  /**
   * node:http's `checkContinue`: a request that sent `Expect: 100-continue`
   * (curl does for large bodies) waits for `100 Continue` before uploading
   * its body. A JSON-RPC POST whose body would be refused anyway — over
   * `maxBodyBytes` (413) or shed (`shedBody`, 503 + Retry-After) — gets its
   * final answer instead, and a client that waits never sends the body
   * (RFC 9110 §10.1.1). node:http closes such a connection after the
   * answer, since the client may send the body after all (curl does after
   * 1 s without an answer): the answer is written whole at once, and the
   * connection is ended only once the body is in or after LINGER_MS, so
   * that a body on its way does not reset the socket under the answer.
   * Any other request — and any with an Origin (browsers cannot send
   * Expect; CORS answers stay in `handle`) — is told to continue and
   * served as usual.
   */
  handleExpectContinue(req: IncomingMessage, res: ServerResponse): void {
    if (pathOf(req.url) === '/' && req.method === 'POST' && req.headers.origin === undefined) {
      if (Number(req.headers['content-length']) > this.opts.maxBodyBytes) {
        this.refuseTooLarge(req, res)
        return
      }
      if (this.shedUnread(req, res, true)) return
    }
    res.writeContinue()
    this.handle(req, res)
  }

  private runRoute(route: RouteHandler, req: IncomingMessage, res: ServerResponse): void {
    Promise.resolve()
      .then(() => route(req, res))
      .catch((e: unknown) => {
        this.m.log.error('rpc extra route failed', { path: pathOf(req.url), error: errorText(e) })
        if (!res.headersSent) sendJson(res, 500, errorResponse(null, toJsonRpcError(e).error))
        else res.destroy()
      })
  }

  private async handleHttpRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.shedUnread(req, res)) return
    const body = await this.readBody(req, res)
    if (body === null) return
    try {
      const load = this.httpLoadOf(req.socket)
      const refused = this.m.limits.acquire(load)
      if (refused) {
        // Refused before parsing, so the answer is one error with id null (an HTTP client reads its own response anyway).
        this.m.metrics?.onRefused?.(refused.reason)
        res.setHeader('Retry-After', '1')
        sendJson(res, 503, errorResponse(null, toJsonRpcError(refused.error).error))
        return
      }
      try {
        await this.serveHttpRpc(req, res, body.bytes)
      } finally {
        this.m.limits.release(load)
      }
    } finally {
      // the dispatcher has parsed the body into strings long before it answers: nothing reads these bytes now
      if (body.pooled) this.bodies.release(body.pooled)
    }
  }

  private async serveHttpRpc(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const requestAbort = new AbortController()
    // 'close' on the response also fires after a normal finish, when aborting is harmless.
    res.on('close', () => requestAbort.abort())
    const ctx: CallContext = {
      transport: 'http',
      remoteAddress: req.socket.remoteAddress,
      signal: AbortSignal.any([requestAbort.signal, this.m.stopSignal]),
    }
    const out = await this.m.dispatcher.handlePayload(body, ctx, null)
    if (out === null) {
      res.writeHead(204).end()
      return
    }
    // Written part by part: a batch of large cached results is never copied into one more string.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': out.bytes })
    for (const part of out.parts) res.write(part)
    res.end()
  }

  /**
   * A large body the node would refuse anyway (RpcServerModules.shedBody) is
   * answered at once and discarded unread; true when it was. node:http
   * drains the rest of the body once the response is sent, so the
   * connection stays usable and the client reads its answer. `beforeUpload`
   * (Expect: 100-continue, not yet told to continue): node:http closes the
   * connection after this answer, so it lingers (answerThenClose).
   */
  private shedUnread(req: IncomingMessage, res: ServerResponse, beforeUpload = false): boolean {
    const declared = Number(req.headers['content-length'])
    if (this.m.shedBody === null || !(declared >= SHED_BODY_MIN_BYTES) || declared > this.opts.maxBodyBytes) return false
    const refused = this.m.shedBody(declared)
    if (refused === null) return false
    this.m.metrics?.onRefused?.('tx_intake')
    const error = toJsonRpcError(refused).error
    const hintMs = (error.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs
    res.setHeader('Retry-After', String(typeof hintMs === 'number' && hintMs > 0 ? Math.ceil(hintMs / 1000) : 1))
    const body = errorResponse(null, error)
    if (beforeUpload) {
      this.answerThenClose(req, res, 503, body)
      return true
    }
    sendJson(res, 503, body)
    req.resume()
    return true
  }

  private httpLoadOf(socket: Duplex): Load {
    let load = this.httpLoads.get(socket)
    if (!load) this.httpLoads.set(socket, (load = { inFlight: 0 }))
    return load
  }

  /**
   * The request body, or null when it was refused (already answered) or the
   * client went away. A large body with a Content-Length is copied into a
   * reused buffer as it arrives (BodyBuffers), any other is joined from its
   * chunks; node:http never delivers more body than Content-Length declares.
   */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<Body | null> {
    const limit = this.opts.maxBodyBytes
    return new Promise((resolve) => {
      const declared = Number(req.headers['content-length'])
      if (declared > limit) {
        this.refuseTooLarge(req, res)
        resolve(null)
        return
      }
      let pooled = this.bodies.take(declared)
      const chunks: Buffer[] = []
      let size = 0
      let settled = false
      const settle = (body: Body | null): void => {
        settled = true
        resolve(body)
      }
      const giveBack = (): void => {
        if (pooled) this.bodies.release(pooled)
        pooled = null
      }
      const onData = (chunk: Buffer): void => {
        if (size + chunk.length > limit) {
          req.off('data', onData)
          chunks.length = 0
          giveBack()
          this.refuseTooLarge(req, res)
          settle(null)
          return
        }
        if (pooled && size + chunk.length > pooled.length) {
          // more than the declared length, which node:http does not deliver: joined from chunks after all
          chunks.push(Buffer.from(pooled.subarray(0, size)))
          giveBack()
        }
        if (pooled) chunk.copy(pooled, size)
        else chunks.push(chunk)
        size += chunk.length
      }
      req.on('data', onData)
      req.on('end', () => {
        if (settled) return
        if (pooled) settle({ bytes: pooled.subarray(0, size), pooled })
        else settle({ bytes: Buffer.concat(chunks, size), pooled: null })
      })
      // A client that aborts mid-body gets no answer.
      req.on('close', () => {
        if (settled) return
        giveBack()
        settle(null)
      })
    })
  }

  /**
   * Answer 413 with a JSON-RPC error at once, but keep discarding the rest of
   * the body until the client is done sending (bounded by LINGER_MS): closing a
   * socket with unread input resets it, and the client would lose the answer.
   */
  private refuseTooLarge(req: IncomingMessage, res: ServerResponse): void {
    const limit = this.opts.maxBodyBytes
    this.m.log.debug('rpc body too large', { remote: req.socket.remoteAddress, limit })
    const body = errorResponse(null, rpcErrorObject(RpcErrorCode.bodyTooLarge, `request body exceeds the limit of ${limit} bytes`))
    this.answerThenClose(req, res, 413, body)
  }

  /**
   * Write the JSON answer whole with `Connection: close`, and end it once the
   * request's body is in (read and discarded) or after LINGER_MS, whichever
   * comes first: a connection closed with input still arriving is reset,
   * and the client would lose the answer.
   */
  private answerThenClose(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' })
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

  private sendHttpError(res: ServerResponse, status: number, code: RpcErrorCodeValue, message: string, allow?: string): void {
    if (allow !== undefined) res.setHeader('Allow', `${allow}, OPTIONS`)
    sendJson(res, status, errorResponse(null, rpcErrorObject(code, message)))
  }
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

export function pathOf(url = '/'): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
