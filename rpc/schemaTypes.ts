import type { JsonSchema, ParamSpec } from './methodTable.js'

/**
 * TypeScript types derived from the JSON Schemas of the method table, so a
 * method's params and result are written once (as schema) and both the
 * server's handlers and the client's `call` are typed from it (the way viem
 * types its RPC schema table). Covers the subset of `JsonSchema` the table
 * uses: `type`, `enum`, `oneOf`, `items`, `properties` + `required`,
 * `additionalProperties`. A schema declared with `as const` (or built with
 * the helpers below, which keep literal types) gives an exact type; a
 * widened `JsonSchema` gives `unknown`.
 */
export type FromSchema<S> = S extends { readonly oneOf: readonly (infer B)[] }
  ? FromSchema<B>
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly type: infer T }
      ? T extends readonly (infer U)[]
        ? FromType<U, S>
        : FromType<T, S>
      : unknown

type FromType<T, S> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? S extends { readonly items: infer I }
            ? FromSchema<I>[]
            : unknown[]
          : T extends 'object'
            ? FromObject<S>
            : never

type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never

type FromObject<S> = S extends { readonly properties: infer P }
  ? Simplify<
      { -readonly [K in keyof P as K extends RequiredKeys<S> ? K : never]: FromSchema<P[K]> } & {
        -readonly [K in keyof P as K extends RequiredKeys<S> ? never : K]?: FromSchema<P[K]>
      }
    >
  : S extends { readonly additionalProperties: infer A extends JsonSchema }
    ? Record<string, FromSchema<A>>
    : Record<string, unknown>

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/**
 * The positional params of a method as a tuple: required ones first, then
 * optional ones (which may be left out or sent as null).
 */
export type ParamsFromSpecs<P> = P extends readonly [infer H, ...infer R]
  ? H extends { readonly required: true; readonly schema: infer S }
    ? [FromSchema<S>, ...ParamsFromSpecs<R>]
    : H extends { readonly schema: infer S }
      ? [(FromSchema<S> | undefined)?, ...ParamsFromSpecs<R>]
      : never
  : []

// ---- schema builders that keep literal types (so FromSchema sees them)

/** An object with exactly these properties, every one required (the shape of most results). */
export function record<const P extends Record<string, JsonSchema>>(
  properties: P,
  description?: string,
): { type: 'object'; properties: P; required: (keyof P & string)[]; additionalProperties: false; description?: string } {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false, ...(description !== undefined ? { description } : {}) }
}

/** An object with these properties, the ones named in `optional` possibly absent. */
export function recordWithOptional<const P extends Record<string, JsonSchema>, const O extends keyof P & string>(
  properties: P,
  optional: readonly O[],
): { type: 'object'; properties: P; required: Exclude<keyof P & string, O>[]; additionalProperties: false } {
  const required = Object.keys(properties).filter((k) => !(optional as readonly string[]).includes(k)) as Exclude<keyof P & string, O>[]
  return { type: 'object', properties, required, additionalProperties: false }
}

/** An options object: every property optional, no others allowed (the shape of params). */
export function options<const P extends Record<string, JsonSchema>>(
  properties: P,
): { type: 'object'; properties: P; required: []; additionalProperties: false } {
  return { type: 'object', properties, required: [], additionalProperties: false }
}

export function arrayOf<const I extends JsonSchema>(items: I, description?: string): { type: 'array'; items: I; description?: string } {
  return { type: 'array', items, ...(description !== undefined ? { description } : {}) }
}

/** `s` or null (an unknown id answers null). */
export function nullable<const S extends JsonSchema>(s: S): { oneOf: [S, { type: 'null' }] } {
  return { oneOf: [s, { type: 'null' }] }
}

/** A map from any key to values of `s` (e.g. earnings by role). */
export function mapOf<const S extends JsonSchema>(s: S, description?: string): { type: 'object'; additionalProperties: S; description?: string } {
  return { type: 'object', additionalProperties: s, ...(description !== undefined ? { description } : {}) }
}

/** A required param. */
export function param<const N extends string, const S extends JsonSchema>(name: N, schema: S, description?: string): { name: N; required: true; schema: S; description?: string } {
  return { name, required: true, schema, ...(description !== undefined ? { description } : {}) }
}

/** An optional param (absent or null both mean omitted). */
export function optionalParam<const N extends string, const S extends JsonSchema>(name: N, schema: S, description?: string): { name: N; required: false; schema: S; description?: string } {
  return { name, required: false, schema, ...(description !== undefined ? { description } : {}) }
}

/** Compile-time check that a spec list fits ParamSpec (used by the method table). */
export type ParamList = readonly ParamSpec[]
