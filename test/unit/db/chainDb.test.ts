import t from 'tap'
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { bytesEqual, toHex } from '../../../core/bytes.js'
import { genesisHash, genesisTimeMs } from '../../../genesis/genesis.js'
import { MemoryStateStore, genesisState, encodeBlock, ZERO_HASH, type BlockOutcome } from '../../../state/index.js'
import type { TxCall, SignedTx } from '../../../core/tx.js'
import type { KeyPair } from '../../../core/keys.js'
import { ChainDb, type BlockCommit } from '../../../node/db/index.js'
import { TestChain } from '../../helpers/chain.js'
import { testGenesis, toBlockCommit, fakeCommit } from '../../e2e/fixtures/dbWriter.js'

const genesis = testGenesis()
const ident = { genesisHash: genesisHash(genesis), chainId: genesis.chainId }

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'attrchain-db-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'data')
}

/** Every state key of `a` is in `b` with the same bytes, and nothing more. */
function sameState(t: Test, actual: MemoryStateStore, expected: MemoryStateStore, what: string): void {
  t.equal(actual.size, expected.size, `${what}: same number of keys`)
  let mismatches = 0
  for (const [k, v] of expected.entries()) {
    const got = actual.get(k)
    if (got === undefined || !bytesEqual(got, v)) mismatches++
  }
  t.equal(mismatches, 0, `${what}: every key has the same value`)
}

/** All raw key/value pairs of a closed data dir, to prove a refused commit wrote nothing. */
async function dump(dir: string): Promise<Map<string, string>> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const out = new Map<string, string>()
  for await (const [k, v] of db.iterator()) out.set(toHex(k), toHex(v))
  await db.close()
  return out
}

/**
 * A TestChain and a ChainDb fed the same blocks: TestChain's store is the
 * reference the database's memory state must match.
 */
class Pair {
  readonly chain = new TestChain({}, genesis)
  readonly commits: BlockCommit[] = []
  constructor(public db: ChainDb) {}

  static async open(dir: string): Promise<Pair> {
    const db = await ChainDb.open({ dir, ...ident })
    const pair = new Pair(db)
    const g = genesisState(new MemoryStateStore(), genesis)
    await db.commitGenesis(g.writes, g.stateRoot, [['note/genesis', Uint8Array.of(1)]], genesisTimeMs(genesis))
    return pair
  }

  /** Execute in TestChain and build the commit, without storing it. */
  next(calls: [KeyPair, TxCall][]): { out: BlockOutcome; commit: BlockCommit; txs: SignedTx[] } {
    const txs = calls.map(([k, call]) => this.chain.tx(k, call))
    const out = this.chain.block(txs)
    const prev = this.commits.at(-1)?.hash ?? ZERO_HASH
    const commit = toBlockCommit(this.chain.chain.chainId, this.chain.blocks.at(-1)!, out, prev)
    return { out, commit, txs }
  }

  async run(calls: [KeyPair, TxCall][]): Promise<{ out: BlockOutcome; commit: BlockCommit; txs: SignedTx[] }> {
    const r = this.next(calls)
    await this.db.commitBlock(r.commit)
    this.commits.push(r.commit)
    return r
  }
}

