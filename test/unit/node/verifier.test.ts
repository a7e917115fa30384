import t from 'tap'
import { SignatureVerifier } from '../../../node/verifier.js'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'

t.test('worker verification agrees with node:crypto, in batches and one by one', async (t) => {
  const v = new SignatureVerifier({ threads: 2, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const keys = Array.from({ length: 5 }, (_, i) => new KeyPair(sha256(`verifier-test-${i}`)))
  const items = Array.from({ length: 300 }, (_, i) => {
    const k = keys[i % keys.length]
    const digest = sha256(`message-${i}`)
    const signature = k.sign(digest)
    const good = i % 7 !== 0
    if (!good) signature[i % 64] ^= 1
    return { pubKey: k.publicKey, digest, signature, good }
  })
  const results = await Promise.all(items.map((x) => v.verify(x.pubKey, x.digest, x.signature)))
  results.forEach((ok, i) => t.equal(ok, items[i].good, `item ${i}`))
  t.equal(await v.verify(new Uint8Array(31), new Uint8Array(32), new Uint8Array(64)), false, 'a malformed key is false, not an error')
})

t.test('with no worker threads it verifies on the main thread', async (t) => {
  const v = new SignatureVerifier({ threads: 0, maxBatch: 64, maxDelayMs: 1 })
  const k = new KeyPair(sha256('main'))
  const d = sha256('x')
  t.equal(await v.verify(k.publicKey, d, k.sign(d)), true)
  await v.close()
  await t.rejects(v.verify(k.publicKey, d, k.sign(d)), { code: 'VERIFIER_ERROR_CLOSED' })
})
