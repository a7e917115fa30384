import t from 'tap'
import { createHash } from 'node:crypto'
import { addressFromPubKey, parseAddress, isAddress } from '../../../core/address.js'
import { KeyPair, publicKeyFromSeed } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { fromHex, toHex } from '../../../core/bytes.js'

t.test('address = 0x + lowercase hex of the first 20 bytes of sha256(pubkey)', async (t) => {
  for (let i = 0; i < 5; i++) {
    const seed = sha256(`address-test/${i}`)
    const pub = publicKeyFromSeed(seed)
    const expected = '0x' + createHash('sha256').update(pub).digest('hex').slice(0, 40)
    t.equal(addressFromPubKey(pub), expected, `seed ${i}`)
    t.equal(new KeyPair(seed).address, expected, `KeyPair ${i}`)
  }
  // A pinned value: the all-zero seed's Ed25519 public key is the RFC 8032 style fixed point for seed 0x00…00.
  const zeroPub = publicKeyFromSeed(new Uint8Array(32))
  t.equal(toHex(zeroPub), '0x3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29')
  t.equal(addressFromPubKey(zeroPub), toHex(sha256(zeroPub).subarray(0, 20)))
})

t.test('input in any case, output lowercase', async (t) => {
  const lower = '0x00112233445566778899aabbccddeeff00112233'
  for (const s of [lower, lower.toUpperCase().replace('0X', '0x'), '0x00112233445566778899AaBbCcDdEeFf00112233']) {
    t.equal(parseAddress(s), lower, `parse ${s}`)
    t.ok(isAddress(s), `isAddress ${s}`)
  }
  const bad: unknown[] = ['00112233445566778899aabbccddeeff00112233', '0X00112233445566778899aabbccddeeff00112233', '0x0011', lower + '00', '0x' + 'g'.repeat(40), 42, null]
  for (const v of bad) {
    t.throws(() => parseAddress(v, 'body[0]'), { code: 'CODEC_ERROR_BAD_ADDRESS', meta: { field: 'body[0]' } }, `refuses ${String(v)}`)
    t.notOk(isAddress(v), `isAddress false for ${String(v)}`)
  }
  t.same(fromHex(lower, 'a', 20), fromHex(lower.toUpperCase().replace('0X', '0x'), 'a', 20))
})
