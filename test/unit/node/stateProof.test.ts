import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../../core/hash.js'
import { toHex, fromHex } from '../../../core/bytes.js'
import { verifyStateProof, StateProofError } from '../../../core/stateProof.js'
import { buildDevnetGenesis, devAccountKey, devValidatorKey } from '../../../genesis/devnet.js'
import { genesisHash } from '../../../genesis/genesis.js'
import { blockHash } from '../../../state/block.js'
import { proofKey, decodeProvenValue, PROOF_KINDS, type ProofKind } from '../../../state/proofSpec.js'
import { rootOfEntries } from '../../../state/stateTree.js'
import { decodeCommit } from '../../../consensus/index.js'
import { initHome } from '../../../node/init.js'
import { loadConfig } from '../../../node/config.js'
import { homePaths } from '../../../node/home.js'
import { AttrchainNode } from '../../../node/node.js'
import { ChainDb } from '../../../node/db/index.js'
import { silentLogger } from '../../../node/logger.js'
import { openChain } from '../../helpers/nodeChain.js'
import {
  AttrchainClient, TxSender, RpcRequestError, registerDatanet, setDatanetTerms, contribute, reviewContribution, registerModel, setModelTerms,
  approveOperator, submitReceipts,
} from '../../../rpc/index.js'

/**
 * state_getProof on a live node (issue 15 items 1–2): for every entity kind,
 * present and absent, at several heights, the proof verifies against the
 * stateRoot of the header served with it, the header matches its commit, and
 * a proof against another height's root fails. Then the chain replayed from
 * genesis into a fresh data dir reaches the live roots, and the data dir
 * reopens (ChainDb.open checks the tree root against the head).
 */

interface ProofJson {
  kind: ProofKind; id: string; key: string; height: number; stateRoot: string; value: Record<string, unknown> | null; rawValue: string | null
  proof: string[]; header: Record<string, unknown> & { stateRoot: string; height: number }; commit: { height: number; blockHash: string } | null
}

