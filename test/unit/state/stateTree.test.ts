import t from 'tap'
import fc from 'fast-check'
import { StateTree, rootOfEntries, encodeTreeNode, proveStored, type TreeNode } from '../../../state/stateTree.js'
import { MemoryStateStore } from '../../../state/store.js'
import { verifyStateProof, EMPTY_ROOT, StateProofError, keyPath, leafHash, valueHash } from '../../../core/stateProof.js'
import { toHex, utf8 } from '../../../core/bytes.js'

/**
 * State root v2 (core/stateProof.ts, state/stateTree.ts): the root depends
 * only on the entries, every present and absent key has a proof that
 * verifies, and any change to the root, the proof or the value is caught.
 */

const bytes = (s: string): Uint8Array => utf8(s)
const entriesOf = (m: Map<string, string>): [string, Uint8Array][] => [...m].map(([k, v]) => [k, bytes(v)])

/** Nodes of every version written so far, by hash, as ChainDb stores them. */
function nodeStore(): { add(created: readonly TreeNode[]): void; read(hash: Uint8Array): Promise<Uint8Array | null> } {
  const m = new Map<string, Uint8Array>()
  return {
    add: (created) => { for (const n of created) m.set(toHex(n.hash), encodeTreeNode(n)) },
    read: async (hash) => m.get(toHex(hash)) ?? null,
  }
}

t.test('the empty tree: root of zeros, every key proven absent', async (t) => {
  t.same(StateTree.EMPTY.root, EMPTY_ROOT)
  t.same(rootOfEntries([]), EMPTY_ROOT)
  const proof = StateTree.EMPTY.prove('acct/0x00')
  t.same(proof, [Uint8Array.of(0)])
  t.equal(verifyStateProof(EMPTY_ROOT, 'acct/0x00', proof), null)
  const one = StateTree.ofEntries([['a', bytes('1')]])
  t.same(one.root, leafHash(keyPath('a'), valueHash(bytes('1'))), 'a tree of one key is its leaf')
  t.same(one.update([['a', null]]).tree.root, EMPTY_ROOT, 'deleting the last key empties the tree')
})

t.test('root depends only on the entries: any batching, any order, deletes included', async (t) => {
  const key = fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `k/${i}`))
  const op = fc.tuple(key, fc.option(fc.string({ maxLength: 6 }), { nil: null }))
  fc.assert(fc.property(fc.array(fc.array(op, { maxLength: 25 }), { maxLength: 8 }), (batches) => {
    let tree = StateTree.EMPTY
    let oneByOne = StateTree.EMPTY
    const model = new Map<string, string>()
    for (const batch of batches) {
      const writes = new Map<string, Uint8Array | null>()
      for (const [k, v] of batch) {
        writes.set(k, v === null ? null : bytes(v))
        oneByOne = oneByOne.update([[k, v === null ? null : bytes(v)]]).tree
        if (v === null) model.delete(k)
        else model.set(k, v)
      }
      tree = tree.update(writes).tree
    }
    const fresh = rootOfEntries(entriesOf(model).reverse())
    if (toHex(tree.root) !== toHex(fresh)) throw new Error('batched root differs from the root of the entries')
    if (toHex(oneByOne.root) !== toHex(fresh)) throw new Error('one-by-one root differs from the root of the entries')
    for (const [k, v] of model) if (toHex(tree.get(k) ?? new Uint8Array()) !== toHex(bytes(v))) throw new Error(`get ${k}`)
  }), { numRuns: 300, seed: 15 })
  t.pass('300 random histories')
})

t.test('the root changes when any single key changes, is added or is removed', async (t) => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 30 }),
    fc.nat(), fc.string({ maxLength: 8 }), fc.string({ minLength: 1, maxLength: 8 }),
    (keys, pick, newValue, extraKey) => {
      const tree = StateTree.ofEntries(keys.map((k) => [k, bytes(`v:${k}`)]))
      const k = keys[pick % keys.length]
      const changed = tree.update([[k, bytes(newValue)]]).tree.root
      if ((newValue === `v:${k}`) !== (toHex(changed) === toHex(tree.root))) throw new Error(`changing ${k} to ${newValue}`)
      if (toHex(tree.update([[k, null]]).tree.root) === toHex(tree.root)) throw new Error(`removing ${k} kept the root`)
      if (!keys.includes(extraKey) && toHex(tree.update([[extraKey, bytes('')]]).tree.root) === toHex(tree.root)) throw new Error(`adding ${extraKey} kept the root`)
    },
  ), { numRuns: 500, seed: 16 })
  t.pass('500 trees')
})

