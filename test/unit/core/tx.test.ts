import t from 'tap'
import { createHash } from 'node:crypto'
import {
  signTx, decodeSignedTx, decodeCall, encodeUnsigned, encodeCall, signingDigest, receiptId, validateCall, TX_TYPES,
  MAX_TX_BYTES, type TxCall, type UnsignedTx,
} from '../../../core/tx.js'
import { encode, decode, type Encodable } from '../../../core/codec.js'
import { KeyPair, verifySignatureNoble } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { toHex, fromHex, u32be, concatBytes, utf8 } from '../../../core/bytes.js'
import { MAX_AMOUNT } from '../../../core/amount.js'
import { signRaw, rawUnsigned, sampleCalls, h32 } from '../../helpers/chain.js'

const key = new KeyPair(sha256('tx-test/key'))
const A20 = new Uint8Array(20).fill(0x22)
const B32 = (label: string) => fromHex(h32(label))

function unsigned(call: TxCall, nonce = 3, fee = 10n ** 15n): UnsignedTx {
  return { chainId: 'attrchain-devnet', nonce, fee, call }
}

t.test('every tx type round-trips: sign, decode, re-encode, same bytes and hash', async (t) => {
  const calls = sampleCalls()
  const types = new Set(calls.map((c) => c.type))
  t.same([...types].sort(), [...TX_TYPES].sort(), 'the samples cover every tx type')
  for (const call of calls) {
    const u = unsigned(call)
    const stx = signTx(u, key)
    const back = decodeSignedTx(stx.bytes)
    t.same(back.tx, u, `${call.type}: decoded tx equals the signed one`)
    t.equal(toHex(encodeUnsigned(back.tx)), toHex(encodeUnsigned(u)), `${call.type}: unsigned bytes`)
    t.equal(back.hash, stx.hash, `${call.type}: hash`)
    t.equal(back.hash, '0x' + createHash('sha256').update(stx.bytes).digest('hex'), `${call.type}: hash = sha256(signed bytes)`)
    t.equal(back.sender, key.address, `${call.type}: sender`)
    const digest = sha256(concatBytes(utf8('attrchain/tx/v1'), encodeUnsigned(u)))
    t.equal(toHex(signingDigest(encodeUnsigned(u))), toHex(digest), `${call.type}: digest`)
    t.ok(verifySignatureNoble(key.publicKey, digest, back.signature), `${call.type}: noble verifies the signature over the digest`)
    const root = decode(stx.bytes) as Encodable[]
    t.equal(root.length, 3, `${call.type}: [unsigned, pubkey, signature]`)
    const [ver, chainId, nonce, fee, type, body] = root[0] as Encodable[]
    t.same([ver, chainId, nonce, fee, type], [1, 'attrchain-devnet', 3, '1000000000000000', call.type], `${call.type}: envelope fields`)
    t.same(body, encodeCall(call), `${call.type}: body`)
    t.same(decodeCall(call.type, decode(encode(encodeCall(call)))), call, `${call.type}: decodeCall`)
  }
})

t.test('bodies have the DESIGN §3 field order', async (t) => {
  const a = '0x' + '22'.repeat(20)
  t.same(encodeCall({ type: 'transfer', to: a, amount: 7n }), [A20, '7'])
  t.same(encodeCall({ type: 'createValidator', amount: 9n, moniker: 'x', commissionBps: 100 }), ['9', 'x', 100])
  t.same(encodeCall({ type: 'reviewContribution', contributionId: h32('c'), accept: true, weight: 2 }), [B32('c'), true, 2])
  t.same(encodeCall({ type: 'registerModel', name: 'n', baseModel: 'b', datanets: [{ datanetId: h32('d'), weight: 1 }], minFee: 5n }), ['n', 'b', [[B32('d'), 1]], '5'])
  t.same(
    encodeCall({ type: 'submitReceipts', receipts: [{ modelId: h32('m'), payer: a, fee: 3n, inputHash: h32('i'), outputHash: h32('o'), attribution: [{ contributionId: h32('c'), weight: 4 }] }] }),
    [[B32('m'), A20, '3', B32('i'), B32('o'), [[B32('c'), 4]]]],
  )
  t.same(encodeCall({ type: 'unjail' }), [])
})