t.test('state_getProof: every kind present and absent at several heights; replay from genesis gives the live roots', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'attrchain-proof-'))
  const genesis = buildDevnetGenesis({ validators: 1, accounts: 10 })
  initHome({ home, genesis, validatorKey: devValidatorKey(0) })
  const node = await AttrchainNode.start(loadConfig(home, { rpcPort: 0, p2pPort: 0, blockTimeMs: 50 }, {}), silentLogger)
  const client = new AttrchainClient(node.rpcUrl)
  let stopped = false
  t.teardown(async () => {
    await client.close()
    if (!stopped) await node.stop()
    rmSync(home, { recursive: true, force: true })
  })
  const send = async (s: TxSender, call: Parameters<TxSender['send']>[0]): Promise<{ hash: string; height: number }> => {
    const end = Date.now() + 60_000
    for (;;) {
      try {
        const r = await s.send(call, { wait: 'commit' })
        t.equal(r.status, 'ok', `${call.type} committed`)
        return { hash: r.hash, height: r.height as number }
      } catch (e) {
        if (!(e instanceof RpcRequestError) || e.reason !== 'MEMPOOL_ERROR_FULL' || Date.now() > end) throw e
        await new Promise((r) => setTimeout(r, 200))
      }
    }
  }
  const [cur, ob, of, carol, op] = [0, 1, 2, 3, 4].map((k) => new TxSender(client, devAccountKey(k)))
  const D = await send(cur, registerDatanet('d1', 'ipfs://d1', '0'))
  const early = D.height
  await send(cur, setDatanetTerms(D.hash, 1000))
  const a = await send(cur, contribute(D.hash, sha256('a'), 'ipfs://a'))
  await send(cur, reviewContribution(a.hash, true, 1))
  const B = await send(ob, registerModel('base', '', [[D.hash, 1]], '0'))
  await send(ob, setModelTerms(B.hash, 1000, true))
  const F = await send(of, registerModel('ft', 'base', [[D.hash, 1]], '0', [B.hash]))
  const k = await send(carol, contribute(D.hash, sha256('gen'), 'ipfs://gen', B.hash))
  await send(cur, reviewContribution(k.hash, true, 1))
  const payer = devAccountKey(5)
  await send(new TxSender(client, payer), approveOperator(devAccountKey(4).address, '10OPEN'))
  const r = await send(op, submitReceipts([
    { modelId: F.hash, payer: payer.address, fee: '1000000', inputHash: sha256('i1'), outputHash: sha256('o1'), attribution: [[k.hash, 1]] },
    { modelId: B.hash, payer: payer.address, fee: '1000000', inputHash: sha256('i2'), outputHash: sha256('o2'), attribution: [[a.hash, 1]] },
  ]))
  const late = r.height

  const unknownId = toHex(sha256('nobody'))
  const unknownAddress = '0x' + '77'.repeat(20)
  const alice = devAccountKey(0).address
  const present: Record<ProofKind, string> = {
    account: alice, validator: devValidatorKey(0).address, ledger: devAccountKey(3).address, datanet: D.hash, datanetTerms: D.hash,
    contribution: k.hash, contributionTotals: k.hash, model: F.hash, modelLineage: F.hash,
  }
  const absentId = (kind: ProofKind): string => (['account', 'validator', 'ledger'].includes(kind) ? unknownAddress : unknownId)
  t.same(Object.keys(present).sort(), [...PROOF_KINDS].sort(), 'every kind is exercised')

  /** Fetch, then check as a light client would: the key computed here, the proof against the served header's root, the header against the commit. */
  const proven = async (kind: ProofKind, id: string, height?: number): Promise<ProofJson> => {
    const res = await client.call<ProofJson>('state_getProof', height === undefined ? [{ kind, id }] : [{ kind, id }, height])
    const key = proofKey(kind, id)
    t.equal(res.key, key, `${kind} ${id.slice(0, 10)}: the key is the one the client computes`)
    t.equal(res.stateRoot, res.header.stateRoot, 'stateRoot is the header\'s')
    t.equal(res.commit?.blockHash, blockHash(res.header as never), 'the commit is for this header')
    t.equal(res.commit?.height, res.header.height)
    const value = verifyStateProof(fromHex(res.header.stateRoot), key, res.proof.map((p) => fromHex(p)))
    t.equal(value === null ? null : toHex(value), res.rawValue, `${kind}: the proof proves the served raw value`)
    t.same(value === null ? null : decodeProvenValue(kind, value), res.value, `${kind}: the decoded value is the proven one`)
    return res
  }

  const head = (await client.call<{ height: number }>('chain_status')).height
  for (const height of [early, late, head]) {
    for (const kind of PROOF_KINDS) {
      const p = await proven(kind, present[kind], height)
      t.equal(p.height, height)
      if (height >= late) t.not(p.value, null, `${kind} is present at ${height}`)
      const absent = await proven(kind, absentId(kind), height)
      t.equal(absent.value, null, `${kind} with an unknown id is proven absent at ${height}`)
    }
  }
  // the same key at two heights: absent before it was created, present after; each proof holds only under its own root
  const before = await proven('contribution', k.hash, early)
  const after = await proven('contribution', k.hash, late)
  t.equal(before.value, null, 'the contribution is proven absent before its tx')
  t.equal(after.value?.status, 'accepted', 'and accepted after')
  t.throws(() => verifyStateProof(fromHex(after.stateRoot), proofKey('contribution', k.hash), before.proof.map((x) => fromHex(x))), StateProofError, 'a proof against another height\'s root fails')
  const acct = await proven('account', alice)
  t.equal(acct.height >= head, true, 'without a height: the head')
  t.equal(acct.value?.balance, (await client.getAccount(alice)).balance, 'the proven balance at the head is account_get\'s')
  t.equal((await proven('account', alice.toUpperCase().replace('0X', '0x'))).id, alice, 'ids in any case, answered lowercase')

  for (const [params, code, what] of [
    [[{ kind: 'receipt', id: unknownId }], -32602, 'an unknown kind'],
    [[{ kind: 'account', id: unknownId }], -32602, 'an account id that is not an address'],
    [[{ kind: 'model', id: alice }], -32602, 'a model id that is not 32 bytes'],
    [[{ kind: 'account', id: alice }, 10_000_000], -32602, 'a height above the head'],
    [[{ kind: 'account', id: alice }, 0], -32602, 'height 0 (no header)'],
    [[{ kind: 'account' }], -32602, 'no id'],
  ] as [unknown[], number, string][]) {
    await t.rejects(client.call<unknown>('state_getProof', params), { code }, what)
  }

  // replay from genesis into a fresh data dir: every block validates (its header's stateRoot is recomputed) and the roots end equal
  await node.stop()
  stopped = true
  const live = await ChainDb.open({ dir: homePaths(home).chainDb, genesisHash: genesisHash(genesis), chainId: genesis.chainId })
  const replay = await openChain(genesis)
  try {
    const liveHead = live.head()!
    t.equal(toHex(rootOfEntries(live.state.entries())), liveHead.stateRoot, 'the reopened state\'s tree root is the head\'s stateRoot')
    for (let h = 1; h <= liveHead.height; h++) {
      const bytes = (await live.getBlockBytes(h))!
      const commit = decodeCommit((await live.getCommit(h))!)
      const p = await replay.chain.validateBlock(bytes, { committed: true })
      await replay.chain.commitBlock(p, commit)
    }
    t.equal(replay.db.head()!.stateRoot, liveHead.stateRoot, `replayed ${liveHead.height} blocks: the same state root`)
    t.equal(replay.db.head()!.blockHash, liveHead.blockHash, 'and the same head block')
    const old = await replay.db.proveState(fromHex((await replay.db.getBlock(early))!.header.stateRoot), proofKey('datanet', D.hash))
    t.ok(old.value, 'the replayed node proves an old height too')
  } finally {
    await live.close()
    await replay.close()
  }
})