t.test('proofs: every present key gives its value, absent keys null; old versions stay provable; stored trees prove the same', async (t) => {
  const store = nodeStore()
  let tree = StateTree.EMPTY
  const versions: { tree: StateTree; model: Map<string, string> }[] = []
  const model = new Map<string, string>()
  for (let h = 0; h < 6; h++) {
    const writes = new Map<string, Uint8Array | null>()
    for (let i = 0; i < 60; i++) {
      const k = `acct/${(i * 7 + h * 13) % 90}`
      const del = (i + h) % 11 === 0
      writes.set(k, del ? null : bytes(`h${h}:${i}`))
      if (del) model.delete(k)
      else model.set(k, `h${h}:${i}`)
    }
    const up = tree.update(writes)
    store.add(up.created)
    tree = up.tree
    versions.push({ tree, model: new Map(model) })
  }
  let checked = 0
  for (const { tree: v, model: m } of versions) {
    for (let i = 0; i < 100; i++) {
      const k = `acct/${i}`
      const proof = v.prove(k)
      const got = verifyStateProof(v.root, k, proof)
      const want = m.get(k)
      t.same(got === null ? null : new TextDecoder().decode(got), want ?? null)
      const stored = await proveStored(v.root, k, store.read)
      t.same(stored.proof, proof, 'the stored tree gives the same proof')
      t.same(stored.value === null ? null : new TextDecoder().decode(stored.value), want ?? null)
      checked++
    }
  }
  t.equal(checked, 600)
  await t.rejects(proveStored(bytes('x'.repeat(32)), 'acct/1', store.read), { code: 'STATE_TREE_ERROR_MISSING_NODE' }, 'a root never stored')
})

t.test('a proof against a wrong root, or tampered with, fails loudly', async (t) => {
  const tree = StateTree.ofEntries(Array.from({ length: 200 }, (_, i): [string, Uint8Array] => [`k/${i}`, bytes(`value ${i}`)]))
  const other = tree.update([['k/7', bytes('other')]]).tree
  for (const k of ['k/7', 'k/150', 'absent/1', 'absent/2']) {
    const proof = tree.prove(k)
    t.throws(() => verifyStateProof(other.root, k, proof), { code: 'PROOF_ERROR_ROOT_MISMATCH' }, `${k}: wrong root`)
    t.throws(() => verifyStateProof(tree.root, k === 'k/7' ? 'k/8' : 'k/7', proof), StateProofError, `${k}: proof of another key`)
    for (let i = 0; i < proof.length; i++) {
      for (const at of [0, proof[i].length - 1]) {
        const bad = proof.map((p) => p.slice())
        bad[i][at] ^= 0x01
        t.throws(() => verifyStateProof(tree.root, k, bad), StateProofError, `${k}: node ${i} byte ${at} flipped`)
      }
    }
    t.throws(() => verifyStateProof(tree.root, k, proof.slice(0, -1)), StateProofError, `${k}: a sibling dropped`)
    t.throws(() => verifyStateProof(tree.root, k, [...proof, new Uint8Array(32)]), StateProofError, `${k}: a sibling added`)
  }
  const present = tree.prove('k/3')
  const forged = [Uint8Array.of(0x02, ...bytes('value 999')), ...present.slice(1)]
  t.throws(() => verifyStateProof(tree.root, 'k/3', forged), { code: 'PROOF_ERROR_ROOT_MISMATCH' }, 'another value for a present key')
  const absentAsEmpty = [Uint8Array.of(0x00), ...present.slice(1)]
  t.throws(() => verifyStateProof(tree.root, 'k/3', absentAsEmpty), { code: 'PROOF_ERROR_ROOT_MISMATCH' }, 'a present key claimed absent')
})

t.test('malformed proofs are refused with a clear error, never a crash', async (t) => {
  const root = StateTree.ofEntries([['a', bytes('1')], ['b', bytes('2')]]).root
  const cases: [string, unknown][] = [
    ['empty list', []], ['not a list', 'x'], ['empty terminal', [new Uint8Array()]], ['unknown tag', [Uint8Array.of(0x09)]],
    ['long empty terminal', [Uint8Array.of(0x00, 0x00)]], ['short leaf terminal', [Uint8Array.of(0x01, 1, 2)]],
    ['short sibling', [Uint8Array.of(0x00), new Uint8Array(31)]], ['sibling not bytes', [Uint8Array.of(0x00), 'ab']],
    ['deeper than 256', [Uint8Array.of(0x00), ...Array.from({ length: 257 }, () => new Uint8Array(32))]],
  ]
  for (const [name, proof] of cases) t.throws(() => verifyStateProof(root, 'a', proof as Uint8Array[]), { code: 'PROOF_ERROR_MALFORMED' }, name)
  t.throws(() => verifyStateProof(new Uint8Array(31), 'a', [Uint8Array.of(0)]), { code: 'PROOF_ERROR_MALFORMED' }, 'a 31-byte root')
  const ownLeafAsOther = [Uint8Array.of(0x01, ...keyPath('a'), ...valueHash(bytes('1')))]
  t.throws(() => verifyStateProof(StateTree.ofEntries([['a', bytes('1')]]).root, 'a', ownLeafAsOther), { code: 'PROOF_ERROR_BAD_PATH' }, 'the key\'s own leaf claimed as another key\'s')
})

t.test('MemoryStateStore keeps its tree with its contents, and reuses the update from execution', async (t) => {
  const s = new MemoryStateStore()
  const writes = new Map<string, Uint8Array | null>([['a', bytes('1')], ['b', bytes('2')]])
  const up = s.tree.update(writes)
  s.apply(writes, up)
  t.equal(s.tree, up.tree, 'the given update is taken as is')
  const stale = StateTree.EMPTY.update([['zzz', bytes('x')]])
  s.apply(new Map([['c', bytes('3')]]), stale)
  t.same(s.tree.root, rootOfEntries([...s.entries()]), 'an update made from another version is ignored and recomputed')
  t.throws(() => StateTree.EMPTY.update([['a', bytes('1')], ['a', bytes('2')]]), { code: 'STATE_TREE_ERROR_DUPLICATE_KEY' })
})
