import { WebSocket } from 'ws'
import type { RawData } from 'ws'
import { AttrchainError } from '../core/errors.js'
import { stringifyJson } from './errors.js'

/** The server answered with a JSON-RPC error. `code` is the JSON-RPC code; `data.reason` the attrchain error code. */
export class RpcRequestError extends Error {
  readonly code: number
  readonly data?: unknown

  constructor(code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'RpcRequestError'
    this.code = code
    if (data !== undefined) this.data = data
  }

  /** The machine-readable reason (`TX_ERROR_BAD_NONCE`, …) when the server gave one. */
  get reason(): string | undefined {
    const reason = (this.data as { reason?: unknown } | undefined)?.reason
    return typeof reason === 'string' ? reason : undefined
  }
}

/** The call never got a JSON-RPC answer: network failure, timeout, closed socket or a non-JSON-RPC reply. */
export class RpcTransportError extends AttrchainError<(typeof RpcTransportErrorCode)[keyof typeof RpcTransportErrorCode]> {}

export const RpcTransportErrorCode = {
  /** the request could not be sent or its answer read (connection refused, reset, DNS) */
  network: 'RPC_TRANSPORT_ERROR_NETWORK',
  /** no answer within the client's timeoutMs */
  timeout: 'RPC_TRANSPORT_ERROR_TIMEOUT',
  /** an answer that is not a JSON-RPC response (not JSON, no response for a batch item, malformed error object) */
  badResponse: 'RPC_TRANSPORT_ERROR_BAD_RESPONSE',
  /** the WebSocket closed (by the client or the server) */
  closed: 'RPC_TRANSPORT_ERROR_CLOSED',
} as const

export interface RpcCall {
  method: string
  params?: unknown[]
}

export type RpcBatchResult<T = unknown> = { ok: true; result: T } | { ok: false; error: RpcRequestError }

export interface RpcTransportOptions {
  /** Per-call timeout; 0 waits forever (tx_send with wait "commit" can take a while). */
  timeoutMs: number
  headers?: Record<string, string>
}

export const defaultRpcTransportOptions: RpcTransportOptions = { timeoutMs: 30_000 }

interface JsonRpcResponse {
  id: unknown
  result?: unknown
  error?: { code: number; message: string; data?: unknown }
}

/** JSON-RPC 2.0 over HTTP POST with the global fetch. Params may hold bigints: they go out as decimal strings. */
export class RpcTransport {
  private readonly opts: RpcTransportOptions
  private nextId = 1

  constructor(
    readonly url: string,
    opts: Partial<RpcTransportOptions> = {},
  ) {
    this.opts = { ...defaultRpcTransportOptions, ...opts }
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const id = this.nextId++
    const reply = await this.post({ jsonrpc: '2.0', id, method, params })
    return unwrap<T>(asResponse(reply))
  }

  /** One HTTP request for all calls; results come back in the order of `calls`, each a result or its own error. */
  async batch(calls: RpcCall[]): Promise<RpcBatchResult[]> {
    if (calls.length === 0) return []
    const firstId = this.nextId
    this.nextId += calls.length
    const reply = await this.post(calls.map((c, i) => ({ jsonrpc: '2.0', id: firstId + i, method: c.method, params: c.params ?? [] })))
    return batchResults(reply, calls.map((c, i) => ({ id: firstId + i, method: c.method })))
  }

  private async post(body: unknown): Promise<unknown> {
    const signal = this.opts.timeoutMs > 0 ? AbortSignal.timeout(this.opts.timeoutMs) : undefined
    let res: Response
    let text: string
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...this.opts.headers },
        body: stringifyJson(body),
        signal,
      })
      text = await res.text()
    } catch (e) {
      if (signal?.aborted) {
        throw new RpcTransportError(RpcTransportErrorCode.timeout, `no answer from ${this.url} within ${this.opts.timeoutMs} ms`)
      }
      throw new RpcTransportError(RpcTransportErrorCode.network, `request to ${this.url} failed: ${(e as Error).message}`, {
        cause: (e as Error).cause ?? null,
      })
    }
    // Errors come with a JSON-RPC body whatever the HTTP status (413 included), so the body decides.
    try {
      return JSON.parse(text) as unknown
    } catch {
      throw new RpcTransportError(RpcTransportErrorCode.badResponse, `HTTP ${res.status} from ${this.url} is not JSON`, {
        status: res.status,
      })
    }
  }
}

export interface RpcWsTransportOptions {
  /** Per-call timeout; 0 waits forever. */
  timeoutMs: number
  /** Called once when the socket closes for any reason; pending calls have been rejected by then. */
  onClose?: (code: number, reason: string) => void
}

export const defaultRpcWsTransportOptions: RpcWsTransportOptions = { timeoutMs: 30_000 }

interface PendingCall {
  resolve(value: unknown): void
  reject(err: Error): void
  timer: NodeJS.Timeout | null
  /** Runs synchronously with the response, before any later message is handled (subscription registration). */
  onResult?: (result: unknown) => void
}

const NOTIFICATION_METHOD = 'chain_subscription'

/** JSON-RPC 2.0 over one WebSocket, with subscriptions. */
export class RpcWsTransport {
  private readonly opts: RpcWsTransportOptions
  private readonly socket: WebSocket
  private readonly opened: Promise<void>
  private rejectOpened: (e: Error) => void = () => {}
  private readonly pending = new Map<number, PendingCall>()
  private readonly subscriptions = new Map<string, (result: unknown) => void>()
  private nextId = 1
  private closedError: RpcTransportError | null = null

