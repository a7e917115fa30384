import t from 'tap'
import { readFileSync } from 'node:fs'
import { SignatureVerifier } from '../../../node/verifier.js'
import { KeyPair, ed25519Backend } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { fromHex, toHex } from '../../../core/bytes.js'
import { createLogger } from '../../../node/logger.js'
import type { Ed25519Vector } from '../../helpers/ed25519Vectors.js'
import { receiptId, receiptIdsOf } from '../../../core/tx.js'

t.test('worker verification agrees with node:crypto, in batches and one by one', async (t) => {
  const v = new SignatureVerifier({ threads: 2, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const keys = Array.from({ length: 5 }, (_, i) => new KeyPair(sha256(`verifier-test-${i}`)))
  const items = Array.from({ length: 300 }, (_, i) => {
    const k = keys[i % keys.length]
    const digest = sha256(`message-${i}`)
    const signature = k.sign(digest)
    const good = i % 7 !== 0
    if (!good) signature[i % 64] ^= 1
    return { pubKey: k.publicKey, digest, signature, good }
  })
  const results = await Promise.all(items.map((x) => v.verify(x.pubKey, x.digest, x.signature)))
  results.forEach((ok, i) => t.equal(ok, items[i].good, `item ${i}`))
  t.equal(await v.verify(new Uint8Array(31), new Uint8Array(32), new Uint8Array(64)), false, 'a malformed key is false, not an error')
})

t.test('with no worker threads it verifies on the main thread', async (t) => {
  const v = new SignatureVerifier({ threads: 0, maxBatch: 64, maxDelayMs: 1 })
  const k = new KeyPair(sha256('main'))
  const d = sha256('x')
  t.equal(await v.verify(k.publicKey, d, k.sign(d)), true)
  await v.close()
  await t.rejects(v.verify(k.publicKey, d, k.sign(d)), { code: 'VERIFIER_ERROR_CLOSED' })
})

t.test('receipt ids hashed in a worker are the ids of DESIGN §4, tx after tx', async (t) => {
  const v = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const txs = [{ txHash: sha256('tx-a'), count: 40 }, { txHash: sha256('tx-b'), count: 1 }, { txHash: sha256('tx-c'), count: 1000 }]
  const ids = await v.receiptIds(txs)
  t.equal(ids.length, 3)
  txs.forEach((tx, k) => {
    t.equal(ids[k].length, tx.count * 32, `tx ${k}: one id per receipt`)
    const wanted = Array.from({ length: tx.count }, (_, i) => receiptId(tx.txHash, i))
    const got = Array.from({ length: tx.count }, (_, i) => toHex(ids[k].subarray(i * 32, i * 32 + 32)))
    t.same(got, wanted, `tx ${k}: the same ids as receiptId`)
  })
  t.same(await v.receiptIds([{ txHash: sha256('small'), count: 2 }]), [receiptIdsOf(sha256('small'), 2)], 'a few receipts are hashed in place')
  t.same(await v.receiptIds([]), [], 'no txs, no ids')
})

t.test('a worker that dies mid-request has its requests answered on the main thread', async (t) => {
  const v = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const slot = (v as unknown as { slots: { worker: { emit(e: string, err: Error): boolean } }[] }).slots[0]
  const k = new KeyPair(sha256('dying'))
  const d = sha256('m')
  const pendingIds = v.receiptIds([{ txHash: sha256('tx'), count: 64 }])
  const pendingSig = v.verify(k.publicKey, d, k.sign(d))
  await new Promise((r) => setTimeout(r, 5)) // the signature batch leaves after maxDelayMs
  slot.worker.emit('error', new Error('worker crashed'))
  t.same(await pendingIds, [receiptIdsOf(sha256('tx'), 64)])
  t.equal(await pendingSig, true)
})

t.test('signatures queued when receipt ids are asked for ride in the same message, verdicts intact', async (t) => {
  const v = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 50 })
  t.teardown(() => v.close())
  const k = new KeyPair(sha256('ride'))
  const d = sha256('m')
  const good = k.sign(d)
  const bad = Uint8Array.from(good)
  bad[0] ^= 1
  const sigs = [v.verify(k.publicKey, d, good), v.verify(k.publicKey, d, bad)]
  const ids = await v.receiptIds([{ txHash: sha256('tx'), count: 32 }])
  t.same(ids, [receiptIdsOf(sha256('tx'), 32)])
  t.same(await Promise.all(sigs), [true, false], 'answered with the ids, not after the 50 ms delay')
})

