// Ed25519 signature validity (README "Signatures"): the one rule every node
// applies, and the backends that compute it. Plain JS so that the main
// thread (core/keys.ts) and the verifier's worker threads
// (node/verifyWorker.mjs) load the same code; types in ed25519.d.mts.
//
// The rule is RFC 8032 §5.1.7 verification with the checks libsodium's
// crypto_sign_verify_detached (1.0.18–1.0.21 stable) makes: S canonical
// (S < L), A canonical (y < p), neither A nor R one of the 8 small-order
// points in any encoding, A decodes to a curve point, and the cofactorless
// equation encode([S]B − [k]A) = R byte for byte. The cheap checks run here
// in JS for every backend, so node:crypto (which makes none of them) and
// sodium-native (which makes all of them) give the same verdict; the vectors
// in test/vectors/ed25519.json pin it.
import { createRequire } from 'node:module'
import { createPublicKey, verify as nodeVerify } from 'node:crypto'

export const PUBKEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L = Uint8Array.from(Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex'))

// The y coordinates (little-endian, sign bit cleared) of the 8 small-order
// points, including the non-canonical y = p and y = p + 1: libsodium's
// ge25519_has_small_order list. With either sign bit that is 14 encodings.
const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0: order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1: the identity
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p − 1: order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (≡ 0): order 4
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (≡ 1): the identity
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')))

/** True when the 32 bytes at `o`, read little-endian, are below L. */
export function isCanonicalScalar(b, o = 0) {
  for (let i = 31; i >= 0; i--) {
    if (b[o + i] !== L[i]) return b[o + i] < L[i]
  }
  return false
}

/** True when the point encoding at `o` has y < p = 2^255 − 19 (the sign bit aside). */
export function isCanonicalPoint(b, o = 0) {
  if ((b[o + 31] & 0x7f) !== 0x7f) return true
  for (let i = 30; i > 0; i--) if (b[o + i] !== 0xff) return true
  return b[o] < 0xed
}

/** True when the point encoding at `o` is one of the 14 encodings of a small-order point. */
export function hasSmallOrder(b, o = 0) {
  next: for (const y of SMALL_ORDER_Y) {
    if (b[o] !== y[0]) continue
    for (let i = 1; i < 31; i++) if (b[o + i] !== y[i]) continue next
    if ((b[o + 31] & 0x7f) === y[31]) return true
  }
  return false
}

/**
 * The rule's cheap checks, made before any backend runs: lengths, S < L,
 * A canonical, A and R not small-order. A few byte compares.
 */
export function ed25519PreCheck(pubKey, signature) {
  return pubKey.length === PUBKEY_LENGTH && signature.length === SIGNATURE_LENGTH &&
    isCanonicalScalar(signature, 32) && isCanonicalPoint(pubKey) && isCanonicalPoint(signature) &&
    !hasSmallOrder(pubKey) && !hasSmallOrder(signature)
}

// node:crypto: public KeyObjects are cached, building one per verification
// costs more than the verification itself; bounded so that a flood of new
// keys cannot grow memory without limit.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const KEY_CACHE_MAX = 100_000
const publicKeyCache = new Map()

function publicKeyObject(pubKey) {
  const id = Buffer.from(pubKey.buffer, pubKey.byteOffset, pubKey.byteLength).toString('hex')
  let key = publicKeyCache.get(id)
  if (key) return key
  key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pubKey]), format: 'der', type: 'spki' })
  if (publicKeyCache.size >= KEY_CACHE_MAX) publicKeyCache.delete(publicKeyCache.keys().next().value)
  publicKeyCache.set(id, key)
  return key
}

/** node:crypto (OpenSSL) verification without the pre-check. Never throws. */
export function verifyNodeCryptoRaw(pubKey, message, signature) {
  try {
    return nodeVerify(null, message, publicKeyObject(pubKey), signature)
  } catch {
    return false
  }
}

// RFC 8032 §7.1 TEST 1, to check that a loaded native module answers right.
const PROBE = {
  pubKey: Uint8Array.from(Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex')),
  signature: Uint8Array.from(Buffer.from('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b', 'hex')),
}

/**
 * The sodium-native verifier without the pre-check, from the module
 * `load()` returns; throws when it cannot be loaded or answers a known
 * signature wrong.
 */
export function sodiumVerifierFrom(load) {
  const sodium = load()
  const raw = (pubKey, message, signature) => {
    try {
      return sodium.crypto_sign_verify_detached(signature, message, pubKey) === true
    } catch {
      return false
    }
  }
  const bad = PROBE.signature.slice()
  bad[0] ^= 1
  if (!raw(PROBE.pubKey, new Uint8Array(0), PROBE.signature) || raw(PROBE.pubKey, new Uint8Array(0), bad)) {
    throw new Error('sodium-native answered RFC 8032 TEST 1 wrong')
  }
  return raw
}

/**
 * Picks the backend: sodium-native (about twice node:crypto's speed, see
 * bench/limits.ts) when `load` gives a working module, node:crypto
 * otherwise, with the reason.
 */
export function chooseBackend(load) {
  try {
    return { name: 'sodium-native', raw: sodiumVerifierFrom(load), fallbackReason: null }
  } catch (e) {
    return { name: 'node:crypto', raw: verifyNodeCryptoRaw, fallbackReason: e instanceof Error ? e.message : String(e) }
  }
}

const requireSodium = () => createRequire(import.meta.url)('sodium-native')

/** The backend this thread uses (chosen once, when this module loads). */
export const ed25519Backend = chooseBackend(requireSodium)

/** Ed25519 verification under the rule, with this thread's backend. Never throws. */
export function verifyEd25519(pubKey, message, signature) {
  return ed25519PreCheck(pubKey, signature) && ed25519Backend.raw(pubKey, message, signature)
}
