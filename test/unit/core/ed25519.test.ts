import t from 'tap'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  chooseBackend, ed25519Backend, ed25519PreCheck, hasSmallOrder, isCanonicalPoint, isCanonicalScalar,
  sodiumVerifierFrom, verifyNodeCryptoRaw, type RawVerifier,
} from '../../../core/ed25519.mjs'
import { verifySignature, verifySignatureNoble } from '../../../core/keys.js'
import { fromHex } from '../../../core/bytes.js'
import type { Ed25519Vector } from '../../helpers/ed25519Vectors.js'

const vectors = (JSON.parse(readFileSync(new URL('../../vectors/ed25519.json', import.meta.url), 'utf8')) as Ed25519Vector[])
  .map((v) => ({ ...v, pk: fromHex(v.pubKey), msg: fromHex(v.message), sig: fromHex(v.signature) }))

const requireSodium = (): unknown => createRequire(import.meta.url)('sodium-native')
const sodiumRaw = sodiumVerifierFrom(requireSodium)
const withPreCheck = (raw: RawVerifier): RawVerifier => (pk, m, s) => ed25519PreCheck(pk, s) && raw(pk, m, s)

t.test('the vectors cover the rule: RFC 8032, non-canonical S, small-order A and R, mixed order, bad encodings', async (t) => {
  const names = vectors.map((v) => v.name)
  t.equal(new Set(names).size, names.length, 'names are unique')
  for (const part of ['RFC 8032 TEST 1', 'RFC 8032 TEST 1024', 'S + L', 'small-order A', 'small-order R', 'mixed-order A', 'mixed-order R', 'not a curve point', 'A non-canonical']) {
    t.ok(names.some((n) => n.includes(part)), part)
  }
  t.ok(vectors.some((v) => v.valid) && vectors.some((v) => !v.valid), 'both verdicts')
})

t.test('every backend with the pre-check gives every vector its pinned verdict', async (t) => {
  const backends: [string, RawVerifier][] = [
    ['node:crypto', withPreCheck(verifyNodeCryptoRaw)],
    ['sodium-native', withPreCheck(sodiumRaw)],
    ['noble (cofactorless, core/keys.ts verifySignatureNoble)', verifySignatureNoble],
    [`core/keys.ts verifySignature (${ed25519Backend.name})`, verifySignature],
  ]
  for (const [name, verify] of backends) {
    for (const v of vectors) t.equal(verify(v.pk, v.msg, v.sig), v.valid, `${name}: ${v.name}`)
  }
})

t.test('sodium-native alone already applies the rule; node:crypto alone does not', async (t) => {
  // libsodium's own checks (stable branch, as bundled by the pinned sodium-native)
  // are the rule. A sodium-native upgrade that changes this (libsodium's master
  // uses the cofactored equation) must be looked at before it is taken.
  for (const v of vectors) t.equal(sodiumRaw(v.pk, v.msg, v.sig), v.valid, `sodium-native without the pre-check: ${v.name}`)
  const nodeDiffers = vectors.filter((v) => verifyNodeCryptoRaw(v.pk, v.msg, v.sig) !== v.valid).map((v) => v.name)
  t.comment(`node:crypto without the pre-check differs on ${nodeDiffers.length} vectors: ${nodeDiffers.join('; ')}`)
})

t.test('the mixed-order and small-order vectors separate the cofactorless equation from the cofactored one', async (t) => {
  // noble's own verify (ZIP-215 by default) is cofactored: where a vector says what a
  // cofactored verifier answers, noble answers that; for some vectors it is not the rule's verdict
  const pinned = vectors.filter((v) => v.cofactoredValid !== undefined)
  t.ok(pinned.some((v) => v.cofactoredValid !== v.valid && v.name.startsWith('mixed-order')), 'a mixed-order vector a cofactored verifier accepts and the rule refuses')
  for (const v of pinned) t.equal(ed25519.verify(v.sig, v.msg, v.pk), v.cofactoredValid, `noble ed25519.verify: ${v.name}`)
})

