import { CodecError } from './errors.js'

/** 1 OPEN = 10^18 units (DESIGN §2). */
export const UNITS_PER_OPEN = 10n ** 18n
/** Largest amount allowed anywhere on the wire: 2^128 − 1 units. */
export const MAX_AMOUNT = (1n << 128n) - 1n

const CANONICAL_RE = /^(0|[1-9][0-9]*)$/

/** Parse a canonical decimal string of units: no sign, no leading zeros, ≤ 2^128 − 1. */
export function parseAmount(value: unknown, field = 'amount'): bigint {
  if (typeof value !== 'string' || value.length > 39 || !CANONICAL_RE.test(value)) {
    throw new CodecError('TX_ERROR_BAD_AMOUNT', `${field} must be a canonical decimal string`, { field })
  }
  const n = BigInt(value)
  if (n > MAX_AMOUNT) {
    throw new CodecError('TX_ERROR_BAD_AMOUNT', `${field} exceeds 2^128 - 1`, { field })
  }
  return n
}

export function formatAmount(units: bigint): string {
  if (units < 0n || units > MAX_AMOUNT) {
    throw new CodecError('TX_ERROR_BAD_AMOUNT', `amount out of range: ${units}`)
  }
  return units.toString()
}

const HUMAN_RE = /^\s*([0-9]+)(?:\.([0-9]+))?\s*(OPEN)?\s*$/i

/**
 * CLI input: `1.5OPEN`, `1.5 OPEN` (OPEN, up to 18 decimals) or a bare
 * integer of units (`1500000000000000000`).
 */
export function parseHumanAmount(value: string, field = 'amount'): bigint {
  const m = HUMAN_RE.exec(value)
  if (!m) throw new CodecError('TX_ERROR_BAD_AMOUNT', `${field}: expected e.g. 1.5OPEN or a number of units, got "${value}"`, { field })
  const [, whole, frac = '', unit] = m
  if (!unit) {
    if (frac) throw new CodecError('TX_ERROR_BAD_AMOUNT', `${field}: units are integers; write ${value}OPEN for OPEN`, { field })
    return parseAmount(BigInt(whole).toString(), field)
  }
  if (frac.length > 18) throw new CodecError('TX_ERROR_BAD_AMOUNT', `${field}: at most 18 decimals`, { field })
  const units = BigInt(whole) * UNITS_PER_OPEN + BigInt(frac.padEnd(18, '0'))
  return parseAmount(units.toString(), field)
}

/** `1500000000000000000n` → `"1.5 OPEN"`. */
export function formatOpen(units: bigint): string {
  const whole = units / UNITS_PER_OPEN
  const frac = (units % UNITS_PER_OPEN).toString().padStart(18, '0').replace(/0+$/, '')
  return `${whole}${frac ? '.' + frac : ''} OPEN`
}
