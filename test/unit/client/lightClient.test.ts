import t from 'tap'
import { KeyPair } from '../../../core/keys.js'
import { sha256 } from '../../../core/hash.js'
import { fromHex, toHex } from '../../../core/bytes.js'
import { blockHash, ZERO_HASH, type Header } from '../../../state/block.js'
import { ValidatorSet, makeCommit, voteSignBytes, type Commit } from '../../../consensus/index.js'
import { AccountCodec, toBytes } from '../../../state/entities.js'
import { StateTree } from '../../../state/stateTree.js'
import { proofKey } from '../../../state/proofSpec.js'
import {
  LightClient, MAX_LIGHT_VALIDATORS, checkStateProof, commitFromJson, genesisValidatorSet, headerFromJson, validatorSetFromJson, verifyHeaderCommit,
  verifyCommitTrusting, type LightBlock, type LightProvider, type TrustRoot,
} from '../../../rpc/lightClient.js'

const CHAIN_ID = 'attrchain-light'
const GENESIS_MS = Date.UTC(2026, 0, 1)
const BLOCK_MS = 1_000
const HOUR = 3_600_000

/** A pool of real Ed25519 keys; validator i of every test is `pool[i]`. */
const pool = Array.from({ length: 12 }, (_, i) => new KeyPair(sha256(`attrchain/test/light/${i}`)))

/** The set of equal-power members `idx` of the pool. */
function setOf(idx: number[], power = 10n): { set: ValidatorSet; keys: KeyPair[] } {
  const keys = idx.map((i) => pool[i]!)
  return { set: ValidatorSet.create(keys.map((k) => ({ address: k.address, pubKey: k.publicKey, power }))), keys }
}

function sign(keys: KeyPair[], height: number, hash: Uint8Array, chainId = CHAIN_ID, round = 0): Commit {
  const votes = keys.map((k) => {
    const unsigned = { type: 'precommit' as const, height, round, blockHash: hash, validator: k.address }
    return { ...unsigned, signature: k.sign(voteSignBytes(chainId, unsigned)) }
  })
  return makeCommit(height, round, hash, votes)
}

/**
 * A chain of real headers linked by prevHash, each committed by every
 * member of its set (real signatures over the real vote sign bytes).
 * `members(h)` gives the pool indexes of the set of height h.
 */
function buildChain(height: number, members: (h: number) => number[], stateRoot: (h: number) => string = (h) => toHex(sha256(`state/${h}`))): Map<number, LightBlock> {
  const blocks = new Map<number, LightBlock>()
  let prev = ZERO_HASH
  for (let h = 1; h <= height; h++) {
    const { set, keys } = setOf(members(h))
    const header: Header = {
      chainId: CHAIN_ID, height: h, timeMs: GENESIS_MS + h * BLOCK_MS, prevHash: prev, txRoot: toHex(sha256(`tx/${h}`)),
      stateRoot: stateRoot(h), validatorsHash: toHex(set.hash()), proposer: keys[0]!.address, lastCommitHash: ZERO_HASH,
    }
    const hash = blockHash(header)
    blocks.set(h, { header, commit: sign(keys, h, fromHex(hash)), validators: set })
    prev = hash
  }
  return blocks
}

class MapProvider implements LightProvider {
  constructor(readonly blocks: Map<number, LightBlock>) {}
  async lightBlock(height: number): Promise<LightBlock> {
    const b = this.blocks.get(height)
    if (!b) throw new Error(`no block ${height}`)
    return b
  }
  async latestHeight(): Promise<number> {
    return Math.max(...this.blocks.keys())
  }
}

const genesisRoot = (idx: number[]): TrustRoot => ({ kind: 'genesis', timeMs: GENESIS_MS, validators: setOf(idx).set })

function client(blocks: Map<number, LightBlock>, root: TrustRoot, nowMs = GENESIS_MS + HOUR, opts = {}): LightClient {
  return new LightClient({ chainId: CHAIN_ID, ...opts }, root, { provider: new MapProvider(blocks), now: () => nowMs })
}

const FOUR = [0, 1, 2, 3]

