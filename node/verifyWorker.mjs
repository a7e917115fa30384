// Ed25519 verification and receipt-id worker (node/verifier.ts). Plain JS so
// that it runs in a worker thread without the TypeScript loader.
// Messages:
//   {id, kind: 'verify', buffer, count}: `count` records of
//     pubkey(32) ‖ digest(32) ‖ signature(64); the answer is one byte per
//     record, 1 when the signature verifies.
//   {id, kind: 'receiptIds', hashes, counts}: for each tx k (hash k of the
//     packed 32-byte `hashes`), the ids of its receipts 0..counts[k]-1,
//     sha256(txHash ‖ u32be(i)) (DESIGN §4; core/tx.ts receiptIdsOf computes
//     the same on the main thread), all packed 32 bytes each, tx after tx;
//     with `buffer` and `count` as for 'verify', those signatures too: the
//     answer is then the `count` verdict bytes followed by the ids.
import { parentPort } from 'node:worker_threads'
import { hash } from 'node:crypto'
import { verifyEd25519 } from '../core/ed25519.mjs'

const RECORD = 128

// The same rule and backend choice as the main thread (core/ed25519.mjs).
function verifyBatch(buffer, count) {
  const data = new Uint8Array(buffer)
  const results = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const o = i * RECORD
    results[i] = verifyEd25519(data.subarray(o, o + 32), data.subarray(o + 32, o + 64), data.subarray(o + 64, o + 128)) ? 1 : 0
  }
  return results
}

function receiptIds(hashes, counts) {
  let total = 0
  for (const c of counts) total += c
  const out = new Uint8Array(total * 32)
  const input = Buffer.alloc(36)
  let o = 0
  counts.forEach((count, k) => {
    input.set(hashes.subarray(k * 32, k * 32 + 32))
    for (let i = 0; i < count; i++, o += 32) {
      input.writeUInt32BE(i, 32)
      out.set(hash('sha256', input, 'buffer'), o)
    }
  })
  return out
}

parentPort.on('message', (m) => {
  let results
  if (m.kind === 'receiptIds') {
    // signatures queued when the ids were asked for ride along: one message, one wake-up
    const valid = m.count > 0 ? verifyBatch(m.buffer, m.count) : new Uint8Array(0)
    const ids = receiptIds(m.hashes, m.counts)
    results = new Uint8Array(valid.length + ids.length)
    results.set(valid)
    results.set(ids, valid.length)
  } else {
    results = verifyBatch(m.buffer, m.count)
  }
  parentPort.postMessage({ id: m.id, results }, [results.buffer])
})