t.test('a real chain is stored, read back, and reopened with the same state', async (t) => {
  const dir = await tempDir(t)
  const p = await Pair.open(dir)
  const [curator, contributor, operator, payer] = [0, 1, 2, 3].map((k) => p.chain.account(k))

  t.same(p.db.head(), { height: 0, blockHash: ZERO_HASH, stateRoot: toHex(p.chain.root), timeMs: genesisTimeMs(genesis) }, 'genesis head')
  sameState(t, p.db.state, p.chain.store, 'after genesis')

  const dn = await p.run([[curator, { type: 'registerDatanet', name: 'corpus', metadataUri: 'ipfs://c', contributionBond: 10n ** 18n }]])
  const datanetId = dn.txs[0].hash
  const ct = await p.run([[contributor, { type: 'contribute', datanetId, dataHash: '0x' + '11'.repeat(32), metadataUri: 'ipfs://d' }]])
  const contributionId = ct.txs[0].hash
  await p.run([[curator, { type: 'reviewContribution', contributionId, accept: true, weight: 5 }]])
  const md = await p.run([[curator, { type: 'registerModel', name: 'm', baseModel: 'llama', datanets: [{ datanetId, weight: 1 }], minFee: 1000n }]])
  const modelId = md.txs[0].hash
  await p.run([[payer, { type: 'approveOperator', operator: operator.address, amount: 10n ** 20n }]])
  const receipt = (fee: bigint, attributed: boolean) => ({
    modelId, payer: payer.address, fee, inputHash: '0x' + '22'.repeat(32), outputHash: '0x' + '33'.repeat(32),
    attribution: attributed ? [{ contributionId, weight: 3 }] : [],
  })
  const rc = await p.run([
    [operator, { type: 'submitReceipts', receipts: [receipt(10n ** 17n, true), receipt(10n ** 16n, false)] }],
    [contributor, { type: 'transfer', to: curator.address, amount: 10n ** 30n }],
    [curator, { type: 'transfer', to: operator.address, amount: 5n }],
  ])
  await p.run([])
  sameState(t, p.db.state, p.chain.store, 'memory state follows every block')

  await t.test('blocks, by height and by hash, and commits', async (t) => {
    for (const c of p.commits) {
      const h = c.block.header.height
      t.same(await p.db.getBlock(h), c.block, `block ${h}`)
      t.same(await p.db.getBlockBytes(h), encodeBlock(c.block), `bytes of block ${h}`)
      t.same(await p.db.getBlockByHash(c.hash), c.block, `block ${h} by hash`)
      t.same(await p.db.getCommit(h), fakeCommit(h, c.hash), `commit of ${h}`)
      t.same(await p.db.getDistribution(h), c.distribution, `distribution of ${h}`)
    }
    t.same((await p.db.getBlocks(2, 4)).map((b) => [b.height, b.bytes, b.commit]),
      p.commits.slice(1, 4).map((c) => [c.block.header.height, encodeBlock(c.block), c.commit]), 'range read')
    t.same((await p.db.getBlocks(6, 100)).map((b) => b.height), [6, 7], 'range past head stops at head')
    t.same(await p.db.getBlocks(5, 4), [], 'empty range')
  })

  await t.test('tx index, tx bytes and receipts', async (t) => {
    const [ok, failed, second] = rc.out.results
    t.same(await p.db.getTx(ok.hash), { height: 6, index: 0, status: 'ok' })
    t.equal(failed.status, 'failed', 'the oversized transfer fails in execution')
    t.same(await p.db.getTx(failed.hash), { height: 6, index: 1, status: 'failed', error: failed.error })
    t.same(await p.db.getTx(second.hash), { height: 6, index: 2, status: 'ok' })
    for (const [i, stx] of rc.txs.entries()) t.same(await p.db.getTxBytes(stx.hash), stx.bytes, `bytes of tx ${i}`)
    t.equal(rc.out.receipts.length, 2)
    for (const r of rc.out.receipts) t.same(await p.db.getReceipt(r.id), r, `receipt ${r.id}`)
  })

  await t.test('unknown keys read as null', async (t) => {
    const nobody = '0x' + 'ee'.repeat(32)
    t.equal(await p.db.getBlock(99), null)
    t.equal(await p.db.getBlock(-1), null)
    t.equal(await p.db.getBlockBytes(1.5), null)
    t.equal(await p.db.getBlockByHash(nobody), null)
    t.equal(await p.db.getCommit(99), null)
    t.equal(await p.db.getTx(nobody), null)
    t.equal(await p.db.getTxBytes(nobody), null)
    t.equal(await p.db.getReceipt(nobody), null)
    t.equal(await p.db.getDistribution(0), null, 'genesis has no distribution')
    t.equal(await p.db.getMeta('note/none'), null)
    t.same(await p.db.getMeta('note/genesis'), Uint8Array.of(1), 'node metadata stored with genesis')
  })

  await t.test('reopen: same head, same state, same reads', async (t) => {
    const head = p.db.head()
    await p.db.close()
    p.db = await ChainDb.open({ dir, ...ident })
    t.same(p.db.head(), head, 'head survives')
    t.equal(p.db.head()!.stateRoot, toHex(p.chain.root))
    sameState(t, p.db.state, p.chain.store, 'after reopen')
    t.same(await p.db.getBlock(6), p.commits[5].block)
    await p.run([[payer, { type: 'transfer', to: curator.address, amount: 1n }]])
    sameState(t, p.db.state, p.chain.store, 'a block executed on the reopened state')
    t.ok((await p.db.approximateSize()) > 0, 'size on disk is measured')
    await p.db.compact()
    t.same(await p.db.getBlock(8), p.commits[7].block, 'readable after compaction')
    await p.db.close()
  })
})

