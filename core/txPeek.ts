import { addressFromPubKey, type Address } from './address.js'
import { PUBKEY_LENGTH, SIGNATURE_LENGTH } from './keys.js'
import { TX_VERSION } from './tx.js'

/**
 * The sender and nonce of a raw signed tx, read off the canonical layout of
 * core/tx.ts (DESIGN §3: `[[1, chainId, nonce, fee, type, body], pubkey(32),
 * signature(64)]`, msgpack) without decoding the body: the first bytes hold
 * the nonce, the last 100 the public key and signature. For load shedding
 * that decides before a tx is decoded (node.ts backlogRefusal: a tx that
 * fills its sender's nonce gap); nothing here is verified, and a tx claimed
 * this way is decoded, checked and verified like any other afterwards.
 * Written here because it is a second reader of our own wire format (no
 * library knows it); test/unit/core/txPeek.test.ts pins it to decodeSignedTx.
 */
export interface TxPeek {
  sender: Address
  nonce: number
}

/** array(3) ‖ array(6) ‖ version ‖ str8 header + 64-byte chainId ‖ uint64 nonce, at most */
const HEAD_BYTES = 1 + 1 + 1 + 2 + 64 + 9
/** bin8 header + pubkey ‖ bin8 header + signature */
const TAIL_BYTES = 2 + PUBKEY_LENGTH + 2 + SIGNATURE_LENGTH

/** Sender and nonce of a raw signed tx (bytes), or null when the bytes do not have the signed-tx layout. */
export function peekTx(bytes: Uint8Array): TxPeek | null {
  if (bytes.length < TAIL_BYTES + 4) return null
  return read(bytes.subarray(0, HEAD_BYTES), bytes.subarray(bytes.length - TAIL_BYTES))
}

/**
 * As peekTx, for a tx as `tx_send` takes it (0x-prefixed hex): only the
 * first and last bytes' hex is decoded, whatever the tx's size.
 */
export function peekTxHex(hex: string): TxPeek | null {
  if (hex.length % 2 !== 0 || hex.length < 2 + 2 * (TAIL_BYTES + 4) || hex[0] !== '0' || hex[1] !== 'x') return null
  const headHex = hex.slice(2, 2 + 2 * HEAD_BYTES)
  const tailHex = hex.slice(hex.length - 2 * TAIL_BYTES)
  const head = Buffer.from(headHex, 'hex')
  const tail = Buffer.from(tailHex, 'hex')
  // Buffer.from stops at the first character that is not hex
  if (head.length * 2 !== headHex.length || tail.length * 2 !== tailHex.length) return null
  return read(head, tail)
}

function read(head: Uint8Array, tail: Uint8Array): TxPeek | null {
  if (tail[0] !== 0xc4 || tail[1] !== PUBKEY_LENGTH || tail[2 + PUBKEY_LENGTH] !== 0xc4 || tail[3 + PUBKEY_LENGTH] !== SIGNATURE_LENGTH) return null
  if (head[0] !== 0x93 || head[1] !== 0x96 || head[2] !== TX_VERSION) return null
  let p = 3
  const s = head[p++]
  let chainIdLength: number
  if (s >= 0xa0 && s <= 0xbf) chainIdLength = s & 0x1f
  else if (s === 0xd9) chainIdLength = head[p++]
  else return null
  p += chainIdLength
  const nonce = readUint(head, p)
  if (nonce === null) return null
  return { sender: addressFromPubKey(tail.subarray(2, 2 + PUBKEY_LENGTH)), nonce }
}

/** A msgpack unsigned integer at `p` (positive fixint, uint8/16/32/64) up to 2^53 − 1, else null. */
function readUint(b: Uint8Array, p: number): number | null {
  const tag = b[p]
  if (tag === undefined) return null
  if (tag <= 0x7f) return tag
  const width = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : tag === 0xcf ? 8 : 0
  if (width === 0 || p + 1 + width > b.length) return null
  let v = 0
  for (let i = 1; i <= width; i++) v = v * 256 + b[p + i]
  return Number.isSafeInteger(v) ? v : null
}
