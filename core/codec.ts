import { Unpackr } from 'msgpackr'
import { CodecError } from './errors.js'

/**
 * The canonical codec (DESIGN §2): MessagePack of arrays in a fixed field
 * order. Values are limited to what the protocol uses: null, booleans,
 * non-negative integers (shortest form; `bigint` up to 2^64 − 1 for values
 * past 2^53), UTF-8 strings, byte strings (`bin`) and arrays. No maps, no
 * floats, no negative integers.
 *
 * Encoding is written here rather than with msgpackr's `pack` because msgpackr
 * writes integers ≥ 2^32 as float64 and bigints as int64, neither of which is
 * the shortest unsigned form the protocol fixes. Decoding uses msgpackr, then
 * re-encodes and compares, so any non-canonical input is refused.
 */
export type Encodable = null | boolean | number | bigint | string | Uint8Array | readonly Encodable[]

const MAX_DEPTH = 16

class Writer {
  buf: Uint8Array = new Uint8Array(256)
  view = new DataView(this.buf.buffer)
  /** the same memory as a Buffer, for its native UTF-8 writer */
  text = Buffer.from(this.buf.buffer)
  pos = 0

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.use(next)
  }

  /** Drop a buffer grown by one huge message, so it is not held forever. */
  shrink(): void {
    this.use(new Uint8Array(256))
    this.pos = 0
  }

  private use(buf: Uint8Array): void {
    this.buf = buf
    this.view = new DataView(buf.buffer)
    this.text = Buffer.from(buf.buffer)
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  head(tag: number, v: number, width: 1 | 2 | 4): void {
    this.ensure(1 + width)
    this.buf[this.pos++] = tag
    if (width === 1) this.view.setUint8(this.pos, v)
    else if (width === 2) this.view.setUint16(this.pos, v)
    else this.view.setUint32(this.pos, v)
    this.pos += width
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
}

function writeUint(w: Writer, v: bigint): void {
  if (v < 0n || v > 0xffffffffffffffffn) throw new CodecError('CODEC_ERROR_BAD_INTEGER', `integer out of range: ${v}`)
  if (v < 128n) return w.u8(Number(v))
  if (v < 0x100n) return w.head(0xcc, Number(v), 1)
  if (v < 0x10000n) return w.head(0xcd, Number(v), 2)
  if (v < 0x100000000n) return w.head(0xce, Number(v), 4)
  w.ensure(9)
  w.buf[w.pos++] = 0xcf
  w.view.setBigUint64(w.pos, v)
  w.pos += 8
}

function writeLength(w: Writer, len: number, fix: number, fixMax: number, t8: number | null, t16: number, t32: number): void {
  if (len <= fixMax) return w.u8(fix | len)
  if (t8 !== null && len < 0x100) return w.head(t8, len, 1)
  if (len < 0x10000) return w.head(t16, len, 2)
  w.head(t32, len, 4)
}

/** UTF-8 written in place (as Buffer.from(v, 'utf8') would encode it, lone surrogates included). */
function writeString(w: Writer, v: string): void {
  if (v.length <= 10) {
    // at most 3 bytes per UTF-16 unit: ≤ 30 bytes, a fixstr whatever the text
    w.ensure(1 + 3 * v.length)
    const n = w.text.write(v, w.pos + 1, 'utf8')
    w.buf[w.pos] = 0xa0 | n
    w.pos += 1 + n
    return
  }
  const n = Buffer.byteLength(v, 'utf8')
  writeLength(w, n, 0xa0, 31, 0xd9, 0xda, 0xdb)
  w.ensure(n)
  w.text.write(v, w.pos, n, 'utf8')
  w.pos += n
}

function write(w: Writer, v: Encodable, depth: number): void {
  if (depth > MAX_DEPTH) throw new CodecError('CODEC_ERROR_TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`)
  if (v === null) return w.u8(0xc0)
  if (v === true) return w.u8(0xc3)
  if (v === false) return w.u8(0xc2)
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new CodecError('CODEC_ERROR_BAD_INTEGER', `not a safe integer: ${v}`)
    // the shortest form straight from the number; a bigint only past 32 bits (or to refuse a negative)
    if (v >= 0 && v < 0x100000000) {
      if (v < 128) return w.u8(v)
      if (v < 0x100) return w.head(0xcc, v, 1)
      if (v < 0x10000) return w.head(0xcd, v, 2)
      return w.head(0xce, v, 4)
    }
    return writeUint(w, BigInt(v))
  }
  if (typeof v === 'bigint') return writeUint(w, v)
  if (typeof v === 'string') return writeString(w, v)
  if (v instanceof Uint8Array) {
    writeLength(w, v.length, 0, -1, 0xc4, 0xc5, 0xc6)
    return w.bytes(v)
  }
  if (Array.isArray(v)) {
    writeLength(w, v.length, 0x90, 15, null, 0xdc, 0xdd)
    for (const item of v) write(w, item, depth + 1)
    return
  }
  throw new CodecError('CODEC_ERROR_BAD_TYPE', `cannot encode ${typeof v}`)
}

/**
 * One scratch writer for every call: encode is synchronous and never
 * re-entered, and allocating a buffer per call showed in profiles (GC).
 * The result is a copy, so the scratch may be reused at once.
 */
const scratch = new Writer()

export function encode(value: Encodable): Uint8Array {
  scratch.pos = 0
  try {
    write(scratch, value, 0)
    return scratch.buf.slice(0, scratch.pos)
  } finally {
    if (scratch.buf.length > 1024 * 1024) scratch.shrink()
  }
}

/** Whether `value` encodes to exactly `bytes`, compared in the scratch writer (no copy of the encoding). */
function encodesTo(value: Encodable, bytes: Uint8Array): boolean {
  scratch.pos = 0
  try {
    write(scratch, value, 0)
    return scratch.pos === bytes.length && Buffer.compare(scratch.buf.subarray(0, scratch.pos), bytes) === 0
  } finally {
    if (scratch.buf.length > 1024 * 1024) scratch.shrink()
  }
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'bigint' })

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Decoded integers ≤ 2^53 − 1 come back as `number`, larger ones as
 * `bigint`. Arrays are msgpackr's fresh ones, normalized in place; byte
 * strings are copied out of the input unless `copyBins` is false (the
 * caller keeps the input unchanged for as long as the values live).
 */
