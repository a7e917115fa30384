import t from 'tap'
import fc from 'fast-check'
import { decodeSignedTx, encodeUnsigned, encodeCall, TX_TYPES, TX_VERSION, type SignedTx } from '../../core/tx.js'
import { decode, encode, type Encodable } from '../../core/codec.js'
import { TxError } from '../../core/errors.js'
import { verifySignature } from '../../core/keys.js'
import { Mempool, MempoolError, defaultMempoolOptions } from '../../node/mempool.js'
import { TestChain, sampleCalls, signRaw } from '../helpers/chain.js'
import { encodable, byteMutation, applyMutations, treeMutation, applyTreeMutation } from './arbitraries.js'
import { params, loadCorpus, corpusBytes, CaseCounter, FUZZ_SEED, type CorpusBytes } from './fuzz.js'

/**
 * Fuzz target 1: the tx decoder/validator (core/tx.ts decodeSignedTx) and
 * the mempool admission path (node/mempool.ts add and admit). Whatever the
 * bytes: a TxError or MempoolError with a code, never another exception,
 * and a refused tx leaves the mempool as it was. A tx that decodes
 * re-encodes to its own bytes (the codec is canonical).
 */

const chain = new TestChain()
const sender = chain.account(0)
const counter = new CaseCounter()
/** decoder outcomes, to show the cases reach past the first checks */
const codes = new CaseCounter()

const CODE = /^(TX|MEMPOOL)_ERROR_[A-Z_]+$/

function isRefusal(e: unknown): e is TxError | MempoolError {
  return (e instanceof TxError || e instanceof MempoolError) && CODE.test(e.code)
}

/** A signed tx's unsigned bytes re-encoded from the decoded value equal the input's (no second reading of the same bytes). */
function checkDecoded(stx: SignedTx, input: Uint8Array): void {
  const unsigned = encodeUnsigned(stx.tx)
  const inner = input.subarray(1, input.length - (2 + 32 + 2 + 64))
  if (Buffer.compare(Buffer.from(unsigned), Buffer.from(inner)) !== 0) throw new Error('decoded tx does not re-encode to its bytes')
}

/** decodeSignedTx: ok (and canonical) or a coded refusal. */
function decodeCase(bytes: Uint8Array): void {
  try {
    const stx = decodeSignedTx(bytes)
    checkDecoded(stx, bytes)
    codes.hit('decoded')
  } catch (e) {
    if (!isRefusal(e)) throw e
    codes.hit(e.code)
  }
}

function newMempool(verifier: boolean): Mempool {
  return new Mempool({ ...defaultMempoolOptions, maxTxs: 50 }, {
    chainId: chain.chain.chainId, params: chain.chain.params,
    account: (a) => ({ balance: chain.q.balance(a), nonce: chain.q.nonce(a) }),
    ...(verifier ? { verifier: { verify: async (pk: Uint8Array, d: Uint8Array, s: Uint8Array) => verifySignature(pk, d, s), depth: 0 } } : {}),
  })
}

/** One mempool (kept across cases, so earlier admissions matter) per admission path. */
const pools = { add: newMempool(false), admit: newMempool(true) }

/** Mempool admission (sync add and async admit with a verifier): admitted, or refused with a code and nothing changed. */
async function admitCase(bytes: Uint8Array): Promise<void> {
  for (const [path, pool] of Object.entries(pools)) {
    const before = { size: pool.size, bytes: pool.sizeBytes, queued: pool.queuedSize }
    try {
      if (path === 'add') pool.add(bytes)
      else await pool.admit(bytes)
      if (pool.size < 1) throw new Error('admitted but not held')
    } catch (e) {
      if (!isRefusal(e)) throw e
      const after = { size: pool.size, bytes: pool.sizeBytes, queued: pool.queuedSize }
      if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`refused (${(e as TxError).code}) but the mempool changed`)
    }
  }
  // keep the pools small: a full pool only tests MEMPOOL_ERROR_FULL
  if (pools.add.size >= 40) pools.add = newMempool(false)
  if (pools.admit.size >= 40) pools.admit = newMempool(true)
}

async function fullCase(target: string, bytes: Uint8Array): Promise<void> {
  counter.hit(target)
  decodeCase(bytes)
  await admitCase(bytes)
}

