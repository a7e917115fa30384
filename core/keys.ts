import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, randomBytes, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { addressFromPubKey, type Address } from './address.js'
import { CodecError } from './errors.js'

export const PUBKEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64
export const SEED_LENGTH = 32

// DER prefixes that wrap a raw Ed25519 key for node:crypto (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/**
 * Public `KeyObject`s are cached: building one per verification costs more
 * than the verification itself (DESIGN §2). Bounded so that a flood of new
 * keys cannot grow memory without limit.
 */
const KEY_CACHE_MAX = 100_000
const publicKeyCache = new Map<string, KeyObject>()

function publicKeyObject(pubKey: Uint8Array): KeyObject {
  const id = Buffer.from(pubKey).toString('hex')
  let key = publicKeyCache.get(id)
  if (key) return key
  key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pubKey]), format: 'der', type: 'spki' })
  if (publicKeyCache.size >= KEY_CACHE_MAX) publicKeyCache.delete(publicKeyCache.keys().next().value as string)
  publicKeyCache.set(id, key)
  return key
}

/** Ed25519 verification with node:crypto (about 10x noble's speed). Never throws. */
export function verifySignature(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (pubKey.length !== PUBKEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false
  try {
    return nodeVerify(null, message, publicKeyObject(pubKey), signature)
  } catch {
    return false
  }
}

/** The same check with noble, for clients and cross-checks. */
export function verifySignatureNoble(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, pubKey)
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
