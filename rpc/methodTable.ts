import { RpcError, RpcErrorCode } from './errors.js'

/**
 * The subset of JSON Schema that method params and results are described
 * with. It is validated here (no schema library: the subset is small and the
 * error messages must name the param) and copied verbatim into OpenRPC.
 */
export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null'

export interface JsonSchema {
  title?: string
  description?: string
  type?: JsonType | readonly JsonType[]
  enum?: readonly (string | number | boolean | null)[]
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  properties?: Readonly<Record<string, JsonSchema>>
  required?: readonly string[]
  additionalProperties?: boolean | JsonSchema
  oneOf?: readonly JsonSchema[]
}

export interface ParamSpec {
  name: string
  /** Defaults to false. Required params may not follow optional ones. */
  required?: boolean
  schema: JsonSchema
  description?: string
}

export interface MethodExample {
  name: string
  params: readonly unknown[]
  result: unknown
}

/** What a handler knows about the call it serves. */
export interface CallContext {
  transport: 'http' | 'ws'
  remoteAddress?: string
  /** Aborted when the caller goes away or the server stops: long waits (tx_send commit) should give up. */
  signal: AbortSignal
  /** Present on WebSocket calls only: what subscription methods act on. */
  connection?: SubscriptionHost
}

/** A WebSocket connection as the subscription methods see it. */
export interface SubscriptionHost {
  subscribe(topic: string): string
  unsubscribe(id: string): boolean
}

export interface MethodSpec {
  /** `namespace_verb` (DESIGN §6), or `rpc.*` for built-ins. */
  name: string
  summary: string
  description?: string
  params: readonly ParamSpec[]
  result: JsonSchema
  /**
   * Receives the params validated against `params` (omitted optional ones are
   * absent or undefined). May return a `RawJson` of text it serialized itself.
   */
  handler(params: unknown[], ctx: CallContext): unknown
  /**
   * The call is only meaningful with a reply (chain_subscribe: the caller must
   * learn the id it cancels with). Sent as a notification (no `id`), it is not
   * run; JSON-RPC 2.0 forbids answering a notification, so nothing is sent back.
   */
  requiresId?: boolean
  examples?: readonly MethodExample[]
  /**
   * Load shedding (issue 10: a saturated node refuses at once, before
   * decoding or verifying). Called with the raw, not yet validated params
   * before anything else is done for the call; an error refuses the call
   * with it, unread. `earlier` is the error an earlier call of this method
   * in the same batch was shed with (null if none): returning it refuses
   * the rest of the batch too (tx_send: a later nonce taken after an earlier
   * one was refused would only wait, not executable, in the mempool).
   */
  shed?(params: unknown, earlier: Error | null): Error | null
}

const METHOD_NAME_RE = /^(rpc\.[a-z][A-Za-z]*|[a-z][A-Za-z0-9]*_[a-z][A-Za-z0-9]*)$/

export interface OpenRpcDocument {
  openrpc: '1.2.6'
  info: { title: string; version: string }
  methods: OpenRpcMethod[]
}

export interface OpenRpcMethod {
  name: string
  summary: string
  description?: string
  paramStructure: 'by-position'
  params: { name: string; required: boolean; schema: JsonSchema; description?: string }[]
  result: { name: string; schema: JsonSchema }
  examples?: { name: string; params: { name: string; value: unknown }[]; result: { name: string; value: unknown } }[]
}

/** Dispatch, validation and documentation all read this one table. */
export class MethodTable {
  private readonly methods = new Map<string, MethodSpec>()
  private readonly patterns = new Map<string, RegExp>()

  constructor(specs: readonly MethodSpec[]) {
    for (const spec of specs) this.add(spec)
  }

  get(name: string): MethodSpec | undefined {
    return this.methods.get(name)
  }

  names(): string[] {
    return [...this.methods.keys()]
  }

