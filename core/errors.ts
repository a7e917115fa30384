/**
 * Typed errors with codes (STYLE.md): every error a caller may need to tell
 * apart carries a stable `code` such as `TX_ERROR_BAD_NONCE` and metadata.
 * The RPC layer maps codes to JSON-RPC errors in one table; nobody parses
 * messages.
 */
export class AttrchainError extends Error {
  readonly code: string
  readonly meta: Record<string, unknown>

  constructor(code: string, message: string, meta: Record<string, unknown> = {}) {
    super(`${code}: ${message}`)
    this.name = new.target.name
    this.code = code
    this.meta = meta
  }

  /** The message without the code prefix, for readable RPC errors. */
  get reason(): string {
    return this.message.slice(this.code.length + 2)
  }
}

/** Malformed bytes, hex, amounts, addresses: anything that fails to parse. */
export class CodecError extends AttrchainError {}
/** A transaction that is statically invalid or fails against state. */
export class TxError extends AttrchainError {}
/** A genesis file that does not validate. */
export class GenesisError extends AttrchainError {}
/** A block that cannot be applied (bad header, bad evidence, invariant broken). */
export class BlockError extends AttrchainError {}

export function isAttrchainError(e: unknown): e is AttrchainError {
  return e instanceof AttrchainError
}

/** Invariant assertion (STYLE.md: assert invariants in code). */
export function invariant(cond: unknown, what: string, meta: Record<string, unknown> = {}): asserts cond {
  if (!cond) throw new AttrchainError('INVARIANT_VIOLATED', what, meta)
}