t.test('commit verification: real signatures, +2/3 of the power, the right block', async (t) => {
  const chain = buildChain(3, () => FOUR)
  const b = chain.get(2)!
  t.equal(verifyHeaderCommit(CHAIN_ID, b), 40n, 'all four sign: 40 of 40')

  const threeOfFour = { ...b, commit: sign(pool.slice(0, 3).sort((x, y) => (x.address < y.address ? -1 : 1)), 2, b.commit.blockHash) }
  t.equal(verifyHeaderCommit(CHAIN_ID, threeOfFour), 30n, 'three of four: 30 > 2/3 of 40')

  const twoOfFour = { ...b, commit: sign([pool[0]!, pool[1]!].sort((x, y) => (x.address < y.address ? -1 : 1)), 2, b.commit.blockHash) }
  t.throws(() => verifyHeaderCommit(CHAIN_ID, twoOfFour), { code: 'LIGHT_ERROR_INVALID_HEADER', meta: { cause: 'CONSENSUS_ERROR_INSUFFICIENT_POWER' } }, 'two of four: 20 is not more than 2/3')

  const sigs = b.commit.signatures.map((s, i) => (i === 2 ? { ...s, signature: s.signature.map((x, j) => (j === 7 ? x ^ 1 : x)) } : s))
  t.throws(() => verifyHeaderCommit(CHAIN_ID, { ...b, commit: { ...b.commit, signatures: sigs } }), { code: 'LIGHT_ERROR_INVALID_HEADER', meta: { cause: 'CONSENSUS_ERROR_BAD_SIGNATURE' } }, 'a forged signature')

  const other = chain.get(3)!
  t.throws(() => verifyHeaderCommit(CHAIN_ID, { ...b, commit: { ...other.commit, height: 2 } }), { code: 'LIGHT_ERROR_INVALID_HEADER', meta: { cause: 'CONSENSUS_ERROR_COMMIT_MISMATCH' } }, 'a commit for another block id')
  t.throws(() => verifyHeaderCommit(CHAIN_ID, { ...b, header: { ...b.header, stateRoot: toHex(sha256('lie')) } }), { code: 'LIGHT_ERROR_INVALID_HEADER', meta: { cause: 'CONSENSUS_ERROR_COMMIT_MISMATCH' } }, 'a header field changed: its hash is not the signed block id')
  t.throws(() => verifyHeaderCommit('another-chain', b), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'another chain id')

  const wrongSet = { ...b, validators: setOf([0, 1, 2, 4]).set }
  t.throws(() => verifyHeaderCommit(CHAIN_ID, wrongSet), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'a served set that does not hash to validatorsHash')
  const samePowerOtherKeys = { ...b, validators: setOf(FOUR, 11n).set }
  t.throws(() => verifyHeaderCommit(CHAIN_ID, samePowerOtherKeys), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'powers are hashed too')
})

t.test('trusting check counts only members of the trusted set and needs more than 1/3', async (t) => {
  const chain = buildChain(2, (h) => (h === 1 ? FOUR : [3, 4, 5, 6]))
  const level = { numerator: 1n, denominator: 3n }
  const c = chain.get(2)!.commit
  t.throws(() => verifyCommitTrusting(CHAIN_ID, c, setOf(FOUR).set, level), { code: 'LIGHT_ERROR_NOT_TRUSTED' }, '1 of 4 trusted members signed: 10 of 40 is not > 1/3')
  t.equal(verifyCommitTrusting(CHAIN_ID, c, setOf([2, 3, 4, 5]).set, level), 30n, '3 of 4 trusted members signed')
})

t.test('sequential: an unchanged set, header after header', async (t) => {
  const chain = buildChain(8, () => FOUR)
  const lc = client(chain, genesisRoot(FOUR))
  for (let h = 1; h <= 8; h++) {
    const v = await lc.verifyHeight(h)
    t.equal(v.via, 'sequential', `header ${h} sequential`)
    t.equal(v.signedPower, 40n)
    t.equal(v.hash, blockHash(chain.get(h)!.header))
  }
  t.same(lc.fetched, [1, 2, 3, 4, 5, 6, 7, 8], 'one fetch per height')
})

t.test('skipping: a changed set with more than 1/3 of the trusted power in common is reached in one step', async (t) => {
  // one validator replaced every 5 heights: height 12 has {2, 3, 4, 5}, two of the genesis four
  const chain = buildChain(12, (h) => FOUR.map((i) => i + Math.min(2, Math.floor(h / 5))))
  const lc = client(chain, genesisRoot(FOUR))
  const v = await lc.verifyHeight(12)
  t.equal(v.via, 'skipping')
  t.same(lc.fetched, [12], 'no intermediate header needed')
  t.equal(v.signedPower, 40n)
})

t.test('bisection: a set with nothing in common with the trusted one is reached through pivots', async (t) => {
  // one validator replaced every 4 heights: height 32 is {8, 9, 10, 11}, disjoint from genesis
  const members = (h: number) => FOUR.map((i) => i + Math.min(8, Math.floor(h / 4)))
  const chain = buildChain(32, members)
  const lc = client(chain, genesisRoot(FOUR))
  const v = await lc.verifyHeight(32)
  t.equal(v.hash, blockHash(chain.get(32)!.header))
  t.ok(lc.fetched.length > 2, `pivots fetched: ${lc.fetched.join(', ')}`)
  t.equal(lc.fetched[0], 32, 'the target first')
  t.ok(lc.fetched.slice(1).every((h) => h > 0 && h < 32), 'then heights between the root and the target')
  // later heights start from the highest verified one
  const before = lc.fetched.length
  await lc.verifyHeight(20)
  t.ok(lc.fetched.length - before <= 3, 'a lower height starts from the nearest verified header below')
})