t.test('refusals', async (t) => {
  const dir = await tempDir(t)
  const p = await Pair.open(dir)
  const recipient = p.chain.account(5).address
  await p.run([[p.chain.account(0), { type: 'transfer', to: recipient, amount: 1n }]])
  const atOne = new MemoryStateStore()
  atOne.apply(new Map(p.chain.store.entries()))
  const good = p.next([[p.chain.account(1), { type: 'transfer', to: recipient, amount: 2n }]]).commit
  await p.db.close()
  const before = await dump(dir)
  p.db = await ChainDb.open({ dir, ...ident })

  await t.test('a block at the wrong height is refused', async (t) => {
    const head = p.db.head()
    const skip = { ...good, block: { ...good.block, header: { ...good.block.header, height: 3 } } }
    await t.rejects(p.db.commitBlock(skip), { code: 'DB_ERROR_BAD_HEIGHT' }, 'height head + 2')
    await t.rejects(p.db.commitBlock(p.commits[0]), { code: 'DB_ERROR_BAD_HEIGHT' }, 'height head again')
    await t.rejects(p.db.commitGenesis(new Map(), new Uint8Array(32)), { code: 'DB_ERROR_BAD_HEIGHT' }, 'genesis twice')
    t.same(p.db.head(), head, 'head unchanged')
    t.equal(await p.db.getBlock(2), null)
    t.equal(await p.db.getTx(good.results[0].hash), null)
  })

  await t.test('a commit whose parts disagree is refused', async (t) => {
    await t.rejects(p.db.commitBlock({ ...good, hash: ZERO_HASH }), { code: 'DB_ERROR_INCONSISTENT_COMMIT' }, 'wrong hash')
    await t.rejects(p.db.commitBlock({ ...good, stateRoot: new Uint8Array(32) }), { code: 'DB_ERROR_INCONSISTENT_COMMIT' }, 'wrong root')
    await t.rejects(p.db.commitBlock({ ...good, results: [] }), { code: 'DB_ERROR_INCONSISTENT_COMMIT' }, 'missing results')
  })

  await t.test('the refused commits wrote nothing, to disk or memory', async (t) => {
    await p.db.close()
    t.same(await dump(dir), before, 'every key and value as before')
    p.db = await ChainDb.open({ dir, ...ident })
    t.equal(p.db.head()!.height, 1)
    sameState(t, p.db.state, atOne, 'state is exactly genesis + block 1')
  })

  await t.test('commits are serialized', async (t) => {
    const first = p.db.commitBlock(good)
    await t.rejects(p.db.commitBlock(good), { code: 'DB_ERROR_COMMIT_IN_PROGRESS' })
    await first
    t.equal(p.db.head()!.height, 2)
    sameState(t, p.db.state, p.chain.store, 'state is genesis + blocks 1..2')
  })

  await p.db.close()
  await t.test('use after close', async (t) => {
    await t.rejects(p.db.commitBlock(good), { code: 'DB_ERROR_CLOSED' })
    await t.rejects(p.db.getBlock(1), { code: 'DB_ERROR_CLOSED' })
  })
})

t.test('a block before genesis is refused', async (t) => {
  const dir = await tempDir(t)
  const db = await ChainDb.open({ dir, ...ident })
  const chain = new TestChain({}, genesis)
  const out = chain.block([])
  t.equal(db.head(), null)
  await t.rejects(db.commitBlock(toBlockCommit(genesis.chainId, chain.blocks[0], out, ZERO_HASH)), { code: 'DB_ERROR_BAD_HEIGHT' })
  await db.close()
})

t.test('a data dir of another genesis or chain id is refused', async (t) => {
  const dir = await tempDir(t)
  await (await ChainDb.open({ dir, ...ident })).close()
  const other = '0x' + 'ab'.repeat(32)
  const err = await ChainDb.open({ dir, ...ident, genesisHash: other }).then(() => null, (e: Error) => e)
  t.match(err, { code: 'DB_ERROR_WRONG_GENESIS' })
  t.match(err?.message, ident.genesisHash, 'names the stored genesis hash')
  t.match(err?.message, other, 'names the given genesis hash')
  await t.rejects(ChainDb.open({ dir, ...ident, chainId: 'other-chain' }), { code: 'DB_ERROR_WRONG_GENESIS' })
  const db = await ChainDb.open({ dir, ...ident })
  t.equal(db.head(), null, 'the refusals left the dir usable')
  await db.close()
})

t.test('commits without an fsync (block sync) read back, are made durable by makeDurable, and survive a reopen', async (t) => {
  const dir = await tempDir(t)
  const p = await Pair.open(dir)
  const sender = p.chain.account(0)
  for (let i = 0; i < 3; i++) {
    const r = p.next([[sender, { type: 'transfer', to: p.chain.account(1).address, amount: 1n + BigInt(i) }]])
    await p.db.commitBlock(r.commit, { durable: false })
    p.commits.push(r.commit)
  }
  t.equal(p.db.head()!.height, 3)
  await p.db.makeDurable()
  await t.rejects(Promise.all([p.db.makeDurable(), p.db.makeDurable()]), { code: 'DB_ERROR_COMMIT_IN_PROGRESS' }, 'not beside another write')
  const head = p.db.head()
  await p.db.close()
  const again = await ChainDb.open({ dir, ...ident })
  t.teardown(() => again.close())
  t.same(again.head(), head, 'same head after reopening')
  t.same(await again.getBlock(2), p.commits[1].block)
  sameState(t, again.state, p.chain.store, 'state')
})
