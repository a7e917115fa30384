import { CodecError } from './errors.js'

// Buffer's native hex encoder called on the Uint8Array itself: no Buffer view
// is allocated per call (every id and address of every receipt goes through here).
const hexSlice = (Buffer.prototype as unknown as { hexSlice?: (this: Uint8Array, start: number, end: number) => string }).hexSlice

export function toHex(bytes: Uint8Array): string {
  if (hexSlice !== undefined) return '0x' + hexSlice.call(bytes, 0, bytes.length)
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * Parse `0x`-prefixed hex (any case). `len` in bytes, when given, is enforced.
 * Buffer's decoder stops at the first non-hex pair, so a full-length result
 * proves every character valid without a RegExp (hot: every id and address).
 */
export function fromHex(hex: unknown, field = 'hex', len?: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || hex[0] !== '0' || hex[1] !== 'x') {
    throw new CodecError('CODEC_ERROR_BAD_HEX', `${field} must be 0x-prefixed hex`, { field })
  }
  const buf = Buffer.from(hex.slice(2), 'hex')
  if (buf.length * 2 !== hex.length - 2) throw new CodecError('CODEC_ERROR_BAD_HEX', `${field} must be 0x-prefixed hex`, { field })
  const out = new Uint8Array(buf)
  if (len !== undefined && out.length !== len) {
    throw new CodecError('CODEC_ERROR_BAD_LENGTH', `${field} must be ${len} bytes, got ${out.length}`, { field })
  }
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

export function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

export function u64be(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(n))
  return b
}

export function readU64be(b: Uint8Array, offset = 0): number {
  return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset))
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}