  /** Check `params` against the method's param specs; throws RpcError (-32602) naming the param. */
  validateParams(spec: MethodSpec, params: unknown): unknown[] {
    if (params === undefined) params = []
    if (!Array.isArray(params)) {
      throw invalidParams('params must be a positional array (by-name params are not supported)')
    }
    if (params.length > spec.params.length) {
      throw invalidParams(`${spec.name} takes at most ${spec.params.length} params, got ${params.length}`)
    }
    const out = params.slice()
    spec.params.forEach((p, i) => {
      const label = `params[${i}] (${p.name})`
      // Absent and null both mean "omitted" for an optional param, as most JSON-RPC clients send null for it.
      if (out[i] === undefined || (out[i] === null && !p.required)) {
        if (p.required) throw invalidParams(`${label}: required`)
        out[i] = undefined
        return
      }
      const err = this.check(p.schema, out[i], label)
      if (err !== null) throw invalidParams(err)
    })
    return out
  }

  /** The OpenRPC 1.2.6 document of every method in the table. */
  openRpc(version: string): OpenRpcDocument {
    return {
      openrpc: '1.2.6',
      info: { title: 'attrchain', version },
      methods: [...this.methods.values()].map(toOpenRpcMethod),
    }
  }

  private add(spec: MethodSpec): void {
    if (!METHOD_NAME_RE.test(spec.name)) throw new RpcError(RpcErrorCode.badMethodSpec, `bad method name ${spec.name}`)
    if (this.methods.has(spec.name)) throw new RpcError(RpcErrorCode.badMethodSpec, `duplicate method ${spec.name}`)
    let optionalSeen = false
    for (const p of spec.params) {
      if (p.required && optionalSeen) {
        throw new RpcError(RpcErrorCode.badMethodSpec, `${spec.name}: required param ${p.name} follows an optional one`)
      }
      optionalSeen ||= !p.required
      this.compilePatterns(p.schema)
    }
    this.compilePatterns(spec.result)
    this.methods.set(spec.name, spec)
  }

  /** Compile every pattern once, at registration, so a bad regex fails at startup rather than per call. */
  private compilePatterns(schema: JsonSchema): void {
    if (schema.pattern !== undefined && !this.patterns.has(schema.pattern)) {
      this.patterns.set(schema.pattern, new RegExp(schema.pattern, 'u'))
    }
    if (schema.items) this.compilePatterns(schema.items)
    for (const s of Object.values(schema.properties ?? {})) this.compilePatterns(s)
    if (typeof schema.additionalProperties === 'object') this.compilePatterns(schema.additionalProperties)
    for (const s of schema.oneOf ?? []) this.compilePatterns(s)
  }

  /** The first violation as `<path>: <what>`, or null when `value` conforms. */
  private check(schema: JsonSchema, value: unknown, path: string): string | null {
    if (schema.oneOf) return this.checkOneOf(schema.oneOf, value, path)
    if (schema.type !== undefined) {
      const types: readonly JsonType[] = typeof schema.type === 'string' ? [schema.type] : schema.type
      if (!types.some((t) => hasType(value, t))) return `${path}: must be ${types.join(' or ')}`
    }
    if (schema.enum && !schema.enum.includes(value as string)) {
      return `${path}: must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`
    }
    if (typeof value === 'string') return this.checkString(schema, value, path)
    if (typeof value === 'number') return checkNumber(schema, value, path)
    if (Array.isArray(value)) return this.checkArray(schema, value, path)
    if (isPlainObject(value)) return this.checkObject(schema, value, path)
    return null
  }

  private checkOneOf(branches: readonly JsonSchema[], value: unknown, path: string): string | null {
    const errors: string[] = []
    for (const branch of branches) {
      const err = this.check(branch, value, path)
      if (err === null) return null
      errors.push(err.slice(path.length + 2))
    }
    return `${path}: ${errors.join('; or ')}`
  }