  constructor(
    readonly url: string,
    opts: Partial<RpcWsTransportOptions> = {},
  ) {
    this.opts = { ...defaultRpcWsTransportOptions, ...opts }
    this.socket = new WebSocket(url)
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.rejectOpened = reject
    })
    // Calls made before the socket opens await `opened` themselves; this keeps an unobserved failure quiet.
    this.opened.catch(() => {})
    this.socket.on('message', (data: RawData) => this.onMessage(data))
    // 'close' always follows 'error', and carries the cleanup.
    this.socket.on('error', (e) => {
      this.closedError ??= new RpcTransportError(RpcTransportErrorCode.network, `websocket ${url}: ${e.message}`)
    })
    this.socket.on('close', (code: number, reason: Buffer) => this.onClose(code, reason.toString()))
  }

  async call<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    return (await this.send(method, params)) as T
  }

  /**
   * Subscribe to a topic (`newBlocks`, `distributions`). `onResult` receives
   * each notification's result; the returned function unsubscribes.
   */
  async subscribe(topic: string, onResult: (result: unknown) => void): Promise<() => Promise<boolean>> {
    const id = await this.send('chain_subscribe', [topic], (result) => {
      this.subscriptions.set(result as string, onResult)
    })
    return async () => {
      if (!this.subscriptions.delete(id as string)) return false
      return this.call<boolean>('chain_unsubscribe', [id])
    }
  }

  /** Close the socket; pending calls are rejected. Resolves once the socket is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
    this.closedError ??= new RpcTransportError(RpcTransportErrorCode.closed, 'websocket closed by the client')
    this.socket.close(1000)
    await closed
  }

  private async send(method: string, params: unknown[], onResult?: (result: unknown) => void): Promise<unknown> {
    await this.opened
    if (this.closedError) throw this.closedError
    const id = this.nextId++
    const text = stringifyJson({ jsonrpc: '2.0', id, method, params })
    return new Promise((resolve, reject) => {
      const timer =
        this.opts.timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id)
              reject(new RpcTransportError(RpcTransportErrorCode.timeout, `${method}: no answer within ${this.opts.timeoutMs} ms`))
            }, this.opts.timeoutMs)
          : null
      this.pending.set(id, { resolve, reject, timer, onResult })
      this.socket.send(text)
    })
  }

  private onMessage(data: RawData): void {
    let msg: unknown
    try {
      msg = JSON.parse(data.toString())
    } catch {
      return
    }
    for (const item of Array.isArray(msg) ? msg : [msg]) this.dispatch(item)
  }

  private dispatch(item: unknown): void {
    if (typeof item !== 'object' || item === null) return
    const m = item as { method?: unknown; params?: { subscription?: unknown; result?: unknown } }
    if (m.method === NOTIFICATION_METHOD) {
      const handler = this.subscriptions.get(m.params?.subscription as string)
      handler?.(m.params?.result)
      return
    }
    const r = item as JsonRpcResponse
    const call = this.pending.get(r.id as number)
    if (!call) return
    this.pending.delete(r.id as number)
    if (call.timer) clearTimeout(call.timer)
    if (r.error) {
      call.reject(toRequestError(r))
      return
    }
    call.onResult?.(r.result)
    call.resolve(r.result)
  }

  private onClose(code: number, reason: string): void {
    this.closedError ??= new RpcTransportError(RpcTransportErrorCode.closed, `websocket closed (${code})`, { code, reason })
    this.rejectOpened(this.closedError)
    for (const call of this.pending.values()) {
      if (call.timer) clearTimeout(call.timer)
      call.reject(this.closedError)
    }
    this.pending.clear()
    this.subscriptions.clear()
    this.opts.onClose?.(code, reason)
  }
}

/**
 * The parsed answer `reply` to a JSON-RPC batch whose requests had the ids
 * (and methods, for messages) of `requests`, as results in that order: each
 * a result or its own RpcRequestError. A batch refused as a whole (too
 * large, unparseable, a tx_send body refused unread) is one error object:
 * thrown as RpcRequestError. Throws RpcTransportError `badResponse` when the
 * reply is not a JSON-RPC answer or a request has no response in it.
 * (JSON-RPC 2.0 §6: a batch's responses may come in any order, matched by id.)
 */
export function batchResults(reply: unknown, requests: readonly { id: unknown; method: string }[]): RpcBatchResult[] {
  if (!Array.isArray(reply)) throw toRequestError(asResponse(reply))
  const byId = new Map<unknown, JsonRpcResponse>()
  for (const item of reply) {
    const r = asResponse(item)
    byId.set(r.id, r)
  }
  return requests.map((q): RpcBatchResult => {
    const r = byId.get(q.id)
    if (!r) throw new RpcTransportError(RpcTransportErrorCode.badResponse, `no response for ${q.method} in batch`)
    return r.error ? { ok: false, error: toRequestError(r) } : { ok: true, result: r.result }
  })
}

function asResponse(value: unknown): JsonRpcResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('result' in value || 'error' in value)) {
    throw new RpcTransportError(RpcTransportErrorCode.badResponse, 'reply is not a JSON-RPC response')
  }
  return value as JsonRpcResponse
}

function unwrap<T>(r: JsonRpcResponse): T {
  if (r.error) throw toRequestError(r)
  return r.result as T
}

function toRequestError(r: JsonRpcResponse): RpcRequestError {
  const e = r.error
  if (!e || typeof e.code !== 'number' || typeof e.message !== 'string') {
    throw new RpcTransportError(RpcTransportErrorCode.badResponse, 'malformed JSON-RPC error object')
  }
  return new RpcRequestError(e.code, e.message, e.data)
}
