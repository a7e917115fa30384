import { createHash, hash as oneShot } from 'node:crypto'
import { utf8 } from './bytes.js'

/**
 * SHA-256 over the concatenation of the parts (DESIGN §2). A single part
 * goes through node's one-shot `crypto.hash`, which skips the Hash object a
 * streaming digest allocates (every tx, receipt id and key is hashed).
 */
export function sha256(...parts: (Uint8Array | string)[]): Uint8Array {
  if (parts.length === 1) {
    const p = parts[0]
    const digest = oneShot('sha256', typeof p === 'string' ? utf8(p) : p, 'buffer') as unknown as Buffer
    return new Uint8Array(digest.buffer, digest.byteOffset, digest.length)
  }
  const h = createHash('sha256')
  for (const p of parts) h.update(typeof p === 'string' ? utf8(p) : p)
  return new Uint8Array(h.digest())
}
