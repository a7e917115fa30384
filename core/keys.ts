import { createPrivateKey, sign as nodeSign, randomBytes, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, concatBytes, equalBytes } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { ed25519Backend, ed25519PreCheck, verifyEd25519 } from './ed25519.mjs'
import { addressFromPubKey, type Address } from './address.js'
import { CodecError } from './errors.js'

export const PUBKEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64
export const SEED_LENGTH = 32

// DER prefix that wraps a raw Ed25519 seed for node:crypto (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Which library verifies signatures in this thread, and why not sodium-native when it is not. */
export { ed25519Backend }

/**
 * Ed25519 verification under the chain's validity rule (README "Signatures":
 * RFC 8032 with S < L, A canonical, A and R not small-order, cofactorless
 * equation), with sodium-native when it loads and node:crypto otherwise;
 * both give the same verdict on every input (test/vectors/ed25519.json).
 * `message` is any length (txs sign a 32-byte digest). Never throws.
 */
export function verifySignature(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return verifyEd25519(pubKey, message, signature)
}

/**
 * The same rule computed with noble's point arithmetic, for clients and
 * cross-checks. noble's own `ed25519.verify` uses the cofactored equation
 * (it accepts some signatures of mixed-order keys the rule refuses), so the
 * equation is written out here: encode([S]B − [k]A) = R, k = SHA-512(R ‖ A ‖ M) mod L.
 */
export function verifySignatureNoble(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!ed25519PreCheck(pubKey, signature)) return false
  try {
    const { Point } = ed25519
    const A = Point.fromBytes(pubKey, false)
    const r = signature.subarray(0, 32)
    const k = bytesToNumberLE(sha512(concatBytes(r, pubKey, message))) % Point.Fn.ORDER
    const s = bytesToNumberLE(signature.subarray(32, 64))
    return equalBytes(Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes(), r)
  } catch {
    return false
  }
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== SEED_LENGTH) throw new CodecError('CODEC_ERROR_BAD_KEY', 'an Ed25519 seed is 32 bytes')
  return ed25519.getPublicKey(seed)
}

/** Ed25519 signature with noble: deterministic, the same bytes as `KeyPair.sign`. */
export function signNoble(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed)
}

/**
 * An Ed25519 key pair from its 32-byte seed. Public key derived with noble;
 * signing uses node:crypto with a cached private `KeyObject` (Ed25519 is
 * deterministic, so the signature bytes equal noble's; a test pins it).
 */
export class KeyPair {
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  readonly address: Address
  private readonly keyObject: KeyObject

  constructor(seed: Uint8Array) {
    this.seed = new Uint8Array(seed)
    this.publicKey = publicKeyFromSeed(this.seed)
    this.address = addressFromPubKey(this.publicKey)
    this.keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, this.seed]), format: 'der', type: 'pkcs8' })
  }

  static generate(): KeyPair {
    return new KeyPair(new Uint8Array(randomBytes(SEED_LENGTH)))
  }

  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.keyObject))
  }
}
