// Ed25519 verification worker (node/verifier.ts). Plain JS so that it runs
// in a worker thread without the TypeScript loader. Each message is one
// batch: `count` records of pubkey(32) ‖ digest(32) ‖ signature(64); the
// answer is one byte per record, 1 when the signature verifies.
import { parentPort } from 'node:worker_threads'
import { createPublicKey, verify } from 'node:crypto'

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const RECORD = 128
const CACHE_MAX = 100_000
const keys = new Map()

function keyObject(pub) {
  const id = pub.toString('hex')
  let key = keys.get(id)
  if (key) return key
  key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' })
  if (keys.size >= CACHE_MAX) keys.delete(keys.keys().next().value)
  keys.set(id, key)
  return key
}

parentPort.on('message', ({ id, buffer, count }) => {
  const data = Buffer.from(buffer)
  const results = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const o = i * RECORD
    try {
      results[i] = verify(null, data.subarray(o + 32, o + 64), keyObject(data.subarray(o, o + 32)), data.subarray(o + 64, o + 128)) ? 1 : 0
    } catch {
      results[i] = 0
    }
  }
  parentPort.postMessage({ id, results }, [results.buffer])
})
