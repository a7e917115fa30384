// Types of core/ed25519.mjs (plain JS so that worker threads can load it).

/** A verification function without the rule's pre-check: true when the backend accepts. */
export type RawVerifier = (pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

export interface Ed25519Backend {
  name: 'sodium-native' | 'node:crypto'
  raw: RawVerifier
  /** why sodium-native is not used, null when it is */
  fallbackReason: string | null
}

export declare const PUBKEY_LENGTH: 32
export declare const SIGNATURE_LENGTH: 64

/** True when the 32 bytes at `o`, read little-endian, are below L (the group order). */
export declare function isCanonicalScalar(b: Uint8Array, o?: number): boolean
/** True when the point encoding at `o` has y < p = 2^255 − 19 (the sign bit aside). */
export declare function isCanonicalPoint(b: Uint8Array, o?: number): boolean
/** True when the point encoding at `o` is one of the 14 encodings of a small-order point. */
export declare function hasSmallOrder(b: Uint8Array, o?: number): boolean
/** Lengths (32, 64), S < L, A and R canonical, A and R not small-order. */
export declare function ed25519PreCheck(pubKey: Uint8Array, signature: Uint8Array): boolean
/** node:crypto (OpenSSL) verification without the pre-check, cached public KeyObjects. Never throws. */
export declare function verifyNodeCryptoRaw(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
/** sodium-native's crypto_sign_verify_detached without the pre-check; throws when `load` fails or the module answers a known vector wrong. */
export declare function sodiumVerifierFrom(load: () => unknown): RawVerifier
/** sodium-native when `load` gives a working module, node:crypto otherwise. */
export declare function chooseBackend(load: () => unknown): Ed25519Backend
/** The backend this thread uses. */
export declare const ed25519Backend: Ed25519Backend
/** Ed25519 verification under the rule (README "Signatures") with this thread's backend. Never throws. */
export declare function verifyEd25519(pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
