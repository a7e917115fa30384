import t from 'tap'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { signTx, receiptId, type SignedTx, type TxCall } from '../../../core/tx.js'
import { SignatureVerifier } from '../../../node/verifier.js'
import { decodeCommit, makeEvidence, voteSignBytes, type Commit, type Evidence, type Vote } from '../../../consensus/index.js'
import { sha256 } from '../../../core/hash.js'
import { encode, decode, type Encodable } from '../../../core/codec.js'
import { openChain, signCommit } from '../../helpers/nodeChain.js'
import { encodeBlock, txRoot, type Block } from '../../../state/block.js'
import { fromHex, toHex } from '../../../core/bytes.js'

const genesis = buildDevnetGenesis({ validators: 1, accounts: 3 })
const v0 = devValidatorKey(0)
const a = devAccountKey(0)
const transfer = (nonce: number) => signTx({ chainId: genesis.chainId, nonce, fee: genesis.params.minTxFee, call: { type: 'transfer', to: devAccountKey(1).address, amount: 7n } }, a)

t.test('a block built by one node validates and commits on another', async (t) => {
  const n1 = await openChain(genesis)
  const n2 = await openChain(genesis)
  t.teardown(async () => { await n1.close(); await n2.close() })
  let lastCommit = null
  for (let h = 1; h <= 3; h++) {
    const p = n1.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + h * 1000, proposer: v0.address, txs: [transfer(h - 1)], lastCommit, evidence: [] })
    const v = await n2.chain.validateBlock(p.bytes)
    t.equal(v.hash, p.hash, `height ${h}: same hash`)
    t.equal(v.block.header.stateRoot, p.block.header.stateRoot, `height ${h}: same state root`)
    const commit = signCommit(genesis.chainId, p, [v0])
    await n1.chain.commitBlock(p, commit)
    await n2.chain.commitBlock(v, commit)
    lastCommit = commit
  }
  t.equal(n1.chain.head.blockHash, n2.chain.head.blockHash)
  t.equal(n2.chain.queries.nonce(a.address), 3)
})

t.test('a stale tx is dropped from a proposal instead of failing it', async (t) => {
  const n = await openChain(genesis)
  t.teardown(() => n.close())
  const p = n.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + 1000, proposer: v0.address, txs: [transfer(0), transfer(0), transfer(5)], lastCommit: null, evidence: [] })
  t.equal(p.txs.length, 1, 'the replay and the gap are dropped')
})

t.test('validation refuses tampered blocks with a clear code and changes nothing', async (t) => {
  const n1 = await openChain(genesis)
  const n2 = await openChain(genesis)
  t.teardown(async () => { await n1.close(); await n2.close() })
  const good = n1.chain.buildBlock({ timeMs: Date.parse(genesis.genesisTime) + 1000, proposer: v0.address, txs: [transfer(0)], lastCommit: null, evidence: [] })
  const rootBefore = n2.chain.head.stateRoot
  const tamper = (f: (b: Block) => Block): Uint8Array => encodeBlock(f(structuredClone(good.block)))
  const cases: [string, Uint8Array, string][] = [
    ['state root', tamper((b) => ({ ...b, header: { ...b.header, stateRoot: '0x' + '11'.repeat(32) } })), 'BLOCK_ERROR_BAD_STATE_ROOT'],
    ['height', tamper((b) => ({ ...b, header: { ...b.header, height: 2 } })), 'BLOCK_ERROR_BAD_HEIGHT'],
    ['chain id', tamper((b) => ({ ...b, header: { ...b.header, chainId: 'other' } })), 'BLOCK_ERROR_WRONG_CHAIN'],
    ['prev hash', tamper((b) => ({ ...b, header: { ...b.header, prevHash: '0x' + '22'.repeat(32) } })), 'BLOCK_ERROR_BAD_PREV_HASH'],
    ['tx root', tamper((b) => ({ ...b, txs: [] })), 'BLOCK_ERROR_BAD_TX_ROOT'],
    ['time', tamper((b) => ({ ...b, header: { ...b.header, timeMs: 5 } })), 'BLOCK_ERROR_BAD_TIME'],
    ['validators hash', tamper((b) => ({ ...b, header: { ...b.header, validatorsHash: '0x' + '33'.repeat(32) } })), 'BLOCK_ERROR_BAD_VALIDATORS_HASH'],
    ['proposer', tamper((b) => ({ ...b, header: { ...b.header, proposer: a.address } })), 'BLOCK_ERROR_BAD_PROPOSER'],
    ['garbage', new Uint8Array([0xc1]), 'BLOCK_ERROR_MALFORMED'],
  ]
  const txBytes = new Uint8Array(good.block.txs[0])
  txBytes[txBytes.length - 1] ^= 1
  const badTx = tamper((b) => ({ ...b, txs: [txBytes] }))
  const fixedRoot = decode(badTx) as Encodable[]
  cases.push(['bad tx signature (root recomputed)', rebuildTxRoot(fixedRoot), 'BLOCK_ERROR_INVALID_TX'])
  for (const [name, bytes, code] of cases) {
    await t.rejects(n2.chain.validateBlock(bytes), { code }, name)
  }
  t.equal(n2.chain.head.stateRoot, rootBefore, 'state untouched')
  t.equal(n2.chain.head.height, 0)
})