t.test('pre-check pieces at their boundaries', async (t) => {
  const le = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  const p = 2n ** 255n - 19n
  t.ok(isCanonicalScalar(le(0n)), 'S = 0')
  t.ok(isCanonicalScalar(le(L - 1n)), 'S = L − 1')
  t.notOk(isCanonicalScalar(le(L)), 'S = L')
  t.notOk(isCanonicalScalar(le(L + 1n)), 'S = L + 1')
  t.notOk(isCanonicalScalar(le(2n ** 256n - 1n)), 'S = 2^256 − 1')
  t.ok(isCanonicalScalar(new Uint8Array([...new Uint8Array(32).fill(0xff), ...le(L - 1n)]), 32), 'at an offset')
  t.ok(isCanonicalPoint(le(p - 1n)), 'y = p − 1')
  t.ok(isCanonicalPoint(le(p - 1n + 2n ** 255n)), 'y = p − 1, sign bit set')
  for (const y of [p, p + 1n, p + 18n]) {
    t.notOk(isCanonicalPoint(le(y)), `y = p + ${y - p}`)
    t.notOk(isCanonicalPoint(le(y + 2n ** 255n)), `y = p + ${y - p}, sign bit set`)
  }
  const smallY = [0n, 1n, p - 1n, p, p + 1n,
    2707385501144840649318225287225658788936804267575313519463743609750303402022n,
    55188659117513257062467267217118295137698188065244968500265048394206261417927n]
  for (const y of smallY) {
    t.ok(hasSmallOrder(le(y)), `small order: y = ${y}`)
    t.ok(hasSmallOrder(le(y + 2n ** 255n)), `small order: y = ${y}, sign bit set`)
  }
  t.notOk(hasSmallOrder(le(2n)), 'y = 2')
  t.notOk(hasSmallOrder(ed25519.getPublicKey(new Uint8Array(32))), 'an ordinary key')
  const key = ed25519.getPublicKey(new Uint8Array(32).fill(7))
  const sig = ed25519.sign(new Uint8Array(0), new Uint8Array(32).fill(7))
  t.ok(ed25519PreCheck(key, sig), 'an ordinary signature passes')
  t.notOk(ed25519PreCheck(key.subarray(0, 31), sig), 'short key')
  t.notOk(ed25519PreCheck(key, sig.subarray(0, 63)), 'short signature')
  t.notOk(ed25519PreCheck(key, new Uint8Array([...sig, 0])), 'long signature')
})

t.test('the backend falls back to node:crypto when sodium-native cannot be loaded or answers wrong, and says why', async (t) => {
  t.equal(ed25519Backend.name, 'sodium-native', 'sodium-native is a pinned dependency and loads here')
  t.equal(ed25519Backend.fallbackReason, null)
  const missing = chooseBackend(() => { throw new Error("Cannot find module 'sodium-native'") })
  t.equal(missing.name, 'node:crypto')
  t.match(missing.fallbackReason, /Cannot find module/)
  const liar = chooseBackend(() => ({ crypto_sign_verify_detached: () => true }))
  t.equal(liar.name, 'node:crypto', 'a module that accepts everything is not used')
  t.match(liar.fallbackReason, /TEST 1 wrong/)
  for (const backend of [missing, liar]) {
    for (const v of vectors) t.equal(withPreCheck(backend.raw)(v.pk, v.msg, v.sig), v.valid, `fallback: ${v.name}`)
  }
  t.equal(chooseBackend(requireSodium).name, 'sodium-native')
})

t.test('a worker thread (as the verifier runs them) loads the same backend', async (t) => {
  const url = new URL('../../../core/ed25519.mjs', import.meta.url).href
  const worker = new Worker(`import(${JSON.stringify(url)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.ed25519Backend.name))`, { eval: true })
  const name = await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await worker.terminate()
  t.equal(name, ed25519Backend.name)
})