  private checkString(schema: JsonSchema, value: string, path: string): string | null {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return `${path}: must be at most ${schema.maxLength} characters`
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return `${path}: must be at least ${schema.minLength} characters`
    }
    if (schema.pattern !== undefined && !(schema.pattern === HEX_BYTES_PATTERN ? isHexBytes(value) : this.patterns.get(schema.pattern)!.test(value))) {
      return `${path}: must match ${schema.pattern}`
    }
    return null
  }

  private checkArray(schema: JsonSchema, value: unknown[], path: string): string | null {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      return `${path}: must have at most ${schema.maxItems} items`
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      return `${path}: must have at least ${schema.minItems} items`
    }
    if (!schema.items) return null
    for (let i = 0; i < value.length; i++) {
      const err = this.check(schema.items, value[i], `${path}[${i}]`)
      if (err !== null) return err
    }
    return null
  }

  private checkObject(schema: JsonSchema, value: Record<string, unknown>, path: string): string | null {
    for (const key of schema.required ?? []) {
      if (value[key] === undefined) return `${path}.${key}: required`
    }
    for (const [key, v] of Object.entries(value)) {
      const propSchema = schema.properties?.[key]
      if (propSchema) {
        const err = this.check(propSchema, v, `${path}.${key}`)
        if (err !== null) return err
      } else if (schema.additionalProperties === false) {
        return `${path}: unknown property ${JSON.stringify(key)}`
      } else if (typeof schema.additionalProperties === 'object') {
        const err = this.check(schema.additionalProperties, v, `${path}.${key}`)
        if (err !== null) return err
      }
    }
    return null
  }
}

function checkNumber(schema: JsonSchema, value: number, path: string): string | null {
  if (schema.minimum !== undefined && value < schema.minimum) return `${path}: must be ≥ ${schema.minimum}`
  if (schema.maximum !== undefined && value > schema.maximum) return `${path}: must be ≤ ${schema.maximum}`
  return null
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    // JSON numbers beyond 2^53 lose precision silently, so they are not integers here.
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'null':
      return value === null
    case 'array':
      return Array.isArray(value)
    case 'object':
      return isPlainObject(value)
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalidParams(message: string): RpcError {
  return new RpcError(RpcErrorCode.invalidParams, message)
}

function toOpenRpcMethod(spec: MethodSpec): OpenRpcMethod {
  const method: OpenRpcMethod = {
    name: spec.name,
    summary: spec.summary,
    paramStructure: 'by-position',
    params: spec.params.map((p) => ({
      name: p.name,
      required: p.required ?? false,
      schema: p.schema,
      ...(p.description !== undefined ? { description: p.description } : {}),
    })),
    result: { name: 'result', schema: spec.result },
  }
  if (spec.description !== undefined) method.description = spec.description
  if (spec.examples?.length) {
    method.examples = spec.examples.map((ex) => ({
      name: ex.name,
      params: ex.params.map((value, i) => ({ name: spec.params[i]?.name ?? `param${i}`, value })),
      result: { name: 'result', value: ex.result },
    }))
  }
  return method
}

const HEX_BYTES_PATTERN = '^0x(?:[0-9a-fA-F]{2})*$'
let hexScratch = Buffer.alloc(0)

/**
 * HEX_BYTES_PATTERN without the RegExp: a raw tx is up to megabytes of hex,
 * and Buffer's native decoder, which stops at the first non-hex pair, checks
 * it several times faster (into a reused scratch buffer).
 */
function isHexBytes(value: string): boolean {
  if (value.length % 2 !== 0 || value.charCodeAt(0) !== 0x30 || value.charCodeAt(1) !== 0x78) return false
  const n = (value.length - 2) / 2
  if (hexScratch.length < n) hexScratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * hexScratch.length))
  return hexScratch.write(value.slice(2), 0, n, 'hex') === n
}

/** Schemas shared by the chain methods (DESIGN §2, §6.1), so every method spells them the same way. */
export const commonSchemas = {
  address: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: '20-byte address, 0x-hex' },
  hash: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$', description: '32-byte hash or id, 0x-hex' },
  hex: { type: 'string', pattern: HEX_BYTES_PATTERN, description: 'bytes, 0x-hex' },
  amount: { type: 'string', pattern: '^(0|[1-9][0-9]*)$', maxLength: 39, description: 'amount in units, decimal string' },
  height: { type: 'integer', minimum: 0, description: 'block height' },
  heightOrLatest: {
    oneOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', enum: ['latest'] },
    ],
    description: 'block height or "latest"',
  },
} as const satisfies Record<string, JsonSchema>