function rebuildTxRoot(block: Encodable[]): Uint8Array {
  const header = [...(block[0] as Encodable[])]
  header[4] = fromHex(txRoot(block[1] as Uint8Array[]))
  return encode([header, block[1], block[2], block[3]])
}

t.test('a block over maxBlockReceipts is refused, and the mempool never reaps one', async (t) => {
  const small = buildDevnetGenesis({ validators: 1, accounts: 3, params: { maxReceiptsPerTx: 2, maxBlockReceipts: 3 } })
  const n1 = await openChain(small)
  const n2 = await openChain(small)
  t.teardown(async () => { await n1.close(); await n2.close() })
  const receipt = { modelId: '0x' + '01'.repeat(32), payer: a.address, fee: 1n, inputHash: '0x' + '02'.repeat(32), outputHash: '0x' + '03'.repeat(32), attribution: [] }
  const txs = [0, 1].map((nonce) => signTx({ chainId: small.chainId, nonce, fee: small.params.minTxFee, call: { type: 'submitReceipts', receipts: [receipt, receipt] } }, a))
  const p = n1.chain.buildBlock({ timeMs: Date.parse(small.genesisTime) + 1000, proposer: v0.address, txs, lastCommit: null, evidence: [] })
  await t.rejects(n2.chain.validateBlock(p.bytes), { code: 'BLOCK_ERROR_TOO_MANY_RECEIPTS' }, '4 receipts > 3')
  const { Mempool, defaultMempoolOptions } = await import('../../../node/mempool.js')
  const mempool = new Mempool(defaultMempoolOptions, { chainId: small.chainId, params: small.params, account: (x) => ({ balance: n1.chain.queries.balance(x), nonce: n1.chain.queries.nonce(x) }) })
  for (const tx of txs) mempool.add(tx.bytes)
  t.equal(mempool.reap(100, 1 << 20, small.params.maxBlockReceipts).length, 1, 'reap stops at the receipts budget')
})

t.test('with worker threads: txs not seen before are verified and their receipt ids hashed off-thread, with the same result', async (t) => {
  const econ = buildDevnetGenesis({ validators: 1, accounts: 3 })
  const verifier = new SignatureVerifier({ threads: 1, maxBatch: 64, maxDelayMs: 1 })
  const n1 = await openChain(econ)
  const n2 = await openChain(econ, { verifier })
  t.teardown(async () => { await n1.close(); await n2.close(); await verifier.close() })
  const owner = devAccountKey(0)
  const operator = devAccountKey(1)
  const nonces = new Map<string, number>()
  const tx = (key: typeof owner, call: TxCall) => {
    const nonce = nonces.get(key.address) ?? 0
    nonces.set(key.address, nonce + 1)
    return signTx({ chainId: econ.chainId, nonce, fee: econ.params.minTxFee, call }, key)
  }
  let lastCommit: Commit | null = null
  let height = 0
  const advance = async (txs: SignedTx[]) => {
    height++
    const p = n1.chain.buildBlock({ timeMs: Date.parse(econ.genesisTime) + height * 1000, proposer: v0.address, txs, lastCommit, evidence: [] })
    t.equal(p.outcome.results.filter((r) => r.status === 'ok').length, txs.length, `height ${height}: every tx ok`)
    const v = await n2.chain.validateBlock(p.bytes)
    t.equal(v.block.header.stateRoot, p.block.header.stateRoot, `height ${height}: same state root`)
    const commit = signCommit(econ.chainId, p, [v0])
    await n1.chain.commitBlock(p, commit)
    await n2.chain.commitBlock(v, commit)
    lastCommit = commit
    return { built: p, validated: v }
  }
  const dn = tx(owner, { type: 'registerDatanet', name: 'dn', metadataUri: '', contributionBond: 0n })
  await advance([dn])
  const c1 = tx(operator, { type: 'contribute', datanetId: dn.hash, dataHash: toHex(sha256('c1')), metadataUri: '' })
  await advance([c1])
  await advance([tx(owner, { type: 'reviewContribution', contributionId: c1.hash, accept: true, weight: 3 })])
  const model = tx(owner, { type: 'registerModel', name: 'm', baseModel: 'b', datanets: [{ datanetId: dn.hash, weight: 1 }], minFee: 10n })
  await advance([model])
  const receipts = Array.from({ length: 40 }, (_, i) => ({
    modelId: model.hash, payer: operator.address, fee: 1000n + BigInt(i), inputHash: toHex(sha256(`in${i}`)), outputHash: toHex(sha256(`out${i}`)),
    attribution: i % 2 === 0 ? [{ contributionId: c1.hash, weight: 1 }] : [],
  }))
  const batch = tx(operator, { type: 'submitReceipts', receipts })
  const { built, validated } = await advance([batch])
  t.ok(validated.txs[0].receiptIds, 'the validating node had the ids hashed by its worker')
  t.same(validated.outcome.receipts.map((r) => r.id), built.outcome.receipts.map((r) => r.id), 'the same receipt ids as hashing in place')
  for (const i of [0, 1, 39]) t.same(await n2.db.getReceipt(receiptId(batch.hash, i)), await n1.db.getReceipt(receiptId(batch.hash, i)), `receipt ${i} stored alike`)

  const forged = tx(operator, { type: 'transfer', to: owner.address, amount: 1n })
  const p = n1.chain.buildBlock({ timeMs: Date.parse(econ.genesisTime) + (height + 1) * 1000, proposer: v0.address, txs: [forged], lastCommit, evidence: [] })
  const bytes = new Uint8Array(p.block.txs[0])
  bytes[bytes.length - 1] ^= 1
  const bad = rebuildTxRoot([...(decode(p.bytes) as Encodable[]).slice(0, 1), [bytes], ...(decode(p.bytes) as Encodable[]).slice(2)])
  await t.rejects(n2.chain.validateBlock(bad), { code: 'BLOCK_ERROR_INVALID_TX', message: /signature does not verify/ }, 'a bad signature found by the worker refuses the block')
  t.equal(n2.chain.head.height, height, 'nothing committed')
})