/** Valid txs of every type from a funded account (the seeds the mutations start from). */
const valid: Uint8Array[] = sampleCalls().map((call, i) => chain.tx(sender, call, { nonce: i % 3 }).bytes)
const validArb = fc.constantFrom(...valid)

t.test(`corpus of past crashers and malformed inputs (seed ${FUZZ_SEED})`, async (t) => {
  const corpus = loadCorpus<{ name: string; why: string; bytes: CorpusBytes }>('tx.json')
  for (const entry of corpus) {
    const bytes = corpusBytes(entry.bytes)
    let code = 'accepted'
    try {
      decodeSignedTx(bytes)
    } catch (e) {
      code = isRefusal(e) ? e.code : `NOT A CODED ERROR: ${String(e)}`
    }
    t.match(code, CODE, `${entry.name}: ${code}`)
    await fullCase('corpus', bytes)
  }
})

t.test('valid txs decode, re-encode and are admitted', async (t) => {
  const pool = newMempool(false)
  for (const bytes of valid) {
    decodeCase(bytes)
    try { pool.add(bytes) } catch (e) { t.ok(isRefusal(e), 'a coded refusal') }
  }
  t.ok(pool.size > 0, `${pool.size} of ${valid.length} admitted`)
})

t.test('random bytes', async (t) => {
  await fc.assert(fc.asyncProperty(
    fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => new Uint8Array([0x93, ...b]))),
    (bytes) => fullCase('random bytes', bytes),
  ), params(1500))
  t.pass(`${counter.get('random bytes')} cases`)
})

t.test('mutated valid txs: bit flips, truncation, extension, splices, msgpack tag swaps', async (t) => {
  await fc.assert(fc.asyncProperty(validArb, fc.array(byteMutation, { minLength: 1, maxLength: 4 }), (bytes, ms) => fullCase('byte mutations', applyMutations(bytes, ms))), params(1500))
  t.pass(`${counter.get('byte mutations')} cases`)
})

t.test('structurally mutated valid txs (type swaps, deletions, duplications), re-signed or not', async (t) => {
  await fc.assert(fc.asyncProperty(validArb, fc.array(treeMutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (bytes, ms, resign) => {
    const root = decode(bytes) as Encodable[]
    let v: Encodable = root
    for (const m of ms) v = applyTreeMutation(v, m)
    let out: Uint8Array
    if (resign && Array.isArray(v) && v.length === 3 && Array.isArray(v[0])) {
      // a valid signature over the mutated unsigned tx: the decoder's body checks are what must refuse it
      out = signRaw(sender, v[0] as Encodable[])
    } else {
      out = encode(v)
    }
    return fullCase('tree mutations', out)
  }), params(1500))
  t.pass(`${counter.get('tree mutations')} cases`)
})

t.test('structured random txs, validly signed', async (t) => {
  const calls = sampleCalls()
  const body: fc.Arbitrary<Encodable> = fc.oneof(
    encodable,
    // a real body of some type with one node swapped
    fc.tuple(fc.nat({ max: calls.length - 1 }), treeMutation).map(([i, m]) => applyTreeMutation(encodeCall(calls[i]!), m)),
  )
  const unsigned = fc.tuple(
    fc.oneof({ weight: 5, arbitrary: fc.constant<Encodable>(TX_VERSION) }, encodable),
    fc.oneof({ weight: 5, arbitrary: fc.constant<Encodable>(chain.chain.chainId) }, encodable),
    fc.oneof({ weight: 5, arbitrary: fc.nat({ max: 5 }) }, encodable),
    fc.oneof({ weight: 5, arbitrary: fc.constant<Encodable>(chain.chain.params.minTxFee.toString()) }, encodable),
    fc.oneof({ weight: 5, arbitrary: fc.constantFrom<Encodable>(...TX_TYPES) }, encodable),
    body,
  )
  await fc.assert(fc.asyncProperty(unsigned, (u) => fullCase('structured', signRaw(sender, u as unknown as Encodable[]))), params(1500))
  t.pass(`${counter.get('structured')} cases`)
})

t.teardown(() => {
  console.log(`# fuzz tx (seed ${FUZZ_SEED}): ${counter.summary()}`)
  console.log(`# decoder outcomes: ${codes.summary()}`)
})