t.test('large nonce and amounts: uint64 nonce, amounts up to 2^128 - 1', async (t) => {
  const u = unsigned({ type: 'transfer', to: '0x' + '22'.repeat(20), amount: MAX_AMOUNT }, 2 ** 32 + 1, (1n << 64n) + 5n)
  const stx = signTx(u, key)
  const back = decodeSignedTx(stx.bytes)
  t.same(back.tx, u)
  t.ok(toHex(stx.bytes).includes('cf0000000100000001'), 'the nonce is written as uint64')
})

t.test('receipt id = sha256(txHash ‖ u32be(index))', async (t) => {
  const txHash = h32('some tx')
  for (const i of [0, 1, 255, 256, 2 ** 32 - 1]) {
    t.equal(receiptId(txHash, i), toHex(sha256(concatBytes(fromHex(txHash), u32be(i)))), `index ${i}`)
  }
  t.not(receiptId(txHash, 0), receiptId(txHash, 1))
})

/** Decode a raw signed tx; return the error it throws. */
function reject(unsignedTx: Encodable[]) {
  return () => decodeSignedTx(signRaw(key, unsignedTx))
}

t.test('static rejections name the offending field', async (t) => {
  const receipt = (attribution: Encodable[] = [], fee: Encodable = '1'): Encodable => [B32('m'), A20, fee, B32('i'), B32('o'), attribution]
  const cases: [string, string, Encodable, string, string | RegExp][] = [
    ['bad amount', 'transfer', [A20, '01'], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[1] must be a canonical decimal string'],
    ['amount as a number', 'transfer', [A20, 5], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[1] must be a canonical decimal string'],
    ['negative amount', 'transfer', [A20, '-5'], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[1] must be a canonical decimal string'],
    ['overflowing amount', 'transfer', [A20, (MAX_AMOUNT + 1n).toString()], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[1] exceeds 2^128 - 1'],
    ['zero transfer', 'transfer', [A20, '0'], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[1] must be positive'],
    ['zero stake', 'stake', ['0'], 'TX_ERROR_BAD_AMOUNT', 'TX_ERROR_BAD_AMOUNT: body[0] must be positive'],
    ['negative delegation', 'delegate', [A20, '-1'], 'TX_ERROR_BAD_AMOUNT', /body\[1\]/],
    ['overflowing receipt fee', 'submitReceipts', [receipt([], MAX_AMOUNT.toString() + '0')], 'TX_ERROR_BAD_AMOUNT', /body\[0\]\[2\]/],
    ['wrong arity (3 for transfer)', 'transfer', [A20, '1', '2'], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body must have 2 elements, got 3'],
    ['wrong arity (1 for claim)', 'claim', [1], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body must have 0 elements, got 1'],
    ['body not an array', 'unjail', 'x', 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body must be an array'],
    ['unknown type', 'mint', [], 'TX_ERROR_UNKNOWN_TYPE', 'TX_ERROR_UNKNOWN_TYPE: unknown tx type "mint"'],
    ['short address', 'transfer', [new Uint8Array(19), '1'], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0] must be 20 bytes'],
    ['address as a string', 'transfer', ['0x' + '22'.repeat(20), '1'], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0] must be 20 bytes'],
    ['commission over 100%', 'createValidator', ['1', 'm', 10_001], 'TX_ERROR_BAD_INTEGER', 'TX_ERROR_BAD_INTEGER: body[2] must be an integer in [0, 10000]'],
    ['moniker too long', 'createValidator', ['1', 'm'.repeat(65), 0], 'TX_ERROR_FIELD_TOO_LONG', 'TX_ERROR_FIELD_TOO_LONG: body[1] must be at most 64 bytes'],
    ['data hash of 31 bytes', 'contribute', [B32('d'), new Uint8Array(31), ''], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[1] must be 32 bytes'],
    ['accept with weight 0', 'reviewContribution', [B32('c'), true, 0], 'TX_ERROR_BAD_INTEGER', /body\[2\] must be an integer in \[1, 4294967295\]/],
    ['accept not a boolean', 'reviewContribution', [B32('c'), 1, 1], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[1] must be a boolean'],
    ['model without Datanets', 'registerModel', ['n', 'b', [], '0'], 'TX_ERROR_BAD_PROVENANCE', /body\[2\] must list 1 to 64 Datanets/],
    ['model repeating a Datanet', 'registerModel', ['n', 'b', [[B32('d'), 1], [B32('d'), 2]], '0'], 'TX_ERROR_BAD_PROVENANCE', 'TX_ERROR_BAD_PROVENANCE: body[2] repeats a Datanet'],
    ['provenance weight 0', 'registerModel', ['n', 'b', [[B32('d'), 0]], '0'], 'TX_ERROR_BAD_INTEGER', /body\[2\]\[0\]\[1\]/],
    ['no receipts', 'submitReceipts', [], 'TX_ERROR_TOO_MANY_RECEIPTS', 'TX_ERROR_TOO_MANY_RECEIPTS: body must hold 1 to 1000 receipts, got 0'],
    ['too many receipts', 'submitReceipts', new Array(1001).fill(receipt()), 'TX_ERROR_TOO_MANY_RECEIPTS', 'TX_ERROR_TOO_MANY_RECEIPTS: body must hold 1 to 1000 receipts, got 1001'],
    ['too many attributions', 'submitReceipts', [receipt(Array.from({ length: 65 }, (_, i) => [B32(`c${i}`), 1]))], 'TX_ERROR_TOO_MANY_ATTRIBUTIONS', 'TX_ERROR_TOO_MANY_ATTRIBUTIONS: body[0][5] has 65 entries, max 64'],
    ['duplicate attribution', 'submitReceipts', [receipt([[B32('c1'), 1], [B32('c1'), 2]])], 'TX_ERROR_DUPLICATE_ATTRIBUTION', 'TX_ERROR_DUPLICATE_ATTRIBUTION: body[0][5][1][0] repeats a contribution'],
    ['attribution weight 0', 'submitReceipts', [receipt([[B32('c1'), 0]])], 'TX_ERROR_BAD_INTEGER', /body\[0\]\[5\]\[0\]\[1\]/],
    ['receipt with 5 fields', 'submitReceipts', [[B32('m'), A20, '1', B32('i'), B32('o')]], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0] must have 6 elements, or 7 with a traceId, got 5'],
    // DESIGN §4.1: optional trailing fields and the new tx types
    ['traceId of 31 bytes', 'submitReceipts', [[B32('m'), A20, '1', B32('i'), B32('o'), [], new Uint8Array(31)]], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0][6] must be 32 bytes'],
    ['traceId of 33 bytes', 'submitReceipts', [[B32('m'), A20, '1', B32('i'), B32('o'), [], new Uint8Array(33)]], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0][6] must be 32 bytes'],
    ['receipt with 8 fields', 'submitReceipts', [[B32('m'), A20, '1', B32('i'), B32('o'), [], B32('t'), 1]], 'TX_ERROR_MALFORMED', /body\[0\] must have 6 elements, or 7/],
    ['present but empty parents', 'registerModel', ['n', 'b', [[B32('d'), 1]], '0', []], 'TX_ERROR_EMPTY_PARENTS', /body\[4\]: parents, when present, must name at least one model/],
    ['duplicate parent', 'registerModel', ['n', 'b', [[B32('d'), 1]], '0', [B32('p'), B32('p')]], 'TX_ERROR_DUPLICATE_PARENT', 'TX_ERROR_DUPLICATE_PARENT: body[4] repeats a parent'],
    ['parent of 20 bytes', 'registerModel', ['n', 'b', [[B32('d'), 1]], '0', [A20]], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[4][0] must be 32 bytes'],
    ['registerModel with 6 fields', 'registerModel', ['n', 'b', [[B32('d'), 1]], '0', [B32('p')], 1], 'TX_ERROR_MALFORMED', /body must have 4 elements, or 5/],
    ['sourceModelId of 20 bytes', 'contribute', [B32('d'), B32('h'), '', A20], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[3] must be 32 bytes'],
    ['contribute with 5 fields', 'contribute', [B32('d'), B32('h'), '', B32('m'), 1], 'TX_ERROR_MALFORMED', /body must have 3 elements, or 4/],
    ['royalty over 100%', 'setModelTerms', [B32('m'), 10_001, true], 'TX_ERROR_BAD_INTEGER', 'TX_ERROR_BAD_INTEGER: body[1] must be an integer in [0, 10000]'],
    ['allowDerivatives not a boolean', 'setModelTerms', [B32('m'), 0, 1], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[2] must be a boolean'],
    ['curatorBps over 100%', 'setDatanetTerms', [B32('d'), 10_001], 'TX_ERROR_BAD_INTEGER', 'TX_ERROR_BAD_INTEGER: body[1] must be an integer in [0, 10000]'],
    ['setDatanetTerms with 3 fields', 'setDatanetTerms', [B32('d'), 1, 1], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body must have 2 elements, got 3'],
    ['checkpoint address of 32 bytes', 'setCheckpointKey', [B32('k')], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[0] must be 20 bytes'],
    ['checkpoint signature of 64 bytes', 'signCheckpoint', [100, new Uint8Array(64)], 'TX_ERROR_MALFORMED', 'TX_ERROR_MALFORMED: body[1] must be 65 bytes'],
    ['checkpoint height 0', 'signCheckpoint', [0, new Uint8Array(65)], 'TX_ERROR_BAD_INTEGER', /body\[0\] must be an integer in \[1, /],
  ]
  for (const [what, type, body, code, message] of cases) {
    t.throws(() => decodeCall(type, body), { code, message }, `decodeCall: ${what}`)
    t.throws(reject(rawUnsigned(type, body)), { code, message }, `decodeSignedTx: ${what}`)
  }
  t.throws(() => decodeCall('submitReceipts', [receipt(), receipt()], { maxReceiptsPerTx: 1, maxAttribution: 64 }), { code: 'TX_ERROR_TOO_MANY_RECEIPTS' }, 'limits are parameters')
  t.throws(() => decodeCall('submitReceipts', [receipt([[B32('a'), 1], [B32('b'), 1]])], { maxReceiptsPerTx: 9, maxAttribution: 1 }), { code: 'TX_ERROR_TOO_MANY_ATTRIBUTIONS' })
})

t.test('envelope rejections: version, chain id, nonce, fee', async (t) => {
  const body = [A20, '1']
  const cases: [string, Encodable[], string, unknown][] = [
    ['version 2', [2, 'c', 0, '1', 'transfer', body], 'TX_ERROR_BAD_VERSION', 'version'],
    ['empty chain id', [1, '', 0, '1', 'transfer', body], 'TX_ERROR_MALFORMED', 'chainId'],
    ['chain id as bin', [1, new Uint8Array(3), 0, '1', 'transfer', body], 'TX_ERROR_MALFORMED', 'chainId'],
    ['nonce as a string', [1, 'c', '0', '1', 'transfer', body], 'TX_ERROR_BAD_INTEGER', 'nonce'],
    ['nonce above 2^53 - 1', [1, 'c', 2n ** 53n, '1', 'transfer', body], 'TX_ERROR_BAD_INTEGER', 'nonce'],
    ['fee with leading zero', [1, 'c', 0, '01', 'transfer', body], 'TX_ERROR_BAD_AMOUNT', 'fee'],
    ['negative fee', [1, 'c', 0, '-1', 'transfer', body], 'TX_ERROR_BAD_AMOUNT', 'fee'],
    ['type as a number', [1, 'c', 0, '1', 7, body], 'TX_ERROR_MALFORMED', 'type'],
    ['five fields', [1, 'c', 0, '1', 'transfer'], 'TX_ERROR_MALFORMED', 'tx[0]'],
  ]
  for (const [what, u, code, field] of cases) t.throws(reject(u), { code, meta: { field } }, what)
})

t.test('signature, pubkey, tampering and encoding rejections', async (t) => {
  const stx = signTx(unsigned({ type: 'transfer', to: '0x' + '22'.repeat(20), amount: 1000n }), key)
  const [u, pk, sig] = decode(stx.bytes) as [Encodable[], Uint8Array, Uint8Array]

  const badSig = sig.slice()
  badSig[0] ^= 1
  t.throws(() => decodeSignedTx(encode([u, pk, badSig])), { code: 'TX_ERROR_BAD_SIGNATURE', meta: { field: 'signature' } }, 'flipped signature bit')
  const other = new KeyPair(sha256('tx-test/other'))
  t.throws(() => decodeSignedTx(encode([u, other.publicKey, sig])), { code: 'TX_ERROR_BAD_SIGNATURE' }, 'another pubkey')
  const tampered = [...u]
  tampered[3] = '1000000000000001'
  t.throws(() => decodeSignedTx(encode([tampered, pk, sig])), { code: 'TX_ERROR_BAD_SIGNATURE' }, 'tampered fee keeps the old signature')
  const tamperedBody = [...u]
  tamperedBody[5] = [A20, '1001']
  t.throws(() => decodeSignedTx(encode([tamperedBody, pk, sig])), { code: 'TX_ERROR_BAD_SIGNATURE' }, 'tampered amount')
  const flipped = stx.bytes.slice()
  flipped[flipped.length - 70] ^= 0x01
  t.throws(() => decodeSignedTx(flipped), { code: /TX_ERROR_(BAD_SIGNATURE|MALFORMED)/ }, 'a flipped byte')
  t.ok(decodeSignedTx(encode([u, pk, badSig]), undefined, { verify: false }), 'verify: false skips the signature check (mempool-verified txs)')

  t.throws(() => decodeSignedTx(encode([u, pk.subarray(0, 31), sig])), { code: 'TX_ERROR_MALFORMED', meta: { field: 'pubkey' } }, '31-byte pubkey')
  t.throws(() => decodeSignedTx(encode([u, new Uint8Array([...pk, 0]), sig])), { code: 'TX_ERROR_MALFORMED', meta: { field: 'pubkey' } }, '33-byte pubkey')
  t.throws(() => decodeSignedTx(encode([u, pk, sig.subarray(0, 63)])), { code: 'TX_ERROR_MALFORMED', meta: { field: 'signature' } }, '63-byte signature')
  t.throws(() => decodeSignedTx(encode([u, pk])), { code: 'TX_ERROR_MALFORMED', meta: { field: 'tx' } }, 'two fields')

  // nonce 3 as `cc 03` instead of the fixint `03`: same value, not canonical
  const h = toHex(stx.bytes)
  const head = '9396' + '01' + 'b0' + Buffer.from('attrchain-devnet').toString('hex')
  t.equal(h.slice(2, 2 + head.length + 2), head + '03', 'signed tx starts [[1, chainId, 3, …')
  const nonCanonical = fromHex('0x' + head + 'cc03' + h.slice(2 + head.length + 2))
  t.not(toHex(nonCanonical), h)
  t.throws(() => decodeSignedTx(nonCanonical), { code: 'TX_ERROR_MALFORMED', message: /not canonical/ }, 'non-shortest nonce')
  t.throws(() => decodeSignedTx(concatBytes(stx.bytes, new Uint8Array([0]))), { code: 'TX_ERROR_MALFORMED' }, 'trailing byte')
  t.throws(() => decodeSignedTx(new Uint8Array(MAX_TX_BYTES + 1)), { code: 'TX_ERROR_TOO_LARGE' }, 'oversize')
})

t.test('signTx and validateCall refuse calls the decoder would refuse', async (t) => {
  t.throws(() => signTx(unsigned({ type: 'transfer', to: '0x' + '22'.repeat(20), amount: 0n }), key), { code: 'TX_ERROR_BAD_AMOUNT' })
  t.throws(() => signTx(unsigned({ type: 'transfer', to: '0x' + '22'.repeat(20), amount: -1n }), key), { code: 'TX_ERROR_BAD_AMOUNT' })
  t.throws(() => signTx(unsigned({ type: 'transfer', to: '0x' + '22'.repeat(20), amount: MAX_AMOUNT + 1n }), key), { code: 'TX_ERROR_BAD_AMOUNT' })
  t.throws(() => validateCall({ type: 'createValidator', amount: 1n, moniker: 'x', commissionBps: 20_000 }), { code: 'TX_ERROR_BAD_INTEGER' })
  t.throws(() => validateCall({ type: 'transfer', to: '0x1234', amount: 1n }), { code: 'CODEC_ERROR_BAD_LENGTH' })
})
