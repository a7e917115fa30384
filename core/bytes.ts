import { CodecError } from './errors.js'

const HEX_RE = /^0x([0-9a-fA-F]{2})*$/

export function toHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Parse `0x`-prefixed hex (any case). `len` in bytes, when given, is enforced. */
export function fromHex(hex: unknown, field = 'hex', len?: number): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new CodecError('CODEC_ERROR_BAD_HEX', `${field} must be 0x-prefixed hex`, { field })
  }
  const out = new Uint8Array(Buffer.from(hex.slice(2), 'hex'))
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