t.test('a fork signed by a set with no overlap is refused however it is approached', async (t) => {
  const honest = buildChain(10, () => FOUR)
  const forged = buildChain(10, () => [4, 5, 6, 7])
  const lc = client(forged, genesisRoot(FOUR))
  await t.rejects(lc.verifyHeight(10), { code: 'LIGHT_ERROR_NOT_TRUSTED' }, 'bisection bottoms out at header 1, whose set the genesis set did not sign')
  const lc2 = client(honest, genesisRoot(FOUR))
  t.equal((await lc2.verifyHeight(10)).signedPower, 40n, 'the honest chain verifies')
})

t.test('trusting period: a root older than it verifies nothing', async (t) => {
  const chain = buildChain(5, () => FOUR)
  const period = 24 * HOUR
  const lc = client(chain, genesisRoot(FOUR), GENESIS_MS + period, { trustingPeriodMs: period })
  await t.rejects(lc.verifyHeight(5), { code: 'LIGHT_ERROR_EXPIRED' })
  const ok = client(chain, genesisRoot(FOUR), GENESIS_MS + period - 1, { trustingPeriodMs: period })
  t.equal((await ok.verifyHeight(5)).header.height, 5, 'one ms inside the period it verifies')
})

t.test('a header from the future is refused', async (t) => {
  const chain = buildChain(3, () => FOUR)
  const lc = client(chain, genesisRoot(FOUR), GENESIS_MS + 2 * BLOCK_MS - 10_000)
  await t.rejects(lc.verifyHeight(2), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'header 2 is 10 s ahead of the clock')
})

t.test('checkpoint root: the served header must hash to the trusted hash; lower heights follow the hash chain', async (t) => {
  const chain = buildChain(12, () => FOUR)
  const hash8 = blockHash(chain.get(8)!.header)
  await t.rejects(client(chain, { kind: 'checkpoint', height: 8, hash: toHex(sha256('not it')) }).verifyHeight(10), { code: 'LIGHT_ERROR_CHECKPOINT_MISMATCH' })

  const lc = client(chain, { kind: 'checkpoint', height: 8, hash: hash8 })
  t.equal((await lc.verifyHeight(12)).via, 'skipping', 'above the checkpoint: skipping')
  const low = await lc.verifyHeight(3)
  t.equal(low.via, 'hashChain')
  t.equal(low.hash, blockHash(chain.get(3)!.header))

  const tampered = new Map(chain)
  const b5 = chain.get(5)!
  tampered.set(5, { ...b5, header: { ...b5.header, stateRoot: toHex(sha256('lie')) } })
  await t.rejects(client(tampered, { kind: 'checkpoint', height: 8, hash: hash8 }).verifyHeight(4), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'a changed header below the checkpoint breaks the hash chain')
})

t.test('the genesis validator set is built from the genesis validators (power = stake)', async (t) => {
  const g = genesisValidatorSet(FOUR.map((i) => ({ address: pool[i]!.address, pubKey: pool[i]!.publicKey, stake: 10n })))
  t.same(toHex(g.hash()), toHex(setOf(FOUR).set.hash()))
})

t.test('bad options are refused', async (t) => {
  const chain = buildChain(1, () => FOUR)
  t.throws(() => client(chain, genesisRoot(FOUR), GENESIS_MS, { trustLevel: { numerator: 1n, denominator: 4n } }), { code: 'LIGHT_ERROR_BAD_OPTIONS' })
  t.throws(() => client(chain, genesisRoot(FOUR), GENESIS_MS, { trustingPeriodMs: 0 }), { code: 'LIGHT_ERROR_BAD_OPTIONS' })
})

