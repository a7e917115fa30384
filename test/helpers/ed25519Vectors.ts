/**
 * Generator of the Ed25519 validity vectors in test/vectors/ed25519.json
 * (README "Signatures"). Run once with `npx tsx test/helpers/ed25519Vectors.ts`;
 * the vectors are then pinned, and test/unit/core/ed25519.test.ts runs each
 * through every backend. Each verdict is set here by construction (the
 * `why` says which part of the rule decides it), not by running a verifier;
 * the edge cases are built with noble's point arithmetic from scalars
 * derived from fixed labels, so the file is reproducible.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { sha256 } from '../../core/hash.js'
import { concatBytes, fromHex, toHex, utf8 } from '../../core/bytes.js'

export interface Ed25519Vector {
  name: string
  /** 0x-hex: public key (32 B), message (any length), signature R ‖ S (64 B) */
  pubKey: string
  message: string
  signature: string
  /** the verdict under the rule */
  valid: boolean
  /** the verdict of a cofactored verifier ([8][S]B = [8]R + [8][k]A, e.g. ZIP-215), where it differs from `valid` or the case is about the equation */
  cofactoredValid?: boolean
  why: string
}

const { Point } = ed25519
const B = Point.BASE
const L = Point.Fn.ORDER
const torsion = ED25519_TORSION_SUBGROUP.map((h) => Point.fromHex(h))
const T8 = torsion[1]

const scalar = (label: string): bigint => bytesToNumberLE(sha512(utf8(`attrchain/ed25519-vectors/${label}`))) % L
const le32 = (n: bigint): Uint8Array => numberToBytesLE(n, 32)
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint => bytesToNumberLE(sha512(concatBytes(r, a, m))) % L
const msg = (label: string): Uint8Array => sha256(`attrchain/ed25519-vectors/message/${label}`)

/** The first message `label/i` whose challenge k satisfies `ok(k)`. */
function findMessage(label: string, r: Uint8Array, a: Uint8Array, ok: (k: bigint) => boolean): { m: Uint8Array; k: bigint } {
  for (let i = 0; ; i++) {
    const m = msg(`${label}/${i}`)
    const k = challenge(r, a, m)
    if (ok(k)) return { m, k }
  }
}

function vector(name: string, pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array, valid: boolean, why: string, cofactoredValid?: boolean): Ed25519Vector {
  return { name, pubKey: toHex(pubKey), message: toHex(message), signature: toHex(signature), valid, ...(cofactoredValid === undefined ? {} : { cofactoredValid }), why }
}

