import { isAscii, isUtf8 } from 'node:buffer'
import { RawJson, RpcError, RpcErrorCode, stringifyJson, toJsonRpcError } from './errors.js'
import type { JsonRpcErrorObject, RpcErrorCodeValue } from './errors.js'
import type { Logger } from '../core/logger.js'
import type { CallContext, MethodSpec, MethodTable, OpenRpcDocument } from './methodTable.js'
import { MAX_JSON_DEPTH, type RpcMetrics, type RpcServerOptions } from './serverOptions.js'
import { partOf, replyOf, ResponseBudget, type Part, type Refusal, type Reply } from './serverLimits.js'

/**
 * The socket-free JSON-RPC 2.0 engine (DESIGN §6): bytes of one HTTP body or
 * WebSocket message in, the serialized reply out. It parses (UTF-8, depth
 * bound), checks the envelope, runs batches concurrently in time slices,
 * validates params against the method table, calls the handler with the
 * transport's CallContext and charges every answer to the response budget.
 * A method with a load-shedding hook (MethodSpec.shed) is asked first, before
 * its params are validated.
 * The transports (rpc/serverHttp.ts, rpc/serverWs.ts) own sockets, limits on
 * concurrency and what "connection" means.
 */

/** Longest the JSON-RPC server runs requests' synchronous parts in one turn of the event loop before letting it turn (ms). */
const RPC_SLICE_MS = 10

/**
 * The JSON-RPC server's share of a turn of the event loop, shared by every
 * payload of every transport in this process (issue 10: consensus first).
 * Each payload's parse and each batch item's start ask `enter()` first;
 * once RPC work has run RPC_SLICE_MS since the last yield, the next waits
 * for the loop's check phase (setImmediate), so timers (consensus timeouts)
 * and the poll phase (votes and proposals arriving from peers) run between
 * slices. Before, each HTTP body was parsed as soon as it arrived, so
 * sixteen operators' 2 MiB batches arriving together were parsed and
 * started back to back in one poll phase (the overload bench's nodes stall
 * for 0.4-1.4 s at worst: `eventLoopDelayMs`). One slice may still overrun
 * by one unsplittable step (the JSON parse of one body, ≤ rpcMaxBodyBytes).
 */
class RpcLoopSlice {
  private startedAt = Number.NEGATIVE_INFINITY
  /** waiters, released in arrival order */
  private readonly queue: (() => void)[] = []
  private draining = false

  /**
   * null while the current slice lasts and nobody waits: go on synchronously
   * (awaiting a resolved promise would let every caller of this turn pass the
   * check before any of them ran); else a promise that resolves on a later
   * turn, in arrival order.
   */
  enter(): Promise<void> | null {
    if (!this.draining && performance.now() - this.startedAt <= RPC_SLICE_MS) return null
    return new Promise((resolve) => {
      this.queue.push(resolve)
      if (!this.draining) {
        this.draining = true
        setImmediate(this.drain)
      }
    })
  }

  /** A new turn: a new slice, and waiters released from the front. */
  private readonly drain = (): void => {
    this.startedAt = performance.now()
    this.releaseNext()
  }

  private releaseNext(): void {
    const next = this.queue[0]
    if (next === undefined) {
      this.draining = false
      return
    }
    if (performance.now() - this.startedAt > RPC_SLICE_MS) {
      setImmediate(this.drain)
      return
    }
    this.queue.shift()
    next()
    // queued after the released waiter's continuation, so it runs once that waiter's synchronous part has
    queueMicrotask(() => this.releaseNext())
  }
}

const rpcSlice = new RpcLoopSlice()

/** Per batch: the error each load-shedding method (MethodSpec.shed) was first shed with. */
type Shed = Map<string, Error>

export type DispatcherOptions = Pick<RpcServerOptions, 'maxBatch' | 'maxResponseBytes'>

export class JsonRpcDispatcher {
  constructor(
    private readonly opts: DispatcherOptions,
    private readonly table: MethodTable,
    private readonly log: Logger,
    private readonly metrics: RpcMetrics | null,
  ) {}

