import t from 'tap'
import fc from 'fast-check'
import { signTx, decodeSignedTx, type TxCall } from '../../../core/tx.js'
import { peekTx, peekTxHex } from '../../../core/txPeek.js'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { toHex } from '../../../core/bytes.js'
import { encode } from '../../../core/codec.js'
import { sampleCalls, signRaw, rawUnsigned } from '../../helpers/chain.js'

const keys = [0, 1, 2].map((i) => new KeyPair(sha256(`txPeek-test/${i}`)))
const calls = sampleCalls()
/** the msgpack width boundaries of the nonce (fixint, uint8, uint16, uint32, uint64) */
const EDGE_NONCES = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]

function signed(call: TxCall, nonce: number, chainId: string, key: KeyPair): Uint8Array {
  return signTx({ chainId, nonce, fee: 10n ** 15n, call }, key).bytes
}

t.test('peekTx and peekTxHex read the sender and nonce decodeSignedTx decodes, for every tx type, nonce width and chain id length', async (t) => {
  let n = 0
  for (const call of calls) {
    for (const nonce of EDGE_NONCES) {
      for (const chainId of ['a', 'attrchain-devnet', 'c'.repeat(31), 'd'.repeat(32), 'e'.repeat(64)]) {
        const bytes = signed(call, nonce, chainId, keys[n++ % keys.length])
        const d = decodeSignedTx(bytes)
        const want = { sender: d.sender, nonce: d.tx.nonce }
        const a = peekTx(bytes)
        const b = peekTxHex(toHex(bytes))
        if (a?.sender !== want.sender || a.nonce !== want.nonce || b?.sender !== want.sender || b.nonce !== want.nonce) {
          t.fail(`${call.type} nonce ${nonce} chainId ${chainId.length} bytes: ${JSON.stringify({ a, b, want })}`)
        }
      }
    }
  }
  t.pass(`${n} txs read alike by the peek and the decoder`)
})

t.test('property: any nonce up to 2^53 - 1, any key: the peek agrees with the decoder', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: calls.length - 1 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (nonce, i, seed) => {
    const bytes = signed(calls[i], nonce, 'attrchain-devnet', new KeyPair(seed))
    const d = decodeSignedTx(bytes)
    const p = peekTxHex(toHex(bytes))
    return p !== null && p.sender === d.sender && p.nonce === nonce && peekTx(bytes)?.nonce === nonce
  }), { numRuns: 300 })
  t.pass('300 random txs')
})

t.test('bytes without the signed-tx layout: null, never a throw', async (t) => {
  const good = signed(calls[0], 5, 'attrchain-devnet', keys[0])
  const hex = toHex(good)
  t.equal(peekTx(new Uint8Array(0)), null, 'empty')
  t.equal(peekTx(good.subarray(0, 50)), null, 'too short for a public key and signature')
  t.equal(peekTxHex('0x'), null, 'empty hex')
  t.equal(peekTxHex(hex.slice(2)), null, 'no 0x prefix')
  t.equal(peekTxHex(hex + '0'), null, 'odd length')
  t.equal(peekTxHex(hex.slice(0, -2) + 'zz'), null, 'not hex at the end')
  t.equal(peekTxHex('0xzz' + hex.slice(4)), null, 'not hex at the start')
  const versioned = signRaw(keys[0], [2, ...rawUnsigned('transfer', [new Uint8Array(20), '1']).slice(1)])
  t.equal(peekTx(versioned), null, 'another tx version')
  const bigNonce = signRaw(keys[0], rawUnsigned('transfer', [new Uint8Array(20), '1'], { nonce: 0 }).map((v, i) => (i === 2 ? 2n ** 60n : v)))
  t.equal(peekTx(bigNonce), null, 'a nonce past 2^53 - 1')
  const shortSig = encode([rawUnsigned('transfer', [new Uint8Array(20), '1']), keys[0].publicKey, new Uint8Array(63)])
  t.equal(peekTx(shortSig), null, 'a 63-byte signature')
  const mutated = Uint8Array.from(good)
  mutated[0] = 0x94
  t.equal(peekTx(mutated), null, 'a 4-element root')
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
    const p = peekTx(junk)
    return p === null || (Number.isSafeInteger(p.nonce) && /^0x[0-9a-f]{40}$/.test(p.sender))
  }), { numRuns: 2000 })
  t.pass('random bytes: null or a well-formed answer, no throw')
})
