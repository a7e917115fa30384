import { createHash } from 'node:crypto'
import { utf8 } from './bytes.js'

/** SHA-256 over the concatenation of the parts (DESIGN §2). */
export function sha256(...parts: (Uint8Array | string)[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(typeof p === 'string' ? utf8(p) : p)
  return new Uint8Array(h.digest())
}
