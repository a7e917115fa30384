import { AttrchainError, isAttrchainError } from '../core/errors.js'

/** JSON-RPC 2.0 error codes: the standard ones and our -32000 range (DESIGN §6). */
export const JsonRpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
  txRejected: -32001,
  mempoolRejected: -32002,
  timeout: -32003,
  /** A server limit was hit: too many requests in flight, or a response over the size cap (EIP-1474's "limit exceeded"). */
  limitExceeded: -32005,
} as const

/** Codes of the errors the RPC layer raises itself. */
export const RpcErrorCode = {
  parse: 'RPC_ERROR_PARSE',
  invalidRequest: 'RPC_ERROR_INVALID_REQUEST',
  bodyTooLarge: 'RPC_ERROR_BODY_TOO_LARGE',
  batchTooLarge: 'RPC_ERROR_BATCH_TOO_LARGE',
  tooDeep: 'RPC_ERROR_TOO_DEEP',
  notFound: 'RPC_ERROR_NOT_FOUND',
  methodNotAllowed: 'RPC_ERROR_METHOD_NOT_ALLOWED',
  methodNotFound: 'RPC_ERROR_METHOD_NOT_FOUND',
  wsOnly: 'RPC_ERROR_WS_ONLY',
  invalidParams: 'RPC_ERROR_INVALID_PARAMS',
  unknownTopic: 'RPC_ERROR_UNKNOWN_TOPIC',
  tooManySubscriptions: 'RPC_ERROR_TOO_MANY_SUBSCRIPTIONS',
  timeout: 'RPC_ERROR_TIMEOUT',
  stopping: 'RPC_ERROR_STOPPING',
  internal: 'RPC_ERROR_INTERNAL',
  /** Too many requests in flight, on the server or on this connection; retry later. */
  busy: 'RPC_ERROR_BUSY',
  /** The result (or what is left of the batch's response budget) is over `rpcMaxResponseBytes`. */
  responseTooLarge: 'RPC_ERROR_RESPONSE_TOO_LARGE',
  /** A cross-origin request (HTTP or WebSocket) from an origin not in `rpcCorsOrigins`. */
  originNotAllowed: 'RPC_ERROR_ORIGIN_NOT_ALLOWED',
  /** A method that needs a reply (chain_subscribe) was sent as a notification. */
  notificationNotAllowed: 'RPC_ERROR_NOTIFICATION_NOT_ALLOWED',
  /** start() on a server that is already listening */
  alreadyStarted: 'RPC_ERROR_ALREADY_STARTED',
  /** start() on a server that was stopped */
  stopped: 'RPC_ERROR_STOPPED',
  /** the RPC port could not be bound */
  listen: 'RPC_ERROR_LISTEN',
  /** a method declared twice, badly named, or with a required param after an optional one (a bug, at start) */
  badMethodSpec: 'RPC_ERROR_BAD_METHOD_SPEC',
  /** the client went away while a tx_send waited for its commit */
  aborted: 'RPC_ERROR_ABORTED',
} as const

/** What `RpcError` carries: one of the RpcErrorCode values. */
export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode]

/** An error raised by the RPC layer (or by a method handler that wants a precise JSON-RPC code). */
export class RpcError extends AttrchainError<RpcErrorCodeValue> {}

/**
 * The one table from error codes to JSON-RPC codes. A key ending in `_` is a
 * prefix; any other key matches exactly. First match wins; no match is -32000.
 */
export const ERROR_CODE_TABLE: ReadonlyArray<readonly [string, number]> = [
  [RpcErrorCode.parse, JsonRpcErrorCode.parseError],
  [RpcErrorCode.tooDeep, JsonRpcErrorCode.parseError],
  [RpcErrorCode.invalidRequest, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.bodyTooLarge, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.batchTooLarge, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.notFound, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.methodNotAllowed, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.methodNotFound, JsonRpcErrorCode.methodNotFound],
  // Like geth: a subscription method called over HTTP is "not available here".
  [RpcErrorCode.wsOnly, JsonRpcErrorCode.methodNotFound],
  [RpcErrorCode.invalidParams, JsonRpcErrorCode.invalidParams],
  [RpcErrorCode.unknownTopic, JsonRpcErrorCode.invalidParams],
  [RpcErrorCode.timeout, JsonRpcErrorCode.timeout],
  [RpcErrorCode.busy, JsonRpcErrorCode.limitExceeded],
  [RpcErrorCode.responseTooLarge, JsonRpcErrorCode.limitExceeded],
  [RpcErrorCode.originNotAllowed, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.notificationNotAllowed, JsonRpcErrorCode.invalidRequest],
  [RpcErrorCode.internal, JsonRpcErrorCode.internalError],
  ['TX_ERROR_', JsonRpcErrorCode.txRejected],
  ['MEMPOOL_ERROR_', JsonRpcErrorCode.mempoolRejected],
  ['CODEC_ERROR_', JsonRpcErrorCode.invalidParams],
]

export function jsonRpcCodeFor(code: string): number {
  for (const [key, rpcCode] of ERROR_CODE_TABLE) {
    if (key.endsWith('_') ? code.startsWith(key) : code === key) return rpcCode
  }
  return JsonRpcErrorCode.serverError
}

export interface JsonRpcErrorObject {
  code: number
  message: string
  data?: unknown
}

/**
 * The JSON-RPC error object for anything a handler threw. Only AttrchainErrors
 * are described to the caller; anything else is an internal error whose
 * details stay in the log (`internal: true` tells the caller to log it).
 */
export function toJsonRpcError(e: unknown): { error: JsonRpcErrorObject; internal: boolean } {
  if (isAttrchainError(e)) {
    return {
      error: { code: jsonRpcCodeFor(e.code), message: e.reason, data: { ...toJsonSafeObject(e.meta), reason: e.code } },
      internal: false,
    }
  }
  return {
    error: { code: JsonRpcErrorCode.internalError, message: 'internal error', data: { reason: RpcErrorCode.internal } },
    internal: true,
  }
}

const MAX_SAFE_DEPTH = 16

/**
 * A JSON-safe copy of error metadata: bigint → decimal string, bytes → 0x-hex,
 * errors → their message; functions, symbols and undefined are dropped.
 * Depth-capped because metadata is arbitrary and must never break a response.
 */
export function toJsonSafe(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') return value.toString()
  if (typeof value !== 'object') return undefined
  if (depth >= MAX_SAFE_DEPTH) return '[too deep]'
  if (value instanceof Uint8Array) return '0x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')
  if (value instanceof Error) return value.message
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v, depth + 1) ?? null)
  return toJsonSafeObject(value as Record<string, unknown>, depth + 1)
}

function toJsonSafeObject(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) {
    const safe = toJsonSafe(v, depth)
    if (safe !== undefined) out[k] = safe
  }
  return out
}

/**
 * JSON text of a value bound for the wire. Defensive about the two things
 * JSON.stringify gets wrong for us: bigint (throws) becomes a decimal string
 * (DESIGN §2 amounts) and bytes become 0x-hex instead of `{"0":…}`.
 */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON ran, so a Buffer is still a Uint8Array here.
    const raw = this[key]
    if (raw instanceof Uint8Array) return '0x' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex')
    return typeof v === 'bigint' ? v.toString() : v
  }) ?? 'null'
}

/**
 * JSON text a method handler has already serialized (e.g. a cached block):
 * the server splices it into the response as is instead of stringifying a
 * value. `bytes` is its UTF-8 length, counted once, for the response cap.
 */
export class RawJson {
  constructor(
    readonly text: string,
    readonly bytes: number = Buffer.byteLength(text),
  ) {}
}