t.test('the commit of H stored is the canonical one of block H + 1, with precommits that came after the first +2/3 (issue 11: bare-quorum commits)', async (t) => {
  const g4 = buildDevnetGenesis({ validators: 4, accounts: 1 })
  const keys = [0, 1, 2, 3].map(devValidatorKey)
  const n = await openChain(g4)
  t.teardown(() => n.close())
  const proposer = n.chain.validatorSet(1).proposer.address
  const p1 = n.chain.buildBlock({ timeMs: Date.parse(g4.genesisTime) + 1000, proposer, txs: [], lastCommit: null, evidence: [] })
  const seen = signCommit(g4.chainId, p1, keys.slice(0, 3))
  await n.chain.commitBlock(p1, seen)
  t.equal(decodeCommit((await n.db.getCommit(1))!).signatures.length, 3, 'before block 2: the commit this node decided with')
  const full = signCommit(g4.chainId, p1, keys)
  const p2 = n.chain.buildBlock({ timeMs: Date.parse(g4.genesisTime) + 2000, proposer: n.chain.validatorSet(2).proposer.address, txs: [], lastCommit: full, evidence: [] })
  await n.chain.commitBlock(p2, signCommit(g4.chainId, p2, keys.slice(1)))
  t.same(decodeCommit((await n.db.getCommit(1))!).signatures.map((s) => s.validator), full.signatures.map((s) => s.validator), 'after block 2: the four signatures it carries')
  t.same(n.chain.queries.validators().map((v) => v.missed), [0, 0, 0, 0], 'nobody counted absent at height 1')
})

t.test('a proposal carries held evidence only inside its window: a double sign of the current height waits for the next block, a punished (validator, height) is not repeated', async (t) => {
  const g4 = buildDevnetGenesis({ validators: 4, accounts: 1 })
  const keys = [0, 1, 2, 3].map(devValidatorKey)
  const n = await openChain(g4)
  t.teardown(() => n.close())
  const prevote = (round: number, value: string): Vote => {
    const u = { type: 'prevote' as const, height: 1, round, blockHash: sha256(value), validator: keys[1]!.address }
    return { ...u, signature: keys[1]!.sign(voteSignBytes(g4.chainId, u)) }
  }
  const round0 = makeEvidence(prevote(0, 'a'), prevote(0, 'b'))
  const round1 = makeEvidence(prevote(1, 'a'), prevote(1, 'b'))
  const build = (h: number, lastCommit: Commit | null, evidence: Evidence[]) =>
    n.chain.buildBlock({ timeMs: Date.parse(g4.genesisTime) + h * 1000, proposer: n.chain.validatorSet(h).proposer.address, txs: [], lastCommit, evidence })
  // seen in round 0 of height 1, held while this node proposes in round 1 of the same height: evidence of height 1 cannot go in block 1
  const p1 = build(1, null, [round0])
  t.equal(p1.block.evidence.length, 0, 'not in a block of its own height')
  const c1 = signCommit(g4.chainId, p1, keys)
  await n.chain.commitBlock(p1, c1)
  const p2 = build(2, c1, [round0])
  t.equal(p2.block.evidence.length, 1, 'in the next block')
  t.equal(p2.outcome.events.filter((e) => e.kind === 'slash').length, 1, 'slashed once')
  const c2 = signCommit(g4.chainId, p2, keys)
  await n.chain.commitBlock(p2, c2)
  t.ok(n.chain.queries.doubleSignPunished(keys[1]!.address, 1), 'the pair is marked punished')
  const p3 = build(3, c2, [round0, round1])
  t.equal(p3.block.evidence.length, 0, 'neither the same evidence nor another of the same (validator, height) again')
})
