import t from 'tap'
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { toHex, fromHex } from '../../../core/bytes.js'
import { verifyStateProof } from '../../../core/stateProof.js'
import { genesisHash, genesisTimeMs } from '../../../genesis/genesis.js'
import { MemoryStateStore, genesisState, blockHash, ZERO_HASH, K, type StateTree } from '../../../state/index.js'
import type { TxCall } from '../../../core/tx.js'
import type { KeyPair } from '../../../core/keys.js'
import { ChainDb, type BlockCommit } from '../../../node/db/index.js'
import { keys } from '../../../node/db/buckets.js'
import { TestChain } from '../../helpers/chain.js'
import { testGenesis, toBlockCommit } from '../../e2e/fixtures/dbWriter.js'

/**
 * The state tree in the chain database (issue 15): its nodes are stored in
 * the block's batch, so every committed root stays provable across a
 * restart; a commit whose stateRoot is not the tree root is refused with
 * nothing written; a data dir whose state does not hash to the head's root
 * is refused at open.
 */

const genesis = testGenesis()
const ident = { genesisHash: genesisHash(genesis), chainId: genesis.chainId }

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'attrchain-tree-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return join(dir, 'data')
}

async function dump(dir: string): Promise<Map<string, string>> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const out = new Map<string, string>()
  for await (const [k, v] of db.iterator()) out.set(toHex(k), toHex(v))
  await db.close()
  return out
}

/** A chain of a few blocks in a real ChainDb, with the reference tree version of every height (TestChain's immutable trees). */
async function build(dir: string): Promise<{ db: ChainDb; chain: TestChain; versions: StateTree[]; keysSeen: string[]; next(calls: [KeyPair, TxCall][]): BlockCommit }> {
  const db = await ChainDb.open({ dir, ...ident })
  const g = genesisState(new MemoryStateStore(), genesis)
  await db.commitGenesis(g.writes, g.stateRoot, [], genesisTimeMs(genesis))
  const chain = new TestChain({}, genesis)
  const versions = [chain.store.tree]
  let prev = ZERO_HASH
  const next = (calls: [KeyPair, TxCall][]): BlockCommit => {
    const out = chain.block(calls.map(([k, call]) => chain.tx(k, call)))
    versions.push(chain.store.tree)
    const c = toBlockCommit(chain.chain.chainId, chain.blocks.at(-1)!, out, prev)
    prev = c.hash
    return c
  }
  const [a, b, c] = [0, 1, 2].map((k) => chain.account(k))
  await db.commitBlock(next([[a, { type: 'transfer', to: b.address, amount: 5n }]]))
  await db.commitBlock(next([[b, { type: 'registerDatanet', name: 'corpus', metadataUri: 'ipfs://c', contributionBond: 1n }]]))
  await db.commitBlock(next([[c, { type: 'transfer', to: a.address, amount: 7n }], [a, { type: 'transfer', to: c.address, amount: 1n }]]))
  const keysSeen = [...chain.store.entries()].map(([k]) => k).concat(['acct/0x' + '99'.repeat(20), 'dn/0x' + '00'.repeat(32)])
  return { db, chain, versions, keysSeen, next }
}

t.test('every committed root is provable from the stored nodes, before and after a restart', async (t) => {
  const dir = await tempDir(t)
  const { db, versions, keysSeen } = await build(dir)
  const check = async (d: ChainDb, when: string): Promise<void> => {
    let n = 0
    for (let h = 0; h < versions.length; h++) {
      const v = versions[h]
      if (h >= 1) t.equal((await d.getBlock(h))!.header.stateRoot, toHex(v.root), `${when}: height ${h}'s header root is the reference tree's`)
      for (const key of keysSeen) {
        const stored = await d.proveState(v.root, key)
        t.same(stored.proof, v.prove(key), `${when} h${h} ${key}: the stored tree gives the reference proof`)
        const proven = verifyStateProof(v.root, key, stored.proof)
        t.same(proven === null ? null : toHex(proven), stored.value === null ? null : toHex(stored.value))
        n++
      }
    }
    t.ok(n > 40, `${when}: ${n} proofs checked`)
  }
  await check(db, 'live')
  await db.close()
  const reopened = await ChainDb.open({ dir, ...ident })
  t.same(reopened.state.tree.root, versions.at(-1)!.root, 'the reopened tree has the head\'s root')
  await check(reopened, 'reopened')
  await reopened.close()
})

t.test('a commit whose stateRoot is not the tree root of the state with its writes is refused, nothing written', async (t) => {
  const dir = await tempDir(t)
  const { db, chain, next } = await build(dir)
  const [a, b] = [0, 1].map((k) => chain.account(k))
  const good = next([[a, { type: 'transfer', to: b.address, amount: 3n }]])
  const wrongRoot = '0x' + 'ee'.repeat(32)
  const header = { ...good.block.header, stateRoot: wrongRoot }
  const forged: BlockCommit = { ...good, block: { ...good.block, header }, hash: blockHash(header), stateRoot: fromHex(wrongRoot) }
  const head = db.head()
  await db.close()
  const before = await dump(dir)
  const again = await ChainDb.open({ dir, ...ident })
  await t.rejects(again.commitBlock(forged), { code: 'DB_ERROR_INCONSISTENT_COMMIT' }, 'refused')
  t.same(again.head(), head, 'head unchanged')
  await again.close()
  t.same(await dump(dir), before, 'nothing written')
})

t.test('a data dir whose state does not hash to the head\'s stateRoot is refused at open', async (t) => {
  const dir = await tempDir(t)
  const { db, chain } = await build(dir)
  const key = K.account(chain.account(0).address)
  await db.close()
  const raw = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await raw.put(keys.state(key), Uint8Array.of(0x92, 0xa1, 0x31, 0x00))
  await raw.close()
  await t.rejects(ChainDb.open({ dir, ...ident }), { code: 'DB_ERROR_CORRUPT' }, 'a changed state value is caught by the root check')
})