  /**
   * The serialized response to one HTTP body or WebSocket message, or null
   * when nothing is owed; never rejects. With `refused`, no request is run:
   * each one owed an answer gets that limit's error.
   */
  async handlePayload(bytes: Buffer, ctx: CallContext, refused: Refusal | null): Promise<Reply | null> {
    try {
      return await this.servePayload(bytes, ctx, refused)
    } catch (e) {
      this.log.error('rpc payload failed', { error: errorText(e) })
      return replyOf(partOf(errorResponse(null, toJsonRpcError(e).error)))
    }
  }

  private async servePayload(bytes: Buffer, ctx: CallContext, refused: Refusal | null): Promise<Reply | null> {
    const turn = rpcSlice.enter()
    if (turn) await turn
    const parsed = this.parse(bytes)
    if (!parsed.ok) return replyOf(partOf(errorResponse(null, parsed.error)))
    const payload = parsed.value
    const budget = new ResponseBudget(this.opts.maxResponseBytes)
    if (!Array.isArray(payload)) return replyOf(await this.handleRequest(payload, ctx, budget, refused, null))
    if (payload.length === 0) return replyOf(partOf(errorResponse(null, rpcErrorObject(RpcErrorCode.invalidRequest, 'empty batch'))))
    if (payload.length > this.opts.maxBatch) {
      const message = `batch of ${payload.length} exceeds the limit of ${this.opts.maxBatch}`
      return replyOf(partOf(errorResponse(null, rpcErrorObject(RpcErrorCode.batchTooLarge, message))))
    }
    // Items run concurrently (a batch of tx_send with wait "commit" waits for one block, not one per item).
    // Starting one runs its synchronous part, serialization of a synchronous result included; once the RPC's
    // slice of the event loop's turn is spent (RpcLoopSlice, shared with every other payload) the next item
    // waits for a later turn, so consensus timers and network messages are served between items, while a
    // batch of cheap calls (tx_send of consecutive nonces) still starts in one turn, in order.
    const pending: Promise<Part | null>[] = []
    const shed: Shed = new Map()
    for (const item of payload) {
      const turn = rpcSlice.enter()
      if (turn) await turn
      pending.push(this.handleRequest(item, ctx, budget, refused, shed))
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
    // Pure ASCII (every tx_send batch: hex) is decoded as such, 5× faster than UTF-8 on the multi-MiB batches
    // of a flood (a fatal TextDecoder was 8 % of a node's busy time in the overload bench); else checked UTF-8.
    let text: string
    if (isAscii(bytes)) text = bytes.toString('ascii')
    else if (isUtf8(bytes)) text = bytes.toString('utf8')
    else return { ok: false, error: rpcErrorObject(RpcErrorCode.parse, 'request is not valid UTF-8') }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1) // a byte order mark is not JSON (TextDecoder dropped it too)
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
  private async handleRequest(req: unknown, ctx: CallContext, budget: ResponseBudget, refused: Refusal | null, shed: Shed | null): Promise<Part | null> {
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
      if (spec.shed) {
        const shedWith = spec.shed(params, shed?.get(method) ?? null)
        if (shedWith) {
          shed?.set(method, shedWith)
          throw shedWith
        }
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
}

/** `rpc.discover`: the OpenRPC document of `table`, built once on first call. */
export function discoverMethod(table: () => MethodTable, version: string): MethodSpec {
  let doc: OpenRpcDocument | null = null
  return {
    name: 'rpc.discover',
    summary: 'The OpenRPC document of every method',
    params: [],
    result: {
      type: 'object',
      description: 'OpenRPC 1.2.6 document: every method with its params and result schemas',
      properties: {
        openrpc: { type: 'string', enum: ['1.2.6'] },
        info: { type: 'object', properties: { title: { type: 'string' }, version: { type: 'string' } }, required: ['title', 'version'] },
        methods: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, summary: { type: 'string' }, params: { type: 'array' }, result: { type: 'object' } },
            required: ['name', 'params', 'result'],
          },
        },
      },
      required: ['openrpc', 'info', 'methods'],
    },
    handler: () => (doc ??= table().openRpc(version)),
  }
}

type JsonRpcId = string | number | null

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
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

export function rpcErrorObject(code: RpcErrorCodeValue, message: string): JsonRpcErrorObject {
  return toJsonRpcError(new RpcError(code, message)).error
}

export function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): string {
  return stringifyJson({ jsonrpc: '2.0', id, error })
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

export function errorText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e)
}
