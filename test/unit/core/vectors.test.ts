import t from 'tap'
import { readFileSync } from 'node:fs'
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { encode, type Encodable } from '../../../core/codec.js'
import { fromHex, toHex } from '../../../core/bytes.js'
import { decodeSignedTx, encodeUnsigned, encodeCall, TX_TYPES } from '../../../core/tx.js'
import { KeyPair } from '../../../core/keys.js'
import type { TxVector } from '../../helpers/vectors.js'

const vectors = JSON.parse(readFileSync(new URL('../../vectors/txs.json', import.meta.url), 'utf8')) as TxVector[]

/**
 * Per-type body schema, written from DESIGN §3 independently of the encoder:
 * b = bin (0x-hex in JSON), a = amount string, s = string, i = integer, t = boolean.
 */
type Shape = 'b' | 'a' | 's' | 'i' | 't' | Shape[] | { each: Shape } | { optional: Shape }
const pairs: Shape = { each: ['b', 'i'] }
const SCHEMA: Record<string, Shape> = {
  transfer: ['b', 'a'], createValidator: ['a', 's', 'i'], stake: ['a'], unstake: ['a'], delegate: ['b', 'a'], undelegate: ['b', 'a'],
  unjail: [], claim: [], registerDatanet: ['s', 's', 'a'], contribute: ['b', 'b', 's', { optional: 'b' }], reviewContribution: ['b', 't', 'i'],
  registerModel: ['s', 's', pairs, 'a', { optional: { each: 'b' } }], approveOperator: ['b', 'a'], submitReceipts: { each: ['b', 'b', 'a', 'b', 'b', pairs, { optional: 'b' }] },
  // DESIGN §4.1
  setModelTerms: ['b', 'i', 't'], setDatanetTerms: ['b', 'i'],
  // README "Rollup checkpoints"
  setCheckpointKey: ['b'], signCheckpoint: ['i', 'b'],
}

function fromJson(shape: Shape, v: unknown): Encodable {
  if (shape === 'b') return fromHex(v)
  if (shape === 'a' || shape === 's') { if (typeof v !== 'string') throw new Error('expected a string'); return v }
  if (shape === 'i') { if (!Number.isSafeInteger(v)) throw new Error('expected an integer'); return v as number }
  if (shape === 't') { if (typeof v !== 'boolean') throw new Error('expected a boolean'); return v }
  const arr = v as unknown[]
  if (Array.isArray(shape)) {
    // optional trailing fields (DESIGN §4.1) are absent when unused
    const required = shape.filter((s) => !(typeof s === 'object' && 'optional' in s)).length
    if (arr.length < required || arr.length > shape.length) throw new Error('wrong arity')
    return arr.map((x, i) => fromJson(shape[i], x))
  }
  if ('optional' in shape) return fromJson(shape.optional, v)
  return arr.map((x) => fromJson(shape.each, x))
}

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())
const SPKI_PREFIX = '302a300506032b6570032100'

t.test('the vectors file covers the tx types the README promises', async (t) => {
  const types = new Set(vectors.map((v) => v.type))
  for (const type of ['transfer', 'createValidator', 'registerDatanet', 'contribute', 'registerModel', 'submitReceipts', 'claim']) {
    t.ok(types.has(type), `has a ${type} vector`)
  }
  t.ok(vectors.some((v) => v.nonce >= 2 ** 32), 'one nonce takes the uint64 form')
  t.ok(vectors.some((v) => JSON.stringify(v.body).match(/"(\d{20,})"/) && BigInt(JSON.stringify(v.body).match(/"(\d{20,})"/)![1]) >= 2n ** 64n), 'one amount is at least 2^64')
  const receipts = vectors.filter((v) => v.type === 'submitReceipts').flatMap((v) => v.body as unknown[][])
  t.ok(receipts.some((r) => (r[5] as unknown[]).length > 0), 'a receipt with attribution')
  t.ok(receipts.some((r) => (r[5] as unknown[]).length === 0), 'a receipt without attribution')
  // DESIGN §4.1: the new tx types and the optional fields, present and absent
  for (const type of ['setModelTerms', 'setDatanetTerms']) t.ok(types.has(type), `has a ${type} vector`)
  t.ok(receipts.some((r) => r.length === 7) && receipts.some((r) => r.length === 6), 'receipts with and without traceId')
  const bodies = (type: string) => vectors.filter((v) => v.type === type).map((v) => v.body as unknown[])
  t.ok(bodies('contribute').some((b) => b.length === 4) && bodies('contribute').some((b) => b.length === 3), 'contribute with and without sourceModelId')
  t.ok(bodies('registerModel').some((b) => b.length === 5) && bodies('registerModel').some((b) => b.length === 4), 'registerModel with and without parents')
  for (const v of vectors) t.ok(TX_TYPES.includes(v.type as never), `${v.description}: known type`)
})

for (const v of vectors) {
  t.test(v.description, async (t) => {
    const seed = fromHex(v.seed, 'seed', 32)
    const key = new KeyPair(seed)
    t.equal(toHex(key.publicKey), v.pubKey, 'pubkey from seed')
    t.equal(key.address, v.sender, 'sender = address(pubkey)')
    t.equal(toHex(sha(fromHex(v.pubKey)).subarray(0, 20)), v.sender, 'address = first 20 bytes of sha256(pubkey)')

    // Re-encode from the JSON fields alone, the way another language would.
    const unsigned: Encodable[] = [1, v.chainId, v.nonce, v.fee, v.type, fromJson(SCHEMA[v.type], v.body)]
    const unsignedBytes = encode(unsigned)
    t.equal(toHex(unsignedBytes), v.unsignedHex, 'unsigned bytes')
    const digest = sha(new Uint8Array([...Buffer.from('attrchain/tx/v1'), ...unsignedBytes]))
    t.equal(toHex(digest), v.signingDigest, 'signing digest = sha256("attrchain/tx/v1" ‖ unsigned)')
    t.equal(toHex(ed25519.sign(digest, seed)), v.signature, 'noble signature')
    t.equal(toHex(key.sign(digest)), v.signature, 'node:crypto signature')
    const signed = encode([unsigned, fromHex(v.pubKey), fromHex(v.signature)])
    t.equal(toHex(signed), v.signedHex, 'signed bytes')
    t.equal(toHex(sha(signed)), v.txHash, 'tx hash = sha256(signed)')

    t.ok(ed25519.verify(fromHex(v.signature), digest, fromHex(v.pubKey)), 'noble verifies')
    const spki = createPublicKey({ key: Buffer.from(SPKI_PREFIX + v.pubKey.slice(2), 'hex'), format: 'der', type: 'spki' })
    t.ok(nodeVerify(null, digest, spki, fromHex(v.signature)), 'node:crypto verifies')

    const stx = decodeSignedTx(fromHex(v.signedHex))
    t.equal(stx.hash, v.txHash, 'decoded hash')
    t.equal(stx.sender, v.sender, 'decoded sender')
    t.same([stx.tx.chainId, stx.tx.nonce, stx.tx.fee.toString(), stx.tx.call.type], [v.chainId, v.nonce, v.fee, v.type], 'decoded envelope')
    t.equal(toHex(encodeUnsigned(stx.tx)), v.unsignedHex, 'decoded tx re-encodes to the same bytes')
    t.same(JSON.parse(JSON.stringify(encodeCall(stx.tx.call), (_k, x) => (x instanceof Uint8Array ? toHex(x) : x))), v.body, 'decoded body as JSON')
  })
}