t.test('worker verdicts on the Ed25519 validity vectors are the pinned ones', async (t) => {
  const vectors = JSON.parse(readFileSync(new URL('../../vectors/ed25519.json', import.meta.url), 'utf8')) as Ed25519Vector[]
  const v = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  // the workers verify 32-byte digests; other lengths are verified on the main thread
  const digests = vectors.filter((x) => fromHex(x.message).length === 32)
  t.ok(digests.length >= 20 && digests.some((x) => x.valid) && digests.some((x) => x.name.startsWith('small-order A')), `${digests.length} vectors reach the worker`)
  const got = await Promise.all(digests.map((x) => v.verify(fromHex(x.pubKey), fromHex(x.message), fromHex(x.signature))))
  digests.forEach((x, i) => t.equal(got[i], x.valid, x.name))
})

t.test('the verifier says once which Ed25519 backend verifies', async (t) => {
  const lines: string[] = []
  const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
  const v = new SignatureVerifier({ threads: 0, maxBatch: 64, maxDelayMs: 1 }, { logger })
  await v.close()
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0]), { level: 'info', msg: 'ed25519 verification', backend: ed25519Backend.name })
})

t.test('a block\'s signatures (priority consensus) do not wait behind an admission backlog', async (t) => {
  const maxBatch = 64
  /** ADMISSION_BATCHES_IN_FLIGHT in node/verifier.ts (not exported): admission batches out per worker. */
  const admissionBatchesInFlight = 2
  const v = new SignatureVerifier({ threads: 1, maxBatch, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const key = new KeyPair(new Uint8Array(32).fill(7))
  const digest = new Uint8Array(32).fill(1)
  const sig = key.sign(digest)
  const order: string[] = []
  const admission = Array.from({ length: maxBatch * 40 }, () => v.verify(key.publicKey, digest, sig).then((ok) => { order.push('admission'); return ok }))
  // Wait until the worker is up and answering (however long it takes to boot), then one more turn of the loop
  // so every admission answer received so far has been counted in `order`.
  await admission[0]
  await new Promise((r) => setImmediate(r))
  const answeredAtSend = order.length
  t.ok(admission.length - answeredAtSend >= maxBatch * 30, `a backlog is still waiting when the block's signature is asked for (${answeredAtSend} of ${admission.length} answered)`)
  const urgent = v.verify(key.publicKey, digest, sig, 'consensus').then((ok) => { order.push('consensus'); return ok })
  t.ok(await urgent, 'verified')
  // Only the admission batches already out to the worker when the urgent one was sent (at most
  // ADMISSION_BATCHES_IN_FLIGHT per worker) can be answered ahead of it; the backlog waits behind.
  const ahead = order.indexOf('consensus') - answeredAtSend
  t.ok(ahead <= maxBatch * admissionBatchesInFlight, `answered after at most the batches already in flight (${ahead} admission answers after it was asked for and before it, of ${admission.length})`)
  t.ok((await Promise.all(admission)).every(Boolean), 'every admission signature answered too')
})

t.test('a worker that exits without an error event mid-request has its requests answered on the main thread, and is replaced', async (t) => {
  const v = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 1 })
  t.teardown(() => v.close())
  const slots = (v as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots
  const first = slots[0]
  // about a second of hashing in the worker: it is still at work when terminated
  const count = 1_000_000
  const pendingIds = v.receiptIds([{ txHash: sha256('long'), count }])
  await first.worker.terminate()
  const answered = await Promise.race([pendingIds.then((ids) => ids), new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref())])
  t.ok(answered !== null, 'the request is answered, not left waiting')
  t.equal(answered?.[0].length, count * 32, 'with every id')
  t.equal(toHex(answered?.[0].subarray((count - 1) * 32) ?? new Uint8Array(0)), receiptId(sha256('long'), count - 1), 'the last one right')
  t.not(slots[0], first, 'the slot has a new worker')
  const k = new KeyPair(sha256('after-exit'))
  const d = sha256('m')
  t.equal(await v.verify(k.publicKey, d, k.sign(d)), true, 'which verifies')
})
