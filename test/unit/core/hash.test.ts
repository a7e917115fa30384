import t from 'tap'
import { createHash } from 'node:crypto'
import { sha256 } from '../../../core/hash.js'
import { signingDigest, TX_DOMAIN } from '../../../core/tx.js'

/** SHA-256 of the parts' concatenation the plain way, to compare with core/hash.ts's paths. */
function reference(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p)
  return h.digest('hex')
}
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const filled = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

t.test('sha256 of several parts is the hash of their concatenation, on each side of the 64 KiB one-shot bound', async (t) => {
  const K = 64 * 1024
  for (const [a, b] of [[0, 0], [0, 5], [15, 300], [15, K - 15], [15, K - 14], [K, 1], [K + 1, 0], [3, 200_000]]) {
    const x = filled(a, 1)
    const y = filled(b, 2)
    t.equal(hex(sha256(x, y)), reference(x, y), `${a} + ${b} bytes`)
  }
  t.equal(hex(sha256('attrchain/', filled(10, 3), 'ü')), reference('attrchain/', filled(10, 3), 'ü'), 'strings are hashed as UTF-8')
  t.equal(hex(sha256(filled(100, 4))), reference(filled(100, 4)), 'a single part')
})

t.test('a digest returned earlier is not changed by later calls (the reused buffer is input, never output)', async (t) => {
  const first = sha256(filled(40, 5), filled(40, 6))
  const copy = hex(first)
  for (let i = 0; i < 10; i++) sha256(filled(1000 + i, i), filled(7, i))
  t.equal(hex(first), copy)
})

t.test('signingDigest = sha256("attrchain/tx/v1" ‖ unsigned bytes) (DESIGN §3)', async (t) => {
  const unsigned = filled(333, 9)
  t.equal(hex(signingDigest(unsigned)), reference(TX_DOMAIN, unsigned))
  const big = filled(200_000, 8)
  t.equal(hex(signingDigest(big)), reference(TX_DOMAIN, big), 'a tx over the one-shot bound streams to the same digest')
})
