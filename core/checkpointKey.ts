import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { sha256 } from './hash.js'
import { toHex, fromHex, utf8 } from './bytes.js'
import { CodecError } from './errors.js'

/**
 * Checkpoint keys (README "Rollup checkpoints"): a validator's secp256k1 key
 * that signs EIP-712 checkpoints for the L1 contract, identified by its
 * Ethereum address (the last 20 bytes of keccak256 of the uncompressed
 * public key without its 0x04 prefix). Addresses are lowercase 0x hex.
 * Pure and synchronous, so that state/ can recover signers deterministically.
 */
export const ETH_ADDRESS_LENGTH = 20
/** r ‖ s ‖ v, v ∈ {27, 28}: what Solidity's ecrecover takes */
export const ETH_SIGNATURE_LENGTH = 65
export const ZERO_ETH_ADDRESS = '0x' + '00'.repeat(20)
/** secp256k1 group order / 2: signatures with a larger s are refused (EIP-2, no malleable twins) */
const HALF_N = secp256k1.Point.CURVE().n >> 1n

/** The Ethereum address of an uncompressed (65-byte) or compressed (33-byte) secp256k1 public key. */
export function ethAddressOfPublicKey(pub: Uint8Array): string {
  const uncompressed = pub.length === 65 ? pub : secp256k1.Point.fromBytes(pub).toBytes(false)
  return toHex(keccak_256(uncompressed.subarray(1)).subarray(12))
}

export class CheckpointKey {
  readonly secret: Uint8Array
  readonly address: string

  constructor(secret: Uint8Array) {
    if (secret.length !== 32 || !secp256k1.utils.isValidSecretKey(secret)) throw new CodecError('CODEC_ERROR_BAD_KEY', 'a checkpoint key is a valid 32-byte secp256k1 secret')
    this.secret = new Uint8Array(secret)
    this.address = ethAddressOfPublicKey(secp256k1.getPublicKey(this.secret, false))
  }

  static generate(): CheckpointKey {
    return new CheckpointKey(secp256k1.utils.randomSecretKey())
  }

  /**
   * The default checkpoint key of a validator: sha256("attrchain/checkpoint-key/v1" ‖ Ed25519 seed),
   * so that whoever builds a genesis from validator keys can declare their checkpoint addresses.
   */
  static derivedFrom(validatorSeed: Uint8Array): CheckpointKey {
    return new CheckpointKey(sha256(utf8('attrchain/checkpoint-key/v1'), validatorSeed))
  }

  /** A 65-byte r ‖ s ‖ v signature (low s, v = 27 + recovery bit) of a 32-byte digest. */
  signDigest(digest: Uint8Array): Uint8Array {
    const rec = secp256k1.sign(digest, this.secret, { prehash: false, format: 'recovered', lowS: true })
    // noble's 'recovered' format is recovery ‖ r ‖ s
    const out = new Uint8Array(65)
    out.set(rec.subarray(1), 0)
    out[64] = 27 + rec[0]
    return out
  }
}

/**
 * The address that signed `digest`, or null for a signature that is not
 * 65 bytes r ‖ s ‖ v with v ∈ {27, 28}, 0 < r, s < n, s ≤ n/2, or that
 * recovers to no point — the rule of the contract (ecrecover plus the EIP-2 s bound).
 */
export function recoverEthAddress(digest: Uint8Array, sig: Uint8Array): string | null {
  if (digest.length !== 32 || sig.length !== ETH_SIGNATURE_LENGTH) return null
  const v = sig[64]
  if (v !== 27 && v !== 28) return null
  const s = BigInt(toHex(sig.subarray(32, 64)))
  if (s > HALF_N) return null
  try {
    const rec = new Uint8Array(65)
    rec[0] = v - 27
    rec.set(sig.subarray(0, 64), 1)
    const pub = secp256k1.recoverPublicKey(rec, digest, { prehash: false })
    return ethAddressOfPublicKey(pub)
  } catch {
    return null
  }
}

/** Parse a 20-byte 0x address (any case) to lowercase; errors name the field. */
export function parseEthAddress(v: unknown, field = 'address'): string {
  return toHex(fromHex(v, field, ETH_ADDRESS_LENGTH))
}