function normalize(v: unknown, depth: number, copyBins: boolean): Encodable {
  if (depth > MAX_DEPTH) throw new CodecError('CODEC_ERROR_TOO_DEEP', `nesting deeper than ${MAX_DEPTH}`)
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= 0n ? Number(v) : v
  if (v instanceof Uint8Array) return copyBins ? new Uint8Array(v) : Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.length) : v
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i], depth + 1, copyBins)
    return v as Encodable[]
  }
  throw new CodecError('CODEC_ERROR_BAD_TYPE', 'unsupported msgpack type (maps, floats and extensions are not allowed)')
}

/** Decode canonical bytes; anything else (trailing bytes, non-shortest forms, maps, floats) is refused. */
/**
 * `canonical: false` skips the re-encoding check, for bytes whose exact
 * value is already bound by a verified commit (their hash is in a header
 * +2/3 of the stake signed, and they were checked when that block was
 * validated): block sync decodes such txs.
 */
export function decode(bytes: Uint8Array, maxBytes = 8 * 1024 * 1024, opts: { copyBins?: boolean; canonical?: boolean } = {}): Encodable {
  if (bytes.length > maxBytes) throw new CodecError('CODEC_ERROR_TOO_LARGE', `message of ${bytes.length} bytes exceeds ${maxBytes}`)
  let raw: unknown
  try {
    // Given a plain Uint8Array (not a Buffer), msgpackr's byte strings come back as
    // plain Uint8Array views, which normalize then keeps without re-wrapping.
    const copyBins = opts.copyBins !== false
    raw = unpackr.unpack(copyBins ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (e) {
    throw new CodecError('CODEC_ERROR_MALFORMED', `malformed msgpack: ${(e as Error).message}`)
  }
  const value = normalize(raw, 0, opts.copyBins !== false)
  if (opts.canonical === false) return value
  let same: boolean
  try {
    same = encodesTo(value, bytes)
  } catch (e) {
    throw new CodecError('CODEC_ERROR_NOT_CANONICAL', `not canonical: ${(e as Error).message}`)
  }
  if (!same) throw new CodecError('CODEC_ERROR_NOT_CANONICAL', 'encoding is not canonical')
  return value
}
