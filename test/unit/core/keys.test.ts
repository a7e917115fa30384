import t from 'tap'
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { KeyPair, signNoble, verifySignature, verifySignatureNoble, publicKeyFromSeed } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'

const seeds = Array.from({ length: 8 }, (_, i) => sha256(`keys-test/${i}`))

t.test('node:crypto signatures equal noble signatures byte for byte', async (t) => {
  for (const [i, seed] of seeds.entries()) {
    const key = new KeyPair(seed)
    t.equal(toHex(key.publicKey), toHex(ed25519.getPublicKey(seed)), `pubkey ${i}`)
    for (const msg of [new Uint8Array(0), sha256(`message ${i}`), new Uint8Array(1000).fill(i)]) {
      const viaNode = key.sign(msg)
      const viaNoble = signNoble(seed, msg)
      t.equal(toHex(viaNode), toHex(viaNoble), `seed ${i}, message of ${msg.length} bytes`)
      t.equal(viaNode.length, 64, `signature length ${i}`)
      t.ok(verifySignature(key.publicKey, msg, viaNode), `node verifies ${i}`)
      t.ok(verifySignatureNoble(key.publicKey, msg, viaNode), `noble verifies ${i}`)
    }
  }
})

t.test('verification is false for a wrong message, key or signature, and for bad lengths', async (t) => {
  const key = new KeyPair(seeds[0])
  const other = new KeyPair(seeds[1])
  const msg = sha256('hello')
  const sig = key.sign(msg)
  const flipped = sig.slice()
  flipped[10] ^= 1
  const cases: [string, Uint8Array, Uint8Array, Uint8Array][] = [
    ['other message', key.publicKey, sha256('hellO'), sig],
    ['other key', other.publicKey, msg, sig],
    ['flipped bit', key.publicKey, msg, flipped],
    ['short signature', key.publicKey, msg, sig.subarray(0, 63)],
    ['long signature', key.publicKey, msg, new Uint8Array([...sig, 0])],
    ['empty signature', key.publicKey, msg, new Uint8Array(0)],
    ['short pubkey', key.publicKey.subarray(0, 31), msg, sig],
    ['long pubkey', new Uint8Array([...key.publicKey, 0]), msg, sig],
    ['zero pubkey', new Uint8Array(32), msg, sig],
  ]
  for (const [what, pk, m, s] of cases) {
    t.equal(verifySignature(pk, m, s), false, `node: ${what}`)
    t.equal(verifySignatureNoble(pk, m, s), false, `noble: ${what}`)
  }
})

t.test('seeds must be 32 bytes', async (t) => {
  t.throws(() => publicKeyFromSeed(new Uint8Array(31)), { code: 'CODEC_ERROR_BAD_KEY' })
  t.throws(() => new KeyPair(new Uint8Array(33)), { code: 'CODEC_ERROR_BAD_KEY' })
  const g = KeyPair.generate()
  t.equal(g.seed.length, 32)
  t.equal(toHex(g.publicKey), toHex(publicKeyFromSeed(g.seed)))
})

t.test('verifySignature refuses a signature anyone can make for a small-order key or with a small-order R', async (t) => {
  // node:crypto alone accepted both (README "Signatures": the rule refuses small-order A and R)
  const le32 = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
  const r = 123456789n
  const R = ed25519.Point.BASE.multiply(r).toBytes()
  const identity = new Uint8Array(32)
  identity[0] = 1
  const forged = new Uint8Array([...R, ...le32(r)]) // [S]B − [k]·identity = [r]B = R for every message
  for (const [i, msg] of [sha256('pay me'), sha256('vote')].entries()) {
    t.equal(verifySignature(identity, msg, forged), false, `identity key, message ${i}`)
    t.equal(verifySignatureNoble(identity, msg, forged), false, `noble: identity key, message ${i}`)
  }
  const key = new KeyPair(seeds[2])
  const a = ed25519.utils.getExtendedPublicKey(seeds[2]).scalar
  const msg = sha256('anything')
  const k = BigInt('0x' + Buffer.from(sha512(new Uint8Array([...identity, ...key.publicKey, ...msg]))).reverse().toString('hex')) % ed25519.Point.Fn.ORDER
  const identityR = new Uint8Array([...identity, ...le32((k * a) % ed25519.Point.Fn.ORDER)]) // [S]B − [k]A = identity = R
  t.equal(verifySignature(key.publicKey, msg, identityR), false, 'R = identity')
  t.equal(verifySignatureNoble(key.publicKey, msg, identityR), false, 'noble: R = identity')
})
