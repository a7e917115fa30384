import http from 'node:http'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { RpcError, RpcErrorCode } from './errors.js'
import { MethodTable } from './methodTable.js'
import { silentLogger, type Logger } from '../core/logger.js'
import { defaultRpcServerOptions, type RpcMetrics, type RpcServerModules, type RpcServerOptions } from './serverOptions.js'
import { ConcurrencyLimits } from './serverLimits.js'
import { JsonRpcDispatcher, discoverMethod, errorText } from './dispatcher.js'
import { HttpTransport, OriginPolicy } from './serverHttp.js'
import { WsTransport, subscriptionMethods } from './serverWs.js'

export * from './serverOptions.js'
export type { Logger } from '../core/logger.js'

/**
 * The RPC server (DESIGN §6): JSON-RPC 2.0 over HTTP POST `/` and WebSocket
 * on the same port. This file wires the parts and owns the listening socket's
 * life: the socket-free dispatcher (rpc/dispatcher.ts), the HTTP transport
 * (rpc/serverHttp.ts), the WebSocket transport with subscriptions
 * (rpc/serverWs.ts) and the shared limits (rpc/serverLimits.ts).
 */

/** How long `stop()` waits for in-flight requests and WebSocket close handshakes before cutting sockets. */
const STOP_GRACE_MS = 1_000

export class RpcServer {
  private readonly opts: RpcServerOptions
  private readonly log: Logger
  private readonly limits: ConcurrencyLimits
  private readonly http: HttpTransport
  private readonly ws: WsTransport
  private readonly stopController = new AbortController()
  private httpServer: http.Server | null = null
  private pingTimer: NodeJS.Timeout | null = null

  constructor(opts: Partial<RpcServerOptions>, modules: RpcServerModules) {
    this.opts = { ...defaultRpcServerOptions, ...opts }
    this.log = modules.logger ?? silentLogger
    const metrics: RpcMetrics | null = modules.metrics ?? null
    const rootPage = modules.rootPage ?? null
    this.limits = new ConcurrencyLimits(this.opts.maxConcurrentRequests, this.opts.maxConcurrentRequestsPerConnection)
    const origins = new OriginPolicy(this.opts.corsOrigins, rootPage !== null, () => (this.httpServer?.address() as AddressInfo | null)?.port, this.log, metrics)
    const table: MethodTable = new MethodTable([
      ...modules.methods, discoverMethod(() => table, this.opts.version), ...subscriptionMethods(this.opts.topics),
    ])
    const dispatcher = new JsonRpcDispatcher(this.opts, table, this.log, metrics)
    const stopSignal = this.stopController.signal
    this.http = new HttpTransport(this.opts, {
      dispatcher, limits: this.limits, origins, log: this.log, metrics, extraRoutes: modules.extraRoutes ?? {}, rootPage, stopSignal,
      shedBody: modules.shedBody ? (n) => modules.shedBody!(n) : null,
    })
    this.ws = new WsTransport(this.opts, { dispatcher, limits: this.limits, origins, log: this.log, stopSignal, isOpen: () => this.httpServer !== null })
  }

  /** Requests being served now over all connections (for gauges and tests). */
  get inFlightRequests(): number {
    return this.limits.inFlight
  }

  async start(): Promise<{ port: number }> {
    if (this.httpServer) throw new RpcError(RpcErrorCode.alreadyStarted, 'rpc server already started')
    // Stopping aborts every handler signal for good, so a stopped server is not restarted: build a new one.
    if (this.stopController.signal.aborted) throw new RpcError(RpcErrorCode.stopped, 'rpc server was stopped')
    const server = http.createServer((req, res) => this.http.handle(req, res))
    server.on('checkContinue', (req: IncomingMessage, res: http.ServerResponse) => this.http.handleExpectContinue(req, res))
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.ws.onUpgrade(req, socket, head))
    const { host, port: wanted } = this.opts
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new RpcError(RpcErrorCode.listen, `cannot listen on ${host}:${wanted}: ${e.message}`, { host, port: wanted, errno: e.code })),
      )
      server.listen(wanted, host, () => resolve())
    })
    server.removeAllListeners('error')
    server.on('error', (e) => this.log.error('rpc server error', { error: errorText(e) }))
    this.httpServer = server
    if (this.opts.wsPingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.ws.pingAll(), this.opts.wsPingIntervalMs)
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
    const closed = Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), this.ws.closeAll()])
    server.closeIdleConnections()
    // Handlers were told to stop through their signal and peers were asked to close; whoever is still there is cut off.
    const grace = setTimeout(() => {
      this.ws.terminateAll()
      server.closeAllConnections()
    }, STOP_GRACE_MS)
    await closed
    clearTimeout(grace)
    this.ws.dispose()
    this.log.info('rpc server stopped')
  }

  /** Open WebSocket connections (for gauges and tests). */
  get wsConnectionCount(): number {
    return this.ws.connectionCount
  }

  /** Live subscriptions over all connections (for gauges and tests). */
  get subscriptionCount(): number {
    return this.ws.subscriptionCount
  }

  /**
   * Send `result` to every WebSocket subscriber of `topic`. A function is
   * called only when someone is subscribed: a block's JSON is not built for
   * nobody (block sync commits a hundred blocks a second).
   */
  publish(topic: string, result: unknown | (() => unknown)): void {
    this.ws.publish(topic, result)
  }
}
