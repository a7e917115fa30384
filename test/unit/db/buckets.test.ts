import t from 'tap'
import { encode } from '../../../core/codec.js'
import { compareBytes, toHex } from '../../../core/bytes.js'
import { Bucket } from '../../../node/db/index.js'
import {
  keys, bucketRange, heightOfKey, stateKeyOf, encodeHeight, decodeHeight, encodeChainInfo, decodeChainInfo, encodeHead, decodeHead,
  encodeTxLocation, decodeTxLocation, encodeReceiptEntry, decodeReceiptEntry, type ReceiptEntry, encodeDistribution, decodeDistribution,
} from '../../../node/db/buckets.js'
import type { Distribution } from '../../../state/distribution.js'

const h32 = (b: number): string => toHex(new Uint8Array(32).fill(b))
const a20 = (b: number): string => toHex(new Uint8Array(20).fill(b))

t.test('bucket ids are distinct single bytes', async (t) => {
  const ids = Object.values(Bucket).filter((v): v is number => typeof v === 'number')
  t.equal(new Set(ids).size, ids.length, 'no id is used twice')
  for (const id of ids) t.ok(id > 0 && id < 0xff, `bucket ${Bucket[id]} fits one byte below 0xff`)
})

t.test('keys: prefix byte, 8-byte big-endian heights, raw hashes, UTF-8 state keys', async (t) => {
  const k = keys.block(258)
  t.same([...k], [Bucket.block, 0, 0, 0, 0, 0, 0, 1, 2])
  t.equal(heightOfKey(k), 258)
  t.equal(keys.tx(h32(7)).length, 33)
  t.equal(keys.tx(h32(7))[0], Bucket.tx)
  t.equal(stateKeyOf(keys.state('acct/0xabc')), 'acct/0xabc')
  t.equal(decodeHeight(encodeHeight(2 ** 40)), 2 ** 40)

  const heights = [0, 1, 255, 256, 65_536, 2 ** 32, 2 ** 50]
  const sorted = heights.map((h) => keys.block(h)).sort(compareBytes).map(heightOfKey)
  t.same(sorted, heights, 'byte order of height keys is numeric order')

  const range = bucketRange(Bucket.block)
  t.ok(compareBytes(range.gte, keys.block(0)) <= 0 && compareBytes(keys.block(2 ** 50), range.lt) < 0, 'a bucket is one contiguous range')
  t.ok(compareBytes(keys.commit(0), range.lt) >= 0, 'the next bucket starts after it')
})

t.test('chain info and head round trip', async (t) => {
  const info = { schemaVersion: 1, genesisHash: h32(9), chainId: 'attrchain-devnet' }
  t.same(decodeChainInfo(encodeChainInfo(info)), info)
  const head = { height: 12, blockHash: h32(1), stateRoot: h32(2), timeMs: 1_767_225_600_000 }
  t.same(decodeHead(encodeHead(head)), head, 'timeMs past 2^32 survives')
})

t.test('tx index entries round trip, with and without an error', async (t) => {
  const ok = { height: 3, index: 0, status: 'ok' as const }
  t.same(decodeTxLocation(encodeTxLocation(ok)), ok)
  const failed = { height: 3, index: 1, status: 'failed' as const, error: { code: 'TX_ERROR_INSUFFICIENT_BALANCE', message: 'balance is 0' } }
  t.same(decodeTxLocation(encodeTxLocation(failed)), failed)
})

t.test('receipt entries round trip: every role, 20/32-byte and null addresses, amounts of 0 to 2^128', async (t) => {
  const e: ReceiptEntry = {
    height: 2 ** 40 + 5, txPosition: 70_000, index: 999,
    payouts: [
      { address: a20(10), role: 'contributor', amount: 123n },
      { address: h32(11), role: 'datanetPool', amount: 0n },
      { address: a20(13), role: 'modelOwner', amount: 2n ** 53n - 1n },
      { address: a20(14), role: 'operator', amount: 2n ** 53n },
      { address: null, role: 'validators', amount: (1n << 128n) - 1n },
      { address: a20(12), role: 'treasury', amount: 1n },
    ],
  }
  t.same(decodeReceiptEntry(encodeReceiptEntry(e)), e)
  const empty = { ...e, payouts: [] }
  t.same(decodeReceiptEntry(encodeReceiptEntry(empty)), empty)
})

t.test('damaged receipt entries are refused as corrupt, and bad payouts are not written', async (t) => {
  const good = encodeReceiptEntry({ height: 1, txPosition: 0, index: 0, payouts: [{ address: a20(1), role: 'operator', amount: 5n }] })
  const corrupt = { code: 'DB_ERROR_CORRUPT' }
  t.throws(() => decodeReceiptEntry(good.subarray(0, 10)), corrupt, 'short')
  t.throws(() => decodeReceiptEntry(good.subarray(0, good.length - 1)), corrupt, 'truncated')
  t.throws(() => decodeReceiptEntry(Uint8Array.from([...good, 0])), corrupt, 'trailing byte')
  const badRole = Uint8Array.from(good); badRole[17] = 9
  t.throws(() => decodeReceiptEntry(badRole), corrupt, 'role code')
  const badLen = Uint8Array.from(good); badLen[18] = 7
  t.throws(() => decodeReceiptEntry(badLen), corrupt, 'address length')
  t.throws(() => encodeReceiptEntry({ height: 1, txPosition: 0, index: 0, payouts: [{ address: '0xzz', role: 'operator', amount: 1n }] }), corrupt)
  t.throws(() => encodeReceiptEntry({ height: 1, txPosition: 0, index: 0, payouts: [{ address: a20(1), role: 'operator', amount: -1n }] }), corrupt)
})

t.test('distributions round trip, amounts as decimal strings', async (t) => {
  const d: Distribution = {
    height: 9, minted: 10n ** 18n,
    entries: [
      { address: a20(1), role: 'contributor', amount: 5n },
      { address: h32(2), role: 'datanetPool', amount: 10n ** 25n },
      { address: a20(3), role: 'delegatorPool', amount: 7n },
      { address: a20(4), role: 'validator', amount: 0n },
    ],
  }
  const bytes = encodeDistribution(d)
  t.same(decodeDistribution(bytes), d)
  t.ok(Buffer.from(bytes).includes(Buffer.from('10000000000000000000000000')), 'amount stored as its decimal string')
})

t.test('damaged records are refused with DB_ERROR_CORRUPT', async (t) => {
  const code = { code: 'DB_ERROR_CORRUPT' }
  t.throws(() => decodeHead(Uint8Array.of(0xc1)), code, 'not msgpack')
  t.throws(() => decodeHead(encode([1, 2, 3])), code, 'wrong arity')
  t.throws(() => decodeHead(encode([1, new Uint8Array(31), new Uint8Array(32), 0])), code, 'short hash')
  t.throws(() => decodeTxLocation(encode([1, 0, 'pending', null, null])), code, 'unknown status')
  t.throws(() => decodeDistribution(encode([1, '01', []])), code, 'non-canonical amount')
  t.throws(() => decodeDistribution(encode([1, '1', [[new Uint8Array(20), 'thief', '1']]])), code, 'unknown role')
  t.throws(() => decodeHeight(Uint8Array.of(1, 2)), code, 'height of the wrong width')
})