t.test('state proofs: checked against the verified header, present and absent, and every lie caught', async (t) => {
  const alice = pool[0]!.address
  const bob = pool[1]!.address
  const nobody = pool[11]!.address
  const tree = StateTree.ofEntries([
    [proofKey('account', alice), toBytes(AccountCodec, { balance: 1_000n, nonce: 3 })],
    [proofKey('account', bob), toBytes(AccountCodec, { balance: 7n, nonce: 0 })],
  ])
  const chain = buildChain(3, () => FOUR, (h) => (h === 3 ? toHex(tree.root) : toHex(sha256(`state/${h}`))))
  const lc = client(chain, genesisRoot(FOUR))
  const verified = await lc.verifyHeight(3)
  const answer = (id: string) => {
    const key = proofKey('account', id)
    const raw = tree.get(key)
    return {
      height: 3, header: { ...chain.get(3)!.header }, proof: tree.prove(key).map(toHex),
      rawValue: raw === undefined ? null : toHex(raw), value: raw === undefined ? null : { balance: id === alice ? '1000' : '7', nonce: id === alice ? 3 : 0 },
    }
  }

  const a = checkStateProof(verified, 'account', alice, answer(alice))
  t.same(a.value, { balance: '1000', nonce: 3 }, 'present: the proven record')
  t.equal(a.key, `acct/${alice}`)
  t.equal(checkStateProof(verified, 'account', nobody, answer(nobody)).value, null, 'absent: proven absent')

  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(alice), value: { balance: '1000000', nonce: 3 } }), { code: 'LIGHT_ERROR_PROOF' }, 'a changed balance in the decoded value')
  const forgedRaw = toHex(toBytes(AccountCodec, { balance: 1_000_000n, nonce: 3 }))
  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(alice), rawValue: forgedRaw, value: { balance: '1000000', nonce: 3 } }), { code: 'LIGHT_ERROR_PROOF' }, 'a changed raw value')
  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(bob) }), { code: 'LIGHT_ERROR_PROOF' }, 'another key\'s proof')
  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(nobody) }), { code: 'LIGHT_ERROR_PROOF' }, 'an absence claim for a present key')
  const p = answer(alice)
  t.throws(() => checkStateProof(verified, 'account', alice, { ...p, proof: [p.proof[0]!, ...p.proof.slice(1).map((x, i) => (i === 0 ? toHex(sha256(x)) : x))] }), { code: 'LIGHT_ERROR_PROOF' }, 'a changed sibling')
  const v2 = await lc.verifyHeight(2)
  t.throws(() => checkStateProof(v2, 'account', alice, { ...answer(alice), header: chain.get(2)!.header }), { code: 'LIGHT_ERROR_PROOF' }, 'against another root (height 2)')
  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(alice), header: { ...chain.get(3)!.header, stateRoot: toHex(sha256('other')) } }), { code: 'LIGHT_ERROR_INVALID_HEADER' }, 'a header that is not the verified one')
  t.throws(() => checkStateProof(verified, 'account', alice, { ...answer(alice), proof: ['zz'] }), { code: 'LIGHT_ERROR_MALFORMED' })
})

t.test('answers of the wrong shape are refused as malformed, never half-read', async (t) => {
  const b = buildChain(1, () => FOUR).get(1)!
  const header = { ...b.header }
  t.same(headerFromJson(header), b.header, 'a well-formed header round-trips')
  for (const bad of [null, [], { ...header, height: -1 }, { ...header, height: 1.5 }, { ...header, prevHash: '0x12' }, { ...header, proposer: 'nope' }, { ...header, chainId: 7 }]) {
    t.throws(() => headerFromJson(bad), { code: 'LIGHT_ERROR_MALFORMED' }, `header ${JSON.stringify(bad)?.slice(0, 40)}`)
  }
  t.throws(() => commitFromJson({ height: 1, round: 0, blockHash: '0x00', signatures: [] }), { code: 'LIGHT_ERROR_MALFORMED' })
  t.throws(() => commitFromJson({ height: 1, round: 0, blockHash: toHex(new Uint8Array(32)), signatures: [{ validator: pool[0]!.address, signature: '0x01' }] }), { code: 'LIGHT_ERROR_MALFORMED' })
  const member = { address: pool[0]!.address, pubKey: toHex(pool[0]!.publicKey), power: '10' }
  t.equal(validatorSetFromJson({ validators: [member] }).totalPower, 10n)
  t.throws(() => validatorSetFromJson({ validators: [{ ...member, pubKey: toHex(pool[1]!.publicKey) }] }), { code: 'LIGHT_ERROR_MALFORMED' }, 'a key that is not the address\'s')
  t.throws(() => validatorSetFromJson({ validators: [{ ...member, power: '0' }] }), { code: 'LIGHT_ERROR_MALFORMED' }, 'power 0')
  t.throws(() => validatorSetFromJson({ validators: [member, member] }), { code: 'LIGHT_ERROR_MALFORMED' }, 'a duplicate member')
  t.throws(() => validatorSetFromJson({ validators: [] }), { code: 'LIGHT_ERROR_MALFORMED' }, 'an empty set')
  t.throws(() => validatorSetFromJson({ validators: new Array(MAX_LIGHT_VALIDATORS + 1).fill(member) }), { code: 'LIGHT_ERROR_MALFORMED' }, 'a set too large to be one')
})