// RFC 8032 §7.1 (Ed25519): secret key, public key, message, signature.
const RFC: [string, string, string, string, string][] = [
  ['TEST 1', '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['TEST 2', '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['TEST 3', 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
  ['TEST 1024', 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5', '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0',
    '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03'],
  ['TEST SHA(abc)', '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42', 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'],
]

export function buildVectors(): Ed25519Vector[] {
  const out: Ed25519Vector[] = []
  const h = (s: string): Uint8Array => fromHex(`0x${s}`)

  for (const [name, sk, pk, m, sig] of RFC) {
    // the transcription is checked: Ed25519 is deterministic
    if (toHex(ed25519.getPublicKey(h(sk))) !== `0x${pk}` || toHex(ed25519.sign(h(m), h(sk))) !== `0x${sig}`) throw new Error(`RFC 8032 ${name} mistyped`)
    out.push(vector(`RFC 8032 ${name}`, h(pk), h(m), h(sig), true, 'RFC 8032 §7.1 test vector'))
  }
  const [, , pk1, , sig1] = RFC[0]
  const [, , pk2, m2, sig2] = RFC[1]
  out.push(vector('RFC 8032 TEST 1, other message', h(pk1), h('72'), h(sig1), false, 'the equation fails'))
  const flipped = h(sig2)
  flipped[0] ^= 1
  out.push(vector('RFC 8032 TEST 2, R with one bit flipped', h(pk2), h(m2), flipped, false, 'the equation fails'))
  out.push(vector('RFC 8032 TEST 2, other key', h(pk1), h(m2), h(sig2), false, 'the equation fails'))

  // non-canonical S: S + L and S + 15L satisfy the equation modulo L
  for (const [times, label] of [[1n, 'S + L'], [15n, 'S + 15L (top bits set)']] as const) {
    const s = bytesToNumberLE(h(sig1).subarray(32)) + times * L
    out.push(vector(`RFC 8032 TEST 1 with ${label}`, h(pk1), new Uint8Array(0), concatBytes(h(sig1).subarray(0, 32), le32(s)), false,
      'S ≥ L (non-canonical); the equation holds modulo L, so a verifier that reduces S would accept'))
  }
  const sEqL = concatBytes(h(sig1).subarray(0, 32), le32(L))
  out.push(vector('RFC 8032 TEST 1 with S = L', h(pk1), new Uint8Array(0), sEqL, false, 'S ≥ L'))

  // small-order A: R = rB, S = r, and a message whose challenge k kills A (kA = 0), so the cofactorless equation holds
  const r = scalar('r')
  const R = B.multiply(r).toBytes()
  const smallA: [string, Uint8Array, bigint][] = [
    ['the identity (y = 1)', h('0100000000000000000000000000000000000000000000000000000000000000'), 1n],
    ['the identity, x = 0 with the sign bit set (non-canonical)', h('0100000000000000000000000000000000000000000000000000000000000080'), 1n],
    ['the identity as y = p + 1 (non-canonical)', h('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 1n],
    ['the order-2 point (y = p − 1)', h('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 2n],
    ['the order-2 point, sign bit set (non-canonical)', h('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'), 2n],
    ['an order-4 point (y = 0)', h('0000000000000000000000000000000000000000000000000000000000000000'), 4n],
    ['the other order-4 point (y = 0, sign bit set)', h('0000000000000000000000000000000000000000000000000000000000000080'), 4n],
    ['an order-4 point as y = p (non-canonical)', h('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 4n],
    ['an order-8 point', h('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'), 8n],
    ['an order-8 point', h('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'), 8n],
    ['an order-8 point', h('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'), 8n],
    ['an order-8 point', h('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'), 8n],
  ]
  for (const [what, A, order] of smallA) {
    const { m } = findMessage(`small-A/${toHex(A)}`, R, A, (k) => k % order === 0n)
    out.push(vector(`small-order A: ${what} ${toHex(A).slice(0, 6)}…${toHex(A).slice(-2)}`, A, m, concatBytes(R, le32(r)), false,
      'A has small order; [S]B − [k]A = R holds (k is a multiple of the order of A), so a verifier without the small-order check accepts', true))
  }

  // small-order R with an honest key: S = k·a makes [S]B − [k]A the identity
  const a = scalar('a')
  const A = B.multiply(a).toBytes()
  const smallR: [string, Uint8Array, boolean][] = [
    ['the identity', h('0100000000000000000000000000000000000000000000000000000000000000'), true],
    ['the identity, x = 0 with the sign bit set (non-canonical)', h('0100000000000000000000000000000000000000000000000000000000000080'), false],
    ['an order-8 point', torsion[1].toBytes(), false],
    ['the order-2 point', torsion[4].toBytes(), false],
  ]
  for (const [what, Rs, cofactorless] of smallR) {
    const m = msg(`small-R/${toHex(Rs)}`)
    const k = challenge(Rs, A, m)
    out.push(vector(`small-order R: ${what}`, A, m, concatBytes(Rs, le32((k * a) % L)), false,
      `R has small order; S = k·a, so ${cofactorless ? 'the cofactorless equation holds byte for byte' : 'only the cofactored equation holds'}`, true))
  }

  // mixed-order A = aB + T8 (the signer knows a): the cofactorless equation leaves −k·T8, zero only when 8 | k
  const Amixed = B.multiply(a).add(T8).toBytes()
  {
    const { m, k } = findMessage('mixed-A/refused', R, Amixed, (k) => k % 8n !== 0n)
    out.push(vector('mixed-order A (aB + T8), 8 ∤ k', Amixed, m, concatBytes(R, le32((r + k * a) % L)), false,
      'A is not small-order, but [S]B − [k]A = R − k·T8 ≠ R: only the cofactored equation holds', true))
  }
  {
    const { m, k } = findMessage('mixed-A/accepted', R, Amixed, (k) => k % 8n === 0n)
    out.push(vector('mixed-order A (aB + T8), 8 | k', Amixed, m, concatBytes(R, le32((r + k * a) % L)), true,
      'mixed-order keys are allowed; k·T8 = 0, so the cofactorless equation holds', true))
  }
  // mixed-order R = rB + T8 with an honest key: [S]B − [k]A has no torsion part, so it is never R
  {
    const Rm = B.multiply(r).add(T8).toBytes()
    const m = msg('mixed-R')
    const k = challenge(Rm, A, m)
    out.push(vector('mixed-order R (rB + T8), honest key', A, m, concatBytes(Rm, le32((r + k * a) % L)), false,
      '[S]B − [k]A = rB ≠ R: only the cofactored equation holds', true))
  }
  // mixed-order A and R whose torsion parts cancel: R = rB + j·T8 with k ≡ −j (mod 8)
  for (let i = 0; ; i++) {
    const ri = scalar(`r-mixed/${i}`)
    const m = msg(`mixed-AR/${i}`)
    const j = [1, 2, 3, 4, 5, 6, 7].find((j) => {
      const k = challenge(B.multiply(ri).add(torsion[j]).toBytes(), Amixed, m)
      return (k + BigInt(j)) % 8n === 0n
    })
    if (j === undefined) continue
    const Rj = B.multiply(ri).add(torsion[j]).toBytes()
    const k = challenge(Rj, Amixed, m)
    out.push(vector(`mixed-order A and R (torsion parts cancel, j = ${j})`, Amixed, m, concatBytes(Rj, le32((ri + k * a) % L)), true,
      'neither point is small-order and [S]B − [k]A = R byte for byte', true))
    break
  }

  // A that is not a curve point, and a non-canonical A (y + p) of a point that is not small-order
  const P = 2n ** 255n - 19n
  const offCurve = firstY((y) => !decodes(le32(y)))
  out.push(vector(`A is not a curve point (y = ${offCurve})`, le32(offCurve), msg('off-curve'), concatBytes(R, le32(r)), false, 'A does not decode'))
  const onCurve = firstY((y) => decodes(le32(y)) && !Point.fromBytes(le32(y)).isSmallOrder())
  out.push(vector(`A non-canonical (y = p + ${onCurve}, a point that is not small-order)`, le32(P + onCurve), msg('non-canonical-A'), concatBytes(R, le32(r)), false,
    'A is not canonical (y ≥ p)'))

  // a signature of a key that is not small-order, made by the node's own signer, for contrast
  const seed = sha256('attrchain/ed25519-vectors/seed')
  const m = msg('ordinary')
  out.push(vector('ordinary signature', ed25519.getPublicKey(seed), m, ed25519.sign(m, seed), true, 'an ordinary signature'))
  return out
}

function decodes(y: Uint8Array): boolean {
  try {
    Point.fromBytes(y, true)
    return true
  } catch {
    return false
  }
}

/** The first y ≥ 2 for which `ok` holds (small, so that y + p still fits in 255 bits). */
function firstY(ok: (y: bigint) => boolean): bigint {
  for (let y = 2n; y < 19n; y++) if (ok(y)) return y
  throw new Error('no such y below 19')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = fileURLToPath(new URL('../vectors/ed25519.json', import.meta.url))
  writeFileSync(out, JSON.stringify(buildVectors(), null, 2) + '\n')
  console.log(`wrote ${out}`)
}
