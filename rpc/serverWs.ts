import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { RpcError, RpcErrorCode, stringifyJson } from './errors.js'
import type { Logger } from '../core/logger.js'
import type { CallContext, MethodSpec, SubscriptionHost } from './methodTable.js'
import type { RpcServerOptions } from './serverOptions.js'
import type { ConcurrencyLimits, Load } from './serverLimits.js'
import type { JsonRpcDispatcher } from './dispatcher.js'
import { pathOf, type OriginPolicy } from './serverHttp.js'

/**
 * The WebSocket transport of the RPC server, on the HTTP port: upgrades
 * (path `/`, Origin check, connection cap), one message = one payload for
 * the dispatcher, a per-connection in-flight limit with a bounded queue and
 * TCP backpressure, dead-peer pings, and subscriptions (`chain_subscribe`,
 * notifications `chain_subscription`) that live and die with a connection.
 */

const NOTIFICATION_METHOD = 'chain_subscription'
/** Messages of one WebSocket held while its in-flight limit is reached (beyond: refused busy). */
const MAX_WS_QUEUE = 1024

export interface WsTransportModules {
  dispatcher: JsonRpcDispatcher
  limits: ConcurrencyLimits
  origins: OriginPolicy
  log: Logger
  /** aborted when the server stops: every handler's signal follows it */
  stopSignal: AbortSignal
  /** whether the server is accepting connections */
  isOpen: () => boolean
}

export class WsTransport {
  private readonly wss: WebSocketServer
  private readonly connections = new Set<WsConnection>()
  /** topic → subscription id → connection, so publish touches only subscribers. */
  private readonly subscribers = new Map<string, Map<string, WsConnection>>()

  constructor(
    private readonly opts: RpcServerOptions,
    private readonly m: WsTransportModules,
  ) {
    for (const topic of opts.topics) this.subscribers.set(topic, new Map())
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxBodyBytes })
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.connections.size
  }

  /** Live subscriptions over all connections. */
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

  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (pathOf(req.url) !== '/') return rejectUpgrade(socket, 404, 'Not Found')
    // Browsers do not apply CORS to WebSockets: the Origin check is what keeps a web page off the node.
    const origin = req.headers.origin
    if (origin !== undefined && !this.m.origins.allowed(origin, req)) {
      this.m.origins.refuse(origin, req.socket.remoteAddress)
      return rejectUpgrade(socket, 403, 'Forbidden')
    }
    if (!this.m.isOpen() || this.connections.size >= this.opts.maxWsConnections) {
      this.m.log.debug('rpc websocket refused', { remote: req.socket.remoteAddress, connections: this.connections.size })
      return rejectUpgrade(socket, 503, 'Service Unavailable')
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onWsConnection(ws, req))
  }

  private onWsConnection(ws: WebSocket, req: IncomingMessage): void {
    const conn = new WsConnection(ws, req.socket.remoteAddress, this.opts, this.m.log, this.subscribers)
    this.connections.add(conn)
    const serve = (bytes: Buffer): void => {
      const refused = this.m.limits.acquire(conn.load)
      // Every request with an id is answered, a refused one too: WebSocket clients match answers by id.
      void this.m.dispatcher.handlePayload(bytes, conn.callContext(this.m.stopSignal), refused)
        .then((out) => {
          if (out !== null) conn.send(out.parts.length === 1 ? out.parts[0] : out.parts.join(''))
        })
        .finally(() => {
          if (refused) return
          this.m.limits.release(conn.load)
          const next = conn.queue.shift()
          if (next) serve(next)
          else ws.resume()
        })
    }
    ws.on('message', (data: RawData) => {
      const bytes = rawToBuffer(data)
      // Pipelined messages over the connection's limit wait their turn, and the socket stops being read
      // meanwhile (TCP backpressure); only what had already arrived is queued, bounded by MAX_WS_QUEUE.
      if (this.m.limits.connectionFull(conn.load) && conn.queue.length < MAX_WS_QUEUE) {
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
    ws.on('error', (e) => this.m.log.debug('rpc websocket error', { remote: conn.remoteAddress, error: e.message }))
    ws.on('close', () => {
      conn.dispose()
      this.connections.delete(conn)
    })
  }

  pingAll(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        this.m.log.debug('rpc websocket peer unresponsive', { remote: conn.remoteAddress })
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      conn.socket.ping()
    }
  }

  /**
   * Ask every client to close (1001); resolves once each socket is gone
   * (ws emits 'close' after the TCP socket is, and the connection's cleanup runs there).
   */
  closeAll(): Promise<unknown> {
    const closed = [...this.connections].map((conn) => new Promise((resolve) => conn.socket.once('close', resolve)))
    for (const conn of this.connections) conn.socket.close(1001, 'server stopping')
    return Promise.all(closed)
  }

  /** Cut every client off at once (after the stop grace period). */
  terminateAll(): void {
    for (const conn of this.connections) conn.socket.terminate()
  }

  dispose(): void {
    this.wss.close()
  }
}

/** `chain_subscribe` and `chain_unsubscribe` over `topics` (the server's `topics` option). */
export function subscriptionMethods(topics: readonly string[]): MethodSpec[] {
  return [
    {
      name: 'chain_subscribe',
      summary: 'Subscribe to a topic (WebSocket only); notifications arrive as chain_subscription',
      params: [{ name: 'topic', required: true, schema: { type: 'string', enum: topics } }],
      result: { type: 'string', pattern: '^0x[0-9a-f]{32}$', description: 'subscription id' },
      handler: ([topic], ctx) => requireConnection(ctx, 'chain_subscribe').subscribe(topic as string),
      requiresId: true,
    },
    {
      name: 'chain_unsubscribe',
      summary: 'Cancel a subscription of this connection (WebSocket only)',
      params: [{ name: 'subscription', required: true, schema: { type: 'string', maxLength: 66 } }],
      result: { type: 'boolean', description: 'whether the subscription existed' },
      handler: ([id], ctx) => requireConnection(ctx, 'chain_unsubscribe').unsubscribe(id as string),
    },
  ]
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

function requireConnection(ctx: CallContext, method: string): SubscriptionHost {
  if (!ctx.connection) throw new RpcError(RpcErrorCode.wsOnly, `${method} is only available over WebSocket`, { method })
  return ctx.connection
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.once('finish', () => socket.destroy())
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
}
