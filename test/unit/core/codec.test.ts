import t from 'tap'
import { encode, decode, type Encodable } from '../../../core/codec.js'
import { toHex, fromHex } from '../../../core/bytes.js'

const hex = (v: Encodable): string => toHex(encode(v))

t.test('integers take their shortest msgpack form at every boundary', async (t) => {
  const cases: [number | bigint, string][] = [
    [0, '0x00'], [1, '0x01'], [127, '0x7f'], [128, '0xcc80'], [255, '0xccff'], [256, '0xcd0100'],
    [65535, '0xcdffff'], [65536, '0xce00010000'], [2 ** 32 - 1, '0xceffffffff'], [2 ** 32, '0xcf0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '0xcf001fffffffffffff'], [2n ** 53n, '0xcf0020000000000000'],
    [2n ** 64n - 1n, '0xcfffffffffffffffff'], [5n, '0x05'], [300n, '0xcd012c'],
  ]
  for (const [v, h] of cases) {
    t.equal(hex(v), h, `encode ${v}`)
    const back = decode(fromHex(h))
    const expected = typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
    t.equal(back, expected, `decode ${h}`)
  }
  t.equal(typeof decode(fromHex('0xcf001fffffffffffff')), 'number', '2^53 - 1 decodes as a number')
  t.equal(typeof decode(fromHex('0xcf0020000000000000')), 'bigint', '2^53 decodes as a bigint')
})

t.test('strings, byte strings and arrays use their shortest length class', async (t) => {
  const str = (n: number) => 'a'.repeat(n)
  const strCases: [number, string][] = [[0, '0xa0'], [31, '0xbf'], [32, '0xd920'], [255, '0xd9ff'], [256, '0xda0100'], [65535, '0xdaffff'], [65536, '0xdb00010000']]
  for (const [n, prefix] of strCases) {
    const e = toHex(encode(str(n)))
    t.equal(e.slice(0, prefix.length), prefix, `string of ${n} bytes`)
    t.equal(e.length, prefix.length + 2 * n, `string of ${n} bytes: length`)
    t.equal(decode(encode(str(n))), str(n), `string of ${n} round trip`)
  }
  t.equal(hex('é'), '0xa2c3a9', 'UTF-8 byte length, not code units')
  const binCases: [number, string][] = [[0, '0xc400'], [1, '0xc401'], [255, '0xc4ff'], [256, '0xc50100'], [65535, '0xc5ffff'], [65536, '0xc600010000']]
  for (const [n, prefix] of binCases) {
    const b = new Uint8Array(n).fill(7)
    const e = toHex(encode(b))
    t.equal(e.slice(0, prefix.length), prefix, `bin of ${n} bytes`)
    t.same(decode(encode(b)), b, `bin of ${n} round trip`)
  }
  const arrCases: [number, string][] = [[0, '0x90'], [15, '0x9f'], [16, '0xdc0010'], [65535, '0xdcffff'], [65536, '0xdd00010000']]
  for (const [n, prefix] of arrCases) {
    const a = new Array(n).fill(0)
    t.equal(toHex(encode(a)).slice(0, prefix.length), prefix, `array of ${n}`)
    t.equal((decode(encode(a)) as unknown[]).length, n, `array of ${n} round trip`)
  }
  t.equal(hex([null, true, false]), '0x93c0c3c2')
  t.same(decode(fromHex('0x93c0c3c2')), [null, true, false])
})

t.test('values the codec does not encode are refused', async (t) => {
  const bad: [unknown, string][] = [
    [-1, 'CODEC_ERROR_BAD_INTEGER'], [1.5, 'CODEC_ERROR_BAD_INTEGER'], [2 ** 53, 'CODEC_ERROR_BAD_INTEGER'], [NaN, 'CODEC_ERROR_BAD_INTEGER'],
    [-1n, 'CODEC_ERROR_BAD_INTEGER'], [2n ** 64n, 'CODEC_ERROR_BAD_INTEGER'], [{ a: 1 }, 'CODEC_ERROR_BAD_TYPE'],
    [new Map(), 'CODEC_ERROR_BAD_TYPE'], [undefined, 'CODEC_ERROR_BAD_TYPE'],
  ]
  for (const [v, code] of bad) t.throws(() => encode(v as Encodable), { code }, `encode refuses ${String(v)}`)
})

t.test('decoding refuses non-canonical, foreign and oversize input', async (t) => {
  const bad: [string, string, string][] = [
    ['0xcc05', 'CODEC_ERROR_NOT_CANONICAL', '5 as uint8'],
    ['0xcd007f', 'CODEC_ERROR_NOT_CANONICAL', '127 as uint16'],
    ['0xcd00ff', 'CODEC_ERROR_NOT_CANONICAL', '255 as uint16'],
    ['0xce0000ffff', 'CODEC_ERROR_NOT_CANONICAL', '65535 as uint32'],
    ['0xcf00000000ffffffff', 'CODEC_ERROR_NOT_CANONICAL', '2^32 - 1 as uint64'],
    ['0xd0ff', 'CODEC_ERROR_NOT_CANONICAL', 'negative int8'],
    ['0xff', 'CODEC_ERROR_NOT_CANONICAL', 'negative fixint'],
    ['0xca3f800000', 'CODEC_ERROR_NOT_CANONICAL', 'float32 1.0'],
    ['0xcb3ff8000000000000', 'CODEC_ERROR_NOT_CANONICAL', 'float64 1.5'],
    ['0xcb41f0000000000000', 'CODEC_ERROR_NOT_CANONICAL', 'float64 2^32 (what msgpackr writes)'],
    ['0xd90161', 'CODEC_ERROR_NOT_CANONICAL', 'short string as str8'],
    ['0xc50001ff', 'CODEC_ERROR_NOT_CANONICAL', 'short bin as bin16'],
    ['0xdc000101', 'CODEC_ERROR_NOT_CANONICAL', 'short array as array16'],
    ['0x80', 'CODEC_ERROR_BAD_TYPE', 'empty map'],
    ['0x81a16101', 'CODEC_ERROR_BAD_TYPE', 'map'],
    ['0x0102', 'CODEC_ERROR_MALFORMED', 'trailing bytes'],
    ['0x9101ff', 'CODEC_ERROR_MALFORMED', 'trailing bytes after an array'],
    ['0xc4', 'CODEC_ERROR_MALFORMED', 'truncated'],
    ['0x', 'CODEC_ERROR_MALFORMED', 'empty input'],
    ['0xd40101', 'CODEC_ERROR_MALFORMED', 'extension type'],
  ]
  for (const [h, code, what] of bad) t.throws(() => decode(fromHex(h)), { code }, `${what}: ${h}`)

  const nested = (n: number): Encodable => (n === 0 ? [] : [nested(n - 1)])
  t.doesNotThrow(() => encode(nested(16)), '16 levels below the root encode')
  t.throws(() => encode(nested(17)), { code: 'CODEC_ERROR_TOO_DEEP' }, '17 levels do not')
  t.same(decode(new Uint8Array([...new Array(16).fill(0x91), 0x90])), nested(16))
  t.throws(() => decode(new Uint8Array([...new Array(17).fill(0x91), 0x90])), { code: 'CODEC_ERROR_TOO_DEEP' })

  const big = encode(new Uint8Array(100))
  t.same(decode(big, big.length), new Uint8Array(100), 'exactly the limit is fine')
  t.throws(() => decode(big, big.length - 1), { code: 'CODEC_ERROR_TOO_LARGE' })
})

t.test('round trip of a mixed canonical value is byte-identical', async (t) => {
  const v: Encodable = [1, 'attrchain-devnet', 2n ** 40n, '1000', 'transfer', [new Uint8Array(20).fill(0xab), '5'], [true, false, null], 2n ** 64n - 1n]
  const bytes = encode(v)
  const back = decode(bytes)
  t.equal(toHex(encode(back)), toHex(bytes))
  t.same(back, [1, 'attrchain-devnet', 2 ** 40, '1000', 'transfer', [new Uint8Array(20).fill(0xab), '5'], [true, false, null], 2n ** 64n - 1n])
})

t.test('canonical: false skips only the re-encoding check (bytes bound by a verified commit)', async (t) => {
  t.same(decode(fromHex('0xcc05'), 100, { canonical: false }), 5, 'a non-shortest integer decodes when the bytes are trusted')
  t.throws(() => decode(fromHex('0xcc05')), { code: 'CODEC_ERROR_NOT_CANONICAL' }, 'and is refused otherwise')
  t.throws(() => decode(fromHex('0x81a16101'), 100, { canonical: false }), { code: 'CODEC_ERROR_BAD_TYPE' }, 'maps are still refused')
  t.throws(() => decode(fromHex('0x0102'), 100, { canonical: false }), { code: 'CODEC_ERROR_MALFORMED' }, 'so are trailing bytes')
})
